//! `ri-load populate`: fills a fresh service through its GraphQL API, so every record goes
//! through the log (events, relays, projections) as real use would: tenants, instruments
//! (drafted, tagged, scheduled and mostly published), projects, clusters with demo events,
//! invited practitioners and their feedback, follow-up sessions, and a watch per tenant.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::client::{Client, Minter};
use crate::data;
use crate::manifest::{self, Manifest, Sizes, User};
use crate::ops;

#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) mode: String,
    pub(crate) sizes: Sizes,
    pub(crate) concurrency: usize,
    pub(crate) seed: u64,
    /// How far ahead of its scheduling a cluster's first demo event starts: it must be in the
    /// future when scheduled, and started before feedback is given.
    pub(crate) event_lead: Duration,
}

impl Options {
    pub(crate) fn for_mode(mode: &str) -> anyhow::Result<Self> {
        let sizes = match mode {
            "smoke" => Sizes {
                tenants: 3,
                instruments: 300,
                projects: 30,
                clusters: 6,
                invitations_per_event: 10,
            },
            "full" => Sizes {
                tenants: 30,
                instruments: 100_000,
                projects: 5_000,
                clusters: 200,
                invitations_per_event: 20,
            },
            other => anyhow::bail!("unknown mode {other:?}: smoke or full"),
        };
        Ok(Self {
            mode: mode.to_owned(),
            sizes,
            concurrency: 16,
            seed: 14,
            event_lead: Duration::seconds(if mode == "smoke" { 15 } else { 60 }),
        })
    }
}

/// The field `name` of a mutation's answer, as a string.
fn field(data: &Value, mutation: &str, name: &str) -> anyhow::Result<String> {
    data[mutation][name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{mutation} answered without {name}: {data}"))
}

fn version(data: &Value, mutation: &str) -> anyhow::Result<i64> {
    data[mutation]["version"]
        .as_i64()
        .with_context(|| format!("{mutation} answered without a version: {data}"))
}

/// A practitioner's address: the service trusts the generator as a proxy (run.sh sets
/// RI_TRUSTED_PROXIES), so per-address limits see many practitioners, as in real use.
pub(crate) fn practitioner_address(rng: &mut impl rand::Rng) -> String {
    format!(
        "10.{}.{}.{}",
        rng.random_range(0..=255u8),
        rng.random_range(0..=255u8),
        rng.random_range(1..=254u8)
    )
}

pub(crate) async fn run(
    base: &str,
    minter: &Minter,
    options: &Options,
) -> anyhow::Result<Manifest> {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let client = Arc::new(Client::new(base)?);
    let sizes = options.sizes;
    let mut rng = StdRng::seed_from_u64(options.seed);

    // Tenants, registered by a platform admin (run.sh names `load-admin` in RI_PLATFORM_ADMINS),
    // each with its users, whose roles the admin grants once the tenant is registered.
    let admin = minter.mint("platform", "load-admin", &["platform_admin"])?;
    let mut tenants = Vec::with_capacity(sizes.tenants);
    for i in 0..sizes.tenants {
        let slug = format!("load-{:02}", i.saturating_add(1));
        let country = data::EU[i % data::EU.len()].to_owned();
        let user = |name: &str, role: &str| -> anyhow::Result<User> {
            let subject = format!("{name}-{slug}");
            Ok(User {
                token: minter.mint(&slug, &subject, &[])?,
                subject,
                roles: vec![role.to_owned()],
            })
        };
        tenants.push(manifest::Tenant {
            curator: user("curator", "curator")?,
            follow_up_manager: user("manager", "follow_up_manager")?,
            watcher: user("watcher", "curator")?,
            slug,
            country,
        });
    }
    let kinds = ["AMBASSADOR_CLUSTER", "CONSORTIUM_PARTNER"];
    stream::iter(tenants.iter().enumerate())
        .map(|(i, tenant)| {
            let client = Arc::clone(&client);
            let admin = admin.clone();
            async move {
                let input = json!({"input": {"slug": tenant.slug, "name": format!("{} security cluster", tenant.slug),
                    "kind": kinds[i % 2], "country": tenant.country}});
                client
                    .call(Some(&admin), "RegisterTenant", ops::RegisterTenant, input)
                    .await?;
                let query = "query Tenant($slug: String!) { tenant(slug: $slug) { slug } }";
                client
                    .eventually(None, "Tenant", query, json!({"slug": tenant.slug}), |d| {
                        d["tenant"]["slug"] == tenant.slug.as_str()
                    })
                    .await?;
                for user in [&tenant.curator, &tenant.follow_up_manager, &tenant.watcher] {
                    for role in &user.roles {
                        let grant = json!({"slug": tenant.slug, "subject": user.subject,
                            "role": role.to_ascii_uppercase()});
                        client
                            .call(Some(&admin), "GrantRole", ops::GrantRole, grant)
                            .await?;
                    }
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(options.concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    eprintln!(
        "[populate {:.0} s] {} tenants",
        started.elapsed().as_secs_f64(),
        tenants.len()
    );

    // A watch per tenant's watcher, on two common features in the tenant's country, so that
    // publications notify someone (a few in a hundred instruments match, not half).
    for tenant in &tenants {
        let input = json!({"input": {"name": "AI and sensors at home",
            "filter": {"features": ["T1", "T2"], "countries": [tenant.country]}}});
        client
            .call(
                Some(&tenant.watcher.token),
                "CreateWatch",
                ops::CreateWatch,
                input,
            )
            .await?;
    }

    // Projects of the follow-up managers, spread evenly over the tenants.
    let project_jobs: Vec<(usize, String, String, Vec<String>, u64)> = (0..sizes.projects)
        .map(|i| {
            let tenant = &tenants[i % tenants.len().max(1)];
            (
                i,
                tenant.slug.clone(),
                tenant.follow_up_manager.token.clone(),
                data::features(&mut rng, 6),
                rng.random(),
            )
        })
        .collect();
    let projects: Vec<manifest::Project> = stream::iter(project_jobs)
        .map(|(i, tenant, token, features, seed)| {
            let client = Arc::clone(&client);
            async move {
                let mut rng = StdRng::seed_from_u64(seed);
                let input = json!({"input": {
                    "acronym": format!("{}-{i}", data::word(&mut rng).to_uppercase()),
                    "title": data::title(&mut rng, i),
                    "leadCountry": data::random_country(&mut rng),
                    "summary": data::summary(&mut rng),
                }});
                let made = client
                    .call(Some(&token), "RegisterProject", ops::RegisterProject, input)
                    .await?;
                let id = field(&made, "registerProject", "id")?;
                client
                    .call(
                        Some(&token),
                        "DeclareProjectFeatures",
                        ops::DeclareProjectFeatures,
                        json!({"id": id, "features": features}),
                    )
                    .await?;
                anyhow::Ok(manifest::Project { id, tenant })
            }
        })
        .buffer_unordered(options.concurrency)
        .try_collect()
        .await?;
    eprintln!(
        "[populate {:.0} s] {} projects",
        started.elapsed().as_secs_f64(),
        projects.len()
    );

    // Clusters: a tenant's projects split over its clusters; each cluster has a demo event
    // starting soon with invited practitioners, a later one, and a follow-up session.
    let lead = options.event_lead;
    let mut cluster_jobs = Vec::with_capacity(sizes.clusters);
    for c in 0..sizes.clusters {
        let t = c % tenants.len().max(1);
        let tenant = &tenants[t];
        let clusters_of_tenant = (0..sizes.clusters)
            .filter(|k| k % tenants.len() == t)
            .count();
        let nth = c / tenants.len().max(1);
        let own: Vec<String> = projects
            .iter()
            .filter(|p| p.tenant == tenant.slug)
            .map(|p| p.id.clone())
            .collect();
        let members: Vec<String> = own
            .iter()
            .enumerate()
            .filter(|(k, _)| k % clusters_of_tenant.max(1) == nth)
            .map(|(_, id)| id.clone())
            .take(ri_max_projects())
            .collect();
        cluster_jobs.push((c, tenant.clone(), members, rng.random::<u64>()));
    }
    let invitations = sizes.invitations_per_event;
    let clusters: Vec<manifest::Cluster> = stream::iter(cluster_jobs)
        .map(|(c, tenant, members, seed)| {
            let client = Arc::clone(&client);
            async move { cluster(&client, c, &tenant, members, seed, lead, invitations).await }
        })
        .buffer_unordered(options.concurrency)
        .try_collect()
        .await?;
    eprintln!(
        "[populate {:.0} s] {} clusters",
        started.elapsed().as_secs_f64(),
        clusters.len()
    );

    // Instruments: drafted, tagged, given a deadline (every call, half of the rest) and
    // published (nine in ten). Tenants' catalogues differ in size: a third of them curate
    // half of everything.
    let done = Arc::new(AtomicUsize::new(0));
    let instrument_jobs: Vec<(usize, manifest::Tenant, u64)> = (0..sizes.instruments)
        .map(|i| {
            let n = tenants.len().max(1);
            let t = if rng.random_bool(0.5) {
                rng.random_range(0..n.div_ceil(3))
            } else {
                rng.random_range(0..n)
            };
            (i, tenants[t].clone(), rng.random())
        })
        .collect();
    let total = instrument_jobs.len();
    let instruments: Vec<manifest::Instrument> = stream::iter(instrument_jobs)
        .map(|(i, tenant, seed)| {
            let client = Arc::clone(&client);
            let done = Arc::clone(&done);
            async move {
                let made = instrument(&client, i, &tenant, seed, now).await?;
                let finished = done.fetch_add(1, Ordering::Relaxed).saturating_add(1);
                if total >= 10 && finished.is_multiple_of(total / 10) {
                    eprintln!(
                        "[populate {:.0} s] {finished}/{total} instruments",
                        started.elapsed().as_secs_f64()
                    );
                }
                anyhow::Ok(made)
            }
        })
        .buffer_unordered(options.concurrency)
        .try_collect()
        .await?;

    // Feedback: once the demo events have started, half of the invited practitioners answer
    // on every project of the agenda; the attack's practitioners bring the rest.
    let last_start = clusters
        .iter()
        .filter_map(|c| c.demo_events.first())
        .filter_map(|e| OffsetDateTime::parse(&e.starts_at, &Rfc3339).ok())
        .max()
        .unwrap_or(now);
    let wait = last_start + Duration::seconds(1) - OffsetDateTime::now_utc();
    if wait.is_positive() {
        eprintln!("[populate] waiting {wait} for the demo events to start");
        tokio::time::sleep(std::time::Duration::try_from(wait)?).await;
    }
    // Interleaved over the clusters, so that answers in flight mostly go to different ones.
    let mut per_cluster: Vec<Vec<(String, String)>> = Vec::new();
    for cluster in &clusters {
        let mut answers = Vec::new();
        for event in &cluster.demo_events {
            for token in event.invitations.iter().step_by(2) {
                for project in &event.agenda {
                    answers.push((token.clone(), project.clone()));
                }
            }
        }
        per_cluster.push(answers);
    }
    let longest = per_cluster.iter().map(Vec::len).max().unwrap_or(0);
    let mut feedback_jobs = Vec::new();
    for k in 0..longest {
        for answers in &per_cluster {
            if let Some((token, project)) = answers.get(k) {
                feedback_jobs.push((token.clone(), project.clone(), rng.random::<u64>()));
            }
        }
    }
    let feedback_count = feedback_jobs.len();
    stream::iter(feedback_jobs)
        .map(|(token, project, seed)| {
            let client = Arc::clone(&client);
            async move {
                let mut rng = StdRng::seed_from_u64(seed);
                let address = practitioner_address(&mut rng);
                let variables =
                    json!({"token": token, "projectId": project, "input": feedback(&mut rng)});
                // Answers to one cluster race for its version; the service retries a few
                // times, and under the generator's 16 in flight that is not always enough:
                // the generator retries too (the attack does not: there it is a failure).
                let mut attempt = 0u32;
                loop {
                    match client
                        .call_from(
                            &address,
                            "SubmitDemoFeedback",
                            ops::SubmitDemoFeedback,
                            variables.clone(),
                        )
                        .await
                    {
                        Ok(_) => return anyhow::Ok(()),
                        Err(e) if attempt < 8 && is_conflict(&e) => {
                            attempt = attempt.saturating_add(1);
                            let pause = rng.random_range(20..200u64);
                            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        })
        .buffer_unordered(options.concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    eprintln!(
        "[populate {:.0} s] {feedback_count} feedback answers",
        started.elapsed().as_secs_f64()
    );

    let seconds = started.elapsed().as_secs_f64();
    let requests = client.requests.load(Ordering::Relaxed);
    eprintln!(
        "[populate] done in {seconds:.1} s: {requests} requests ({:.0}/s)",
        requests as f64 / seconds.max(0.001)
    );
    Ok(Manifest {
        mode: options.mode.clone(),
        created_at: data::rfc3339(now),
        sizes,
        tenants,
        instruments,
        projects,
        clusters,
        seconds,
        requests,
    })
}

fn is_conflict(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<crate::client::GraphqlError>()
        .is_some_and(|e| e.code == "CONFLICT")
}

/// A cluster holds at most this many projects (ri-domain's MAX_PROJECTS).
fn ri_max_projects() -> usize {
    200
}

/// A practitioner's answers.
pub(crate) fn feedback(rng: &mut impl rand::Rng) -> Value {
    json!({
        "relevance": rng.random_range(1..=5),
        "usability": rng.random_range(1..=5),
        "wouldPilot": rng.random_bool(0.4),
        "relevantFeatures": data::features(rng, 3),
        "comment": format!("The {} part was the most {}.", data::word(rng), data::word(rng)),
    })
}

async fn instrument(
    client: &Client,
    i: usize,
    tenant: &manifest::Tenant,
    seed: u64,
    now: OffsetDateTime,
) -> anyhow::Result<manifest::Instrument> {
    let mut rng = StdRng::seed_from_u64(seed);
    let token = Some(tenant.curator.token.as_str());
    let input = data::instrument_input(&mut rng, i, &tenant.country);
    let is_call = input["kind"] == "CALL";
    let made = client
        .call(
            token,
            "DraftInstrument",
            ops::DraftInstrument,
            json!({"input": input}),
        )
        .await?;
    let id = field(&made, "draftInstrument", "id")?;
    let mut at = version(&made, "draftInstrument")?;
    let tagged = client
        .call(
            token,
            "TagInstrumentFeatures",
            ops::TagInstrumentFeatures,
            json!({"id": id, "expectedVersion": at, "features": data::features(&mut rng, 8)}),
        )
        .await?;
    at = version(&tagged, "tagInstrumentFeatures")?;
    if is_call || rng.random_bool(0.5) {
        let scheduled = client
            .call(
                token,
                "SetInstrumentDeadline",
                ops::SetInstrumentDeadline,
                json!({"id": id, "expectedVersion": at, "deadline": data::deadline(&mut rng, now),
                       "timeZone": "Europe/Brussels"}),
            )
            .await?;
        at = version(&scheduled, "setInstrumentDeadline")?;
    }
    let published = rng.random_bool(0.9);
    if published {
        let done = client
            .call(
                token,
                "PublishInstrument",
                ops::PublishInstrument,
                json!({"id": id, "expectedVersion": at}),
            )
            .await?;
        at = version(&done, "publishInstrument")?;
    }
    Ok(manifest::Instrument {
        id,
        tenant: tenant.slug.clone(),
        version: at,
        published,
    })
}

async fn cluster(
    client: &Client,
    c: usize,
    tenant: &manifest::Tenant,
    members: Vec<String>,
    seed: u64,
    lead: Duration,
    invitations: usize,
) -> anyhow::Result<manifest::Cluster> {
    let mut rng = StdRng::seed_from_u64(seed);
    let token = Some(tenant.follow_up_manager.token.as_str());
    let name = format!("{} {} {c}", data::word(&mut rng), data::word(&mut rng));
    let domain = data::AREA_DOMAINS[c % data::AREA_DOMAINS.len()];
    let area = client
        .call(
            token,
            "NameEndUserArea",
            ops::NameEndUserArea,
            json!({"input": {"name": name, "domain": domain}}),
        )
        .await?;
    let area = field(&area, "nameEndUserArea", "id")?;
    let formed = client
        .call(
            token,
            "FormCluster",
            ops::FormCluster,
            json!({"input": {"areaId": area, "name": format!("{name} cluster")}}),
        )
        .await?;
    let id = field(&formed, "formCluster", "id")?;
    for project in &members {
        client
            .call(
                token,
                "AssignProjectToCluster",
                ops::AssignProjectToCluster,
                json!({"clusterId": id, "projectId": project}),
            )
            .await?;
    }
    let mut demo_events = Vec::new();
    if !members.is_empty() {
        let agenda: Vec<String> = members.iter().take(5).cloned().collect();
        // Soon, but in the future when scheduled (however long the populate has run).
        let starts_at = OffsetDateTime::now_utc() + lead;
        let later = starts_at + Duration::days(rng.random_range(30..300));
        for (when, title) in [(starts_at, "Demo day"), (later, "Autumn demo day")] {
            let scheduled = client
                .call(
                    token,
                    "ScheduleDemoEvent",
                    ops::ScheduleDemoEvent,
                    json!({"clusterId": id, "input": {"title": format!("{name} {title}"),
                        "startsAt": data::rfc3339(when), "timeZone": "Europe/Brussels",
                        "place": "Brussels", "agenda": agenda}}),
                )
                .await?;
            demo_events.push(manifest::DemoEvent {
                id: field(&scheduled, "scheduleDemoEvent", "entityId")?,
                starts_at: data::rfc3339(when),
                agenda: agenda.clone(),
                invitations: Vec::new(),
            });
        }
        if let Some(event) = demo_events.first_mut() {
            for k in 0..invitations {
                let invited = client
                    .call(token, "InvitePractitioner", ops::InvitePractitioner,
                        json!({"clusterId": id, "eventId": event.id, "input": {
                            "practitioner": {"organisation": format!("{} service {k}", data::word(&mut rng)),
                                "country": data::random_country(&mut rng),
                                "sector": data::SECTORS[k % data::SECTORS.len()]},
                            "email": format!("practitioner{k}@cluster{c}.example.eu")}}))
                    .await?;
                let link = field(&invited, "invitePractitioner", "link")?;
                let token = link
                    .rsplit_once('/')
                    .map_or(link.as_str(), |(_, token)| token)
                    .to_owned();
                event.invitations.push(token);
            }
        }
    }
    let today = OffsetDateTime::now_utc().date();
    let next_steps: Vec<Value> = members
        .iter()
        .take(2)
        .map(|p| {
            json!({"projectId": p, "action": "Send the data sheet", "owner": "the team",
                        "due": (today + Duration::days(30)).to_string()})
        })
        .collect();
    let session = client
        .call(token, "RecordFollowUpSession", ops::RecordFollowUpSession,
            json!({"clusterId": id, "input": {"date": today.to_string(),
                "attendees": ["the follow-up manager"], "notes": "Kick-off", "nextSteps": next_steps}}))
        .await?;
    Ok(manifest::Cluster {
        session: field(&session, "recordFollowUpSession", "sessionId")?,
        id,
        tenant: tenant.slug.clone(),
        projects: members,
        demo_events,
    })
}
