//! `tessera sts <action>`: every STS action with the aws CLI's names, parameters, output
//! formats, error lines and exit statuses.

use crate::output::{Format, render};
use serde_json::{Value, json};
use std::sync::Arc;
use tessera_client::*;

/// Options every client command takes, as the aws CLI spells them.
#[derive(clap::Args, Clone, Debug)]
pub struct Global {
    /// Profile from the shared config and credentials files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Region: the signing scope and AWS endpoint of client commands; for `serve`, the region
    /// the server presents as (SigV4 scopes for it and us-east-1 are accepted).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Endpoint URL, e.g. http://127.0.0.1:8470 (also AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL).
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "json")]
    pub output: Format,
}

/// A failed command, with the aws CLI's exit status.
#[derive(Debug)]
pub enum Failure {
    /// A service error: stderr line and exit 254.
    Service {
        /// Error code.
        code: String,
        /// Message.
        message: String,
        /// The operation.
        operation: &'static str,
    },
    /// Anything else (credentials, connection, parsing): exit 255.
    Other(String),
}

impl Failure {
    /// Prints the failure as the aws CLI does and returns the exit status.
    pub fn report(&self) -> u8 {
        match self {
            Self::Service {
                code,
                message,
                operation,
            } => {
                eprintln!(
                    "\nAn error occurred ({code}) when calling the {operation} operation: {message}"
                );
                254
            }
            Self::Other(m) => {
                eprintln!("\n{m}");
                255
            }
        }
    }
}

pub fn failure<E: ServiceError>(operation: &'static str, e: StsError<E>) -> Failure {
    // A refusal while fetching credentials (a profile's role) is reported as that call's.
    if let StsError::Credentials(CredentialsError {
        service: Some(s), ..
    }) = &e
    {
        return Failure::Service {
            code: s.code.clone(),
            message: s.message.clone(),
            operation: s.operation,
        };
    }
    match e.service_error() {
        Some((code, message)) => Failure::Service {
            code: code.to_owned(),
            message: message.to_owned(),
            operation,
        },
        None => Failure::Other(match e {
            StsError::Credentials(m) => format!("Unable to locate credentials: {}", m.message),
            StsError::Dispatch(m) => format!("Could not connect to the endpoint URL: {m}"),
            other => other.to_string(),
        }),
    }
}

/// Reads `file://path` values as the aws CLI does.
fn value(raw: &str) -> Result<String, Failure> {
    match raw.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| Failure::Other(format!("Error parsing parameter: {path}: {e}"))),
        None => Ok(raw.to_owned()),
    }
}

fn text_member(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Parses `Key=k,Value=v` shorthand or a JSON list of `{"Key","Value"}`.
fn tags(items: &[String]) -> Result<Option<Vec<Tag>>, Failure> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for item in items {
        if item.trim_start().starts_with('[') {
            let list: Vec<Value> = serde_json::from_str(item)
                .map_err(|e| Failure::Other(format!("Error parsing parameter '--tags': {e}")))?;
            for t in list {
                out.push(Tag {
                    key: text_member(&t, "Key"),
                    value: text_member(&t, "Value"),
                });
            }
            continue;
        }
        let mut tag = Tag::default();
        for part in item.split(',') {
            match part.split_once('=') {
                Some(("Key", k)) => tag.key = k.to_owned(),
                Some(("Value", v)) => tag.value = v.to_owned(),
                _ => {
                    return Err(Failure::Other(format!(
                        "Error parsing parameter '--tags': expected Key=k,Value=v, got {item}"
                    )));
                }
            }
        }
        out.push(tag);
    }
    Ok(Some(out))
}

/// Parses `arn=…` shorthand or a JSON list of `{"arn"}`.
fn policy_arns(items: &[String]) -> Result<Option<Vec<PolicyDescriptorType>>, Failure> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for item in items {
        if item.trim_start().starts_with('[') {
            let list: Vec<Value> = serde_json::from_str(item).map_err(|e| {
                Failure::Other(format!("Error parsing parameter '--policy-arns': {e}"))
            })?;
            out.extend(list.iter().map(|p| PolicyDescriptorType {
                arn: p.get("arn").and_then(Value::as_str).map(str::to_owned),
            }));
        } else {
            out.push(PolicyDescriptorType {
                arn: Some(item.strip_prefix("arn=").unwrap_or(item).to_owned()),
            });
        }
    }
    Ok(Some(out))
}

/// The STS actions.
#[derive(clap::Subcommand, Debug)]
pub enum StsCommand {
    /// Returns details about the IAM identity whose credentials call the operation.
    ///
    /// Example: tessera sts get-caller-identity --endpoint-url http://127.0.0.1:8470
    GetCallerIdentity,
    /// Returns temporary credentials of the caller's long-term credentials, optionally with MFA.
    ///
    /// Example: tessera sts get-session-token --duration-seconds 3600
    GetSessionToken {
        /// 900–129600 seconds.
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// MFA device serial or ARN.
        #[arg(long)]
        serial_number: Option<String>,
        /// MFA code.
        #[arg(long)]
        token_code: Option<String>,
    },
    /// Returns the account that owns an access key.
    ///
    /// Example: tessera sts get-access-key-info --access-key-id AKIAIOSFODNN7EXAMPLE
    GetAccessKeyInfo {
        /// The access key id.
        #[arg(long)]
        access_key_id: String,
    },
    /// Returns temporary credentials of a role.
    ///
    /// Example: tessera sts assume-role --role-arn arn:aws:iam::123456789012:role/Deploy --role-session-name ci --tags Key=team,Value=blue
    AssumeRole {
        /// The role to assume.
        #[arg(long)]
        role_arn: String,
        /// The session's name.
        #[arg(long)]
        role_session_name: String,
        /// 900 to the role's maximum.
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// Inline session policy (JSON or file://path).
        #[arg(long)]
        policy: Option<String>,
        /// Managed session policies: arn=ARN ...
        #[arg(long, num_args = 1..)]
        policy_arns: Vec<String>,
        /// Session tags: Key=k,Value=v ...
        #[arg(long, num_args = 1..)]
        tags: Vec<String>,
        /// Transitive tag keys.
        #[arg(long, num_args = 1..)]
        transitive_tag_keys: Vec<String>,
        /// External id.
        #[arg(long)]
        external_id: Option<String>,
        /// MFA device serial or ARN.
        #[arg(long)]
        serial_number: Option<String>,
        /// MFA code.
        #[arg(long)]
        token_code: Option<String>,
        /// Source identity.
        #[arg(long)]
        source_identity: Option<String>,
    },
    /// Returns temporary credentials of a federated user.
    ///
    /// Example: tessera sts get-federation-token --name alice --policy file://policy.json
    GetFederationToken {
        /// The federated user's name.
        #[arg(long)]
        name: String,
        /// 900–129600 seconds.
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// Inline session policy (JSON or file://path).
        #[arg(long)]
        policy: Option<String>,
        /// Managed session policies: arn=ARN ...
        #[arg(long, num_args = 1..)]
        policy_arns: Vec<String>,
        /// Session tags: Key=k,Value=v ...
        #[arg(long, num_args = 1..)]
        tags: Vec<String>,
    },
    /// Exchanges an OIDC ID token for a role's credentials (unsigned: no credentials needed).
    ///
    /// Example: tessera sts assume-role-with-web-identity --role-arn arn:aws:iam::123456789012:role/ci --role-session-name run-1 --web-identity-token file://token.jwt
    AssumeRoleWithWebIdentity {
        /// The role to assume.
        #[arg(long)]
        role_arn: String,
        /// The session's name.
        #[arg(long)]
        role_session_name: String,
        /// The ID token (or file://path).
        #[arg(long)]
        web_identity_token: String,
        /// OAuth 2.0 provider.
        #[arg(long)]
        provider_id: Option<String>,
        /// 900 to the role's maximum.
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// Inline session policy (JSON or file://path).
        #[arg(long)]
        policy: Option<String>,
        /// Managed session policies: arn=ARN ...
        #[arg(long, num_args = 1..)]
        policy_arns: Vec<String>,
    },
    /// Exchanges a SAML assertion for a role's credentials (unsigned).
    ///
    /// Example: tessera sts assume-role-with-saml --role-arn ARN --principal-arn PROVIDER_ARN --saml-assertion file://response.b64
    AssumeRoleWithSaml {
        /// The role to assume.
        #[arg(long)]
        role_arn: String,
        /// The SAML provider's ARN.
        #[arg(long)]
        principal_arn: String,
        /// The base64 SAML response (or file://path).
        #[arg(long)]
        saml_assertion: String,
        /// 900 to the role's maximum.
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// Inline session policy (JSON or file://path).
        #[arg(long)]
        policy: Option<String>,
        /// Managed session policies: arn=ARN ...
        #[arg(long, num_args = 1..)]
        policy_arns: Vec<String>,
    },
    /// Decodes the message of an AccessDenied response.
    ///
    /// Example: tessera sts decode-authorization-message --encoded-message MESSAGE
    DecodeAuthorizationMessage {
        /// The encoded message.
        #[arg(long)]
        encoded_message: String,
    },
    /// Returns credentials of a member account's root for a task.
    ///
    /// Example: tessera sts assume-root --target-principal 111122223333 --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials
    AssumeRoot {
        /// The member account.
        #[arg(long)]
        target_principal: String,
        /// The task policy: arn=ARN.
        #[arg(long)]
        task_policy_arn: String,
        /// 0–900 seconds.
        #[arg(long)]
        duration_seconds: Option<i64>,
    },
    /// Exchanges a delegation trade-in token for credentials.
    ///
    /// Example: tessera sts get-delegated-access-token --trade-in-token TOKEN
    GetDelegatedAccessToken {
        /// The trade-in token.
        #[arg(long)]
        trade_in_token: String,
    },
    /// Returns a signed JWT of the caller's identity for outbound federation.
    ///
    /// Example: tessera sts get-web-identity-token --audience https://example.com --signing-algorithm RS256
    GetWebIdentityToken {
        /// Audiences.
        #[arg(long, num_args = 1..)]
        audience: Vec<String>,
        /// RS256 or ES384.
        #[arg(long)]
        signing_algorithm: String,
        /// 60–3600 seconds.
        #[arg(long)]
        duration_seconds: Option<i64>,
        /// Tags: Key=k,Value=v ...
        #[arg(long, num_args = 1..)]
        tags: Vec<String>,
    },
}

/// Asks for an MFA code on the terminal.
pub fn prompt_mfa() -> MfaCallback {
    Arc::new(|serial: &str| {
        eprint!("Enter MFA code for {serial}: ");
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| CredentialsError::new(e.to_string()))?;
        Ok(line.trim().to_owned())
    })
}

/// The client the global options describe.
pub fn client(g: &Global) -> StsClient {
    let profiles = Profiles::load();
    let name = profile_name(g.profile.as_deref());
    let profile = profiles.get(&name);
    let region = resolve_region(g.region.as_deref(), profile);
    let endpoint = resolve_endpoint(g.endpoint_url.as_deref(), profile, &region);
    StsClient::new(
        endpoint,
        default_chain(
            g.profile.as_deref(),
            g.endpoint_url.as_deref(),
            Some(prompt_mfa()),
        ),
    )
}

fn credentials(c: Option<&Credentials>) -> Value {
    match c {
        Some(c) => json!({
            "AccessKeyId": c.access_key_id,
            "SecretAccessKey": c.secret_access_key,
            "SessionToken": c.session_token,
            "Expiration": c.expiration,
        }),
        None => Value::Null,
    }
}

fn role_user(u: Option<&AssumedRoleUser>) -> Value {
    match u {
        Some(u) => json!({"AssumedRoleId": u.assumed_role_id, "Arn": u.arn}),
        None => Value::Null,
    }
}

/// A document from `(member, value)` pairs in model order, absent members left out.
fn doc(members: Vec<(&str, Value)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

/// Runs one action and renders its result.
pub async fn run(command: StsCommand, g: &Global) -> Result<String, Failure> {
    let sts = client(g);
    let (title, document) = match command {
        StsCommand::GetCallerIdentity => {
            let r = sts
                .get_caller_identity(GetCallerIdentityRequest::default())
                .await
                .map_err(|e| failure("GetCallerIdentity", e))?;
            (
                "GetCallerIdentity",
                doc(vec![
                    ("UserId", opt(r.user_id)),
                    ("Account", opt(r.account)),
                    ("Arn", opt(r.arn)),
                ]),
            )
        }
        StsCommand::GetSessionToken {
            duration_seconds,
            serial_number,
            token_code,
        } => {
            let r = sts
                .get_session_token(GetSessionTokenRequest {
                    duration_seconds,
                    serial_number,
                    token_code,
                })
                .await
                .map_err(|e| failure("GetSessionToken", e))?;
            (
                "GetSessionToken",
                doc(vec![("Credentials", credentials(r.credentials.as_ref()))]),
            )
        }
        StsCommand::GetAccessKeyInfo { access_key_id } => {
            let r = sts
                .get_access_key_info(GetAccessKeyInfoRequest { access_key_id })
                .await
                .map_err(|e| failure("GetAccessKeyInfo", e))?;
            ("GetAccessKeyInfo", doc(vec![("Account", opt(r.account))]))
        }
        StsCommand::AssumeRole {
            role_arn,
            role_session_name,
            duration_seconds,
            policy,
            policy_arns: arns,
            tags: tag_items,
            transitive_tag_keys,
            external_id,
            serial_number,
            token_code,
            source_identity,
        } => {
            let r = sts
                .assume_role(AssumeRoleRequest {
                    role_arn,
                    role_session_name,
                    duration_seconds,
                    policy: policy.as_deref().map(value).transpose()?,
                    policy_arns: policy_arns(&arns)?,
                    tags: tags(&tag_items)?,
                    transitive_tag_keys: (!transitive_tag_keys.is_empty())
                        .then_some(transitive_tag_keys),
                    external_id,
                    serial_number,
                    token_code,
                    source_identity,
                    provided_contexts: None,
                })
                .await
                .map_err(|e| failure("AssumeRole", e))?;
            (
                "AssumeRole",
                doc(vec![
                    ("Credentials", credentials(r.credentials.as_ref())),
                    ("AssumedRoleUser", role_user(r.assumed_role_user.as_ref())),
                    ("PackedPolicySize", opt(r.packed_policy_size)),
                    ("SourceIdentity", opt(r.source_identity)),
                ]),
            )
        }
        StsCommand::GetFederationToken {
            name,
            duration_seconds,
            policy,
            policy_arns: arns,
            tags: tag_items,
        } => {
            let r = sts
                .get_federation_token(GetFederationTokenRequest {
                    name,
                    duration_seconds,
                    policy: policy.as_deref().map(value).transpose()?,
                    policy_arns: policy_arns(&arns)?,
                    tags: tags(&tag_items)?,
                })
                .await
                .map_err(|e| failure("GetFederationToken", e))?;
            let user = r.federated_user.as_ref().map_or(
                Value::Null,
                |u| json!({"FederatedUserId": u.federated_user_id, "Arn": u.arn}),
            );
            (
                "GetFederationToken",
                doc(vec![
                    ("Credentials", credentials(r.credentials.as_ref())),
                    ("FederatedUser", user),
                    ("PackedPolicySize", opt(r.packed_policy_size)),
                ]),
            )
        }
        StsCommand::AssumeRoleWithWebIdentity {
            role_arn,
            role_session_name,
            web_identity_token,
            provider_id,
            duration_seconds,
            policy,
            policy_arns: arns,
        } => {
            let r = sts
                .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest {
                    role_arn,
                    role_session_name,
                    web_identity_token: value(&web_identity_token)?.trim().to_owned(),
                    provider_id,
                    duration_seconds,
                    policy: policy.as_deref().map(value).transpose()?,
                    policy_arns: policy_arns(&arns)?,
                })
                .await
                .map_err(|e| failure("AssumeRoleWithWebIdentity", e))?;
            (
                "AssumeRoleWithWebIdentity",
                doc(vec![
                    ("Credentials", credentials(r.credentials.as_ref())),
                    (
                        "SubjectFromWebIdentityToken",
                        opt(r.subject_from_web_identity_token),
                    ),
                    ("AssumedRoleUser", role_user(r.assumed_role_user.as_ref())),
                    ("PackedPolicySize", opt(r.packed_policy_size)),
                    ("Provider", opt(r.provider)),
                    ("Audience", opt(r.audience)),
                    ("SourceIdentity", opt(r.source_identity)),
                ]),
            )
        }
        StsCommand::AssumeRoleWithSaml {
            role_arn,
            principal_arn,
            saml_assertion,
            duration_seconds,
            policy,
            policy_arns: arns,
        } => {
            let r = sts
                .assume_role_with_saml(AssumeRoleWithSAMLRequest {
                    role_arn,
                    principal_arn,
                    saml_assertion: value(&saml_assertion)?.trim().to_owned(),
                    duration_seconds,
                    policy: policy.as_deref().map(value).transpose()?,
                    policy_arns: policy_arns(&arns)?,
                })
                .await
                .map_err(|e| failure("AssumeRoleWithSAML", e))?;
            (
                "AssumeRoleWithSAML",
                doc(vec![
                    ("Credentials", credentials(r.credentials.as_ref())),
                    ("AssumedRoleUser", role_user(r.assumed_role_user.as_ref())),
                    ("PackedPolicySize", opt(r.packed_policy_size)),
                    ("Subject", opt(r.subject)),
                    ("SubjectType", opt(r.subject_type)),
                    ("Issuer", opt(r.issuer)),
                    ("Audience", opt(r.audience)),
                    ("NameQualifier", opt(r.name_qualifier)),
                    ("SourceIdentity", opt(r.source_identity)),
                ]),
            )
        }
        StsCommand::DecodeAuthorizationMessage { encoded_message } => {
            let r = sts
                .decode_authorization_message(DecodeAuthorizationMessageRequest { encoded_message })
                .await
                .map_err(|e| failure("DecodeAuthorizationMessage", e))?;
            (
                "DecodeAuthorizationMessage",
                doc(vec![("DecodedMessage", opt(r.decoded_message))]),
            )
        }
        StsCommand::AssumeRoot {
            target_principal,
            task_policy_arn,
            duration_seconds,
        } => {
            let task = policy_arns(std::slice::from_ref(&task_policy_arn))?
                .and_then(|mut v| v.pop())
                .unwrap_or_default();
            let r = sts
                .assume_root(AssumeRootRequest {
                    target_principal,
                    task_policy_arn: task,
                    duration_seconds,
                })
                .await
                .map_err(|e| failure("AssumeRoot", e))?;
            (
                "AssumeRoot",
                doc(vec![
                    ("Credentials", credentials(r.credentials.as_ref())),
                    ("SourceIdentity", opt(r.source_identity)),
                ]),
            )
        }
        StsCommand::GetDelegatedAccessToken { trade_in_token } => {
            let r = sts
                .get_delegated_access_token(GetDelegatedAccessTokenRequest { trade_in_token })
                .await
                .map_err(|e| failure("GetDelegatedAccessToken", e))?;
            (
                "GetDelegatedAccessToken",
                doc(vec![
                    ("Credentials", credentials(r.credentials.as_ref())),
                    ("PackedPolicySize", opt(r.packed_policy_size)),
                    ("AssumedPrincipal", opt(r.assumed_principal)),
                ]),
            )
        }
        StsCommand::GetWebIdentityToken {
            audience,
            signing_algorithm,
            duration_seconds,
            tags: tag_items,
        } => {
            let r = sts
                .get_web_identity_token(GetWebIdentityTokenRequest {
                    audience,
                    signing_algorithm,
                    duration_seconds,
                    tags: tags(&tag_items)?,
                })
                .await
                .map_err(|e| failure("GetWebIdentityToken", e))?;
            (
                "GetWebIdentityToken",
                doc(vec![
                    ("WebIdentityToken", opt(r.web_identity_token)),
                    ("Expiration", opt(r.expiration)),
                ]),
            )
        }
    };
    Ok(render(&document, g.output, title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_parsing() {
        let t = tags(&["Key=team,Value=blue".to_owned()]).unwrap().unwrap();
        assert_eq!((t[0].key.as_str(), t[0].value.as_str()), ("team", "blue"));
        let j = tags(&[r#"[{"Key":"a","Value":"b"}]"#.to_owned()])
            .unwrap()
            .unwrap();
        assert_eq!(j[0].key, "a");
        assert!(tags(&["team=blue".to_owned()]).is_err());
        assert!(tags(&[]).unwrap().is_none());
        let p = policy_arns(&["arn=arn:aws:iam::aws:policy/X".to_owned()])
            .unwrap()
            .unwrap();
        assert_eq!(p[0].arn.as_deref(), Some("arn:aws:iam::aws:policy/X"));
    }
}
