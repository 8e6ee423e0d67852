//! # Tenants
//!
//! - Slug: the name in lower case, Latin letters with diacritics folded to their base letter
//!   (`ó` → `o`), every other run of non-alphanumerics turned into one `-`, trimmed of `-`, and
//!   cut to at most 63 characters at a word boundary. Two records with the same slug are an error.
//! - Kind: `CONSORTIUM_PARTNER` for `consortium_partners`, `AMBASSADOR_CLUSTER` for
//!   `ambassador_clusters`.
//! - `website`: an address given without a scheme (`www.cyberwales.net`) is read as `https://`.
//! - `domains`: the comma-separated list, each item trimmed of spaces and a final full stop.
//! - `sme_members`: the member count, a number or a numeric string. A value that is not a plain
//!   count (`"70+"`, a lower bound) is left out rather than guessed.
//! - `location` (a city and region) has no place in the tenant profile; it is not loaded.
//! - Registered with `Register` on aggregate id = slug, owned by that tenant, as
//!   `SYSTEM_ACTOR` with the `platform_admin` role.

use anyhow::Context;
use ri_domain::TenantSlug;
use ri_domain::tenant::{TenantKind, TenantProfile};
use ri_domain::values::{CountryCode, Link, ShortText, Title, distinct};

use super::records::ClusterRecord;

#[derive(Debug)]
pub(super) struct TenantPlan {
    pub(super) slug: TenantSlug,
    pub(super) profile: TenantProfile,
}

pub(super) fn tenant_plan(kind: TenantKind, record: &ClusterRecord) -> anyhow::Result<TenantPlan> {
    let slug = slug_of(&record.name)?;
    let website = record
        .website
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| {
            // The deliverable writes some addresses without a scheme.
            if w.contains("://") {
                Link::parse("website", w)
            } else {
                Link::parse("website", &format!("https://{w}"))
            }
        })
        .transpose()?;
    let domains = record
        .domains
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(|d| d.trim().trim_end_matches('.').trim())
        .filter(|d| !d.is_empty())
        .map(|d| ShortText::parse("domains", d))
        .collect::<Result<Vec<_>, _>>()?;
    let member_count = match &record.sme_members {
        None => None,
        Some(raw) => match raw.value().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => Some(n),
            None => {
                // Not a plain count ("70+" is a lower bound): better no count than a wrong one.
                tracing::debug!(tenant = %record.name, sme_members = %raw, "member count left out");
                None
            }
        },
    };
    Ok(TenantPlan {
        slug,
        profile: TenantProfile {
            name: Title::parse("name", &record.name)?,
            kind,
            country: CountryCode::parse("country", &record.country)?,
            website,
            domains: distinct("domains", domains, 50)?,
            member_count,
        },
    })
}

/// The slug a tenant's name gives: see the module documentation.
pub(super) fn slug_of(name: &str) -> anyhow::Result<TenantSlug> {
    const MAX: usize = 63;
    let mut slug = String::new();
    for c in name.chars().flat_map(char::to_lowercase).map(fold) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    if slug.len() > MAX {
        // Cut at a word boundary when the cut falls inside a word.
        let cut_in_word = slug.as_bytes().get(MAX).is_some_and(|b| *b != b'-');
        slug.truncate(MAX);
        if cut_in_word && let Some(boundary) = slug.rfind('-') {
            slug.truncate(boundary);
        }
    }
    let slug = slug.trim_matches('-');
    TenantSlug::parse(slug).with_context(|| format!("name {name:?} gives the slug {slug:?}"))
}

/// A lower-case Latin letter with a diacritic, as its base letter; anything else unchanged.
pub(super) fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
        'ķ' => 'k',
        'ļ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' => 'o',
        'ř' => 'r',
        'ś' | 'š' | 'ș' | 'ş' => 's',
        'ț' | 'ţ' | 'ť' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ų' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}
