//! The GraphQL operations, embedded from graphql/operations/ (the API tests run the same
//! files), so the load test cannot drift from what the schema accepts.

macro_rules! operations {
    ($($name:ident),* $(,)?) => {
        $(
            #[allow(non_upper_case_globals)] // named as the operation, as in the files
            pub(crate) const $name: &str = include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/../graphql/operations/", stringify!($name), ".graphql"
            ));
        )*
    };
}

operations!(
    AddNextStep,
    AssignProjectToCluster,
    Cluster,
    ClusterActivity,
    Clusters,
    CompleteNextStep,
    CreateWatch,
    DeclareProjectFeatures,
    DraftInstrument,
    FormCluster,
    GrantRole,
    Instrument,
    InvitePractitioner,
    NameEndUserArea,
    PublishInstrument,
    RecordFollowUpSession,
    RegisterProject,
    RegisterTenant,
    ReviseInstrument,
    ScheduleDemoEvent,
    SearchInstruments,
    SetInstrumentDeadline,
    SubmitDemoFeedback,
    TagInstrumentFeatures,
    WithdrawInstrument,
);

/// The `instrumentEvents` subscription the subscribers hold.
pub(crate) const INSTRUMENT_EVENTS: &str = "subscription InstrumentEvents { instrumentEvents { eventId tenant instrumentId type version recordedAt } }";

/// The `notifications` subscription the subscribers hold.
pub(crate) const NOTIFICATIONS: &str =
    "subscription Notifications { notifications { id kind instrumentId createdAt } }";
