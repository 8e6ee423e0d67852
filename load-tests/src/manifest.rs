//! What `populate` made, for `attack` to use: users and their tokens, instruments with their
//! versions, projects, clusters, demo events and the practitioners' link tokens.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) mode: String,
    pub(crate) created_at: String,
    /// The population asked for, so a report says what the attack ran against.
    pub(crate) sizes: Sizes,
    pub(crate) tenants: Vec<Tenant>,
    pub(crate) instruments: Vec<Instrument>,
    pub(crate) projects: Vec<Project>,
    pub(crate) clusters: Vec<Cluster>,
    /// How long populating took, in seconds.
    pub(crate) seconds: f64,
    pub(crate) requests: u64,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Sizes {
    pub(crate) tenants: usize,
    pub(crate) instruments: usize,
    pub(crate) projects: usize,
    pub(crate) clusters: usize,
    pub(crate) invitations_per_event: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) subject: String,
    pub(crate) roles: Vec<String>,
    pub(crate) token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tenant {
    pub(crate) slug: String,
    pub(crate) country: String,
    pub(crate) curator: User,
    pub(crate) follow_up_manager: User,
    /// A signed-in user with a watch, whose notifications the subscribers hold.
    pub(crate) watcher: User,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Instrument {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) version: i64,
    pub(crate) published: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Project {
    pub(crate) id: String,
    pub(crate) tenant: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cluster {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) projects: Vec<String>,
    /// A follow-up session next steps are added to.
    pub(crate) session: String,
    pub(crate) demo_events: Vec<DemoEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DemoEvent {
    pub(crate) id: String,
    pub(crate) starts_at: String,
    pub(crate) agenda: Vec<String>,
    /// The tokens of the practitioners' links (`/feedback/<token>`).
    pub(crate) invitations: Vec<String>,
}

impl Manifest {
    pub(crate) fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("could not read the manifest {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a manifest", path.display()))
    }

    pub(crate) fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self)?)
            .with_context(|| format!("could not write the manifest {}", path.display()))
    }

    pub(crate) fn tenant(&self, slug: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.slug == slug)
    }
}
