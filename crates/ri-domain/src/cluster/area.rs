//! End-user areas: the end-user centric themes (public event security, CI operators' needs)
//! that a tenant names within a security domain, and around which it clusters projects.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use super::values::AreaDomain;
use crate::tenant::TenantSlug;
use crate::values::{Change, FieldError, Summary, Title};

pub const END_USER_AREA: &str = "EndUserArea";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaCommand {
    Name {
        tenant: TenantSlug,
        name: Title,
        domain: AreaDomain,
        description: Summary,
    },
    /// The given fields; the event records only what changed.
    Revise {
        name: Option<Title>,
        domain: Option<AreaDomain>,
        description: Option<Summary>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AreaEvent {
    EndUserAreaNamed {
        tenant: TenantSlug,
        name: Title,
        domain: AreaDomain,
        description: Summary,
    },
    EndUserAreaRevised {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Change<Title>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<Change<AreaDomain>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Change<Summary>>,
    },
}

impl AreaEvent {
    pub const TYPES: [&'static str; 2] = ["EndUserAreaNamed", "EndUserAreaRevised"];
}

impl DomainEvent for AreaEvent {
    fn event_type(&self) -> String {
        match self {
            AreaEvent::EndUserAreaNamed { .. } => "EndUserAreaNamed",
            AreaEvent::EndUserAreaRevised { .. } => "EndUserAreaRevised",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaError {
    #[error("the end-user area already exists")]
    AlreadyExists,
    /// Never named, or another tenant's: both look the same.
    #[error("no such end-user area")]
    NotFound,
    #[error("nothing would change")]
    Unchanged,
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndUserArea {
    pub tenant: Option<TenantSlug>,
    pub name: Option<Title>,
    pub domain: Option<AreaDomain>,
    pub description: Option<Summary>,
}

impl Aggregate for EndUserArea {
    const TYPE: &'static str = END_USER_AREA;
    type Command = AreaCommand;
    type Event = AreaEvent;
    type Error = AreaError;
    type Services = ();

    async fn handle(
        &mut self,
        command: AreaCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), AreaError> {
        let event = match command {
            AreaCommand::Name {
                tenant,
                name,
                domain,
                description,
            } => {
                if self.name.is_some() {
                    return Err(AreaError::AlreadyExists);
                }
                AreaEvent::EndUserAreaNamed {
                    tenant,
                    name,
                    domain,
                    description,
                }
            }
            AreaCommand::Revise {
                name,
                domain,
                description,
            } => {
                let (Some(old_name), Some(old_domain), Some(old_description)) =
                    (&self.name, &self.domain, &self.description)
                else {
                    return Err(AreaError::NotFound);
                };
                let name = name.and_then(|new| Change::between(old_name, &new));
                let domain = domain.and_then(|new| Change::between(old_domain, &new));
                let description =
                    description.and_then(|new| Change::between(old_description, &new));
                if name.is_none() && domain.is_none() && description.is_none() {
                    return Err(AreaError::Unchanged);
                }
                AreaEvent::EndUserAreaRevised {
                    name,
                    domain,
                    description,
                }
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: AreaEvent) {
        match event {
            AreaEvent::EndUserAreaNamed {
                tenant,
                name,
                domain,
                description,
            } => {
                self.tenant = Some(tenant);
                self.name = Some(name);
                self.domain = Some(domain);
                self.description = Some(description);
            }
            AreaEvent::EndUserAreaRevised {
                name,
                domain,
                description,
            } => {
                if let Some(c) = name {
                    self.name = Some(c.new);
                }
                if let Some(c) = domain {
                    self.domain = Some(c.new);
                }
                if let Some(c) = description {
                    self.description = Some(c.new);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use cqrs_es::test::TestFramework;

    use super::*;

    fn named() -> AreaEvent {
        AreaEvent::EndUserAreaNamed {
            tenant: TenantSlug::parse("l3ce").unwrap(),
            name: Title::parse("name", "Public event security").unwrap(),
            domain: AreaDomain::PublicSpaceProtection,
            description: Summary::parse("description", "Crowds, festivals").unwrap(),
        }
    }

    fn area() -> TestFramework<EndUserArea> {
        TestFramework::with(())
    }

    #[test]
    fn an_area_is_named_once_in_a_domain() {
        let AreaEvent::EndUserAreaNamed {
            tenant,
            name,
            domain,
            description,
        } = named()
        else {
            unreachable!()
        };
        let command = AreaCommand::Name {
            tenant,
            name,
            domain,
            description,
        };
        area()
            .given_no_previous_events()
            .when(command.clone())
            .then_expect_events(vec![named()]);
        area()
            .given(vec![named()])
            .when(command)
            .then_expect_error(AreaError::AlreadyExists);
    }

    #[test]
    fn a_revision_records_only_what_changed() {
        let own = AreaDomain::Own(Title::parse("ownDomain", "Event safety").unwrap());
        area()
            .given(vec![named()])
            .when(AreaCommand::Revise {
                name: Some(Title::parse("name", "Public event security").unwrap()),
                domain: Some(own.clone()),
                description: None,
            })
            .then_expect_events(vec![AreaEvent::EndUserAreaRevised {
                name: None,
                domain: Some(Change {
                    old: AreaDomain::PublicSpaceProtection,
                    new: own,
                }),
                description: None,
            }]);
        area()
            .given(vec![named()])
            .when(AreaCommand::Revise {
                name: None,
                domain: Some(AreaDomain::PublicSpaceProtection),
                description: None,
            })
            .then_expect_error(AreaError::Unchanged);
        area()
            .given_no_previous_events()
            .when(AreaCommand::Revise {
                name: None,
                domain: None,
                description: None,
            })
            .then_expect_error(AreaError::NotFound);
    }

    #[test]
    fn events_keep_their_stored_shape() {
        let json = serde_json::to_value(named()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"EndUserAreaNamed": {
                "tenant": "l3ce", "name": "Public event security",
                "domain": "PUBLIC_SPACE_PROTECTION", "description": "Crowds, festivals"
            }})
        );
        let types = [
            named(),
            AreaEvent::EndUserAreaRevised {
                name: None,
                domain: None,
                description: None,
            },
        ]
        .iter()
        .map(|e| e.event_type())
        .collect::<Vec<_>>();
        assert_eq!(types, AreaEvent::TYPES);
    }
}
