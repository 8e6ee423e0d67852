//! What the public may see of one instrument: the index's document, and the rules that decide
//! whether it is public and what status it reads as at a given instant.

use ri_domain::TenantSlug;
use ri_domain::instrument::{
    CoverLevel, InstrumentKind, InstrumentStatus, Periodicity, TargetOrganisation,
};
use ri_domain::values::{CountryCode, FundingRange, LanguageCode};
use ri_taxonomy::FeatureSet;
use time::{Date, OffsetDateTime};

/// One instrument as the public search shows it: the fields of the catalogue's row that anyone
/// may read. The feeder builds it from the log (or a snapshot of the catalogue table); the index
/// keeps it behind an `Arc` and hands it back with every hit, so a page needs no database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentDoc {
    /// The aggregate id; unique in the index.
    pub id: String,
    pub tenant: TenantSlug,
    /// The curating tenant's name (searchable); `None` while the tenant directory lags.
    pub tenant_name: Option<String>,
    pub tenant_suspended: bool,
    /// The aggregate's version.
    pub version: i64,
    /// The stored status; see [`InstrumentDoc::status_at`] for what it reads as.
    pub status: InstrumentStatus,
    pub title: String,
    pub kind: InstrumentKind,
    pub cover_level: CoverLevel,
    pub countries: Vec<CountryCode>,
    pub programme: Option<String>,
    pub link: Option<String>,
    pub summary: String,
    pub target_organisations: Vec<TargetOrganisation>,
    pub funding: Option<FundingRange>,
    pub periodicity: Option<Periodicity>,
    pub languages: Vec<LanguageCode>,
    pub features: FeatureSet,
    pub opening_date: Option<Date>,
    pub deadline: Option<OffsetDateTime>,
    pub time_zone: Option<String>,
    pub drafted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// The latest publication; `None` for an instrument never published, which is not public.
    pub published_at: Option<OffsetDateTime>,
}

impl InstrumentDoc {
    /// Whether anyone may see it: published at least once (in any status since), and not a
    /// draft. The index keeps only public documents; upserting any other removes it.
    pub fn is_public(&self) -> bool {
        self.published_at.is_some() && self.status != InstrumentStatus::Draft
    }

    /// The status as of `now`: an open call whose deadline is at or before `now` reads (and is
    /// filtered and counted) as closed, without waiting for the platform to close it.
    pub fn status_at(&self, now: OffsetDateTime) -> InstrumentStatus {
        effective_status(self.status, nanos(self.deadline), nanos_of(now))
    }
}

/// [`InstrumentDoc::status_at`] on the index's columns.
pub(crate) fn effective_status(
    stored: InstrumentStatus,
    deadline: i128,
    now: i128,
) -> InstrumentStatus {
    if stored == InstrumentStatus::Open && deadline <= now {
        InstrumentStatus::Closed
    } else {
        stored
    }
}

/// An instant as nanoseconds since the epoch: exact for every year the domain accepts.
pub(crate) fn nanos_of(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos()
}

/// A deadline as a sort key: none sorts after every instant.
pub(crate) fn nanos(at: Option<OffsetDateTime>) -> i128 {
    at.map_or(NO_DEADLINE, nanos_of)
}

/// The key of "no deadline": after every instant.
pub(crate) const NO_DEADLINE: i128 = i128::MAX;

/// Statuses in the order of their column code.
pub(crate) const STATUSES: [InstrumentStatus; 5] = [
    InstrumentStatus::Draft,
    InstrumentStatus::Open,
    InstrumentStatus::Closed,
    InstrumentStatus::Withdrawn,
    InstrumentStatus::Archived,
];

pub(crate) const KINDS: [InstrumentKind; 3] = [
    InstrumentKind::Call,
    InstrumentKind::Programme,
    InstrumentKind::StrategicDocument,
];

pub(crate) const COVER_LEVELS: [CoverLevel; 4] = [
    CoverLevel::Regional,
    CoverLevel::National,
    CoverLevel::Eu,
    CoverLevel::International,
];

pub(crate) fn status_code(status: InstrumentStatus) -> u32 {
    match status {
        InstrumentStatus::Draft => 0,
        InstrumentStatus::Open => 1,
        InstrumentStatus::Closed => 2,
        InstrumentStatus::Withdrawn => 3,
        InstrumentStatus::Archived => 4,
    }
}

pub(crate) fn kind_code(kind: InstrumentKind) -> u32 {
    match kind {
        InstrumentKind::Call => 0,
        InstrumentKind::Programme => 1,
        InstrumentKind::StrategicDocument => 2,
    }
}

pub(crate) fn cover_code(cover: CoverLevel) -> u32 {
    match cover {
        CoverLevel::Regional => 0,
        CoverLevel::National => 1,
        CoverLevel::Eu => 2,
        CoverLevel::International => 3,
    }
}

/// Strings to name the enums by (the API's spelling), for ordering facets by value.
pub(crate) fn status_name(status: InstrumentStatus) -> &'static str {
    match status {
        InstrumentStatus::Draft => "DRAFT",
        InstrumentStatus::Open => "OPEN",
        InstrumentStatus::Closed => "CLOSED",
        InstrumentStatus::Withdrawn => "WITHDRAWN",
        InstrumentStatus::Archived => "ARCHIVED",
    }
}

pub(crate) fn kind_name(kind: InstrumentKind) -> &'static str {
    match kind {
        InstrumentKind::Call => "CALL",
        InstrumentKind::Programme => "PROGRAMME",
        InstrumentKind::StrategicDocument => "STRATEGIC_DOCUMENT",
    }
}

pub(crate) fn cover_name(cover: CoverLevel) -> &'static str {
    match cover {
        CoverLevel::Regional => "REGIONAL",
        CoverLevel::National => "NATIONAL",
        CoverLevel::Eu => "EU",
        CoverLevel::International => "INTERNATIONAL",
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn an_open_call_reads_closed_from_its_deadline_on() {
        let deadline = datetime!(2027-03-01 17:00 +1);
        let at = |now| effective_status(InstrumentStatus::Open, nanos(Some(deadline)), now);
        assert_eq!(at(nanos_of(deadline) - 1), InstrumentStatus::Open);
        assert_eq!(at(nanos_of(deadline)), InstrumentStatus::Closed);
        assert_eq!(
            effective_status(InstrumentStatus::Open, nanos(None), i128::MAX - 1),
            InstrumentStatus::Open
        );
        assert_eq!(
            effective_status(InstrumentStatus::Withdrawn, 0, 1),
            InstrumentStatus::Withdrawn
        );
    }

    #[test]
    fn the_codes_follow_the_tables() {
        for (i, s) in STATUSES.iter().enumerate() {
            assert_eq!(status_code(*s) as usize, i);
        }
        for (i, k) in KINDS.iter().enumerate() {
            assert_eq!(kind_code(*k) as usize, i);
        }
        for (i, c) in COVER_LEVELS.iter().enumerate() {
            assert_eq!(cover_code(*c) as usize, i);
        }
    }
}
