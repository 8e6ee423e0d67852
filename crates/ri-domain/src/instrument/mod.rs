//! Funding instruments: calls, programmes and strategic documents that a tenant curates.
//!
//! Lifecycle: `DRAFT` → publish → `OPEN` → (deadline passes) `CLOSED`; `OPEN` or `CLOSED` →
//! withdraw → `WITHDRAWN` → publish again; anything → archive → `ARCHIVED` (the public
//! "delete": out of search, history kept). A published instrument must stay publishable: at
//! least one feature, a country when its cover is national or regional, and for a call a
//! deadline in the future.

mod aggregate;
mod details;

pub use aggregate::{
    Clock, FundingInstrument, INSTRUMENT, InstrumentCommand, InstrumentError, InstrumentEvent,
    InstrumentServices, InstrumentStatus, Schedule, SystemClock,
};
pub use details::{
    CoverLevel, InstrumentChanges, InstrumentDetails, InstrumentKind, InstrumentPatch, Periodicity,
    TargetOrganisation,
};
