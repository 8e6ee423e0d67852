//! What a query may cost, checked before async-graphql validates or runs it.
//!
//! async-graphql 7.2 expands every fragment spread again wherever it appears (in its recursion
//! check, its depth and complexity visitors and in execution), counts `__typename` as free and
//! ignores list sizes: 23 fragments that each spread the next twice select 4 million fields in
//! under 1 KB. So the [`Gateway`](super::Gateway) parses the document once (linear; async-graphql
//! reuses it) and measures
//! it with each fragment measured once (in dependency order, without recursion across
//! fragments, so a long chain cannot exhaust the stack):
//!
//! - **fields**: field selections once every spread is expanded (`__typename` included);
//! - **depth**: the deepest nesting of fields;
//! - **aliases**: aliased fields written in the document;
//! - **cost**: every field costs 1, plus its selection's cost times its width: a field that
//!   returns a list or a `…Connection` is as wide as its `first` (or `last`) argument, at most
//!   [`MAX_WIDTH`] (what the resolvers clamp to), or [`DEFAULT_WIDTH`] without one; a
//!   connection's width weighs its lists (`nodes`, `edges`), not `totalCount` or `pageInfo`.
//!
//! A fragment cycle is refused. A document over any limit is refused as BAD_USER_INPUT before
//! async-graphql sees it; anonymous callers get [`CostLimits::ANONYMOUS`], signed-in ones
//! [`CostLimits::SIGNED_IN`]. async-graphql's own depth and complexity limits stay as a second
//! line. Documents that do not parse are left to async-graphql's own parse error.

use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, Selection, SelectionSet, TypeKind, TypeSystemDefinition,
};
use async_graphql::{ServerError, Value, Variables};
use std::collections::HashMap;

use super::error::Code;

/// The widest a list field is taken to be: the resolvers return at most this many items.
pub const MAX_WIDTH: u64 = 100;
/// The width of a list field asked for without `first`.
pub const DEFAULT_WIDTH: u64 = 10;

/// The most one document may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostLimits {
    /// Field selections after fragment expansion.
    pub fields: u64,
    /// Nesting of fields.
    pub depth: u64,
    /// Aliased fields in the document.
    pub aliases: u64,
    /// Estimated cost, list fields weighted by their width.
    pub cost: u64,
}

impl CostLimits {
    /// Callers without a token.
    pub const ANONYMOUS: CostLimits = CostLimits {
        fields: 500,
        depth: 10,
        aliases: 20,
        cost: 20_000,
    };
    /// Signed-in callers.
    pub const SIGNED_IN: CostLimits = CostLimits {
        fields: 2_000,
        depth: 12,
        aliases: 100,
        cost: 200_000,
    };
}

/// What a document asks for, by the measures of [`CostLimits`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measure {
    pub fields: u64,
    pub depth: u64,
    pub aliases: u64,
    pub cost: u64,
}

impl Measure {
    /// Two selections side by side.
    fn add(&mut self, other: Measure) {
        self.fields = self.fields.saturating_add(other.fields);
        self.depth = self.depth.max(other.depth);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.cost = self.cost.saturating_add(other.cost);
    }

    /// The first limit this exceeds, as a message for the caller.
    pub fn refusal(&self, limits: &CostLimits) -> Option<String> {
        let over = |value: u64, limit: u64, what: &dyn Fn() -> String| {
            (value > limit).then(|| format!("{}; at most {limit} allowed", what()))
        };
        over(self.fields, limits.fields, &|| {
            format!(
                "the query is too large: it selects {} fields once its fragments are expanded",
                self.fields
            )
        })
        .or_else(|| {
            over(self.depth, limits.depth, &|| {
                format!(
                    "the query is too deep: it nests fields {} levels",
                    self.depth
                )
            })
        })
        .or_else(|| {
            over(self.aliases, limits.aliases, &|| {
                format!("the query has too many aliases: {}", self.aliases)
            })
        })
        .or_else(|| {
            over(self.cost, limits.cost, &|| {
                format!(
                    "the query is too costly: its estimated cost is {} (lists weighted by their \
                     page size)",
                    self.cost
                )
            })
        })
    }
}

/// Why a document cannot be measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unmeasurable {
    /// The fragment spreads itself, directly or through others.
    FragmentCycle(String),
}

/// For each object and interface type, what its fields return.
#[derive(Clone, Debug, Default)]
pub struct SchemaShape {
    types: HashMap<String, HashMap<String, FieldShape>>,
    roots: [String; 3],
}

#[derive(Clone, Debug)]
struct FieldShape {
    /// The named type, lists and non-null unwrapped.
    ty: String,
    /// A list or a connection: as wide as its `first`.
    wide: bool,
}

impl SchemaShape {
    /// Reads the schema's SDL (`Schema::sdl()`).
    pub fn from_sdl(sdl: &str) -> Result<Self, String> {
        let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut shape = SchemaShape {
            types: HashMap::new(),
            roots: [
                "QueryRoot".to_owned(),
                "MutationRoot".to_owned(),
                "SubscriptionRoot".to_owned(),
            ],
        };
        for definition in document.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    for (root, name) in shape.roots.iter_mut().zip([
                        schema.query,
                        schema.mutation,
                        schema.subscription,
                    ]) {
                        if let Some(name) = name {
                            *root = name.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let fields = match ty.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    let fields = fields
                        .into_iter()
                        .map(|field| {
                            let field = field.node;
                            let mut base = &field.ty.node.base;
                            let mut list = false;
                            let named = loop {
                                match base {
                                    BaseType::Named(name) => break name.to_string(),
                                    BaseType::List(inner) => {
                                        list = true;
                                        base = &inner.base;
                                    }
                                }
                            };
                            let wide = list || named.ends_with("Connection");
                            (field.name.node.to_string(), FieldShape { ty: named, wide })
                        })
                        .collect();
                    shape.types.insert(ty.name.node.to_string(), fields);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Ok(shape)
    }

    /// Whether `field` of `ty` is a list or a connection (for tests and docs).
    pub fn is_wide(&self, ty: &str, field: &str) -> bool {
        self.field(Some(ty), field).is_some_and(|f| f.wide)
    }

    fn field(&self, ty: Option<&str>, field: &str) -> Option<&FieldShape> {
        self.types.get(ty?)?.get(field)
    }
}

/// Measures a parsed document: every operation and fragment in it (validation reads them all).
pub fn measure(
    document: &ExecutableDocument,
    variables: &Variables,
    shape: &SchemaShape,
) -> Result<Measure, Unmeasurable> {
    let mut defaults: HashMap<&str, &Value> = HashMap::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                defaults.insert(definition.node.name.node.as_str(), &default.node);
            }
        }
    }
    let mut measurer = Measurer {
        shape,
        variables,
        defaults,
        fragments: HashMap::new(),
    };
    let mut total = Measure::default();
    for name in fragment_order(document)? {
        let Some(fragment) = document.fragments.get(name) else {
            continue;
        };
        let on = fragment.node.type_condition.node.on.node.as_str();
        let measured = measurer.selection_set(&fragment.node.selection_set.node, Some(on), None);
        measurer.fragments.insert(name, measured);
        // Aliases are counted where they are written, once.
        total.aliases = total.aliases.saturating_add(measured.aliases);
    }
    for (_, operation) in document.operations.iter() {
        let root = match operation.node.ty {
            async_graphql::parser::types::OperationType::Query => &shape.roots[0],
            async_graphql::parser::types::OperationType::Mutation => &shape.roots[1],
            async_graphql::parser::types::OperationType::Subscription => &shape.roots[2],
        };
        let measured = measurer.selection_set(
            &operation.node.selection_set.node,
            Some(root.as_str()),
            None,
        );
        total.add(measured);
    }
    Ok(total)
}

/// The document's fragments, each after every fragment it spreads; a cycle is refused. An
/// explicit stack, not recursion: fragment chains may be as long as the document allows.
fn fragment_order(document: &ExecutableDocument) -> Result<Vec<&str>, Unmeasurable> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Open,
        Done,
    }
    let spreads: HashMap<&str, Vec<&str>> = document
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut found = Vec::new();
            collect_spreads(&fragment.node.selection_set.node, &mut found);
            (name.as_str(), found)
        })
        .collect();
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    let mut order = Vec::with_capacity(spreads.len());
    let mut names: Vec<&str> = spreads.keys().copied().collect();
    names.sort_unstable();
    for start in names {
        if marks.contains_key(start) {
            continue;
        }
        marks.insert(start, Mark::Open);
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        while let Some((name, next)) = stack.pop() {
            let deps = spreads.get(name).map(Vec::as_slice).unwrap_or_default();
            match deps.get(next) {
                Some(&dep) => {
                    stack.push((name, next.saturating_add(1)));
                    if !spreads.contains_key(dep) {
                        continue; // unknown: validation names it
                    }
                    match marks.get(dep) {
                        Some(Mark::Open) => {
                            return Err(Unmeasurable::FragmentCycle(dep.to_owned()));
                        }
                        Some(Mark::Done) => {}
                        None => {
                            marks.insert(dep, Mark::Open);
                            stack.push((dep, 0));
                        }
                    }
                }
                None => {
                    marks.insert(name, Mark::Done);
                    order.push(name);
                }
            }
        }
    }
    Ok(order)
}

/// The names of the fragments spread in `set`, inline fragments included (the parser bounds
/// how deeply selection sets nest, so this recursion is shallow).
fn collect_spreads<'a>(set: &'a SelectionSet, found: &mut Vec<&'a str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => collect_spreads(&field.node.selection_set.node, found),
            Selection::FragmentSpread(spread) => {
                found.push(spread.node.fragment_name.node.as_str());
            }
            Selection::InlineFragment(inline) => {
                collect_spreads(&inline.node.selection_set.node, found);
            }
        }
    }
}

struct Measurer<'a> {
    shape: &'a SchemaShape,
    variables: &'a Variables,
    defaults: HashMap<&'a str, &'a Value>,
    /// Every fragment already measured, in the context of its own type condition.
    fragments: HashMap<&'a str, Measure>,
}

impl<'a> Measurer<'a> {
    /// Recursion only through nested selection sets, which the parser bounds.
    /// `page`: the width of the connection whose selection this is.
    fn selection_set(&self, set: &SelectionSet, ty: Option<&str>, page: Option<u64>) -> Measure {
        let mut total = Measure::default();
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => total.add(self.field(&field.node, ty, page)),
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(fragment) = self.fragments.get(name) {
                        // Written once in the fragment: counted there.
                        total.add(Measure {
                            aliases: 0,
                            ..*fragment
                        });
                    }
                }
                Selection::InlineFragment(inline) => {
                    let inner_ty = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str())
                        .or(ty);
                    total.add(self.selection_set(&inline.node.selection_set.node, inner_ty, page));
                }
            }
        }
        total
    }

    fn field(&self, field: &Field, ty: Option<&str>, page: Option<u64>) -> Measure {
        let name = field.name.node.as_str();
        let shape = self.shape.field(ty, name);
        let returns = shape.map(|s| s.ty.as_str());
        // A connection costs its width once, in its `nodes` and `edges`, not in `totalCount`
        // or `pageInfo`: its `first` is handed down to them.
        let connection = returns.is_some_and(|t| t.ends_with("Connection"));
        let inner_page = connection.then(|| self.width(field));
        let inner = self.selection_set(&field.selection_set.node, returns, inner_page);
        let in_connection = ty.is_some_and(|t| t.ends_with("Connection"));
        let width = match shape {
            Some(s) if s.wide && in_connection => page.unwrap_or(DEFAULT_WIDTH),
            Some(s) if s.wide && !connection => self.width(field),
            _ => 1,
        };
        Measure {
            fields: inner.fields.saturating_add(1),
            depth: inner.depth.saturating_add(1),
            aliases: inner
                .aliases
                .saturating_add(u64::from(field.alias.is_some())),
            cost: inner.cost.saturating_mul(width).saturating_add(1),
        }
    }

    /// A list field's `first` (or `last`), literal or variable, within 1..=MAX_WIDTH.
    fn width(&self, field: &Field) -> u64 {
        let Some((_, argument)) = field
            .arguments
            .iter()
            .find(|(name, _)| matches!(name.node.as_str(), "first" | "last"))
        else {
            return DEFAULT_WIDTH;
        };
        let value = argument.node.clone().into_const_with(|name| {
            self.variables
                .get(&name)
                .or_else(|| self.defaults.get(name.as_str()).copied())
                .cloned()
                .ok_or(())
        });
        match value {
            Ok(Value::Number(n)) => n.as_i64().map_or(MAX_WIDTH, |n| {
                u64::try_from(n).unwrap_or(0).clamp(1, MAX_WIDTH)
            }),
            // `null` or a missing variable: the resolver's default.
            _ => DEFAULT_WIDTH,
        }
    }
}

/// A refusal with the API's code (BAD_USER_INPUT).
pub(super) fn refused(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", Code::BadUserInput.as_str());
    error.extensions = Some(extensions);
    error
}

/// Measures a parsed `document` against the caller's limits: the reason it is refused, if it
/// is.
pub(super) fn admit(
    document: &ExecutableDocument,
    variables: &Variables,
    shape: &SchemaShape,
    limits: &CostLimits,
) -> Result<(), String> {
    match measure(document, variables, shape) {
        Ok(measured) => measured.refusal(limits).map_or(Ok(()), Err),
        Err(Unmeasurable::FragmentCycle(name)) => {
            Err(format!("the fragment {name:?} spreads itself"))
        }
    }
}

/// Parses and measures `query` against the caller's limits (a query that does not parse is
/// left to async-graphql's own parse error).
pub fn check(
    query: &str,
    variables: &Variables,
    shape: &SchemaShape,
    limits: &CostLimits,
) -> Result<(), String> {
    match async_graphql::parser::parse_query(query) {
        Ok(document) => admit(&document, variables, shape, limits),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
#[path = "cost_tests.rs"]
mod tests;
