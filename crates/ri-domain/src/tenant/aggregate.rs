use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use super::slug::TenantSlug;
use crate::metadata::Role;
use crate::values::{Change, CountryCode, FieldError, Link, ShortText, Title};

pub const TENANT: &str = "Tenant";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantKind {
    ConsortiumPartner,
    AmbassadorCluster,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TenantStatus {
    #[default]
    Unregistered,
    Active,
    /// Cannot write; its published instruments stay visible, marked.
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantProfile {
    pub name: Title,
    pub kind: TenantKind,
    pub country: CountryCode,
    pub website: Option<Link>,
    /// Areas of activity ("ICT", "security").
    pub domains: Vec<ShortText>,
    pub member_count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantCommand {
    Register {
        slug: TenantSlug,
        profile: TenantProfile,
    },
    /// The whole new profile; the event records only what changed.
    UpdateProfile {
        profile: TenantProfile,
    },
    Suspend {
        reason: ShortText,
    },
    Reinstate,
    GrantRole {
        subject: String,
        role: Role,
    },
    RevokeRole {
        subject: String,
        role: Role,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TenantEvent {
    TenantRegistered {
        slug: TenantSlug,
        profile: TenantProfile,
    },
    TenantProfileUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Change<Title>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kind: Option<Change<TenantKind>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        country: Option<Change<CountryCode>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        website: Option<Change<Option<Link>>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domains: Option<Change<Vec<ShortText>>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member_count: Option<Change<Option<u32>>>,
    },
    TenantSuspended {
        reason: ShortText,
    },
    TenantReinstated,
    RoleGranted {
        subject: String,
        role: Role,
    },
    RoleRevoked {
        subject: String,
        role: Role,
    },
}

impl TenantEvent {
    pub const TYPES: [&'static str; 6] = [
        "TenantRegistered",
        "TenantProfileUpdated",
        "TenantSuspended",
        "TenantReinstated",
        "RoleGranted",
        "RoleRevoked",
    ];
}

impl DomainEvent for TenantEvent {
    fn event_type(&self) -> String {
        match self {
            TenantEvent::TenantRegistered { .. } => "TenantRegistered",
            TenantEvent::TenantProfileUpdated { .. } => "TenantProfileUpdated",
            TenantEvent::TenantSuspended { .. } => "TenantSuspended",
            TenantEvent::TenantReinstated => "TenantReinstated",
            TenantEvent::RoleGranted { .. } => "RoleGranted",
            TenantEvent::RoleRevoked { .. } => "RoleRevoked",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("the tenant is already registered")]
    AlreadyRegistered,
    #[error("the tenant is not registered")]
    NotRegistered,
    #[error("the tenant is suspended")]
    Suspended,
    #[error("the tenant is not suspended")]
    NotSuspended,
    #[error("the profile is unchanged")]
    Unchanged,
    #[error("{subject:?} does not hold the role {role:?}")]
    RoleNotHeld { subject: String, role: Role },
    /// Platform admins act on every tenant: they are named in the service's configuration,
    /// never granted by one tenant.
    #[error("platform_admin is named in the service's configuration, not granted by a tenant")]
    NotGrantable,
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub slug: Option<TenantSlug>,
    pub status: TenantStatus,
    pub profile: Option<TenantProfile>,
    /// (subject, role), sorted.
    pub grants: Vec<(String, Role)>,
}

impl Tenant {
    pub fn has_role(&self, subject: &str, role: Role) -> bool {
        self.grants.iter().any(|(s, r)| s == subject && *r == role)
    }

    /// The roles this tenant grants `subject`, in [`Role::ALL`] order. Never `platform_admin`,
    /// which no tenant grants (an event from before that rule grants nothing).
    pub fn roles_of(&self, subject: &str) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|role| *role != Role::PlatformAdmin && self.has_role(subject, *role))
            .collect()
    }

    fn active(&self) -> Result<&TenantProfile, TenantError> {
        match (&self.profile, self.status) {
            (Some(p), TenantStatus::Active) => Ok(p),
            (Some(_), TenantStatus::Suspended) => Err(TenantError::Suspended),
            _ => Err(TenantError::NotRegistered),
        }
    }
}

fn subject(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > 255 || s.chars().any(char::is_control) {
        return Err(FieldError::new(
            "subject",
            "must be 1 to 255 characters, no control characters",
        ));
    }
    Ok(s.to_owned())
}

impl Aggregate for Tenant {
    const TYPE: &'static str = TENANT;
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = TenantError;
    type Services = ();

    async fn handle(
        &mut self,
        command: TenantCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), TenantError> {
        let event = match command {
            TenantCommand::Register { slug, profile } => {
                if self.profile.is_some() {
                    return Err(TenantError::AlreadyRegistered);
                }
                TenantEvent::TenantRegistered { slug, profile }
            }
            TenantCommand::UpdateProfile { profile: new } => {
                let old = self.active()?;
                let event = TenantEvent::TenantProfileUpdated {
                    name: Change::between(&old.name, &new.name),
                    kind: Change::between(&old.kind, &new.kind),
                    country: Change::between(&old.country, &new.country),
                    website: Change::between(&old.website, &new.website),
                    domains: Change::between(&old.domains, &new.domains),
                    member_count: Change::between(&old.member_count, &new.member_count),
                };
                let mut check = self.clone();
                check.apply(event.clone());
                if check.profile.as_ref() == Some(old) {
                    return Err(TenantError::Unchanged);
                }
                event
            }
            TenantCommand::Suspend { reason } => {
                self.active()?;
                TenantEvent::TenantSuspended { reason }
            }
            TenantCommand::Reinstate => match self.status {
                TenantStatus::Suspended => TenantEvent::TenantReinstated,
                TenantStatus::Active => return Err(TenantError::NotSuspended),
                TenantStatus::Unregistered => return Err(TenantError::NotRegistered),
            },
            TenantCommand::GrantRole { subject: raw, role } => {
                self.active()?;
                if role == Role::PlatformAdmin {
                    return Err(TenantError::NotGrantable);
                }
                let subject = subject(&raw)?;
                if self.has_role(&subject, role) {
                    // Granting what is held is a no-op, not an error: the call is idempotent.
                    return Ok(());
                }
                TenantEvent::RoleGranted { subject, role }
            }
            TenantCommand::RevokeRole { subject: raw, role } => {
                self.active()?;
                let subject = subject(&raw)?;
                if !self.has_role(&subject, role) {
                    return Err(TenantError::RoleNotHeld { subject, role });
                }
                TenantEvent::RoleRevoked { subject, role }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: TenantEvent) {
        match event {
            TenantEvent::TenantRegistered { slug, profile } => {
                self.slug = Some(slug);
                self.profile = Some(profile);
                self.status = TenantStatus::Active;
            }
            TenantEvent::TenantProfileUpdated {
                name,
                kind,
                country,
                website,
                domains,
                member_count,
            } => {
                if let Some(p) = self.profile.as_mut() {
                    if let Some(c) = name {
                        p.name = c.new;
                    }
                    if let Some(c) = kind {
                        p.kind = c.new;
                    }
                    if let Some(c) = country {
                        p.country = c.new;
                    }
                    if let Some(c) = website {
                        p.website = c.new;
                    }
                    if let Some(c) = domains {
                        p.domains = c.new;
                    }
                    if let Some(c) = member_count {
                        p.member_count = c.new;
                    }
                }
            }
            TenantEvent::TenantSuspended { .. } => self.status = TenantStatus::Suspended,
            TenantEvent::TenantReinstated => self.status = TenantStatus::Active,
            TenantEvent::RoleGranted { subject, role } => {
                self.grants.push((subject, role));
                self.grants.sort();
            }
            TenantEvent::RoleRevoked { subject, role } => {
                self.grants.retain(|(s, r)| !(*s == subject && *r == role));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;

    fn profile() -> TenantProfile {
        TenantProfile {
            name: Title::parse("name", "Cluj IT cluster").unwrap(),
            kind: TenantKind::AmbassadorCluster,
            country: CountryCode::parse("country", "RO").unwrap(),
            website: Some(Link::parse("website", "https://www.clujit.ro").unwrap()),
            domains: vec![ShortText::parse("domains", "ICT").unwrap()],
            member_count: Some(70),
        }
    }

    fn registered() -> TenantEvent {
        TenantEvent::TenantRegistered {
            slug: TenantSlug::parse("cluj-it").unwrap(),
            profile: profile(),
        }
    }

    fn tenant() -> TestFramework<Tenant> {
        TestFramework::with(())
    }

    #[test]
    fn registers_once() {
        tenant()
            .given_no_previous_events()
            .when(TenantCommand::Register {
                slug: TenantSlug::parse("cluj-it").unwrap(),
                profile: profile(),
            })
            .then_expect_events(vec![registered()]);
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::Register {
                slug: TenantSlug::parse("cluj-it").unwrap(),
                profile: profile(),
            })
            .then_expect_error(TenantError::AlreadyRegistered);
    }

    #[test]
    fn a_profile_update_records_only_what_changed() {
        let mut new = profile();
        new.member_count = Some(85);
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::UpdateProfile { profile: new })
            .then_expect_events(vec![TenantEvent::TenantProfileUpdated {
                name: None,
                kind: None,
                country: None,
                website: None,
                domains: None,
                member_count: Some(Change {
                    old: Some(70),
                    new: Some(85),
                }),
            }]);
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::UpdateProfile { profile: profile() })
            .then_expect_error(TenantError::Unchanged);
    }

    #[test]
    fn a_suspended_tenant_cannot_change_until_reinstated() {
        let suspended = TenantEvent::TenantSuspended {
            reason: ShortText::parse("reason", "unpaid").unwrap(),
        };
        tenant()
            .given(vec![registered(), suspended.clone()])
            .when(TenantCommand::GrantRole {
                subject: "ana".into(),
                role: Role::Curator,
            })
            .then_expect_error(TenantError::Suspended);
        tenant()
            .given(vec![registered(), suspended])
            .when(TenantCommand::Reinstate)
            .then_expect_events(vec![TenantEvent::TenantReinstated]);
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::Reinstate)
            .then_expect_error(TenantError::NotSuspended);
    }

    #[test]
    fn roles_are_granted_idempotently_and_revoked_only_when_held() {
        let granted = TenantEvent::RoleGranted {
            subject: "ana".into(),
            role: Role::Curator,
        };
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::GrantRole {
                subject: " ana ".into(),
                role: Role::Curator,
            })
            .then_expect_events(vec![granted.clone()]);
        tenant()
            .given(vec![registered(), granted.clone()])
            .when(TenantCommand::GrantRole {
                subject: "ana".into(),
                role: Role::Curator,
            })
            .then_expect_events(vec![]);
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::RevokeRole {
                subject: "ana".into(),
                role: Role::Curator,
            })
            .then_expect_error(TenantError::RoleNotHeld {
                subject: "ana".into(),
                role: Role::Curator,
            });
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::GrantRole {
                subject: "  ".into(),
                role: Role::Curator,
            })
            .then_expect_error(TenantError::Invalid(FieldError::new(
                "subject",
                "must be 1 to 255 characters, no control characters",
            )));
    }

    #[test]
    fn a_subject_s_roles_are_its_grants_never_platform_admin() {
        let mut t = Tenant::default();
        t.apply(registered());
        for (subject, role) in [
            ("ana", Role::TenantAdmin),
            ("ana", Role::Curator),
            ("bo", Role::FollowUpManager),
            // Recorded before tenants were refused this role: it grants nothing.
            ("ana", Role::PlatformAdmin),
        ] {
            t.apply(TenantEvent::RoleGranted {
                subject: subject.into(),
                role,
            });
        }
        assert_eq!(t.roles_of("ana"), vec![Role::Curator, Role::TenantAdmin]);
        assert_eq!(t.roles_of("bo"), vec![Role::FollowUpManager]);
        assert_eq!(t.roles_of("cy"), vec![]);
    }

    #[test]
    fn no_tenant_grants_platform_admin() {
        tenant()
            .given(vec![registered()])
            .when(TenantCommand::GrantRole {
                subject: "ana".into(),
                role: Role::PlatformAdmin,
            })
            .then_expect_error(TenantError::NotGrantable);
    }

    #[test]
    fn events_keep_their_stored_shape() {
        let json = serde_json::to_value(registered()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"TenantRegistered": {
                "slug": "cluj-it",
                "profile": {
                    "name": "Cluj IT cluster", "kind": "AMBASSADOR_CLUSTER", "country": "RO",
                    "website": "https://www.clujit.ro/", "domains": ["ICT"], "member_count": 70
                }
            }})
        );
    }
}
