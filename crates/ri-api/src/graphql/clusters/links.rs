//! Practitioner links: tokens, attempts counted per token and address, and feedback.

use super::*;

/// A fresh link token (256 random bits, base64url: 43 characters) and its SHA-256.
pub(super) fn link_token() -> Result<(String, TokenHash), ApiError> {
    let (token, hash) = crate::secret::new_token();
    Ok((token, TokenHash::parse("token", &hash)?))
}

pub(super) fn link(token: &str) -> String {
    format!("{FEEDBACK_PATH}{token}")
}

/// A token as given (a whole link is accepted too), when it can be one of ours.
pub(super) fn token_of(raw: &str) -> Option<&str> {
    let raw = raw.trim();
    let token = raw.rsplit_once(FEEDBACK_PATH).map_or(raw, |(_, t)| t);
    (!token.is_empty() && token.chars().count() <= MAX_TOKEN_CHARS).then_some(token)
}

pub(super) fn invalid_link() -> async_graphql::Error {
    ApiError::new(
        Code::NotFound,
        "this link is not valid: check it against the e-mail you received",
    )
    .into()
}

/// A link that exists but cannot take feedback (now), with the state as `reason`.
pub(super) fn link_refused(state: InvitationState) -> async_graphql::Error {
    let error = match state {
        InvitationState::Open => return invalid_link(),
        InvitationState::NotOpenYet => ApiError::new(
            Code::BadUserInput,
            "feedback opens when the demo event starts",
        ),
        InvitationState::Replaced => ApiError::forbidden(
            "this link has been replaced by a newer one: use the latest link you received",
        ),
        InvitationState::Revoked => ApiError::forbidden("this invitation has been revoked"),
        InvitationState::Cancelled => ApiError::forbidden("the demo event was cancelled"),
        InvitationState::WindowClosed => ApiError::forbidden(
            "the demo event's feedback window has closed: feedback can no longer be given",
        ),
        InvitationState::Expired => ApiError::forbidden("this invitation has expired"),
    };
    async_graphql::Error::from(error).extend_with(|_, ext| ext.set("reason", state.reason()))
}

/// A cluster's refusal as a practitioner reads it.
pub(super) fn practitioner_refusal(e: ClusterError) -> async_graphql::Error {
    match e {
        ClusterError::NotFound | ClusterError::NoSuchInvitation => invalid_link(),
        ClusterError::TokenSuperseded => link_refused(InvitationState::Replaced),
        ClusterError::InvitationRevoked => link_refused(InvitationState::Revoked),
        ClusterError::DemoEventCancelled => link_refused(InvitationState::Cancelled),
        ClusterError::FeedbackWindowClosed => link_refused(InvitationState::WindowClosed),
        ClusterError::InvitationExpired => link_refused(InvitationState::Expired),
        ClusterError::FeedbackNotOpen => link_refused(InvitationState::NotOpenYet),
        other => ApiError::from(other).into(),
    }
}

/// Counts an attempt to use the link whose token hashes to `hash`, under the token and under
/// the client's address; RATE_LIMITED (with `Retry-After`) when either is over its limit.
pub(super) async fn count_attempt(ctx: &Context<'_>, hash: &str) -> async_graphql::Result<()> {
    let api = ctx.data_unchecked::<Api>();
    let now = api.clock.now();
    let address = ctx
        .data_opt::<ClientIp>()
        .and_then(|c| c.0)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let keys = [
        (format!("token:{hash}"), AttemptLimit::PER_TOKEN),
        (format!("ip:{address}"), AttemptLimit::PER_ADDRESS),
    ];
    let mut wait: Option<i64> = None;
    for (key, limit) in keys {
        match read::record_feedback_attempt(&api.db, &key, limit, now)
            .await
            .map_err(ApiError::from)?
        {
            Attempt::Allowed { .. } => {}
            Attempt::Limited { retry_after } => {
                let seconds = retry_after.whole_seconds().max(1);
                wait = Some(wait.map_or(seconds, |w| w.max(seconds)));
            }
        }
    }
    let Some(seconds) = wait else {
        return Ok(());
    };
    ctx.insert_http_header("retry-after", seconds.to_string());
    Err(async_graphql::Error::from(ApiError::new(
        Code::RateLimited,
        format!("too many attempts with this link or from your address; try again in {seconds} s"),
    ))
    .extend_with(|_, ext| ext.set("retryAfter", seconds)))
}

/// What the link with `token` opens, after counting the attempt; `None` for a link that never
/// was.
pub(super) async fn open_link(
    ctx: &Context<'_>,
    token: &str,
) -> async_graphql::Result<Option<(InvitationAccess, TokenHash)>> {
    let token = token_of(token);
    let hash = crate::secret::sha256_hex(token.unwrap_or_default());
    count_attempt(ctx, &hash).await?;
    if token.is_none() {
        return Ok(None);
    }
    let api = ctx.data_unchecked::<Api>();
    let access = read::invitation_by_token_hash(&api.db, &hash, api.clock.now())
        .await
        .map_err(ApiError::from)?;
    let hash = TokenHash::parse("token", &hash).map_err(ApiError::from)?;
    Ok(access.map(|a| (a, hash)))
}

pub(super) async fn submit_feedback(
    ctx: &Context<'_>,
    token: &str,
    project_id: &ID,
    input: &FeedbackInput,
) -> async_graphql::Result<FeedbackReceipt> {
    let Some((access, hash)) = open_link(ctx, token).await? else {
        return Err(invalid_link());
    };
    let state = InvitationState::from(access.state);
    if state != InvitationState::Open {
        return Err(link_refused(state));
    }
    let feedback = input.parse().map_err(ApiError::from)?;
    let project = AggregateRef::parse("projectId", project_id).map_err(ApiError::from)?;
    let Some(acronym) = access
        .agenda
        .iter()
        .find(|a| a.project_id == project.as_str())
        .map(|a| a.acronym.clone())
    else {
        return Err(ApiError::field(
            "projectId",
            format!("project {project} is not on the demo event's agenda"),
        )
        .into());
    };
    let api = ctx.data_unchecked::<Api>();
    // The token proved who this is: the invitation acts, in its cluster's tenant, with no role.
    let practitioner = Caller::new(
        format!("invitation:{}", access.invitation_id),
        access.tenant.clone(),
        vec![],
    )
    .with_traceparent(current_traceparent());
    let command = ClusterCommand::SubmitDemoFeedback {
        invitation_id: access.invitation_id,
        token_sha256: hash,
        project_id: project.clone(),
        feedback,
    };
    // Many practitioners answer at once: a conflict is tried again on the reloaded cluster.
    let policy = &policy::GIVE_FEEDBACK;
    match execute_cluster(
        api,
        &practitioner,
        policy,
        &access.cluster_id,
        None,
        command,
    )
    .await
    {
        Ok(_) => Ok(FeedbackReceipt {
            project_id: ID(project.to_string()),
            acronym,
            received_at: api.clock.now(),
        }),
        Err(Failure::Refused(e)) => Err(practitioner_refusal(e)),
        Err(other) => Err(from_failure(other, "cluster", ApiError::from).into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn link_tokens_are_43_url_safe_characters_and_only_their_hash_is_kept() {
        let (token, hash) = link_token().unwrap();
        assert_eq!(token.len(), 43);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(hash.as_str(), crate::secret::sha256_hex(&token));
        assert_ne!(link_token().unwrap().0, token);
        assert_eq!(link(&token), format!("/feedback/{token}"));
    }

    #[test]
    fn a_token_is_taken_alone_or_from_its_link() {
        assert_eq!(token_of(" abc "), Some("abc"));
        assert_eq!(token_of("https://ri.example.eu/feedback/abc"), Some("abc"));
        assert_eq!(token_of(""), None);
        assert_eq!(token_of(&"x".repeat(MAX_TOKEN_CHARS + 1)), None);
    }
}
