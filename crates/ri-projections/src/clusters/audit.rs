//! How the audit trail tells EndUserArea and ProjectCluster events: the fields each changed,
//! with old and new values as people read them, and a sentence.
//!
//! Field names are the API's, with the entity they belong to where a cluster holds many
//! (`demoEvent.startsAt`, `feedback.relevance`); sentences name events by title, projects by
//! acronym and practitioners by organisation.

use ri_domain::cluster::{
    AreaEvent, AssignedProject, ClusterEvent, DemoEvent, Feedback, FeedbackSource, NextStep,
    Practitioner, Venue,
};
use ri_domain::values::Change;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::catalogue::audit::Entry;
use crate::catalogue::codes::{code, list};

fn text(s: &impl ToString) -> Option<String> {
    Some(s.to_string()).filter(|s| !s.is_empty())
}

/// `2026-12-03 10:00 Europe/Vilnius` (in the offset the organiser gave).
fn when(at: OffsetDateTime, zone: &str) -> String {
    let shown = at
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]"))
        .unwrap_or_else(|_| at.to_string());
    format!("{shown} {zone}")
}

fn instant(at: &OffsetDateTime) -> Option<String> {
    Some(
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| at.to_string()),
    )
}

fn agenda(items: &[AssignedProject]) -> Option<String> {
    list(items.iter().map(|p| p.acronym.as_str()))
}

fn practitioner(p: &Practitioner) -> String {
    format!(
        "{} ({}, {})",
        p.organisation,
        p.country.as_str(),
        code(&p.sector)
    )
}

fn spoken(fields: &[&str]) -> String {
    fields.join(", ")
}

pub(crate) fn area_entry(event: &AreaEvent) -> Entry {
    match event {
        AreaEvent::EndUserAreaNamed {
            name,
            domain,
            description,
            ..
        } => {
            let mut e = Entry::said(format!("named end-user area \"{name}\" in {domain}"));
            e.change("name", None, text(name))
                .change("domain", None, text(domain));
            if let Some(d) = text(description) {
                e.change("description", None, Some(d));
            }
            e
        }
        AreaEvent::EndUserAreaRevised {
            name,
            domain,
            description,
        } => {
            let mut e = Entry::default();
            e.diff("name", name, text);
            e.diff("domain", domain, text);
            e.diff("description", description, text);
            let fields = e
                .changes
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>();
            e.summary = format!("revised {}", spoken(&fields));
            e
        }
    }
}

fn demo_event_entry(e: &mut Entry, event: &DemoEvent) {
    e.change("demoEvent.title", None, text(&event.title))
        .change("demoEvent.startsAt", None, instant(&event.starts_at))
        .change("demoEvent.timeZone", None, text(&event.time_zone))
        .change("demoEvent.venue", None, text(&event.venue))
        .change("demoEvent.agenda", None, agenda(&event.agenda))
        .change(
            "demoEvent.feedbackWindowDays",
            None,
            Some(event.feedback_window.days().to_string()),
        )
        .change("demoEvent.status", None, Some("SCHEDULED".to_owned()));
}

fn feedback_values(f: &Feedback) -> [(&'static str, Option<String>); 5] {
    [
        ("feedback.relevance", Some(f.relevance.to_string())),
        ("feedback.usability", Some(f.usability.to_string())),
        ("feedback.wouldPilot", Some(f.would_pilot.to_string())),
        (
            "feedback.relevantFeatures",
            list(f.relevant_features.iter().map(|c| c.as_str())),
        ),
        ("feedback.comment", text(&f.comment)),
    ]
}

fn who(source: &FeedbackSource) -> String {
    match source {
        FeedbackSource::Invitation { invitation_id } => format!("invitation {invitation_id}"),
        FeedbackSource::Paper {
            sheet_id,
            practitioner: p,
        } => format!("paper sheet {sheet_id} of {}", practitioner(p)),
    }
}

fn step_text(step: &NextStep) -> String {
    format!(
        "{}: {} ({}, due {})",
        step.project.acronym, step.action, step.owner, step.due
    )
}

fn venue(v: &Venue) -> Option<String> {
    text(v)
}

pub(crate) fn cluster_entry(event: &ClusterEvent) -> Entry {
    match event {
        ClusterEvent::ClusterFormed {
            area_id,
            name,
            description,
            ..
        } => {
            let mut e = Entry::said(format!("formed cluster \"{name}\""));
            e.change("name", None, text(name))
                .change("areaId", None, text(area_id));
            if let Some(d) = text(description) {
                e.change("description", None, Some(d));
            }
            e
        }
        ClusterEvent::ClusterRevised {
            area_id,
            name,
            description,
        } => {
            let mut e = Entry::default();
            e.diff("areaId", area_id, text);
            e.diff("name", name, text);
            e.diff("description", description, text);
            let fields = e
                .changes
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>();
            e.summary = format!("revised {}", spoken(&fields));
            e
        }
        ClusterEvent::ProjectAssignedToCluster { project, .. } => {
            let mut e = Entry::said(format!("assigned project {}", project.acronym));
            e.change("projects", None, text(&project.acronym));
            e
        }
        ClusterEvent::ProjectRemovedFromCluster { project } => {
            let mut e = Entry::said(format!("removed project {}", project.acronym));
            e.change("projects", text(&project.acronym), None);
            e
        }
        ClusterEvent::FollowUpManagerAssigned { old, new } => {
            let mut e = Entry::said(match old {
                Some(old) => format!("follow-up manager changed from {old} to {new}"),
                None => format!("follow-up manager: {new}"),
            });
            e.change("followUpManager", old.clone(), Some(new.clone()));
            e
        }
        ClusterEvent::StakeholderEngaged { stakeholder: s } => {
            let shown = format!("{} ({})", s.name, code(&s.kind));
            let mut e = Entry::said(match s.note.as_str() {
                "" => format!("engaged stakeholder {shown}"),
                note => format!("engaged stakeholder {shown}: {note}"),
            });
            e.change("stakeholders", None, Some(shown));
            e
        }
        ClusterEvent::StakeholderDisengaged { stakeholder: s } => {
            let shown = format!("{} ({})", s.name, code(&s.kind));
            let mut e = Entry::said(format!("disengaged stakeholder {shown}"));
            e.change("stakeholders", Some(shown), None);
            e
        }
        ClusterEvent::DemoEventScheduled { event } => {
            let mut e = Entry::said(format!(
                "scheduled demo event \"{}\" on {} at {}",
                event.title,
                when(event.starts_at, event.time_zone.as_str()),
                event.venue
            ));
            demo_event_entry(&mut e, event);
            e
        }
        ClusterEvent::DemoEventRescheduled {
            id,
            old_starts_at,
            new_starts_at,
            time_zone,
            venue: moved,
        } => {
            let mut e = Entry::default();
            let (old_zone, new_zone) = match time_zone {
                Some(c) => (c.old.to_string(), c.new.to_string()),
                None => (String::new(), String::new()),
            };
            let mut said = vec![format!(
                "demo event {id} moved from {} to {}",
                when(*old_starts_at, &old_zone).trim_end(),
                when(*new_starts_at, &new_zone).trim_end()
            )];
            if old_starts_at != new_starts_at {
                e.change(
                    "demoEvent.startsAt",
                    instant(old_starts_at),
                    instant(new_starts_at),
                );
            }
            e.diff("demoEvent.timeZone", time_zone, text);
            e.diff("demoEvent.venue", moved, venue);
            if let Some(Change { new, .. }) = moved {
                said.push(format!("now at {new}"));
            }
            e.summary = said.join("; ");
            e
        }
        ClusterEvent::DemoAgendaRevised { id, old, new } => {
            let mut e = Entry::said(format!(
                "agenda of demo event {id}: {}",
                agenda(new).unwrap_or_default()
            ));
            e.change("demoEvent.agenda", agenda(old), agenda(new));
            e
        }
        ClusterEvent::DemoEventCancelled { id, reason } => {
            let mut e = Entry::said(match reason.as_str() {
                "" => format!("cancelled demo event {id}"),
                reason => format!("cancelled demo event {id}: {reason}"),
            });
            e.change(
                "demoEvent.status",
                Some("SCHEDULED".to_owned()),
                Some("CANCELLED".to_owned()),
            );
            e
        }
        ClusterEvent::DemoEventHeld { id } => {
            let mut e = Entry::said(format!("demo event {id} held"));
            e.change(
                "demoEvent.status",
                Some("SCHEDULED".to_owned()),
                Some("HELD".to_owned()),
            );
            e
        }
        ClusterEvent::PractitionerInvited {
            event_id,
            invitation: i,
        } => {
            let mut e = Entry::said(format!(
                "invited {} of {} to demo event {event_id}",
                i.email,
                practitioner(&i.practitioner)
            ));
            e.change("invitations", None, text(&i.email));
            if let Some(at) = &i.expires_at {
                e.change("invitation.expiresAt", None, instant(at));
            }
            e
        }
        ClusterEvent::InvitationReissued {
            invitation_id,
            expires_at,
            ..
        } => {
            let mut e = Entry::said(format!(
                "issued a new link for invitation {invitation_id}; the old one no longer works"
            ));
            e.change(
                "invitation.link",
                Some("old".to_owned()),
                Some("new".to_owned()),
            );
            if let Some(at) = expires_at {
                e.change("invitation.expiresAt", None, instant(at));
            }
            e
        }
        ClusterEvent::InvitationRevoked {
            invitation_id,
            reason,
            ..
        } => {
            let mut e = Entry::said(match reason.as_str() {
                "" => format!("revoked invitation {invitation_id}"),
                reason => format!("revoked invitation {invitation_id}: {reason}"),
            });
            e.change(
                "invitation.status",
                Some("ACTIVE".to_owned()),
                Some("REVOKED".to_owned()),
            );
            e
        }
        ClusterEvent::DemoFeedbackSubmitted {
            source,
            project,
            feedback,
            ..
        } => {
            let pilot = if feedback.would_pilot {
                "would pilot"
            } else {
                "would not pilot"
            };
            let mut e = Entry::said(format!(
                "feedback on {} from {}: relevance {}, usability {}, {pilot}",
                project.acronym,
                who(source),
                feedback.relevance,
                feedback.usability
            ));
            for (field, value) in feedback_values(feedback) {
                if value.is_some() {
                    e.change(field, None, value);
                }
            }
            e
        }
        ClusterEvent::DemoFeedbackRevised {
            source,
            project,
            old,
            new,
            ..
        } => {
            let mut e = Entry::default();
            for ((field, was), (_, is)) in
                feedback_values(old).into_iter().zip(feedback_values(new))
            {
                if was != is {
                    e.change(field, was, is);
                }
            }
            let fields = e
                .changes
                .iter()
                .map(|c| c.field.trim_start_matches("feedback."))
                .collect::<Vec<_>>();
            e.summary = format!(
                "feedback on {} from {} revised: {}",
                project.acronym,
                who(source),
                spoken(&fields)
            );
            e
        }
        ClusterEvent::FollowUpSessionRecorded { session } => {
            let attendees = list(session.attendees.names().iter().map(|n| n.as_str()));
            let steps = session.next_steps.len();
            let mut e = Entry::said(format!(
                "follow-up session on {} with {}; {steps} next step{}",
                session.date,
                attendees.clone().unwrap_or_default(),
                if steps == 1 { "" } else { "s" }
            ));
            e.change("session.date", None, Some(session.date.to_string()))
                .change("session.attendees", None, attendees);
            if let Some(notes) = text(&session.notes) {
                e.change("session.notes", None, Some(notes));
            }
            for step in &session.next_steps {
                e.change("nextSteps", None, Some(step_text(step)));
            }
            e
        }
        ClusterEvent::NextStepAdded { step, .. } => {
            let shown = step_text(step);
            let mut e = Entry::said(format!("next step for {shown}"));
            e.change("nextSteps", None, Some(shown));
            e
        }
        ClusterEvent::NextStepCompleted {
            step_id,
            completed_on,
            ..
        } => {
            let mut e = Entry::said(format!("next step {step_id} completed on {completed_on}"));
            e.change("nextStep.completedOn", None, Some(completed_on.to_string()));
            e
        }
    }
}
