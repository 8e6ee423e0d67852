//! The feature-matrix parser under arbitrary input: it never panics, every problem points at
//! a row and column that exist, and no column it accepts has a header PostgreSQL could not
//! take as an id (a NUL, any control character).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::{MAX_COLUMNS, parse};

/// Files that look like matrices: cells from a small alphabet of what the parser reads
/// (codes, labels, `Y`, separators, quotes, line breaks, NUL, a byte-order mark).
fn matrix_like() -> impl Strategy<Value = Vec<u8>> {
    let cell = prop_oneof![
        Just("T1".to_owned()),
        Just("T1 AI (ML)".to_owned()),
        Just("Techniques".to_owned()),
        Just("Y".to_owned()),
        Just("y".to_owned()),
        Just(String::new()),
        Just("\"a,b\"".to_owned()),
        Just("\"".to_owned()),
        Just("p-1\u{0}".to_owned()),
        Just("é".to_owned()),
        "[A-Za-z0-9 ]{0,6}",
    ];
    let sep = prop_oneof![Just(","), Just(";"), Just("\t"), Just("\n"), Just("\r\n")];
    (any::<bool>(), proptest::collection::vec((cell, sep), 0..60)).prop_map(|(bom, cells)| {
        let mut out = if bom {
            b"\xEF\xBB\xBF".to_vec()
        } else {
            Vec::new()
        };
        for (cell, sep) in cells {
            out.extend_from_slice(cell.as_bytes());
            out.extend_from_slice(sep.as_bytes());
        }
        out
    })
}

fn check(body: &[u8]) -> Result<(), TestCaseError> {
    let parsed = parse(body);
    let lines = 1 + body.iter().filter(|b| **b == b'\n').count() as u64;
    for p in &parsed.problems {
        prop_assert!(p.row >= 1 && p.row <= lines, "{p:?} of {lines} lines");
        prop_assert!(p.column >= 1, "{p:?}");
    }
    prop_assert!(parsed.columns.len() <= MAX_COLUMNS);
    for c in &parsed.columns {
        prop_assert!(c.number >= 2);
        prop_assert!(!c.header.is_empty());
        prop_assert!(!c.header.chars().any(char::is_control), "{c:?}");
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_bytes_parse_without_a_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&body)?;
    }

    #[test]
    fn any_matrix_like_file_parses_without_a_panic(body in matrix_like()) {
        check(&body)?;
    }
}

#[test]
fn a_header_with_a_nul_is_a_problem_not_a_column() {
    let parsed = parse(b"Feature,p-1\x00x,p-2\nT1,Y,Y\n");
    assert_eq!(
        parsed
            .columns
            .iter()
            .map(|c| c.header.as_str())
            .collect::<Vec<_>>(),
        ["p-2"]
    );
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
    assert_eq!((parsed.problems[0].row, parsed.problems[0].column), (1, 2));
}
