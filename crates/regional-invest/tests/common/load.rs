//! Traffic through a balancer for `tests/scale_out.rs`: curators writing and the public
//! searching, each request's outcome recorded, so that the test can say which writes were
//! acknowledged and which requests failed when.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regional_invest::Config;
use ri_domain::{Role, TenantSlug};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{call, operation};

/// A token of the development secret, which the test's `serve` processes verify with. It says
/// who the caller is; what they may do is what [`grant`] recorded.
pub fn token(sub: &str, tenant: &str) -> String {
    ri_api::mint_token(
        &Config::default().auth().unwrap(),
        sub,
        &TenantSlug::parse(tenant).unwrap(),
        Duration::from_secs(600),
    )
    .unwrap()
}

/// `admin` grants `subject` `role` in `tenant` through `url`.
pub async fn grant(
    http: &reqwest::Client,
    url: &str,
    admin: &str,
    tenant: &str,
    subject: &str,
    role: Role,
) {
    let variables =
        json!({"slug": tenant, "subject": subject, "role": role.as_str().to_ascii_uppercase()});
    gql(http, url, Some(admin), &operation("GrantRole"), variables)
        .await
        .unwrap();
}

/// One GraphQL request: its `data`, or why there is none (transport, status, errors).
pub async fn gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let body = request(http, url, token, query, variables).await?;
    Ok(body["data"].clone())
}

/// One GraphQL request: the whole response (`data` and `extensions`), or why there is no data.
pub async fn request(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value, String> {
    let mut request = http
        .post(url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = response.status().as_u16();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("{status}, body: {e}"))?;
    if status != 200 || body.get("errors").is_some() {
        return Err(format!("{status}: {body}"));
    }
    Ok(body)
}

/// What the clients saw through the balancer.
#[derive(Default)]
pub struct Traffic {
    /// Instruments whose draft was acknowledged: their tenant, and whether their publication
    /// was acknowledged too.
    pub acked: Mutex<BTreeMap<String, (String, bool)>>,
    /// Every request: when it ended, what it was, and its error if it failed.
    pub outcomes: Mutex<Vec<(Instant, &'static str, Option<String>)>>,
    /// Publications a search through the balancer did not find although it was asked for
    /// the publication's log position (`consistentWith`): read-your-writes broken.
    pub missed: Mutex<Vec<String>>,
}

impl Traffic {
    pub fn record(&self, what: &'static str, result: Result<Value, String>) -> Option<Value> {
        let error = result.as_ref().err().cloned();
        self.outcomes
            .lock()
            .unwrap()
            .push((Instant::now(), what, error));
        result.ok()
    }

    /// The failed requests that ended after `after`.
    pub fn failures_after(&self, after: Instant) -> Vec<(&'static str, String)> {
        let outcomes = self.outcomes.lock().unwrap();
        outcomes
            .iter()
            .filter(|(at, _, error)| *at > after && error.is_some())
            .map(|(_, what, error)| (*what, error.clone().unwrap_or_default()))
            .collect()
    }
}

/// A curator drafting, tagging, scheduling and publishing calls through `url` until `stop`.
pub async fn curate(
    traffic: Arc<Traffic>,
    url: String,
    tenant: String,
    writer: usize,
    stop: CancellationToken,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let curator = token(&format!("curator{writer}"), &tenant);
    let mut n = 0;
    while !stop.is_cancelled() {
        n += 1;
        // A word of its own in the title, to search it by.
        let word = format!("w{writer}x{n}");
        let title = format!("Scale-out call {word}");
        let input = json!({"input": call(&title, "LT")});
        let drafted = gql(
            &http,
            &url,
            Some(&curator),
            &operation("DraftInstrument"),
            input,
        )
        .await;
        let Some(data) = traffic.record("draft", drafted) else {
            continue;
        };
        let id = data["draftInstrument"]["id"].as_str().unwrap().to_owned();
        traffic
            .acked
            .lock()
            .unwrap()
            .insert(id.clone(), (tenant.clone(), false));
        let steps = [
            (
                "tag",
                "TagInstrumentFeatures",
                json!({"id": id, "features": ["T1"]}),
            ),
            (
                "deadline",
                "SetInstrumentDeadline",
                json!({"id": id, "deadline": "2031-03-31T17:00:00+02:00"}),
            ),
            ("publish", "PublishInstrument", json!({"id": id})),
        ];
        let mut last = None;
        for (what, op, variables) in steps {
            let done = request(&http, &url, Some(&curator), &operation(op), variables).await;
            last = traffic.record(what, done);
            if last.is_none() {
                break;
            }
        }
        let Some(published) = last else {
            continue;
        };
        traffic
            .acked
            .lock()
            .unwrap()
            .insert(id.clone(), (tenant.clone(), true));
        // Read-your-writes through the balancer: the search, on whichever replica answers,
        // waits until that replica has read the log to the publication.
        let position = published["extensions"]["logPosition"].clone();
        // Quoted: the word exactly (unquoted, the search also matches its typos, and the
        // other instruments' words are one edit away).
        let text = format!("\"{word}\"");
        let variables = json!({"filter": {"text": text}, "first": 5, "consistentWith": position});
        let query = operation("SearchInstruments");
        let found = gql(&http, &url, None, &query, variables).await;
        if let Some(found) = traffic.record("search", found) {
            let edges = found["instruments"]["edges"].as_array().cloned();
            if !edges
                .unwrap_or_default()
                .iter()
                .any(|e| e["node"]["id"] == id.as_str())
            {
                traffic
                    .missed
                    .lock()
                    .unwrap()
                    .push(format!("{id}: {found}"));
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The public searching through `url` until `stop`.
pub async fn search(traffic: Arc<Traffic>, url: String, stop: CancellationToken) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    while !stop.is_cancelled() {
        let variables = json!({"filter": {"features": ["T1"]}, "first": 10});
        let found = gql(
            &http,
            &url,
            None,
            &operation("SearchInstruments"),
            variables,
        )
        .await;
        traffic.record("search", found);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
