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

mod writes;
pub(crate) use writes::{
    close, clusters, dashboard, feedback_burst, next_step, publish_new, revise,
};

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
