//! Mutations: one per command. Each checks who is asking, parses its input into domain values
//! (a bad one is BAD_USER_INPUT naming the field, and nothing is stored), runs the command with
//! the caller's identity in the events' metadata, and returns the aggregate's new version.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use ri_app::policy;
use ri_domain::instrument::{FundingInstrument, InstrumentCommand, InstrumentServices, Schedule};
use ri_domain::tenant::{Tenant, TenantCommand, TenantProfile};
use ri_domain::values::{CountryCode, Link, ShortText, Title};
use ri_domain::{Role, TenantSlug};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::enums::TenantKind;
use super::error::{ApiError, from_failure};
use super::inputs::{InstrumentInput, InstrumentPatchInput, features, short_text};
use super::{Api, principal, tenant_manager};
use crate::auth::User;

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct InstrumentChange {
    pub id: ID,
    /// The instrument's version after the change; pass it as `expectedVersion` next time.
    pub version: i64,
}

#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct TenantChange {
    pub slug: String,
    pub version: i64,
}

/// A tenant's profile; on update, the whole new profile (the history records what changed).
#[derive(InputObject, Debug, Clone)]
pub(crate) struct TenantProfileInput {
    pub name: String,
    pub kind: TenantKind,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub website: Option<String>,
    #[graphql(default)]
    pub domains: Vec<String>,
    pub member_count: Option<u32>,
}

impl TenantProfileInput {
    fn parse(&self) -> Result<TenantProfile, ApiError> {
        Ok(TenantProfile {
            name: Title::parse("name", &self.name)?,
            kind: self.kind.into(),
            country: CountryCode::parse("country", &self.country)?,
            website: self
                .website
                .as_deref()
                .map(|w| Link::parse("website", w))
                .transpose()?,
            domains: self
                .domains
                .iter()
                .map(|d| ShortText::parse("domains", d))
                .collect::<Result<_, _>>()?,
            member_count: self.member_count,
        })
    }
}

#[derive(InputObject, Debug, Clone)]
pub(crate) struct RegisterTenantInput {
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub website: Option<String>,
    #[graphql(default)]
    pub domains: Vec<String>,
    pub member_count: Option<u32>,
}

/// Instrument curation and tenant administration.
#[derive(Debug, Default)]
pub struct CoreMutation;

pub(super) use super::command::expected;
use super::command::{app, caller, version};

/// The signed-in curator, or why not (whether their tenant is active is decided with the
/// command, from the tenant's own events).
fn curator<'a>(ctx: &'a Context<'_>) -> Result<&'a User, ApiError> {
    let user = principal(ctx)
        .user()
        .ok_or_else(ApiError::unauthenticated)?;
    policy::CURATE_INSTRUMENTS.permits(&caller(user))?;
    Ok(user)
}

fn platform_admin<'a>(ctx: &'a Context<'_>) -> Result<&'a User, ApiError> {
    let user = principal(ctx)
        .user()
        .ok_or_else(ApiError::unauthenticated)?;
    if !user.has_role(Role::PlatformAdmin) {
        return Err(ApiError::forbidden(
            "managing tenants needs the platform_admin role",
        ));
    }
    Ok(user)
}

fn instrument_id(id: &ID) -> Result<String, ApiError> {
    Uuid::parse_str(id.as_str())
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("instrument"))
}

/// Runs `command` on the caller's tenant's instrument `id`. Another tenant's published
/// instrument is FORBIDDEN; another tenant's draft is NOT_FOUND, as if it did not exist.
async fn run(
    ctx: &Context<'_>,
    id: &ID,
    expected_version: Option<i64>,
    command: InstrumentCommand,
) -> Result<InstrumentChange, ApiError> {
    let user = curator(ctx)?;
    let api = ctx.data_unchecked::<Api>();
    let id_str = instrument_id(id)?;
    let services = || InstrumentServices {
        clock: api.clock.clone(),
    };
    match app(api)
        .execute::<FundingInstrument>(
            &caller(user),
            &policy::CURATE_INSTRUMENTS,
            &user.tenant,
            &id_str,
            command,
            services,
            expected(expected_version)?,
        )
        .await
        .map_err(|f| from_failure(f, "instrument", ApiError::from))
    {
        Ok(v) => Ok(InstrumentChange {
            id: ID(id_str),
            version: version(v),
        }),
        Err(err) => {
            if err.code == super::error::Code::NotFound {
                let public = ri_projections::catalogue::Viewer::anonymous();
                if let Ok(Some(other)) =
                    ri_projections::catalogue::instrument(&api.db, &public, &id_str).await
                    && other.tenant != user.tenant
                {
                    return Err(ApiError::forbidden(
                        "this instrument belongs to another tenant",
                    ));
                }
            }
            Err(err)
        }
    }
}

fn tenant_slug(raw: &str) -> Result<TenantSlug, ApiError> {
    TenantSlug::parse(raw).map_err(|_| ApiError::not_found("tenant"))
}

/// Runs `command` on tenant `slug` for `actor` (already authorised).
async fn run_tenant(
    ctx: &Context<'_>,
    actor: &User,
    slug: &TenantSlug,
    expected_version: Option<i64>,
    command: TenantCommand,
) -> Result<TenantChange, ApiError> {
    let api = ctx.data_unchecked::<Api>();
    // The event belongs to the tenant acted on; the actor is recorded as who did it.
    let v = app(api)
        .execute::<Tenant>(
            &caller(actor),
            &policy::ADMINISTER_TENANTS,
            slug,
            slug.as_str(),
            command,
            || (),
            expected(expected_version)?,
        )
        .await
        .map_err(|f| from_failure(f, "tenant", ApiError::from))?;
    Ok(TenantChange {
        slug: slug.to_string(),
        version: version(v),
    })
}

#[Object]
impl CoreMutation {
    /// Registers a cluster organisation as a tenant. Platform admins only.
    async fn register_tenant(
        &self,
        ctx: &Context<'_>,
        input: RegisterTenantInput,
    ) -> async_graphql::Result<TenantChange> {
        let admin = platform_admin(ctx)?;
        let slug =
            TenantSlug::parse(&input.slug).map_err(|e| ApiError::field("slug", e.to_string()))?;
        let profile = TenantProfileInput {
            name: input.name,
            kind: input.kind,
            country: input.country,
            website: input.website,
            domains: input.domains,
            member_count: input.member_count,
        }
        .parse()?;
        let api = ctx.data_unchecked::<Api>();
        let v = app(api)
            .execute::<Tenant>(
                &caller(admin),
                &policy::ADMINISTER_TENANTS,
                &slug,
                slug.as_str(),
                TenantCommand::Register {
                    slug: slug.clone(),
                    profile,
                },
                || (),
                None,
            )
            .await
            .map_err(|f| from_failure(f, "tenant", ApiError::from))?;
        Ok(TenantChange {
            slug: slug.to_string(),
            version: version(v),
        })
    }

    /// Drafts a new instrument of the caller's tenant.
    async fn draft_instrument(
        &self,
        ctx: &Context<'_>,
        input: InstrumentInput,
    ) -> async_graphql::Result<InstrumentChange> {
        let user = curator(ctx)?;
        let details = input.parse().map_err(ApiError::from)?;
        let id = ID(Uuid::now_v7().to_string());
        let command = InstrumentCommand::Draft {
            tenant: user.tenant.clone(),
            details,
        };
        Ok(run(ctx, &id, Some(0), command).await?)
    }

    /// Changes the given fields of an instrument; the history records old and new values.
    async fn revise_instrument(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        input: InstrumentPatchInput,
    ) -> async_graphql::Result<InstrumentChange> {
        let patch = input.parse().map_err(ApiError::from)?;
        Ok(run(
            ctx,
            &id,
            expected_version,
            InstrumentCommand::Revise { patch },
        )
        .await?)
    }

    /// Adds features (taxonomy codes such as T1, D2).
    async fn tag_instrument_features(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        features: Vec<String>,
    ) -> async_graphql::Result<InstrumentChange> {
        let features = self::features("features", &features).map_err(ApiError::from)?;
        Ok(run(
            ctx,
            &id,
            expected_version,
            InstrumentCommand::TagFeatures { features },
        )
        .await?)
    }

    async fn untag_instrument_features(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        features: Vec<String>,
    ) -> async_graphql::Result<InstrumentChange> {
        let features = self::features("features", &features).map_err(ApiError::from)?;
        Ok(run(
            ctx,
            &id,
            expected_version,
            InstrumentCommand::UntagFeatures { features },
        )
        .await?)
    }

    /// Sets when the instrument opens and closes. `deadline` is an RFC 3339 instant;
    /// `timeZone` the IANA zone it is shown in.
    async fn set_instrument_deadline(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        opening_date: Option<Date>,
        deadline: Option<OffsetDateTime>,
        time_zone: Option<String>,
    ) -> async_graphql::Result<InstrumentChange> {
        let schedule =
            Schedule::new(opening_date, deadline, time_zone.as_deref()).map_err(ApiError::from)?;
        Ok(run(
            ctx,
            &id,
            expected_version,
            InstrumentCommand::SetSchedule { schedule },
        )
        .await?)
    }

    /// Makes the instrument public. A call needs a future deadline; every instrument at least
    /// one feature.
    async fn publish_instrument(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<InstrumentChange> {
        Ok(run(ctx, &id, expected_version, InstrumentCommand::Publish).await?)
    }

    /// Opens a closed recurring call again with a new schedule (the deadline in the future).
    async fn reopen_instrument(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        opening_date: Option<Date>,
        deadline: OffsetDateTime,
        time_zone: Option<String>,
    ) -> async_graphql::Result<InstrumentChange> {
        let schedule = Schedule::new(opening_date, Some(deadline), time_zone.as_deref())
            .map_err(ApiError::from)?;
        Ok(run(
            ctx,
            &id,
            expected_version,
            InstrumentCommand::Reopen { schedule },
        )
        .await?)
    }

    async fn withdraw_instrument(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
        reason: String,
    ) -> async_graphql::Result<InstrumentChange> {
        let reason = short_text("reason", &reason).map_err(ApiError::from)?;
        Ok(run(
            ctx,
            &id,
            expected_version,
            InstrumentCommand::Withdraw { reason },
        )
        .await?)
    }

    /// Removes the instrument from search for good; its history stays.
    async fn archive_instrument(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<InstrumentChange> {
        Ok(run(ctx, &id, expected_version, InstrumentCommand::Archive).await?)
    }

    /// Replaces a tenant's profile. Platform admins, or the tenant's own tenant admins.
    async fn update_tenant_profile(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: Option<i64>,
        input: TenantProfileInput,
    ) -> async_graphql::Result<TenantChange> {
        let slug = tenant_slug(&slug)?;
        let user = tenant_manager(ctx, &slug)?;
        let profile = input.parse()?;
        Ok(run_tenant(
            ctx,
            user,
            &slug,
            expected_version,
            TenantCommand::UpdateProfile { profile },
        )
        .await?)
    }

    /// Stops a tenant from writing; its published instruments stay visible, marked.
    async fn suspend_tenant(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: Option<i64>,
        reason: String,
    ) -> async_graphql::Result<TenantChange> {
        let admin = platform_admin(ctx)?;
        let slug = tenant_slug(&slug)?;
        let reason = short_text("reason", &reason).map_err(ApiError::from)?;
        Ok(run_tenant(
            ctx,
            admin,
            &slug,
            expected_version,
            TenantCommand::Suspend { reason },
        )
        .await?)
    }

    async fn reinstate_tenant(
        &self,
        ctx: &Context<'_>,
        slug: String,
        expected_version: Option<i64>,
    ) -> async_graphql::Result<TenantChange> {
        let admin = platform_admin(ctx)?;
        let slug = tenant_slug(&slug)?;
        Ok(run_tenant(
            ctx,
            admin,
            &slug,
            expected_version,
            TenantCommand::Reinstate,
        )
        .await?)
    }

    /// Grants a role in a tenant to a subject. Platform admins, or the tenant's tenant admins.
    async fn grant_role(
        &self,
        ctx: &Context<'_>,
        slug: String,
        subject: String,
        role: super::enums::Role,
    ) -> async_graphql::Result<TenantChange> {
        let slug = tenant_slug(&slug)?;
        let user = tenant_manager(ctx, &slug)?;
        let command = TenantCommand::GrantRole {
            subject,
            role: role.into(),
        };
        Ok(run_tenant(ctx, user, &slug, None, command).await?)
    }

    async fn revoke_role(
        &self,
        ctx: &Context<'_>,
        slug: String,
        subject: String,
        role: super::enums::Role,
    ) -> async_graphql::Result<TenantChange> {
        let slug = tenant_slug(&slug)?;
        let user = tenant_manager(ctx, &slug)?;
        let command = TenantCommand::RevokeRole {
            subject,
            role: role.into(),
        };
        Ok(run_tenant(ctx, user, &slug, None, command).await?)
    }
}
