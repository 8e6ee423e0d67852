//! The public search's filter under arbitrary input: parsing never panics, and whatever it
//! refuses is `BAD_USER_INPUT` naming a field of the filter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use time::OffsetDateTime;

use super::InstrumentFilter;
use crate::graphql::error::Code;

fn any_instant() -> impl Strategy<Value = Option<OffsetDateTime>> {
    proptest::option::of((any::<i64>(), -86_399i32..=86_399).prop_filter_map(
        "representable",
        |(seconds, offset)| {
            let at = OffsetDateTime::from_unix_timestamp(seconds % 400_000_000_000).ok()?;
            at.checked_to_offset(time::UtcOffset::from_whole_seconds(offset).ok()?)
        },
    ))
}

proptest! {
    #[test]
    fn any_filter_parses_or_is_bad_input_naming_its_field(
        text in proptest::option::of("\\PC{0,30}|[\\x00-\\x20a-z]{0,210}"),
        countries in proptest::collection::vec("\\PC{0,4}", 0..3),
        features in proptest::collection::vec("\\PC{0,4}|[TPDAG][0-9]{1,2}", 0..3),
        tenant in proptest::option::of("\\PC{0,12}|[a-z0-9-]{1,20}"),
        deadline_from in any_instant(),
        deadline_to in any_instant(),
    ) {
        let filter = InstrumentFilter {
            text,
            countries,
            features,
            tenant,
            deadline_from,
            deadline_to,
            ..InstrumentFilter::default()
        };
        match filter.parse() {
            Ok(parsed) => {
                prop_assert!(!parsed.text.unwrap_or_default().contains('\0'));
                for at in [parsed.deadline_from, parsed.deadline_to].into_iter().flatten() {
                    prop_assert!(ri_domain::when::instant("at", at).is_ok());
                }
            }
            Err(e) => {
                prop_assert_eq!(e.code, Code::BadUserInput);
                let field = e.field.unwrap_or_default();
                prop_assert!(field.starts_with("filter."), "{}", field);
            }
        }
    }
}
