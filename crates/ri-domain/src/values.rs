//! Value objects shared by the aggregates. Each parses from raw input and cannot hold an invalid
//! value; a parse failure names the field, so the API can say which input was wrong.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Bad input, naming the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Trimmed text of bounded length; `min_chars` 1 means it may not be empty.
fn bounded_text(
    field: &'static str,
    raw: &str,
    min_chars: usize,
    max_chars: usize,
) -> Result<String, FieldError> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars < min_chars {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if chars > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters, got {chars}"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
                bounded_text(field, raw, $min, $max).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A title or name: 1 to 300 characters.
    Title, 1, 300
);
text_type!(
    /// A summary or description: up to 5,000 characters.
    Summary, 0, 5_000
);
text_type!(
    /// A short free text (programme, reason, note): up to 500 characters.
    ShortText, 0, 500
);
text_type!(
    /// Search words in web-search syntax (`"border control" -maritime`): 1 to 200 characters.
    SearchText, 1, 200
);

/// An absolute `http` or `https` URL of at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Link(String);

impl Link {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.len() > 2048 {
            return Err(FieldError::new(field, "must be at most 2048 characters"));
        }
        let url = url::Url::parse(raw).map_err(|e| FieldError::new(field, e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(FieldError::new(field, "must be an http or https address"));
        }
        Ok(Self(url.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-case (`DE`, `LT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        match (rust_iso3166::from_alpha2(&code), code.as_bytes()) {
            (Some(_), [a, b]) => Ok(Self([*a, *b])),
            _ => Err(FieldError::new(
                field,
                format!("{raw:?} is not an ISO 3166-1 alpha-2 country code"),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl TryFrom<String> for CountryCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("country", &value)
    }
}

impl From<CountryCode> for String {
    fn from(value: CountryCode) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ISO 4217 currency code (`EUR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&code)
            .map(|_| Self(code))
            .ok_or_else(|| {
                FieldError::new(field, format!("{raw:?} is not an ISO 4217 currency code"))
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CurrencyCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("currency", &value)
    }
}

impl From<CurrencyCode> for String {
    fn from(value: CurrencyCode) -> Self {
        value.0
    }
}

/// An ISO 639-1 language code, lower-case (`en`, `lt`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageCode(String);

impl LanguageCode {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let code = raw.trim().to_ascii_lowercase();
        isolang::Language::from_639_1(&code)
            .map(|_| Self(code))
            .ok_or_else(|| {
                FieldError::new(field, format!("{raw:?} is not an ISO 639-1 language code"))
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LanguageCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("languages", &value)
    }
}

impl From<LanguageCode> for String {
    fn from(value: LanguageCode) -> Self {
        value.0
    }
}

/// How much an instrument funds per beneficiary, in whole units of its currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FundingRange {
    pub min: Option<u64>,
    pub max: Option<u64>,
    pub currency: CurrencyCode,
}

impl FundingRange {
    pub fn new(
        min: Option<u64>,
        max: Option<u64>,
        currency: CurrencyCode,
    ) -> Result<Self, FieldError> {
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(FieldError::new(
                "funding",
                format!("minimum {min} is above maximum {max}"),
            ));
        }
        Ok(Self { min, max, currency })
    }
}

/// A list without duplicates, in first-seen order, of at most `max` items.
pub fn distinct<T: PartialEq>(
    field: &'static str,
    items: impl IntoIterator<Item = T>,
    max: usize,
) -> Result<Vec<T>, FieldError> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
        if out.len() > max {
            return Err(FieldError::new(field, format!("at most {max} items")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(
            Title::parse("title", "  Horizon Europe ").map(|t| t.0),
            Ok("Horizon Europe".into())
        );
        assert_eq!(
            Title::parse("title", "   ").map_err(|e| e.field),
            Err("title")
        );
        let long = "x".repeat(10_000);
        let err = Title::parse("title", &long).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.reason.contains("at most 300"), "{err}");
        assert!(Summary::parse("summary", "").is_ok());
        assert!(Title::parse("title", "a\u{0}b").is_err());
    }

    #[test]
    fn codes_are_checked_against_the_iso_lists() {
        assert_eq!(
            CountryCode::parse("countries", "lt").map(String::from),
            Ok("LT".into())
        );
        assert_eq!(
            CountryCode::parse("countries", "XX").map_err(|e| e.field),
            Err("countries")
        );
        assert_eq!(
            CountryCode::parse("countries", "DEU").map_err(|e| e.field),
            Err("countries")
        );
        assert_eq!(
            CurrencyCode::parse("currency", "eur").map(String::from),
            Ok("EUR".into())
        );
        assert!(CurrencyCode::parse("currency", "EUX").is_err());
        assert_eq!(
            LanguageCode::parse("languages", "EN").map(String::from),
            Ok("en".into())
        );
        assert!(LanguageCode::parse("languages", "xx").is_err());
    }

    #[test]
    fn links_must_be_web_addresses() {
        assert!(Link::parse("link", "https://ec.europa.eu/info/funding-tenders").is_ok());
        for bad in [
            "ec.europa.eu",
            "javascript:alert(1)",
            "ftp://x.eu/file",
            "https://",
        ] {
            assert_eq!(
                Link::parse("link", bad).map_err(|e| e.field),
                Err("link"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_funding_range_is_ordered() {
        let eur = CurrencyCode::parse("currency", "EUR").unwrap();
        assert!(FundingRange::new(Some(10), Some(5), eur.clone()).is_err());
        assert!(FundingRange::new(Some(5), None, eur).is_ok());
    }

    #[test]
    fn distinct_drops_duplicates_and_bounds_the_list() {
        assert_eq!(distinct("countries", [1, 2, 1, 3], 5), Ok(vec![1, 2, 3]));
        assert!(distinct("countries", 0..10, 5).is_err());
    }
}

/// A field's value before and after a change, as events record it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change<T> {
    pub old: T,
    pub new: T,
}

impl<T: PartialEq + Clone> Change<T> {
    /// The change from `old` to `new`, or `None` when they are equal.
    pub fn between(old: &T, new: &T) -> Option<Self> {
        (old != new).then(|| Self {
            old: old.clone(),
            new: new.clone(),
        })
    }
}
