//! GraphQL inputs and their parsing into domain values. Parsing names the offending field in
//! the API's spelling, so a client can point at it.

use async_graphql::{InputObject, MaybeUndefined};
use ri_domain::instrument::{InstrumentDetails, InstrumentPatch};
use ri_domain::values::{
    CountryCode, CurrencyCode, FieldError, FundingRange, LanguageCode, Link, ShortText, Summary,
    Title, distinct,
};
use ri_taxonomy::FeatureSet;

use super::enums::{CoverLevel, InstrumentKind, Periodicity, TargetOrganisation};

const MAX_LIST: usize = 60;

#[derive(InputObject, Debug, Clone)]
pub(crate) struct FundingInput {
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// ISO 4217, e.g. EUR.
    pub currency: String,
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct InstrumentInput {
    pub title: String,
    pub kind: InstrumentKind,
    pub cover_level: CoverLevel,
    /// ISO 3166-1 alpha-2 codes.
    #[graphql(default)]
    pub countries: Vec<String>,
    pub programme: Option<String>,
    pub link: Option<String>,
    #[graphql(default)]
    pub summary: String,
    #[graphql(default)]
    pub target_organisations: Vec<TargetOrganisation>,
    pub funding: Option<FundingInput>,
    pub periodicity: Option<Periodicity>,
    /// ISO 639-1 codes.
    #[graphql(default)]
    pub languages: Vec<String>,
}

/// Only the fields given change; `null` clears an optional field.
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct InstrumentPatchInput {
    pub title: Option<String>,
    pub kind: Option<InstrumentKind>,
    pub cover_level: Option<CoverLevel>,
    pub countries: Option<Vec<String>>,
    pub programme: MaybeUndefined<String>,
    pub link: MaybeUndefined<String>,
    pub summary: Option<String>,
    pub target_organisations: Option<Vec<TargetOrganisation>>,
    pub funding: MaybeUndefined<FundingInput>,
    pub periodicity: MaybeUndefined<Periodicity>,
    pub languages: Option<Vec<String>>,
}

fn countries(raw: &[String]) -> Result<Vec<CountryCode>, FieldError> {
    let parsed = raw
        .iter()
        .map(|c| CountryCode::parse("countries", c))
        .collect::<Result<Vec<_>, _>>()?;
    distinct("countries", parsed, MAX_LIST)
}

fn languages(raw: &[String]) -> Result<Vec<LanguageCode>, FieldError> {
    let parsed = raw
        .iter()
        .map(|c| LanguageCode::parse("languages", c))
        .collect::<Result<Vec<_>, _>>()?;
    distinct("languages", parsed, MAX_LIST)
}

fn targets(
    raw: &[TargetOrganisation],
) -> Result<Vec<ri_domain::instrument::TargetOrganisation>, FieldError> {
    distinct(
        "targetOrganisations",
        raw.iter().map(|t| (*t).into()),
        MAX_LIST,
    )
}

fn funding(raw: &FundingInput) -> Result<FundingRange, FieldError> {
    let amount = |v: Option<i64>, field| {
        v.map(|v| u64::try_from(v).map_err(|_| FieldError::new(field, "must not be negative")))
            .transpose()
    };
    FundingRange::new(
        amount(raw.min, "funding.min")?,
        amount(raw.max, "funding.max")?,
        CurrencyCode::parse("funding.currency", &raw.currency)?,
    )
}

fn optional<T>(
    raw: Option<&String>,
    parse: impl Fn(&str) -> Result<T, FieldError>,
) -> Result<Option<T>, FieldError> {
    raw.map(|s| parse(s)).transpose()
}

fn maybe<T, U>(
    raw: MaybeUndefined<T>,
    parse: impl Fn(&T) -> Result<U, FieldError>,
) -> Result<Option<Option<U>>, FieldError> {
    match raw {
        MaybeUndefined::Undefined => Ok(None),
        MaybeUndefined::Null => Ok(Some(None)),
        MaybeUndefined::Value(v) => parse(&v).map(|u| Some(Some(u))),
    }
}

impl InstrumentInput {
    pub(crate) fn parse(&self) -> Result<InstrumentDetails, FieldError> {
        Ok(InstrumentDetails {
            title: Title::parse("title", &self.title)?,
            kind: self.kind.into(),
            cover_level: self.cover_level.into(),
            countries: countries(&self.countries)?,
            programme: optional(self.programme.as_ref(), |s| {
                ShortText::parse("programme", s)
            })?,
            link: optional(self.link.as_ref(), |s| Link::parse("link", s))?,
            summary: Summary::parse("summary", &self.summary)?,
            target_organisations: targets(&self.target_organisations)?,
            funding: self.funding.as_ref().map(funding).transpose()?,
            periodicity: self.periodicity.map(Into::into),
            languages: languages(&self.languages)?,
        })
    }
}

impl InstrumentPatchInput {
    pub(crate) fn parse(self) -> Result<InstrumentPatch, FieldError> {
        Ok(InstrumentPatch {
            title: optional(self.title.as_ref(), |s| Title::parse("title", s))?,
            kind: self.kind.map(Into::into),
            cover_level: self.cover_level.map(Into::into),
            countries: self.countries.as_deref().map(countries).transpose()?,
            programme: maybe(self.programme, |s| ShortText::parse("programme", s))?,
            link: maybe(self.link, |s| Link::parse("link", s))?,
            summary: optional(self.summary.as_ref(), |s| Summary::parse("summary", s))?,
            target_organisations: self
                .target_organisations
                .as_deref()
                .map(targets)
                .transpose()?,
            funding: maybe(self.funding, funding)?,
            periodicity: maybe(self.periodicity, |p| Ok((*p).into()))?,
            languages: self.languages.as_deref().map(languages).transpose()?,
        })
    }
}

/// Feature codes, all known or an error naming the unknown one.
pub(crate) fn features(field: &'static str, codes: &[String]) -> Result<FeatureSet, FieldError> {
    FeatureSet::parse(codes.iter().map(String::as_str))
        .map_err(|e| FieldError::new(field, e.to_string()))
}

/// A reason or note of at most 500 characters.
pub(crate) fn short_text(field: &'static str, raw: &str) -> Result<ShortText, FieldError> {
    ShortText::parse(field, raw)
}
