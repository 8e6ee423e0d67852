//! Unit tests of the query cost measure (pure: documents in, measures out).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;

fn shape() -> &'static SchemaShape {
    static SHAPE: OnceLock<SchemaShape> = OnceLock::new();
    SHAPE.get_or_init(|| SchemaShape::from_sdl(&crate::graphql::sdl()).unwrap())
}

fn measured(query: &str) -> Measure {
    let document = async_graphql::parser::parse_query(query).unwrap();
    measure(&document, &Variables::default(), shape()).unwrap()
}

/// `fragment F0 on QueryRoot { ...F1 ...F1 }` … `fragment F<n> on QueryRoot { __typename }`.
pub(crate) fn fragment_bomb(n: usize) -> String {
    let mut query = String::from("query { ...F0 }\n");
    for i in 0..n {
        query.push_str(&format!(
            "fragment F{i} on QueryRoot {{ ...F{next} ...F{next} }}\n",
            next = i + 1
        ));
    }
    query.push_str(&format!("fragment F{n} on QueryRoot {{ __typename }}\n"));
    query
}

/// 100 aliases of a list three connections deep.
pub(crate) fn alias_bomb(aliases: usize) -> String {
    let mut query = String::from("query {");
    for i in 0..aliases {
        query.push_str(&format!(
            " a{i}: instruments(first: 100) {{ nodes {{ matchingProjects(first: 100) {{ project {{ id }} }} }} }}"
        ));
    }
    query.push('}');
    query
}

#[test]
fn the_schema_shape_knows_lists_and_connections() {
    assert!(shape().is_wide("QueryRoot", "instruments"));
    assert!(shape().is_wide("Instrument", "matchingProjects"));
    assert!(shape().is_wide("InstrumentConnection", "nodes"));
    assert!(!shape().is_wide("QueryRoot", "taxonomy"));
}

#[test]
fn every_fragment_is_measured_once_however_often_it_is_spread() {
    // 2^22 `__typename`s, counted in a breath.
    let bomb = measured(&fragment_bomb(22));
    assert_eq!(bomb.fields, 1 << 22);
    let refused = check(
        &fragment_bomb(22),
        &Variables::default(),
        shape(),
        &CostLimits::SIGNED_IN,
    )
    .unwrap_err();
    assert!(refused.contains("fields"), "{refused}");
    // A thousand doublings saturate rather than overflow.
    assert_eq!(measured(&fragment_bomb(1000)).fields, u64::MAX);
}

#[test]
fn a_long_chain_of_fragments_does_not_exhaust_the_stack() {
    let n = 20_000;
    let mut query = String::from("query { ...F0 }\n");
    for i in 0..n {
        query.push_str(&format!("fragment F{i} on QueryRoot {{ ...F{} }}\n", i + 1));
    }
    query.push_str(&format!("fragment F{n} on QueryRoot {{ __typename }}\n"));
    let document = async_graphql::parser::parse_query(&query).unwrap();
    let m = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || measure(&document, &Variables::default(), shape()))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(m.fields, 1);
}

#[test]
fn fragment_cycles_are_refused() {
    for query in [
        "query { ...A } fragment A on QueryRoot { ...A }",
        "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { taxonomy { ...C } } fragment C on Taxonomy { ...A }",
    ] {
        let document = async_graphql::parser::parse_query(query).unwrap();
        assert!(matches!(
            measure(&document, &Variables::default(), shape()),
            Err(Unmeasurable::FragmentCycle(_))
        ));
        let refused = check(
            query,
            &Variables::default(),
            shape(),
            &CostLimits::SIGNED_IN,
        );
        assert!(refused.unwrap_err().contains("spreads itself"));
    }
}

#[test]
fn lists_are_weighted_by_their_first_argument() {
    let one = measured("{ instruments(first: 1) { nodes { id } } }");
    let hundred = measured("{ instruments(first: 100) { nodes { id } } }");
    let huge = measured("{ instruments(first: 100000) { nodes { id } } }");
    let default = measured("{ instruments { nodes { id } } }");
    assert_eq!(one.cost, 1 + 1 + 1);
    assert_eq!(hundred.cost, 1 + 1 + 100);
    assert_eq!(huge, hundred, "widths are clamped to what resolvers return");
    assert_eq!(default.cost, 1 + 1 + DEFAULT_WIDTH);
    // `totalCount` and `pageInfo` are not multiplied by the page.
    assert_eq!(
        measured("{ instruments(first: 100) { totalCount pageInfo { hasNextPage } } }").cost,
        1 + 1 + 2
    );
    // From variables, and from a variable's default.
    let document = async_graphql::parser::parse_query(
        "query($n: Int = 5) { instruments(first: $n) { nodes { id } } }",
    )
    .unwrap();
    let vars = Variables::from_json(serde_json::json!({"n": 50}));
    assert_eq!(measure(&document, &vars, shape()).unwrap().cost, 1 + 1 + 50);
    assert_eq!(
        measure(&document, &Variables::default(), shape())
            .unwrap()
            .cost,
        1 + 1 + 5
    );
    // Nested lists multiply.
    let nested = measured(
        "{ instruments(first: 10) { nodes { matchingProjects(first: 10) { project { id } } } } }",
    );
    // instruments 1 + nodes (1 + 10 × matchingProjects (1 + 10 × (project 1 + id 1)))
    assert_eq!(nested.cost, 1 + 1 + 10 * (1 + 10 * (1 + 1)));
}

#[test]
fn the_alias_bomb_is_refused_for_everyone() {
    for limits in [CostLimits::ANONYMOUS, CostLimits::SIGNED_IN] {
        let refused = check(&alias_bomb(100), &Variables::default(), shape(), &limits);
        assert!(refused.is_err(), "{limits:?}");
    }
    assert_eq!(measured(&alias_bomb(100)).aliases, 100);
    // One of them, signed in, is fine.
    assert!(
        check(
            "{ instruments(first: 100) { nodes { matchingProjects(first: 10) { project { id } } } } }",
            &Variables::default(),
            shape(),
            &CostLimits::SIGNED_IN
        )
        .is_ok()
    );
}

#[test]
fn anonymous_limits_are_lower_than_signed_in_ones() {
    let a = CostLimits::ANONYMOUS;
    let s = CostLimits::SIGNED_IN;
    assert!(a.fields < s.fields && a.depth <= s.depth && a.aliases < s.aliases && a.cost < s.cost);
    let wide =
        "{ instruments(first: 100) { nodes { matchingProjects(first: 100) { project { id } } } } }";
    assert!(check(wide, &Variables::default(), shape(), &s).is_ok());
    assert!(check(wide, &Variables::default(), shape(), &a).is_err());
}

#[test]
fn unparsable_documents_are_left_to_async_graphql() {
    assert!(check("{", &Variables::default(), shape(), &CostLimits::ANONYMOUS).is_ok());
}

/// Documents built from a few fields, aliases, arguments, inline fragments and spreads
/// between a handful of fragments (cycles and unknown names included).
fn documents() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("__typename".to_owned()),
        Just("id".to_owned()),
        (0u8..6).prop_map(|i| format!("...F{i}")),
    ];
    let selection = leaf.prop_recursive(6, 64, 6, |inner| {
        (
            prop_oneof![
                Just("instruments"),
                Just("nodes"),
                Just("matchingProjects"),
                Just("project"),
                Just("unknown")
            ],
            proptest::option::of(any::<i32>()),
            any::<bool>(),
            proptest::collection::vec(inner, 1..5),
        )
            .prop_map(|(name, first, alias, items)| {
                let args = first.map(|n| format!("(first: {n})")).unwrap_or_default();
                let alias = if alias { "x: " } else { "" };
                format!("{alias}{name}{args} {{ {} }}", items.join(" "))
            })
    });
    (
        proptest::collection::vec(selection.clone(), 1..4),
        proptest::collection::vec(proptest::collection::vec(selection, 1..4), 0..6),
    )
        .prop_map(|(operation, fragments)| {
            let mut doc = format!("query {{ {} }}\n", operation.join(" "));
            for (i, body) in fragments.iter().enumerate() {
                doc.push_str(&format!(
                    "fragment F{i} on {} {{ {} }}\n",
                    if i % 2 == 0 {
                        "QueryRoot"
                    } else {
                        "Instrument"
                    },
                    body.join(" ")
                ));
            }
            doc
        })
}

proptest! {
    #[test]
    fn the_checker_never_panics_on_arbitrary_text(query in "\\PC{0,400}") {
        let _ = check(&query, &Variables::default(), shape(), &CostLimits::ANONYMOUS);
    }

    #[test]
    fn the_checker_never_panics_on_arbitrary_documents(query in documents()) {
        let _ = check(&query, &Variables::default(), shape(), &CostLimits::ANONYMOUS);
        if let Ok(document) = async_graphql::parser::parse_query(&query)
            && let Ok(m) = measure(&document, &Variables::default(), shape())
        {
            prop_assert!(m.depth <= m.fields);
            prop_assert!(m.fields <= m.cost);
        }
    }
}
