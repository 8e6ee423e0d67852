//! `ri-load attack`: goose scenarios weighted like real use, against a populated service.
//! Every request is named by its GraphQL operation; a GraphQL error in a 200 answer is a
//! failure (`set_failure`), except a CONFLICT on a write with `expectedVersion`, which is
//! an honest answer: the curator reloads the version and retries once, and conflicts are
//! counted apart (see [`Counters`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use goose::goose::GooseResponse;
use goose::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::client::error_code;
use crate::manifest::Manifest;
use crate::{data, ops, populate};

/// What the scenarios share: the manifest, and the counters reported at the end.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) manifest: Manifest,
    /// Published instruments, by index into the manifest, for searches and revisions.
    published: Vec<usize>,
    /// Per tenant slug: its published instruments.
    by_tenant: HashMap<String, Vec<usize>>,
    /// Clusters with a demo event whose invitations practitioners use.
    with_invitations: Vec<usize>,
    /// Per cluster: the follow-up session next steps go to, and how many it holds.
    sessions: Mutex<HashMap<String, (String, usize)>>,
    pub(crate) counters: Counters,
}

/// Outcomes that are neither successes nor failures of the service.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// CONFLICT answers to writes with a stale `expectedVersion`.
    pub(crate) conflicts: AtomicU64,
    /// Of those, the retries (with the reloaded version) that conflicted again.
    pub(crate) conflicts_after_retry: AtomicU64,
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

/// Curator users started so far.
static CURATORS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn install(manifest: Manifest) -> Arc<Shared> {
    let published: Vec<usize> = manifest
        .instruments
        .iter()
        .enumerate()
        .filter(|(_, i)| i.published)
        .map(|(k, _)| k)
        .collect();
    let mut by_tenant: HashMap<String, Vec<usize>> = HashMap::new();
    for &k in &published {
        if let Some(instrument) = manifest.instruments.get(k) {
            by_tenant
                .entry(instrument.tenant.clone())
                .or_default()
                .push(k);
        }
    }
    let with_invitations = manifest
        .clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| c.demo_events.iter().any(|e| !e.invitations.is_empty()))
        .map(|(k, _)| k)
        .collect();
    let sessions = manifest
        .clusters
        .iter()
        .map(|c| (c.id.clone(), (c.session.clone(), 2)))
        .collect();
    let shared = Arc::new(Shared {
        manifest,
        published,
        by_tenant,
        with_invitations,
        sessions: Mutex::new(sessions),
        counters: Counters::default(),
    });
    SHARED.get_or_init(|| Arc::clone(&shared)).clone()
}

fn shared() -> Result<Arc<Shared>, Box<TransactionError>> {
    SHARED.get().cloned().ok_or_else(|| {
        Box::new(TransactionError::Custom(
            "the manifest is not installed".to_owned(),
        ))
    })
}

/// A random generator that may be held across awaits (the thread's is not `Send`).
fn rng() -> StdRng {
    StdRng::seed_from_u64(rand::rng().random())
}

/// The answer to a GraphQL request: its `data`, or a CONFLICT the caller allowed.
enum Answer {
    Data(Value),
    Conflict,
}

/// POSTs `operation` named by its name; a transport error, a non-JSON body or a GraphQL
/// error is a failure, except CONFLICT when `conflict_ok`.
async fn gql(
    user: &mut GooseUser,
    name: &str,
    token: Option<&str>,
    address: Option<&str>,
    query: &str,
    variables: Value,
    conflict_ok: bool,
) -> Result<Answer, Box<TransactionError>> {
    let body = json!({"query": query, "variables": variables, "operationName": name});
    let goose: GooseResponse = if token.is_none() && address.is_none() {
        user.post_graphql_named("/graphql", &body, name).await?
    } else {
        let mut builder = user
            .get_request_builder(&GooseMethod::Post, "/graphql")?
            .json(&body);
        if let Some(token) = token {
            builder = builder.bearer_auth(token);
        }
        if let Some(address) = address {
            builder = builder.header("x-forwarded-for", address);
        }
        let request = GooseRequest::builder()
            .method(GooseMethod::Post)
            .path("/graphql")
            .name(name)
            .set_request_builder(builder)
            .build();
        user.request(request).await?
    };
    let mut request = goose.request;
    let response = match goose.response {
        Ok(response) => response,
        // Goose has counted it as a failure already.
        Err(e) => return Err(Box::new(TransactionError::Custom(format!("{name}: {e}")))),
    };
    let text = match response.text().await {
        Ok(text) => text,
        Err(e) => {
            let tag = format!("{name}: unreadable body: {e}");
            return Err(fail(user, &tag, &mut request, ""));
        }
    };
    let parsed: Value = match serde_json::from_str(&text) {
        Ok(parsed) => parsed,
        Err(_) => {
            let tag = format!("{name}: not JSON");
            return Err(fail(user, &tag, &mut request, &text));
        }
    };
    match error_code(&parsed) {
        None => Ok(Answer::Data(parsed["data"].clone())),
        Some(code) if conflict_ok && code == "CONFLICT" => Ok(Answer::Conflict),
        Some(code) => {
            let tag = format!("{name}: {code}");
            Err(fail(user, &tag, &mut request, &text))
        }
    }
}

fn fail(
    user: &mut GooseUser,
    tag: &str,
    request: &mut goose::metrics::GooseRequestMetric,
    body: &str,
) -> Box<TransactionError> {
    match user.set_failure(tag, request, None, Some(body)) {
        Err(e) => e,
        Ok(()) => Box::new(TransactionError::Custom(tag.to_owned())),
    }
}

/// The data of an answer that cannot be a conflict.
fn data(answer: Answer) -> Value {
    match answer {
        Answer::Data(data) => data,
        Answer::Conflict => Value::Null,
    }
}

// ---- Public search (anonymous) ----

/// The last search a searcher ran, to page through.
#[derive(Debug, Clone)]
struct LastSearch {
    filter: Value,
    sort: &'static str,
    cursor: Option<String>,
    ids: Vec<String>,
}

fn facet_filter(rng: &mut StdRng) -> Value {
    let features: Vec<String> = data::features(rng, 3);
    let mut filter = json!({"features": features});
    if rng.random_bool(0.7) {
        filter["countries"] = json!([data::random_country(rng)]);
    }
    if rng.random_bool(0.5) {
        filter["coverLevels"] = json!([data::weighted(rng, &data::COVER_LEVELS)]);
    }
    if rng.random_bool(0.2) {
        filter["featureMatch"] = json!("ALL");
    }
    filter
}

async fn search(
    user: &mut GooseUser,
    filter: Value,
    sort: &'static str,
    after: Option<String>,
) -> TransactionResult {
    let variables = json!({"filter": filter, "sort": sort, "first": 20, "after": after});
    let found = data(
        gql(
            user,
            "SearchInstruments",
            None,
            None,
            ops::SearchInstruments,
            variables,
            false,
        )
        .await?,
    );
    let connection = &found["instruments"];
    let ids = connection["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let cursor = (connection["pageInfo"]["hasNextPage"] == true)
        .then(|| {
            connection["pageInfo"]["endCursor"]
                .as_str()
                .map(str::to_owned)
        })
        .flatten();
    user.set_session_data(LastSearch {
        filter,
        sort,
        cursor,
        ids,
    });
    Ok(())
}

pub(crate) async fn search_facets(user: &mut GooseUser) -> TransactionResult {
    let mut rng = rng();
    let filter = facet_filter(&mut rng);
    let sort = if rng.random_bool(0.5) {
        "DEADLINE_SOONEST"
    } else {
        "RECENTLY_UPDATED"
    };
    search(user, filter, sort, None).await
}

pub(crate) async fn search_text(user: &mut GooseUser) -> TransactionResult {
    let mut rng = rng();
    let words = rng.random_range(1..=2);
    let text: Vec<&str> = (0..words).map(|_| data::word(&mut rng)).collect();
    let mut filter = json!({"text": text.join(" ")});
    if rng.random_bool(0.3) {
        filter["countries"] = json!([data::random_country(&mut rng)]);
    }
    search(user, filter, "RELEVANCE", None).await
}

/// The next page of the last search (a first search when there is none).
pub(crate) async fn next_page(user: &mut GooseUser) -> TransactionResult {
    match user.get_session_data::<LastSearch>().cloned() {
        Some(LastSearch {
            filter,
            sort,
            cursor: Some(cursor),
            ..
        }) => search(user, filter, sort, Some(cursor)).await,
        _ => search_facets(user).await,
    }
}

/// An instrument page: one of the last results, or any published instrument.
pub(crate) async fn instrument_page(user: &mut GooseUser) -> TransactionResult {
    let shared = shared()?;
    let mut rng = rng();
    let from_results = user.get_session_data::<LastSearch>().and_then(|last| {
        last.ids
            .get(rng.random_range(0..last.ids.len().max(1)))
            .cloned()
    });
    let id = from_results.or_else(|| {
        let k = shared
            .published
            .get(rng.random_range(0..shared.published.len().max(1)))?;
        shared.manifest.instruments.get(*k).map(|i| i.id.clone())
    });
    let Some(id) = id else { return Ok(()) };
    gql(
        user,
        "Instrument",
        None,
        None,
        ops::Instrument,
        json!({"id": id}),
        false,
    )
    .await?;
    Ok(())
}

// ---- Curators ----

/// A curator's tenant, token, the versions it knows, and the instruments it made.
#[derive(Debug, Clone)]
struct Curator {
    tenant: String,
    token: String,
    versions: HashMap<String, i64>,
    mine: Vec<String>,
}

fn curator(user: &mut GooseUser) -> Result<Curator, Box<TransactionError>> {
    if let Some(found) = user.get_session_data::<Curator>() {
        return Ok(found.clone());
    }
    let shared = shared()?;
    let tenants = &shared.manifest.tenants;
    // Curators come in pairs per tenant, as colleagues editing the same catalogue: that is
    // where stale versions, and so CONFLICT, come from.
    let nth = CURATORS.fetch_add(1, Ordering::Relaxed);
    let tenant = tenants
        .get((nth / 2) % tenants.len().max(1))
        .ok_or_else(|| Box::new(TransactionError::Custom("no tenants".to_owned())))?;
    Ok(Curator {
        tenant: tenant.slug.clone(),
        token: tenant.curator.token.clone(),
        versions: HashMap::new(),
        mine: Vec::new(),
    })
}

fn version_of(data: &Value, mutation: &str) -> Option<i64> {
    data[mutation]["version"].as_i64()
}

/// Drafts, tags, schedules and publishes a new call, each with `expectedVersion`.
pub(crate) async fn publish_new(user: &mut GooseUser) -> TransactionResult {
    let mut me = curator(user)?;
    let shared = shared()?;
    let mut rng = rng();
    let home = shared
        .manifest
        .tenant(&me.tenant)
        .map_or("BE", |t| t.country.as_str())
        .to_owned();
    let serial = rng.random_range(100_000..1_000_000);
    let mut input = data::instrument_input(&mut rng, serial, &home);
    input["kind"] = json!("CALL");
    let token = Some(me.token.as_str());
    let made = data(
        gql(
            user,
            "DraftInstrument",
            token,
            None,
            ops::DraftInstrument,
            json!({"input": input}),
            false,
        )
        .await?,
    );
    let Some(id) = made["draftInstrument"]["id"].as_str().map(str::to_owned) else {
        return Ok(());
    };
    let mut at = version_of(&made, "draftInstrument").unwrap_or(1);
    let steps: [(&str, &str, &str, Value); 3] = [
        (
            "TagInstrumentFeatures",
            ops::TagInstrumentFeatures,
            "tagInstrumentFeatures",
            json!({"id": id, "features": data::features(&mut rng, 8)}),
        ),
        (
            "SetInstrumentDeadline",
            ops::SetInstrumentDeadline,
            "setInstrumentDeadline",
            json!({"id": id, "deadline": data::deadline(&mut rng, time::OffsetDateTime::now_utc()), "timeZone": "Europe/Brussels"}),
        ),
        (
            "PublishInstrument",
            ops::PublishInstrument,
            "publishInstrument",
            json!({"id": id}),
        ),
    ];
    for (name, query, field, mut variables) in steps {
        variables["expectedVersion"] = json!(at);
        let done = data(gql(user, name, token, None, query, variables, false).await?);
        at = version_of(&done, field).unwrap_or(at);
    }
    me.versions.insert(id.clone(), at);
    me.mine.push(id);
    user.set_session_data(me);
    Ok(())
}

/// Writes with the version this curator knows; on CONFLICT reloads it and retries once.
async fn write_versioned(
    user: &mut GooseUser,
    me: &mut Curator,
    id: &str,
    name: &'static str,
    query: &'static str,
    field: &'static str,
    variables: Value,
) -> TransactionResult {
    let shared = shared()?;
    let known = me.versions.get(id).copied();
    let known = match known {
        Some(v) => v,
        None => shared
            .manifest
            .instruments
            .iter()
            .find(|i| i.id == id)
            .map_or(1, |i| i.version),
    };
    let mut expected = known;
    for attempt in 0..2 {
        let mut vars = variables.clone();
        vars["id"] = json!(id);
        vars["expectedVersion"] = json!(expected);
        match gql(user, name, Some(&me.token), None, query, vars, true).await? {
            Answer::Data(done) => {
                if let Some(v) = version_of(&done, field) {
                    me.versions.insert(id.to_owned(), v);
                }
                return Ok(());
            }
            Answer::Conflict => {
                shared.counters.conflicts.fetch_add(1, Ordering::Relaxed);
                if attempt == 1 {
                    shared
                        .counters
                        .conflicts_after_retry
                        .fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                let reloaded = data(
                    gql(
                        user,
                        "Instrument",
                        Some(&me.token),
                        None,
                        ops::Instrument,
                        json!({"id": id}),
                        false,
                    )
                    .await?,
                );
                expected = reloaded["instrument"]["version"]
                    .as_i64()
                    .unwrap_or(expected);
            }
        }
    }
    Ok(())
}

/// Revises the summary of one of the tenant's published instruments.
pub(crate) async fn revise(user: &mut GooseUser) -> TransactionResult {
    let mut me = curator(user)?;
    let shared = shared()?;
    let mut rng = rng();
    // Half of the revisions go to the tenant's five first instruments (its popular ones).
    let id = shared.by_tenant.get(&me.tenant).and_then(|ks| {
        let span = if rng.random_bool(0.5) {
            ks.len().min(5)
        } else {
            ks.len()
        };
        let k = ks.get(rng.random_range(0..span.max(1)))?;
        shared.manifest.instruments.get(*k).map(|i| i.id.clone())
    });
    let Some(id) = id else {
        return publish_new(user).await;
    };
    let patch = json!({"input": {"summary": data::summary(&mut rng)}});
    write_versioned(
        user,
        &mut me,
        &id,
        "ReviseInstrument",
        ops::ReviseInstrument,
        "reviseInstrument",
        patch,
    )
    .await?;
    user.set_session_data(me);
    Ok(())
}

/// Withdraws (closes early) one of the calls this curator published in the attack, so the
/// population the searches run against stays as generated.
pub(crate) async fn close(user: &mut GooseUser) -> TransactionResult {
    let mut me = curator(user)?;
    let Some(id) = me.mine.pop() else {
        return publish_new(user).await;
    };
    let reason = json!({"reason": "superseded by a new call"});
    write_versioned(
        user,
        &mut me,
        &id,
        "WithdrawInstrument",
        ops::WithdrawInstrument,
        "withdrawInstrument",
        reason,
    )
    .await?;
    user.set_session_data(me);
    Ok(())
}

// ---- Follow-up managers ----

fn manager(user: &GooseUser) -> Result<(Arc<Shared>, usize, String), Box<TransactionError>> {
    let shared = shared()?;
    let clusters = &shared.manifest.clusters;
    let k = user
        .weighted_users_index
        .wrapping_add(rand::random_range(0..3))
        % clusters.len().max(1);
    let token = clusters
        .get(k)
        .and_then(|c| shared.manifest.tenant(&c.tenant))
        .map(|t| t.follow_up_manager.token.clone())
        .ok_or_else(|| Box::new(TransactionError::Custom("no clusters".to_owned())))?;
    Ok((shared, k, token))
}

pub(crate) async fn clusters(user: &mut GooseUser) -> TransactionResult {
    let (_, _, token) = manager(user)?;
    gql(
        user,
        "Clusters",
        Some(&token),
        None,
        ops::Clusters,
        json!({}),
        false,
    )
    .await?;
    Ok(())
}

pub(crate) async fn dashboard(user: &mut GooseUser) -> TransactionResult {
    let (shared, k, token) = manager(user)?;
    let Some(cluster) = shared.manifest.clusters.get(k) else {
        return Ok(());
    };
    gql(
        user,
        "Cluster",
        Some(&token),
        None,
        ops::Cluster,
        json!({"id": cluster.id}),
        false,
    )
    .await?;
    Ok(())
}

/// Adds a next step to the cluster's follow-up session and completes it; a session holds
/// at most 50 steps, so a new session is recorded before it fills.
pub(crate) async fn next_step(user: &mut GooseUser) -> TransactionResult {
    let (shared, k, token) = manager(user)?;
    let Some(cluster) = shared.manifest.clusters.get(k) else {
        return Ok(());
    };
    let mut rng = rng();
    let Some(project) = cluster
        .projects
        .get(rng.random_range(0..cluster.projects.len().max(1)))
        .cloned()
    else {
        return Ok(());
    };
    let today = time::OffsetDateTime::now_utc().date();
    let due = (today + time::Duration::days(14)).to_string();
    let session = {
        let mut sessions = shared.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.get_mut(&cluster.id).and_then(|(session, steps)| {
            (*steps < 45).then(|| {
                *steps = steps.saturating_add(1);
                session.clone()
            })
        })
    };
    let session = match session {
        Some(session) => session,
        None => {
            let recorded = data(gql(user, "RecordFollowUpSession", Some(&token), None, ops::RecordFollowUpSession,
                json!({"clusterId": cluster.id, "input": {"date": today.to_string(), "attendees": ["the follow-up manager"]}}), false).await?);
            let Some(session) = recorded["recordFollowUpSession"]["sessionId"]
                .as_str()
                .map(str::to_owned)
            else {
                return Ok(());
            };
            let mut sessions = shared.sessions.lock().unwrap_or_else(|e| e.into_inner());
            sessions.insert(cluster.id.clone(), (session.clone(), 1));
            session
        }
    };
    let added = data(gql(user, "AddNextStep", Some(&token), None, ops::AddNextStep,
        json!({"clusterId": cluster.id, "sessionId": session, "input": {
            "projectId": project, "action": "Introduce to an integrator", "owner": "the follow-up manager", "due": due}}), false).await?);
    if let Some(step) = added["addNextStep"]["entityId"].as_str() {
        gql(
            user,
            "CompleteNextStep",
            Some(&token),
            None,
            ops::CompleteNextStep,
            json!({"clusterId": cluster.id, "stepId": step}),
            false,
        )
        .await?;
    }
    Ok(())
}

// ---- Practitioners ----

/// A practitioner opens their link after a demo event and rates every project of the
/// agenda at once (a burst, no pause), from an address of their own.
pub(crate) async fn feedback_burst(user: &mut GooseUser) -> TransactionResult {
    let shared = shared()?;
    let mut rng = rng();
    let Some(&k) = shared
        .with_invitations
        .get(rng.random_range(0..shared.with_invitations.len().max(1)))
    else {
        return Ok(());
    };
    let Some(event) = shared
        .manifest
        .clusters
        .get(k)
        .and_then(|c| c.demo_events.iter().find(|e| !e.invitations.is_empty()))
    else {
        return Ok(());
    };
    let Some(token) = event
        .invitations
        .get(rng.random_range(0..event.invitations.len()))
        .cloned()
    else {
        return Ok(());
    };
    let address = populate::practitioner_address(&mut rng);
    for project in event.agenda.clone() {
        let answers = populate::feedback(&mut rng);
        gql(
            user,
            "SubmitDemoFeedback",
            None,
            Some(&address),
            ops::SubmitDemoFeedback,
            json!({"token": token, "projectId": project, "input": answers}),
            false,
        )
        .await?;
    }
    Ok(())
}
