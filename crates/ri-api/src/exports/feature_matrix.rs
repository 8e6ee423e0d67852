//! The feature matrix of the deliverable's Figures 1 and 2 as CSV: features as rows, projects
//! or instruments as columns, `Y` where the column has the feature.
//!
//! ```text
//! Feature,C-SHIELD,VASCREEN
//! Techniques,,
//! T1 AI (ML),Y,Y
//! T8,Y,
//! P3 Detection,,Y
//! ```
//!
//! - Row 1 is the header: its first cell is free (`Feature`), the others name the columns.
//! - Column 1 names each row's feature: its code (`T1`), its code and label (`T1 AI (ML)`,
//!   the label as the taxonomy has it, ignoring case), or its label alone (`AI (ML)`). A row
//!   whose first cell names a category (`Techniques`, `Process`, `DEVELOPMENT_SUPPORT`) and
//!   has no other cell is a heading; empty rows are skipped.
//! - Every other cell is `Y` (or `y`) or empty. Spaces around a cell do not count.
//! - Comma, semicolon or tab separated (whichever the header row uses most), UTF-8, an
//!   optional byte-order mark.
//!
//! [`parse`] checks every cell and reports each problem with its row and column (1-based, as
//! a spreadsheet numbers them: row 1 is the header, column 1 the features); which headers
//! name real projects or instruments is for the caller to check.

use std::collections::HashMap;

use ri_taxonomy::{Category, FeatureCode, FeatureSet};
use serde::Serialize;

/// Most columns (projects or instruments) one file may hold.
pub(crate) const MAX_COLUMNS: usize = 1_000;
/// Most rows one file may hold, headings and empty rows included.
pub(crate) const MAX_ROWS: usize = 1_000;

/// One thing wrong with the file, where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Problem {
    /// The line of the file where the row starts (1: the header row).
    pub row: u64,
    /// 1-based; column 1 names the features.
    pub column: usize,
    /// The column's header, when the column has one (column 1 has none).
    pub header: Option<String>,
    /// The row's first cell as written, for rows below the header.
    pub feature: Option<String>,
    /// The offending cell as written.
    pub value: String,
    pub reason: String,
}

/// A column of the file and the features marked `Y` in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// 1-based, as in the file (the first column with a header is 2).
    pub number: usize,
    pub header: String,
    pub features: FeatureSet,
}

/// The columns with headers, and everything wrong with the file.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub columns: Vec<Column>,
    pub problems: Vec<Problem>,
}

/// The whitespace-collapsed lower case of `s`, for comparing labels.
fn normal(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether `text` names a category, as a heading row does.
fn is_heading(text: &str) -> bool {
    let text = normal(text);
    Category::ALL.iter().any(|c| {
        let label = c.label().to_lowercase();
        let first = label.split(' ').next().unwrap_or_default().to_owned();
        let id = c.id().to_lowercase().replace('_', " ");
        [
            label.clone(),
            label.trim_end_matches('s').to_owned(),
            first.clone(),
            first.trim_end_matches('s').to_owned(),
            format!("{first}es"),
            id,
        ]
        .contains(&text)
    })
}

/// The feature a row's first cell names: `T1`, `T1 AI (ML)` or `AI (ML)`.
fn feature_of(text: &str) -> Result<FeatureCode, String> {
    let token: String = text
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    if let Ok(code) = token.to_ascii_uppercase().parse::<FeatureCode>() {
        let rest = text[token.len()..]
            .trim_start_matches(|c: char| c.is_whitespace() || ":-–.)".contains(c))
            .trim();
        let label = code.feature().label;
        if rest.is_empty() || normal(rest) == normal(label) {
            return Ok(code);
        }
        return Err(format!(
            "{code} is {label:?} in the taxonomy, not {rest:?}: give the code alone or with its label"
        ));
    }
    let wanted = normal(text);
    FeatureCode::all()
        .find(|code| normal(code.feature().label) == wanted)
        .ok_or_else(|| {
            "not a feature of the taxonomy: give its code (T1), or its code and label (T1 AI (ML))"
                .to_owned()
        })
}

/// The separator the header line uses most: comma, semicolon or tab.
fn delimiter(body: &[u8]) -> u8 {
    let line = body.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |d: u8| line.iter().filter(|b| **b == d).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (count(*d), *d == b','))
        .unwrap_or(b',')
}

/// The line of `body` on which the record at byte `offset` starts. The reader skips empty
/// lines and may report a record's start before them; a record never starts with a line break.
fn line_at(body: &[u8], offset: u64) -> u64 {
    let mut start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(body.len());
    while body.get(start).is_some_and(|b| *b == b'\n' || *b == b'\r') {
        start += 1;
    }
    1 + body[..start].iter().filter(|b| **b == b'\n').count() as u64
}

/// Reads and checks the whole file. Never fails: what is wrong is in `problems`.
pub(crate) fn parse(body: &[u8]) -> Parsed {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter(body))
        .from_reader(body);
    let mut parsed = Parsed::default();
    let mut headers: Vec<Option<String>> = Vec::new();
    let mut seen_rows: HashMap<FeatureCode, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let row = e.position().map_or(1, |p| line_at(body, p.byte()));
                parsed.problems.push(Problem {
                    row,
                    column: 1,
                    header: None,
                    feature: None,
                    value: String::new(),
                    reason: format!("the file cannot be read as CSV here: {e}"),
                });
                break;
            }
        }
        rows += 1;
        let row = record
            .position()
            .map_or(rows as u64, |p| line_at(body, p.byte()));
        if rows > MAX_ROWS {
            parsed.problems.push(Problem {
                row,
                column: 1,
                header: None,
                feature: None,
                value: String::new(),
                reason: format!("a file holds at most {MAX_ROWS} rows"),
            });
            break;
        }
        // Cells as text; one that is not UTF-8 is reported and read as empty.
        let mut cells = Vec::with_capacity(record.len());
        for (i, raw) in record.iter().enumerate() {
            match std::str::from_utf8(raw) {
                Ok(text) => cells.push(text.trim().to_owned()),
                Err(_) => {
                    parsed.problems.push(Problem {
                        row,
                        column: i + 1,
                        header: headers.get(i).cloned().flatten(),
                        feature: None,
                        value: String::from_utf8_lossy(raw).into_owned(),
                        reason: "not UTF-8 text".to_owned(),
                    });
                    cells.push(String::new());
                }
            }
        }
        if rows == 1 {
            header_row(&mut parsed, &mut headers, row, &cells);
        } else {
            feature_row(&mut parsed, &headers, &mut seen_rows, row, &cells);
        }
    }
    if rows == 0 {
        parsed.problems.push(Problem {
            row: 1,
            column: 1,
            header: None,
            feature: None,
            value: String::new(),
            reason: "the file is empty: row 1 names the columns".to_owned(),
        });
    }
    parsed
}

fn header_row(parsed: &mut Parsed, headers: &mut Vec<Option<String>>, row: u64, cells: &[String]) {
    // Column 1 names the features; its header is free.
    headers.push(None);
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (i, cell) in cells.iter().enumerate().skip(1) {
        let column = i + 1;
        if cell.is_empty() {
            // A column without a header is fine while its cells are empty too.
            headers.push(None);
            continue;
        }
        headers.push(Some(cell.clone()));
        if parsed.columns.len() >= MAX_COLUMNS {
            parsed.problems.push(Problem {
                row,
                column,
                header: Some(cell.clone()),
                feature: None,
                value: cell.clone(),
                reason: format!("a file holds at most {MAX_COLUMNS} columns"),
            });
            continue;
        }
        if cell.chars().any(char::is_control) {
            parsed.problems.push(Problem {
                row,
                column,
                header: Some(cell.clone()),
                feature: None,
                value: cell.clone(),
                reason: "an id holds no control characters".to_owned(),
            });
            continue;
        }
        if let Some(first) = first_seen.get(&cell.to_lowercase()) {
            parsed.problems.push(Problem {
                row,
                column,
                header: Some(cell.clone()),
                feature: None,
                value: cell.clone(),
                reason: format!("column {first} has the same header"),
            });
            continue;
        }
        first_seen.insert(cell.to_lowercase(), column);
        parsed.columns.push(Column {
            number: column,
            header: cell.clone(),
            features: FeatureSet::empty(),
        });
    }
}

fn feature_row(
    parsed: &mut Parsed,
    headers: &[Option<String>],
    seen_rows: &mut HashMap<FeatureCode, u64>,
    row: u64,
    cells: &[String],
) {
    let first = cells.first().cloned().unwrap_or_default();
    let marked = cells.iter().skip(1).any(|c| !c.is_empty());
    if first.is_empty() && !marked {
        return;
    }
    let problem = |column: usize, value: &str, reason: String| Problem {
        row,
        column,
        header: headers.get(column - 1).cloned().flatten(),
        feature: Some(first.clone()),
        value: value.to_owned(),
        reason,
    };
    let feature = if first.is_empty() {
        parsed.problems.push(problem(
            1,
            "",
            "the row's feature is missing: column 1 names it".to_owned(),
        ));
        None
    } else if is_heading(&first) {
        if marked {
            parsed.problems.push(problem(
                1,
                &first,
                "a category heading has no cells: put each feature on its own row".to_owned(),
            ));
        }
        None
    } else {
        match feature_of(&first) {
            Ok(code) => match seen_rows.get(&code) {
                Some(earlier) => {
                    parsed.problems.push(problem(
                        1,
                        &first,
                        format!("{code} is already on row {earlier}"),
                    ));
                    None
                }
                None => {
                    seen_rows.insert(code, row);
                    Some(code)
                }
            },
            Err(reason) => {
                parsed.problems.push(problem(1, &first, reason));
                None
            }
        }
    };
    for (i, cell) in cells.iter().enumerate().skip(1) {
        let column = i + 1;
        if cell.is_empty() {
            continue;
        }
        match headers.get(i) {
            None => {
                parsed.problems.push(problem(
                    column,
                    cell,
                    "beyond the last column: row 1 has no header here".to_owned(),
                ));
                continue;
            }
            Some(None) => {
                parsed.problems.push(problem(
                    column,
                    cell,
                    "the column has no header in row 1".to_owned(),
                ));
                continue;
            }
            Some(Some(_)) => {}
        }
        if !cell.eq_ignore_ascii_case("y") {
            parsed.problems.push(problem(
                column,
                cell,
                "a cell is Y (the column has the feature) or empty".to_owned(),
            ));
            continue;
        }
        if let Some(code) = feature
            && let Some(target) = parsed.columns.iter_mut().find(|c| c.number == column)
        {
            target.features.insert(code);
        }
    }
}

/// The file [`parse`] reads back to `columns`: every feature of the taxonomy as a row
/// (`T1 AI (ML)`), `Y` where a column has it.
pub(crate) fn rows(columns: &[(String, FeatureSet)]) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(64);
    let mut header = vec!["Feature".to_owned()];
    header.extend(columns.iter().map(|(name, _)| name.clone()));
    out.push(header);
    for code in FeatureCode::all() {
        let mut row = vec![format!("{code} {}", code.feature().label)];
        row.extend(columns.iter().map(|(_, set)| {
            if set.contains(code) {
                "Y".to_owned()
            } else {
                String::new()
            }
        }));
        out.push(row);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn set(codes: &[&str]) -> FeatureSet {
        FeatureSet::parse(codes.iter().copied()).unwrap()
    }

    #[test]
    fn a_figure_1_matrix_reads_into_columns() {
        let file = "Feature,C-SHIELD,VASCREEN\n\
                    Techniques,,\n\
                    T1 AI (ML),Y,y\n\
                    t8,Y,\n\
                    \n\
                    Process,,\n\
                    Detection, ,Y\n\
                    \"T4: Visualisation (war)\",,Y\n";
        let parsed = parse(file.as_bytes());
        assert_eq!(parsed.problems, vec![]);
        assert_eq!(
            parsed.columns,
            vec![
                Column {
                    number: 2,
                    header: "C-SHIELD".into(),
                    features: set(&["T1", "T8"]),
                },
                Column {
                    number: 3,
                    header: "VASCREEN".into(),
                    features: set(&["T1", "T4", "P3"]),
                },
            ]
        );
    }

    #[test]
    fn semicolons_tabs_and_a_byte_order_mark_are_read_too() {
        for file in [
            "\u{feff}Feature;A;B\nT1;Y;\nD2;;Y\n",
            "Feature\tA\tB\nT1\tY\t\nD2\t\tY\n",
        ] {
            let parsed = parse(file.as_bytes());
            assert_eq!(parsed.problems, vec![], "{file:?}");
            let sets: Vec<_> = parsed.columns.iter().map(|c| c.features).collect();
            assert_eq!(sets, vec![set(&["T1"]), set(&["D2"])], "{file:?}");
        }
    }

    #[test]
    fn every_bad_cell_is_reported_with_its_row_column_and_header() {
        let file = "Feature,ALPHA,BETA,alpha\n\
                    T1,Y,x\n\
                    Z9 Nothing,Y,\n\
                    T1 Blockchain,,\n\
                    T2,,,,Y\n\
                    T2,Y,,\n\
                    ,Y,\n\
                    Techniques,Y,\n";
        let parsed = parse(file.as_bytes());
        let found: Vec<(u64, usize, Option<&str>, &str)> = parsed
            .problems
            .iter()
            .map(|p| (p.row, p.column, p.header.as_deref(), p.value.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (1, 4, Some("alpha"), "alpha"),
                (2, 3, Some("BETA"), "x"),
                (3, 1, None, "Z9 Nothing"),
                (4, 1, None, "T1 Blockchain"),
                (5, 5, None, "Y"),
                (6, 1, None, "T2"),
                (7, 1, None, ""),
                (8, 1, None, "Techniques"),
            ],
            "{:#?}",
            parsed.problems
        );
        assert!(
            parsed.problems[1].reason.contains("Y"),
            "{:?}",
            parsed.problems[1]
        );
        assert_eq!(parsed.problems[1].feature.as_deref(), Some("T1"));
        assert!(parsed.problems[3].reason.contains("Blockchain"));
        assert!(parsed.problems[5].reason.contains("row 5"));
    }

    #[test]
    fn a_quoted_cell_may_hold_separators_and_rows_are_lines() {
        // The second record starts on line 3: its row is the line, as an editor shows it.
        let file = "Feature,\"Project, the first\"\n\n\"T1\",\"maybe\"\n";
        let parsed = parse(file.as_bytes());
        assert_eq!(parsed.columns[0].header, "Project, the first");
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!((parsed.problems[0].row, parsed.problems[0].column), (3, 2));
    }

    #[test]
    fn an_empty_file_and_bytes_that_are_not_text_are_reported() {
        assert_eq!(parse(b"").problems[0].row, 1);
        let parsed = parse(b"Feature,A\nT1,\xff\n");
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].reason, "not UTF-8 text");
        assert_eq!((parsed.problems[0].row, parsed.problems[0].column), (2, 2));
    }

    #[test]
    fn the_export_reads_back_to_the_same_columns() {
        let columns = vec![
            ("A".to_owned(), set(&["T1", "P18", "A9", "D7", "G14"])),
            ("B".to_owned(), FeatureSet::empty()),
        ];
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in rows(&columns) {
            writer.write_record(&row).unwrap();
        }
        let parsed = parse(&writer.into_inner().unwrap());
        assert_eq!(parsed.problems, vec![]);
        let back: Vec<_> = parsed
            .columns
            .into_iter()
            .map(|c| (c.header, c.features))
            .collect();
        assert_eq!(back, columns);
    }
}

#[cfg(test)]
#[path = "feature_matrix_props.rs"]
mod props;
