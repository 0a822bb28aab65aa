//! Typed requests and responses of the 11 STS actions, in the shape of `rusoto_sts` (optional
//! members are `Option`s, requests implement `Default`), with their Query encoding and XML
//! decoding.

use crate::xml::Node;

/// Query parameters of a request, in order.
pub(crate) type Form = Vec<(String, String)>;

fn put(form: &mut Form, name: &str, value: Option<&String>) {
    if let Some(v) = value {
        form.push((name.to_owned(), v.clone()));
    }
}

fn put_num(form: &mut Form, name: &str, value: Option<i64>) {
    if let Some(v) = value {
        form.push((name.to_owned(), v.to_string()));
    }
}

fn put_policy_arns(form: &mut Form, arns: Option<&Vec<PolicyDescriptorType>>) {
    for (i, p) in arns.into_iter().flatten().enumerate() {
        put(
            form,
            &format!("PolicyArns.member.{}.arn", i + 1),
            p.arn.as_ref(),
        );
    }
}

fn put_tags(form: &mut Form, tags: Option<&Vec<Tag>>) {
    for (i, t) in tags.into_iter().flatten().enumerate() {
        form.push((format!("Tags.member.{}.Key", i + 1), t.key.clone()));
        form.push((format!("Tags.member.{}.Value", i + 1), t.value.clone()));
    }
}

fn put_list(form: &mut Form, name: &str, items: Option<&Vec<String>>) {
    for (i, v) in items.into_iter().flatten().enumerate() {
        form.push((format!("{name}.member.{}", i + 1), v.clone()));
    }
}

fn int(node: &Node, name: &str) -> Option<i64> {
    node.text_of(name).and_then(|t| t.parse().ok())
}

/// A managed session policy, by ARN.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyDescriptorType {
    /// The policy's ARN.
    pub arn: Option<String>,
}

/// A session tag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tag {
    /// 1–128 characters; keys are case-insensitive.
    pub key: String,
    /// 0–256 characters.
    pub value: String,
}

/// Context from a trusted context provider (`AssumeRole`'s `ProvidedContexts`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProvidedContext {
    /// The provider's ARN.
    pub provider_arn: Option<String>,
    /// The signed context assertion.
    pub context_assertion: Option<String>,
}

/// Temporary credentials as STS returns them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// `ASIA…`.
    pub access_key_id: String,
    /// When they stop working, as sent (`2026-11-24T04:00:00Z`).
    pub expiration: String,
    /// The secret.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    fn from_xml(node: &Node) -> Option<Self> {
        let c = node.child("Credentials")?;
        Some(Self {
            access_key_id: c.text_of("AccessKeyId")?,
            expiration: c.text_of("Expiration")?,
            secret_access_key: c.text_of("SecretAccessKey")?,
            session_token: c.text_of("SessionToken")?,
        })
    }
}

/// The role session a credential-issuing action started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumedRoleUser {
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
    /// `<role id>:<session>`.
    pub assumed_role_id: String,
}

impl AssumedRoleUser {
    fn from_xml(node: &Node) -> Option<Self> {
        let u = node.child("AssumedRoleUser")?;
        Some(Self {
            arn: u.text_of("Arn")?,
            assumed_role_id: u.text_of("AssumedRoleId")?,
        })
    }
}

/// The federated user `GetFederationToken` created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FederatedUser {
    /// `arn:aws:sts::<account>:federated-user/<name>`.
    pub arn: String,
    /// `<account>:<name>`.
    pub federated_user_id: String,
}

/// Implemented by every request: its action name and Query parameters.
pub trait StsRequest {
    /// The wire action name.
    const ACTION: &'static str;
    /// Whether the request is signed (all but the two federation actions).
    const SIGNED: bool = true;
    /// The Query parameters, `Action` and `Version` excluded.
    fn params(&self) -> Form;
}

/// Implemented by every response: decoding from the `<…Result>` element.
pub trait StsResponse: Sized {
    /// Decodes the result element; `None` when a required member is missing.
    fn from_result(result: &Node) -> Option<Self>;
}

/// `AssumeRole` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRoleRequest {
    /// 900 to the role's maximum session duration.
    pub duration_seconds: Option<i64>,
    /// For `sts:ExternalId` trust conditions.
    pub external_id: Option<String>,
    /// Inline session policy (JSON).
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Option<Vec<PolicyDescriptorType>>,
    /// Context from trusted providers.
    pub provided_contexts: Option<Vec<ProvidedContext>>,
    /// The role to assume.
    pub role_arn: String,
    /// The session's name.
    pub role_session_name: String,
    /// MFA device serial or ARN.
    pub serial_number: Option<String>,
    /// Source identity to set.
    pub source_identity: Option<String>,
    /// Session tags.
    pub tags: Option<Vec<Tag>>,
    /// The MFA code.
    pub token_code: Option<String>,
    /// Tags that persist through role chaining.
    pub transitive_tag_keys: Option<Vec<String>>,
}

impl StsRequest for AssumeRoleRequest {
    const ACTION: &'static str = "AssumeRole";
    fn params(&self) -> Form {
        let mut f = vec![
            ("RoleArn".to_owned(), self.role_arn.clone()),
            ("RoleSessionName".to_owned(), self.role_session_name.clone()),
        ];
        put_num(&mut f, "DurationSeconds", self.duration_seconds);
        put(&mut f, "ExternalId", self.external_id.as_ref());
        put(&mut f, "Policy", self.policy.as_ref());
        put_policy_arns(&mut f, self.policy_arns.as_ref());
        for (i, c) in self.provided_contexts.iter().flatten().enumerate() {
            let n = i + 1;
            put(
                &mut f,
                &format!("ProvidedContexts.member.{n}.ProviderArn"),
                c.provider_arn.as_ref(),
            );
            put(
                &mut f,
                &format!("ProvidedContexts.member.{n}.ContextAssertion"),
                c.context_assertion.as_ref(),
            );
        }
        put(&mut f, "SerialNumber", self.serial_number.as_ref());
        put(&mut f, "SourceIdentity", self.source_identity.as_ref());
        put_tags(&mut f, self.tags.as_ref());
        put(&mut f, "TokenCode", self.token_code.as_ref());
        put_list(
            &mut f,
            "TransitiveTagKeys",
            self.transitive_tag_keys.as_ref(),
        );
        f
    }
}

/// `AssumeRole` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRoleResponse {
    /// The session.
    pub assumed_role_user: Option<AssumedRoleUser>,
    /// Its credentials.
    pub credentials: Option<Credentials>,
    /// Percentage of the packed-policy budget used.
    pub packed_policy_size: Option<i64>,
    /// The session's source identity.
    pub source_identity: Option<String>,
}

impl StsResponse for AssumeRoleResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            assumed_role_user: AssumedRoleUser::from_xml(r),
            credentials: Credentials::from_xml(r),
            packed_policy_size: int(r, "PackedPolicySize"),
            source_identity: r.text_of("SourceIdentity"),
        })
    }
}

/// `AssumeRoleWithSAML` input (unsigned). `Debug` leaves the assertion out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AssumeRoleWithSAMLRequest {
    /// Requested duration.
    pub duration_seconds: Option<i64>,
    /// Inline session policy.
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Option<Vec<PolicyDescriptorType>>,
    /// The SAML provider's ARN.
    pub principal_arn: String,
    /// The role to assume.
    pub role_arn: String,
    /// The base64 `SAMLResponse`.
    pub saml_assertion: String,
}

impl std::fmt::Debug for AssumeRoleWithSAMLRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleWithSAMLRequest")
            .field("role_arn", &self.role_arn)
            .field("principal_arn", &self.principal_arn)
            .field("saml_assertion", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl StsRequest for AssumeRoleWithSAMLRequest {
    const ACTION: &'static str = "AssumeRoleWithSAML";
    const SIGNED: bool = false;
    fn params(&self) -> Form {
        let mut f = vec![
            ("RoleArn".to_owned(), self.role_arn.clone()),
            ("PrincipalArn".to_owned(), self.principal_arn.clone()),
            ("SAMLAssertion".to_owned(), self.saml_assertion.clone()),
        ];
        put_num(&mut f, "DurationSeconds", self.duration_seconds);
        put(&mut f, "Policy", self.policy.as_ref());
        put_policy_arns(&mut f, self.policy_arns.as_ref());
        f
    }
}

/// `AssumeRoleWithSAML` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRoleWithSAMLResponse {
    /// The session.
    pub assumed_role_user: Option<AssumedRoleUser>,
    /// The assertion's audience.
    pub audience: Option<String>,
    /// Its credentials.
    pub credentials: Option<Credentials>,
    /// The assertion's issuer.
    pub issuer: Option<String>,
    /// Hash identifying the user across sessions.
    pub name_qualifier: Option<String>,
    /// Percentage of the packed-policy budget used.
    pub packed_policy_size: Option<i64>,
    /// The session's source identity.
    pub source_identity: Option<String>,
    /// The assertion's subject.
    pub subject: Option<String>,
    /// The subject's format.
    pub subject_type: Option<String>,
}

impl StsResponse for AssumeRoleWithSAMLResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            assumed_role_user: AssumedRoleUser::from_xml(r),
            audience: r.text_of("Audience"),
            credentials: Credentials::from_xml(r),
            issuer: r.text_of("Issuer"),
            name_qualifier: r.text_of("NameQualifier"),
            packed_policy_size: int(r, "PackedPolicySize"),
            source_identity: r.text_of("SourceIdentity"),
            subject: r.text_of("Subject"),
            subject_type: r.text_of("SubjectType"),
        })
    }
}

/// `AssumeRoleWithWebIdentity` input (unsigned). `Debug` leaves the token out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AssumeRoleWithWebIdentityRequest {
    /// Requested duration.
    pub duration_seconds: Option<i64>,
    /// Inline session policy.
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Option<Vec<PolicyDescriptorType>>,
    /// OAuth 2.0 provider (`www.amazon.com`, `graph.facebook.com`).
    pub provider_id: Option<String>,
    /// The role to assume.
    pub role_arn: String,
    /// The session's name.
    pub role_session_name: String,
    /// The OIDC ID token.
    pub web_identity_token: String,
}

impl std::fmt::Debug for AssumeRoleWithWebIdentityRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleWithWebIdentityRequest")
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("web_identity_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl StsRequest for AssumeRoleWithWebIdentityRequest {
    const ACTION: &'static str = "AssumeRoleWithWebIdentity";
    const SIGNED: bool = false;
    fn params(&self) -> Form {
        let mut f = vec![
            ("RoleArn".to_owned(), self.role_arn.clone()),
            ("RoleSessionName".to_owned(), self.role_session_name.clone()),
            (
                "WebIdentityToken".to_owned(),
                self.web_identity_token.clone(),
            ),
        ];
        put_num(&mut f, "DurationSeconds", self.duration_seconds);
        put(&mut f, "Policy", self.policy.as_ref());
        put_policy_arns(&mut f, self.policy_arns.as_ref());
        put(&mut f, "ProviderId", self.provider_id.as_ref());
        f
    }
}

/// `AssumeRoleWithWebIdentity` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRoleWithWebIdentityResponse {
    /// The session.
    pub assumed_role_user: Option<AssumedRoleUser>,
    /// The matched client id.
    pub audience: Option<String>,
    /// Its credentials.
    pub credentials: Option<Credentials>,
    /// Percentage of the packed-policy budget used.
    pub packed_policy_size: Option<i64>,
    /// The provider's ARN.
    pub provider: Option<String>,
    /// The session's source identity.
    pub source_identity: Option<String>,
    /// The token's `sub`.
    pub subject_from_web_identity_token: Option<String>,
}

impl StsResponse for AssumeRoleWithWebIdentityResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            assumed_role_user: AssumedRoleUser::from_xml(r),
            audience: r.text_of("Audience"),
            credentials: Credentials::from_xml(r),
            packed_policy_size: int(r, "PackedPolicySize"),
            provider: r.text_of("Provider"),
            source_identity: r.text_of("SourceIdentity"),
            subject_from_web_identity_token: r.text_of("SubjectFromWebIdentityToken"),
        })
    }
}

/// `AssumeRoot` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRootRequest {
    /// 0–900 seconds.
    pub duration_seconds: Option<i64>,
    /// The member account (id or root ARN).
    pub target_principal: String,
    /// The task policy.
    pub task_policy_arn: PolicyDescriptorType,
}

impl StsRequest for AssumeRootRequest {
    const ACTION: &'static str = "AssumeRoot";
    fn params(&self) -> Form {
        let mut f = vec![("TargetPrincipal".to_owned(), self.target_principal.clone())];
        put(
            &mut f,
            "TaskPolicyArn.arn",
            self.task_policy_arn.arn.as_ref(),
        );
        put_num(&mut f, "DurationSeconds", self.duration_seconds);
        f
    }
}

/// `AssumeRoot` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssumeRootResponse {
    /// The root session's credentials.
    pub credentials: Option<Credentials>,
    /// The session's source identity.
    pub source_identity: Option<String>,
}

impl StsResponse for AssumeRootResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            credentials: Credentials::from_xml(r),
            source_identity: r.text_of("SourceIdentity"),
        })
    }
}

/// `DecodeAuthorizationMessage` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeAuthorizationMessageRequest {
    /// The encoded message from an `AccessDenied` response.
    pub encoded_message: String,
}

impl StsRequest for DecodeAuthorizationMessageRequest {
    const ACTION: &'static str = "DecodeAuthorizationMessage";
    fn params(&self) -> Form {
        vec![("EncodedMessage".to_owned(), self.encoded_message.clone())]
    }
}

/// `DecodeAuthorizationMessage` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeAuthorizationMessageResponse {
    /// The decoded JSON.
    pub decoded_message: Option<String>,
}

impl StsResponse for DecodeAuthorizationMessageResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            decoded_message: r.text_of("DecodedMessage"),
        })
    }
}

/// `GetAccessKeyInfo` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetAccessKeyInfoRequest {
    /// Any access key id.
    pub access_key_id: String,
}

impl StsRequest for GetAccessKeyInfoRequest {
    const ACTION: &'static str = "GetAccessKeyInfo";
    fn params(&self) -> Form {
        vec![("AccessKeyId".to_owned(), self.access_key_id.clone())]
    }
}

/// `GetAccessKeyInfo` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetAccessKeyInfoResponse {
    /// The owning account.
    pub account: Option<String>,
}

impl StsResponse for GetAccessKeyInfoResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            account: r.text_of("Account"),
        })
    }
}

/// `GetCallerIdentity` input (no parameters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetCallerIdentityRequest {}

impl StsRequest for GetCallerIdentityRequest {
    const ACTION: &'static str = "GetCallerIdentity";
    fn params(&self) -> Form {
        Vec::new()
    }
}

/// `GetCallerIdentity` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetCallerIdentityResponse {
    /// The caller's account.
    pub account: Option<String>,
    /// The caller's ARN.
    pub arn: Option<String>,
    /// The caller's `aws:userid`.
    pub user_id: Option<String>,
}

impl StsResponse for GetCallerIdentityResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            account: r.text_of("Account"),
            arn: r.text_of("Arn"),
            user_id: r.text_of("UserId"),
        })
    }
}

/// `GetDelegatedAccessToken` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetDelegatedAccessTokenRequest {
    /// The trade-in token of an approved delegation request.
    pub trade_in_token: String,
}

impl StsRequest for GetDelegatedAccessTokenRequest {
    const ACTION: &'static str = "GetDelegatedAccessToken";
    fn params(&self) -> Form {
        vec![("TradeInToken".to_owned(), self.trade_in_token.clone())]
    }
}

/// `GetDelegatedAccessToken` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetDelegatedAccessTokenResponse {
    /// The approving principal.
    pub assumed_principal: Option<String>,
    /// Its credentials.
    pub credentials: Option<Credentials>,
    /// Percentage of the packed-policy budget used.
    pub packed_policy_size: Option<i64>,
}

impl StsResponse for GetDelegatedAccessTokenResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            assumed_principal: r.text_of("AssumedPrincipal"),
            credentials: Credentials::from_xml(r),
            packed_policy_size: int(r, "PackedPolicySize"),
        })
    }
}

/// `GetFederationToken` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetFederationTokenRequest {
    /// 900–129600 seconds.
    pub duration_seconds: Option<i64>,
    /// The federated user's name.
    pub name: String,
    /// Inline session policy.
    pub policy: Option<String>,
    /// Managed session policies.
    pub policy_arns: Option<Vec<PolicyDescriptorType>>,
    /// Session tags.
    pub tags: Option<Vec<Tag>>,
}

impl StsRequest for GetFederationTokenRequest {
    const ACTION: &'static str = "GetFederationToken";
    fn params(&self) -> Form {
        let mut f = vec![("Name".to_owned(), self.name.clone())];
        put_num(&mut f, "DurationSeconds", self.duration_seconds);
        put(&mut f, "Policy", self.policy.as_ref());
        put_policy_arns(&mut f, self.policy_arns.as_ref());
        put_tags(&mut f, self.tags.as_ref());
        f
    }
}

/// `GetFederationToken` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetFederationTokenResponse {
    /// Its credentials.
    pub credentials: Option<Credentials>,
    /// The federated user.
    pub federated_user: Option<FederatedUser>,
    /// Percentage of the packed-policy budget used.
    pub packed_policy_size: Option<i64>,
}

impl StsResponse for GetFederationTokenResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            credentials: Credentials::from_xml(r),
            federated_user: r.child("FederatedUser").and_then(|u| {
                Some(FederatedUser {
                    arn: u.text_of("Arn")?,
                    federated_user_id: u.text_of("FederatedUserId")?,
                })
            }),
            packed_policy_size: int(r, "PackedPolicySize"),
        })
    }
}

/// `GetSessionToken` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetSessionTokenRequest {
    /// 900–129600 seconds.
    pub duration_seconds: Option<i64>,
    /// MFA device serial or ARN.
    pub serial_number: Option<String>,
    /// The MFA code.
    pub token_code: Option<String>,
}

impl StsRequest for GetSessionTokenRequest {
    const ACTION: &'static str = "GetSessionToken";
    fn params(&self) -> Form {
        let mut f = Vec::new();
        put_num(&mut f, "DurationSeconds", self.duration_seconds);
        put(&mut f, "SerialNumber", self.serial_number.as_ref());
        put(&mut f, "TokenCode", self.token_code.as_ref());
        f
    }
}

/// `GetSessionToken` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetSessionTokenResponse {
    /// The session's credentials.
    pub credentials: Option<Credentials>,
}

impl StsResponse for GetSessionTokenResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            credentials: Credentials::from_xml(r),
        })
    }
}

/// `GetWebIdentityToken` input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetWebIdentityTokenRequest {
    /// Audiences of the token (1–10).
    pub audience: Vec<String>,
    /// 60–3600 seconds.
    pub duration_seconds: Option<i64>,
    /// `RS256` or `ES384`.
    pub signing_algorithm: String,
    /// Claims under `request_tags`.
    pub tags: Option<Vec<Tag>>,
}

impl StsRequest for GetWebIdentityTokenRequest {
    const ACTION: &'static str = "GetWebIdentityToken";
    fn params(&self) -> Form {
        let mut f = Vec::new();
        put_list(&mut f, "Audience", Some(&self.audience));
        put_num(&mut f, "DurationSeconds", self.duration_seconds);
        f.push((
            "SigningAlgorithm".to_owned(),
            self.signing_algorithm.clone(),
        ));
        put_tags(&mut f, self.tags.as_ref());
        f
    }
}

/// `GetWebIdentityToken` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetWebIdentityTokenResponse {
    /// The signed JWT.
    pub web_identity_token: Option<String>,
    /// Its `exp`.
    pub expiration: Option<String>,
}

impl StsResponse for GetWebIdentityTokenResponse {
    fn from_result(r: &Node) -> Option<Self> {
        Some(Self {
            web_identity_token: r.text_of("WebIdentityToken"),
            expiration: r.text_of("Expiration"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_structures_are_flattened() {
        let r = AssumeRoleRequest {
            role_arn: "arn:aws:iam::1:role/r".into(),
            role_session_name: "s".into(),
            duration_seconds: Some(900),
            policy_arns: Some(vec![PolicyDescriptorType {
                arn: Some("arn:aws:iam::aws:policy/ReadOnlyAccess".into()),
            }]),
            tags: Some(vec![Tag {
                key: "k".into(),
                value: "v".into(),
            }]),
            transitive_tag_keys: Some(vec!["k".into()]),
            ..Default::default()
        };
        let p = r.params();
        let get = |n: &str| p.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("DurationSeconds"), Some("900"));
        assert_eq!(
            get("PolicyArns.member.1.arn"),
            Some("arn:aws:iam::aws:policy/ReadOnlyAccess")
        );
        assert_eq!(get("Tags.member.1.Key"), Some("k"));
        assert_eq!(get("Tags.member.1.Value"), Some("v"));
        assert_eq!(get("TransitiveTagKeys.member.1"), Some("k"));
        assert_eq!(get("ExternalId"), None);
    }

    #[test]
    fn bearer_tokens_are_not_in_debug() {
        let w = AssumeRoleWithWebIdentityRequest {
            web_identity_token: "TOKEN-VALUE".into(),
            ..Default::default()
        };
        let s = AssumeRoleWithSAMLRequest {
            saml_assertion: "ASSERTION-VALUE".into(),
            ..Default::default()
        };
        assert!(!format!("{w:?}").contains("TOKEN-VALUE"));
        assert!(!format!("{s:?}").contains("ASSERTION-VALUE"));
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = Credentials {
            access_key_id: "ASIA".into(),
            expiration: "x".into(),
            secret_access_key: "SECRET".into(),
            session_token: "TOKEN".into(),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET") && !shown.contains("TOKEN"));
    }
}
