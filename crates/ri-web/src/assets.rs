//! The embedded files. Each is listed once here; a test fails when a file in `assets/` is
//! missing from the list (or the list names one that is gone, which would not compile).

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The path under `assets/`, e.g. `js/app.js`.
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    hash: u64,
}

impl Asset {
    const fn new(path: &'static str, bytes: &'static [u8], content_type: &'static str) -> Self {
        Self {
            path,
            bytes,
            content_type,
            hash: fnv1a(bytes),
        }
    }

    /// A strong validator of the content (FNV-1a, computed at compile time).
    pub fn etag(&self) -> String {
        format!("\"{:016x}\"", self.hash)
    }
}

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! embed {
    ($(($path:literal, $type:expr)),* $(,)?) => {
        &[$(Asset::new(
            $path,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $path)),
            $type,
        ),)*]
    };
}

static ASSETS: &[Asset] = embed![
    ("index.html", HTML),
    ("icon.svg", SVG),
    ("css/app.css", CSS),
    ("js/app.js", JS),
    ("js/api.js", JS),
    ("js/nav.js", JS),
    ("js/session.js", JS),
    ("js/operations.js", JS),
    ("js/dom.js", JS),
    ("js/format.js", JS),
    ("js/zoned.js", JS),
    ("js/ics.js", JS),
    ("js/search-state.js", JS),
    ("js/taxonomy.js", JS),
    ("js/signin.js", JS),
    ("js/live.js", JS),
    ("js/matrix.js", JS),
    ("js/follow-up.js", JS),
    ("js/watch-save.js", JS),
    ("js/cluster-forming.js", JS),
    ("js/cluster-members.js", JS),
    ("js/demo-events.js", JS),
    ("js/demo-invitations.js", JS),
    ("js/demo-form.js", JS),
    ("js/project-progress.js", JS),
    ("js/cluster-notes.js", JS),
    ("js/pages/search.js", JS),
    ("js/pages/instrument.js", JS),
    ("js/pages/curate.js", JS),
    ("js/pages/edit.js", JS),
    ("js/pages/projects.js", JS),
    ("js/pages/project-form.js", JS),
    ("js/pages/clusters.js", JS),
    ("js/pages/feedback.js", JS),
    ("js/pages/gaps.js", JS),
    ("js/pages/inbox.js", JS),
    ("js/pages/not-found.js", JS),
];

/// Every embedded file.
pub fn assets() -> &'static [Asset] {
    ASSETS
}

/// The embedded file at `path` (under `assets/`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

const MARK: &str = "/* GraphQL */ `";

/// The GraphQL documents the pages send: every template literal marked `/* GraphQL */` in the
/// embedded scripts (`js/operations.js` and the modules that keep their own). The pages send no
/// other (so a test can check them all against the schema).
pub fn graphql_operations() -> Vec<&'static str> {
    let mut found = Vec::new();
    for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
        let Ok(mut rest) = std::str::from_utf8(asset.bytes) else {
            continue;
        };
        while let Some(start) = rest.find(MARK) {
            let body = &rest[start + MARK.len()..];
            let Some(end) = body.find('`') else { break };
            found.push(body[..end].trim());
            rest = &body[end + 1..];
        }
    }
    found
}
