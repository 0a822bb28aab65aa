//! `AssumeRole` (spec §3.1): the trust-policy algorithm of §3.0.9, durations and chaining
//! (§3.0.2–3), session policies (§3.0.4), session and transitive tags (§3.0.5), source identity
//! (§3.0.7).

use super::session::{NewSession, check_policies, check_tags, mint, verify_mfa};
use super::{OpContext, OpError};
use crate::authorize::denial_reason;
use crate::principal::{Caller, Credential, role_session_arn, role_session_id};
use crate::snapshot::Role;
use crate::tokens::{Origin, PackedSession, SessionPrincipal};
use tessera_policy::{Context, Decision, Missing};
use tessera_proto::sts::{AssumeRole, Response, RoleSessionOut};
use tessera_proto::{AccountId, Arn};

/// Default and chaining cap, in seconds.
const ONE_HOUR: u32 = 3600;

/// Resolves a `RoleArn` (already parsed: the callers answer a malformed one differently) to a
/// role. Anything that does not name an existing role of this partition answers exactly like a
/// policy denial, so non-existence is never revealed.
pub(super) fn resolve_role<'s>(arn: &Arn, ctx: &OpContext<'s>) -> Option<&'s Role> {
    if arn.partition() != ctx.snapshot.partition || arn.service() != "iam" {
        return None;
    }
    let account = AccountId::parse(arn.account())?;
    let name = arn.resource().strip_prefix("role/")?.rsplit('/').next()?;
    ctx.snapshot
        .role_named(account, name)
        .filter(|r| r.arn.as_str() == arn.as_str())
        .map(|r| &**r)
}

/// Session tags after inheritance (spec §3.0.5): the caller's transitive tags, then this
/// request's tags; `(key, value, transitive)`.
fn session_tags(caller: &Caller, req: &AssumeRole) -> Result<Vec<(String, String, bool)>, OpError> {
    check_tags(&req.tags, &req.transitive_tag_keys)?;
    let inherited: Vec<(String, String, bool)> = caller
        .packed()
        .tags
        .iter()
        .filter(|(_, _, transitive)| *transitive)
        .cloned()
        .collect();
    let mut out = inherited.clone();
    for (key, value) in &req.tags {
        if inherited
            .iter()
            .any(|(k, _, _)| k.eq_ignore_ascii_case(key))
        {
            return Err(OpError::Invalid(format!(
                "The session tag '{key}' would override a transitive tag inherited from the calling session."
            )));
        }
        let transitive = req
            .transitive_tag_keys
            .iter()
            .any(|t| t.eq_ignore_ascii_case(key));
        out.push((key.clone(), value.clone(), transitive));
    }
    Ok(out)
}

/// The request context of the trust evaluation (spec §3.0.10).
fn trust_context(
    caller: &Caller,
    req: &AssumeRole,
    ctx: &OpContext<'_>,
    role: &Role,
    tags: &[(String, String, bool)],
    mfa_now: Option<i64>,
    source_identity: Option<&str>,
) -> Context {
    let mut context = caller.context(ctx.env);
    if mfa_now.is_some() {
        // Codes checked by this very request authenticate it with MFA.
        context.set("aws:MultiFactorAuthPresent", "true");
        context.set("aws:MultiFactorAuthAge", "0");
    }
    context.set("sts:RoleSessionName", req.role_session_name.as_str());
    if let Some(e) = &req.external_id {
        context.set("sts:ExternalId", e.as_str());
    }
    if let Some(si) = source_identity {
        context.set("sts:SourceIdentity", si);
    }
    if !req.tags.is_empty() {
        for (k, v) in &req.tags {
            context.set(&format!("aws:RequestTag/{k}"), v.as_str());
        }
        context.set_multi(
            "aws:TagKeys",
            req.tags.iter().map(|(k, _)| k.clone()).collect(),
        );
    }
    if !req.transitive_tag_keys.is_empty() {
        context.set_multi("sts:TransitiveTagKeys", req.transitive_tag_keys.clone());
    }
    let mut resource_tags = role.tags.clone();
    for (k, v, _) in tags.iter().filter(|(_, _, t)| *t) {
        resource_tags.retain(|(rk, _)| !rk.eq_ignore_ascii_case(k));
        resource_tags.push((k.clone(), v.clone()));
    }
    for (k, v) in &resource_tags {
        context.set(&format!("aws:ResourceTag/{k}"), v.as_str());
        context.set(&format!("iam:ResourceTag/{k}"), v.as_str());
    }
    context
}

pub(super) fn run(
    caller: &Caller,
    req: &AssumeRole,
    ctx: &OpContext<'_>,
) -> Result<Response, OpError> {
    let partition = ctx.snapshot.partition.as_str();
    let denied = |action: &'static str, reason: String| OpError::NotAuthorized {
        caller: caller.arn(partition),
        action,
        resource: req.role_arn.clone(),
        reason,
    };
    let role_arn = Arn::parse(&req.role_arn)
        .ok_or_else(|| OpError::Invalid(format!("{} is not a valid role ARN.", req.role_arn)))?;
    let role =
        resolve_role(&role_arn, ctx).ok_or_else(|| denied("sts:AssumeRole", String::new()))?;
    let mfa_now = verify_mfa(ctx, caller, req.mfa.as_ref())?;
    let claims = match &caller.credential {
        Credential::Session(c) => Some(c),
        Credential::LongTerm { .. } => None,
    };
    // Source identity: sticky across chaining, never changed (spec §3.0.7).
    let inherited_si = claims.and_then(|c| c.source_identity.clone());
    if let Some(si) = &req.source_identity {
        if si.to_lowercase().starts_with("aws:") {
            return Err(OpError::Invalid(
                "SourceIdentity must not begin with 'aws:'.".to_owned(),
            ));
        }
        if inherited_si.as_ref().is_some_and(|old| old != si) {
            return Err(OpError::SourceIdentityChange);
        }
    }
    let source_identity = inherited_si.or_else(|| req.source_identity.clone());
    let tags = session_tags(caller, req)?;

    let context = if role.trust.reads_context() || caller.policies_read_context() {
        trust_context(
            caller,
            req,
            ctx,
            role,
            &tags,
            mfa_now,
            source_identity.as_deref(),
        )
    } else {
        Context::new()
    };

    let tagging = !req.tags.is_empty() || !req.transitive_tag_keys.is_empty();
    let actions = [
        Some("sts:AssumeRole"),
        tagging.then_some("sts:TagSession"),
        source_identity.is_some().then_some("sts:SetSourceIdentity"),
    ];
    for action in actions.into_iter().flatten() {
        let decision = caller.decide(
            ctx.env,
            action,
            role.arn.as_str(),
            role.account.as_str(),
            Some((&role.trust, &context)),
        );
        let reason = match &decision {
            Decision::Allow { .. } => continue,
            // A trust policy that names nobody matching answers with AWS's bare message.
            Decision::ImplicitDeny {
                missing: Missing::Resource,
            } => String::new(),
            other => format!(" {}", denial_reason(other, action).unwrap_or_default()),
        };
        return Err(denied(action, reason));
    }

    // Duration (spec §3.0.2–3): chaining is any call made with temporary credentials.
    let chained = claims.is_some();
    let requested = req.duration.map(|d| d.get());
    if requested.is_some_and(|d| d > role.max_session_duration) {
        return Err(OpError::Invalid(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    if chained && requested.is_some_and(|d| d > ONE_HOUR) {
        return Err(OpError::Invalid(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
                .to_owned(),
        ));
    }
    let secs = requested.unwrap_or(ONE_HOUR);

    // Session policies (spec §3.0.4).
    check_policies(
        ctx.snapshot,
        role.account,
        req.policy.as_ref(),
        &req.policy_arns,
    )?;
    let (credentials, packed_policy_size) = mint(
        ctx,
        NewSession {
            account: role.account,
            principal: SessionPrincipal::Role {
                unique_id: role.unique_id.clone(),
                session_name: req.role_session_name.clone(),
            },
            origin: Origin::AssumeRole,
            secs,
            mfa_authenticated_at: mfa_now.or(claims.and_then(|c| c.mfa_authenticated_at)),
            source_identity: source_identity.clone(),
            chained,
            parent_key: caller.root_key(),
            federated: caller.federated().cloned().map(Box::new),
            packed: PackedSession {
                policy: req.policy.clone(),
                policy_arns: req.policy_arns.clone(),
                tags,
            },
        },
    )?;
    Ok(Response::AssumedRole(Box::new(RoleSessionOut {
        credentials,
        assumed_role_id: role_session_id(role, &req.role_session_name),
        arn: role_session_arn(partition, role, &req.role_session_name),
        packed_policy_size,
        source_identity,
    })))
}
