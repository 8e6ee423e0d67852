//! The public search's page, resolved in one synchronous pass.
//!
//! async-graphql resolves every selected field as a boxed future polled through a
//! `FuturesUnordered`, with an `IndexMap` per object: about 1.5 µs of CPU a field here. A search
//! page as the web asks for it (20 instruments with their curator and features, four facet
//! lists) selects some 800 fields, so that machinery cost more than the search itself. The
//! fields of a page are plain data, already in memory: [`SearchPage`] walks the selection set
//! once and builds the response value directly, exactly as async-graphql would (aliases,
//! fragments, `__typename`, field order). Anything it does not serve plainly (a field with
//! arguments such as `matchingProjects`, a field it does not know, a response key selected
//! twice, a fragment on an abstract type) sends the whole page down async-graphql's own path,
//! so the schema and every answer stay as they were; a test compares both paths.

use std::borrow::Cow;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::enum_value;
use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ScalarType, ServerResult, Value,
};
use ri_projections::catalogue::{InstrumentPage, InstrumentRow};
use ri_taxonomy::FeatureCode;

use super::enums;
use super::objects::InstrumentConnection;

/// A page of the public search, as `InstrumentConnection`.
#[derive(Debug)]
pub(crate) struct SearchPage(pub InstrumentPage);

impl OutputType for SearchPage {
    fn type_name() -> Cow<'static, str> {
        InstrumentConnection::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        InstrumentConnection::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if let Some(value) = connection(ctx, ctx.item, &self.0) {
            #[cfg(test)]
            tests::FAST.with(|n| n.set(n.get() + 1));
            return Ok(value);
        }
        InstrumentConnection::from(self.0.clone())
            .resolve(ctx, field)
            .await
    }
}

/// The fields `set` selects on an object of type `ty`, fragments expanded, in order; `None`
/// when async-graphql's own path must answer.
fn selected<'a>(
    ctx: &'a ContextSelectionSet<'_>,
    set: &'a Positioned<SelectionSet>,
    ty: &str,
    out: &mut Vec<&'a Positioned<Field>>,
) -> Option<()> {
    for selection in &set.node.items {
        let (condition, inner) = match &selection.node {
            Selection::Field(field) => {
                // `@skip` and `@include` are gone by now (async-graphql removes them before
                // execution); any other directive is not ours to interpret.
                if !field.node.directives.is_empty() {
                    return None;
                }
                out.push(field);
                continue;
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                (
                    Some(fragment.node.type_condition.node.on.node.as_str()),
                    &fragment.node.selection_set,
                )
            }
            Selection::InlineFragment(fragment) => (
                fragment
                    .node
                    .type_condition
                    .as_ref()
                    .map(|c| c.node.on.node.as_str()),
                &fragment.node.selection_set,
            ),
        };
        if !selection.node.directives().is_empty() {
            return None;
        }
        match condition {
            None => selected(ctx, inner, ty, out)?,
            Some(on) if on == ty => selected(ctx, inner, ty, out)?,
            // A condition on an interface or union would need the registry: not ours.
            Some(_) => return None,
        }
    }
    Some(())
}

/// An object of type `ty` with the fields `set` selects, each valued by `value` (`None`:
/// not served here).
fn object<'a>(
    ctx: &'a ContextSelectionSet<'_>,
    set: &'a Positioned<SelectionSet>,
    ty: &str,
    mut value: impl FnMut(&str, &'a Positioned<SelectionSet>) -> Option<Value>,
) -> Option<Value> {
    let mut fields = Vec::new();
    selected(ctx, set, ty, &mut fields)?;
    let mut map = IndexMap::with_capacity(fields.len());
    for field in fields {
        let key: &Name = &field.node.response_key().node;
        if map.contains_key(key) || !field.node.arguments.is_empty() {
            return None;
        }
        let name = field.node.name.node.as_str();
        let v = if name == "__typename" {
            Value::String(ty.to_owned())
        } else {
            value(name, &field.node.selection_set)?
        };
        map.insert(key.clone(), v);
    }
    Some(Value::Object(map))
}

fn list<T>(
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(T) -> Option<Value>,
) -> Option<Value> {
    items
        .into_iter()
        .map(&mut each)
        .collect::<Option<Vec<_>>>()
        .map(Value::List)
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn optional<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    v.map_or(Value::Null, f)
}

fn connection(
    ctx: &ContextSelectionSet<'_>,
    set: &Positioned<SelectionSet>,
    page: &InstrumentPage,
) -> Option<Value> {
    object(ctx, set, "InstrumentConnection", |name, sub| match name {
        "totalCount" => Some(Value::from(page.total_count)),
        "pageInfo" => object(ctx, sub, "PageInfo", |name, _| match name {
            "hasNextPage" => Some(Value::Boolean(page.has_next_page)),
            "endCursor" => Some(optional(page.end_cursor.as_deref(), string)),
            _ => None,
        }),
        "edges" => list(page.items.iter().zip(&page.cursors), |(row, cursor)| {
            object(ctx, sub, "InstrumentEdge", |name, sub| match name {
                "cursor" => Some(string(cursor)),
                "node" => instrument(ctx, sub, row),
                _ => None,
            })
        }),
        "nodes" => list(&page.items, |row| instrument(ctx, sub, row)),
        "facets" => facets(ctx, sub, page),
        _ => None,
    })
}

fn facets(
    ctx: &ContextSelectionSet<'_>,
    set: &Positioned<SelectionSet>,
    page: &InstrumentPage,
) -> Option<Value> {
    let f = &page.facets;
    object(ctx, set, "InstrumentFacets", |name, sub| match name {
        "features" => list(&f.features, |(code, count)| {
            object(ctx, sub, "FeatureCount", |name, sub| match name {
                "feature" => feature(ctx, sub, *code),
                "count" => Some(Value::from(*count)),
                _ => None,
            })
        }),
        "countries" => list(&f.countries, |(country, count)| {
            object(ctx, sub, "CountryCount", |name, _| match name {
                "country" => Some(string(country)),
                "count" => Some(Value::from(*count)),
                _ => None,
            })
        }),
        "coverLevels" => list(&f.cover_levels, |(level, count)| {
            object(ctx, sub, "CoverLevelCount", |name, _| match name {
                "coverLevel" => Some(enum_value(enums::CoverLevel::from(*level))),
                "count" => Some(Value::from(*count)),
                _ => None,
            })
        }),
        "kinds" => list(&f.kinds, |(kind, count)| {
            object(ctx, sub, "KindCount", |name, _| match name {
                "kind" => Some(enum_value(enums::InstrumentKind::from(*kind))),
                "count" => Some(Value::from(*count)),
                _ => None,
            })
        }),
        _ => None,
    })
}

fn feature(
    ctx: &ContextSelectionSet<'_>,
    set: &Positioned<SelectionSet>,
    code: FeatureCode,
) -> Option<Value> {
    object(ctx, set, "Feature", |name, _| match name {
        "code" => Some(string(code.as_str())),
        "label" => Some(string(code.feature().label)),
        "category" => Some(string(code.category().id())),
        _ => None,
    })
}

fn instrument(
    ctx: &ContextSelectionSet<'_>,
    set: &Positioned<SelectionSet>,
    row: &InstrumentRow,
) -> Option<Value> {
    let time = |t: &time::OffsetDateTime| t.to_value();
    object(ctx, set, "Instrument", |name, sub| {
        Some(match name {
            "id" => string(&row.id),
            "version" => Value::from(row.version),
            "curator" => object(ctx, sub, "Curator", |name, _| match name {
                "slug" => Some(string(row.tenant.as_str())),
                "name" => Some(optional(row.tenant_name.as_deref(), string)),
                "suspended" => Some(Value::Boolean(row.tenant_suspended)),
                _ => None,
            })?,
            "status" => enum_value(enums::InstrumentStatus::from(row.status)),
            "title" => string(&row.title),
            "kind" => enum_value(enums::InstrumentKind::from(row.kind)),
            "coverLevel" => enum_value(enums::CoverLevel::from(row.cover_level)),
            "countries" => Value::List(
                row.countries
                    .iter()
                    .map(|c| Value::String(c.to_string()))
                    .collect(),
            ),
            "programme" => optional(row.programme.as_deref(), string),
            "link" => optional(row.link.as_deref(), string),
            "summary" => string(&row.summary),
            "targetOrganisations" => Value::List(
                row.target_organisations
                    .iter()
                    .map(|t| enum_value(enums::TargetOrganisation::from(*t)))
                    .collect(),
            ),
            "funding" => match &row.funding {
                None => Value::Null,
                Some(f) => object(ctx, sub, "Funding", |name, _| match name {
                    "min" => Some(optional(
                        f.min.and_then(|v| i64::try_from(v).ok()),
                        Value::from,
                    )),
                    "max" => Some(optional(
                        f.max.and_then(|v| i64::try_from(v).ok()),
                        Value::from,
                    )),
                    "currency" => Some(string(f.currency.as_str())),
                    _ => None,
                })?,
            },
            "periodicity" => optional(row.periodicity, |p| enum_value(enums::Periodicity::from(p))),
            "languages" => Value::List(row.languages.iter().map(|l| string(l.as_str())).collect()),
            "features" => list(row.features.iter(), |code| feature(ctx, sub, code))?,
            "openingDate" => optional(row.opening_date.as_ref(), |d| d.to_value()),
            "deadline" => optional(row.deadline.as_ref(), time),
            "timeZone" => optional(row.time_zone.as_deref(), string),
            "updatedAt" => time(&row.updated_at),
            "publishedAt" => optional(row.published_at.as_ref(), time),
            _ => return None,
        })
    })
}

#[cfg(test)]
#[path = "search_page_tests.rs"]
mod tests;
