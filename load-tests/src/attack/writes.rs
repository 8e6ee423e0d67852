//! The writing scenarios: curators (versioned writes, honest conflicts), follow-up managers
//! and practitioners.

use super::*;

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
