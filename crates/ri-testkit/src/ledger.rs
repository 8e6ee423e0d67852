//! A ledger: opened, credited, debited, closed. Small enough to reason about, rich enough to
//! exercise the log: multi-event commands, rules that refuse commands, an upcast event.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use ri_domain::{EventRegistry, StepUpcaster};
use serde::{Deserialize, Serialize};

pub const TYPE: &str = "Ledger";

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub owner: Option<String>,
    pub balance: i64,
    pub entries: u64,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCommand {
    Open {
        owner: String,
    },
    Credit {
        amount: i64,
    },
    /// Several credits in one command: several events, stored atomically.
    CreditMany {
        amounts: Vec<i64>,
    },
    Debit {
        amount: i64,
    },
    Close,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LedgerEvent {
    Opened {
        owner: String,
    },
    /// Version 2 added `currency`; version 1 payloads are upcast to EUR.
    Credited {
        amount: i64,
        currency: String,
    },
    Debited {
        amount: i64,
    },
    Closed,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("the ledger is already open")]
    AlreadyOpen,
    #[error("the ledger is not open")]
    NotOpen,
    #[error("amount must be positive")]
    NotPositive,
    #[error("insufficient balance")]
    Insufficient,
}

impl DomainEvent for LedgerEvent {
    fn event_type(&self) -> String {
        match self {
            LedgerEvent::Opened { .. } => "Opened",
            LedgerEvent::Credited { .. } => "Credited",
            LedgerEvent::Debited { .. } => "Debited",
            LedgerEvent::Closed => "Closed",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            LedgerEvent::Credited { .. } => "2",
            _ => "1",
        }
        .to_owned()
    }
}

impl Aggregate for Ledger {
    const TYPE: &'static str = TYPE;
    type Command = LedgerCommand;
    type Event = LedgerEvent;
    type Error = LedgerError;
    type Services = ();

    async fn handle(
        &mut self,
        command: LedgerCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), LedgerError> {
        let open = self.owner.is_some() && !self.closed;
        match command {
            LedgerCommand::Open { owner } => {
                if self.owner.is_some() {
                    return Err(LedgerError::AlreadyOpen);
                }
                sink.write(LedgerEvent::Opened { owner }, self).await;
            }
            LedgerCommand::Credit { amount } => {
                if !open {
                    return Err(LedgerError::NotOpen);
                }
                if amount <= 0 {
                    return Err(LedgerError::NotPositive);
                }
                sink.write(credited(amount), self).await;
            }
            LedgerCommand::CreditMany { amounts } => {
                if !open {
                    return Err(LedgerError::NotOpen);
                }
                if amounts.iter().any(|a| *a <= 0) {
                    return Err(LedgerError::NotPositive);
                }
                for amount in amounts {
                    sink.write(credited(amount), self).await;
                }
            }
            LedgerCommand::Debit { amount } => {
                if !open {
                    return Err(LedgerError::NotOpen);
                }
                if amount <= 0 {
                    return Err(LedgerError::NotPositive);
                }
                if amount > self.balance {
                    return Err(LedgerError::Insufficient);
                }
                sink.write(LedgerEvent::Debited { amount }, self).await;
            }
            LedgerCommand::Close => {
                if !open {
                    return Err(LedgerError::NotOpen);
                }
                sink.write(LedgerEvent::Closed, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: LedgerEvent) {
        self.entries += 1;
        match event {
            LedgerEvent::Opened { owner } => self.owner = Some(owner),
            LedgerEvent::Credited { amount, .. } => self.balance += amount,
            LedgerEvent::Debited { amount } => self.balance -= amount,
            LedgerEvent::Closed => self.closed = true,
        }
    }
}

fn credited(amount: i64) -> LedgerEvent {
    LedgerEvent::Credited {
        amount,
        currency: "EUR".to_owned(),
    }
}

/// The ledger's event types, with the upcaster of `Credited` v1 (no currency) to v2.
pub fn registry() -> EventRegistry {
    EventRegistry::new()
        .register(TYPE, "Opened", 1)
        .register(TYPE, "Credited", 2)
        .register(TYPE, "Debited", 1)
        .register(TYPE, "Closed", 1)
        .upcaster(
            TYPE,
            StepUpcaster::new("Credited", 1, |mut payload| {
                if let Some(body) = payload.get_mut("Credited").and_then(|b| b.as_object_mut()) {
                    body.insert("currency".to_owned(), "EUR".into());
                }
                payload
            }),
        )
}
