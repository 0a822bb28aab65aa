//! Shared configuration files (`~/.aws/credentials`, `~/.aws/config`), region and endpoint
//! resolution, and the profile credentials provider (static keys, `role_arn` with
//! `source_profile` or `credential_source`, `web_identity_token_file`, MFA).

use crate::client::{Endpoint, StsClient};
use crate::credentials::{
    AutoRefreshingProvider, CredentialsError, CredentialsFuture, EnvironmentProvider,
    ProvideCredentials, StaticProvider,
};
use crate::providers::{MfaCallback, StsAssumeRoleSessionCredentialsProvider, WebIdentityProvider};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// One profile's settings, keys lowercased.
pub type Profile = HashMap<String, String>;

/// The profiles of both files merged (credentials-file values win, as in the AWS CLI).
#[derive(Clone, Debug, Default)]
pub struct Profiles {
    profiles: HashMap<String, Profile>,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// Parses an INI file; `config` files name profiles `[profile NAME]` (except `default`).
fn parse_ini(text: &str, config: bool, into: &mut HashMap<String, Profile>) {
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let section = section.trim();
            current = if config {
                match section.strip_prefix("profile ") {
                    Some(name) => Some(name.trim().to_owned()),
                    None if section == "default" => Some("default".to_owned()),
                    None => None,
                }
            } else {
                Some(section.to_owned())
            };
            continue;
        }
        if let (Some(name), Some((k, v))) = (&current, line.split_once('=')) {
            into.entry(name.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
}

impl Profiles {
    /// Reads `AWS_CONFIG_FILE` (default `~/.aws/config`) and `AWS_SHARED_CREDENTIALS_FILE`
    /// (default `~/.aws/credentials`); missing files are empty.
    pub fn load() -> Self {
        let path = |var: &str, file: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .or_else(|| home().map(|h| h.join(".aws").join(file)))
        };
        let mut profiles = HashMap::new();
        if let Some(text) =
            path("AWS_CONFIG_FILE", "config").and_then(|p| std::fs::read_to_string(p).ok())
        {
            parse_ini(&text, true, &mut profiles);
        }
        if let Some(text) = path("AWS_SHARED_CREDENTIALS_FILE", "credentials")
            .and_then(|p| std::fs::read_to_string(p).ok())
        {
            parse_ini(&text, false, &mut profiles);
        }
        Self { profiles }
    }

    /// Profiles from file contents, for tests and embedding.
    pub fn from_texts(config: &str, credentials: &str) -> Self {
        let mut profiles = HashMap::new();
        parse_ini(config, true, &mut profiles);
        parse_ini(credentials, false, &mut profiles);
        Self { profiles }
    }

    /// A profile by name.
    pub fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }
}

/// The profile to use: the one given, else `AWS_PROFILE`, else `default`.
pub fn profile_name(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "default".to_owned())
}

/// The region: given, else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's, else
/// `us-east-1`.
pub fn resolve_region(explicit: Option<&str>, profile: Option<&Profile>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .or_else(|| {
            std::env::var("AWS_DEFAULT_REGION")
                .ok()
                .filter(|r| !r.is_empty())
        })
        .or_else(|| profile.and_then(|p| p.get("region").cloned()))
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// The STS endpoint: given, else `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's
/// `endpoint_url`, else AWS's regional endpoint. Overrides are honoured everywhere this crate
/// calls STS, including inside credential providers.
pub fn resolve_endpoint(
    explicit: Option<&str>,
    profile: Option<&Profile>,
    region: &str,
) -> Endpoint {
    explicit
        .map(str::to_owned)
        .or_else(|| {
            std::env::var("AWS_ENDPOINT_URL_STS")
                .ok()
                .filter(|u| !u.is_empty())
        })
        .or_else(|| {
            std::env::var("AWS_ENDPOINT_URL")
                .ok()
                .filter(|u| !u.is_empty())
        })
        .or_else(|| profile.and_then(|p| p.get("endpoint_url").cloned()))
        .map_or_else(
            || Endpoint::aws(region),
            |url| Endpoint::custom(url, region),
        )
}

/// Credentials of a named profile.
pub struct ProfileProvider {
    inner: Arc<dyn ProvideCredentials>,
}

/// Chained `source_profile`s followed at most this deep.
const MAX_SOURCE_DEPTH: usize = 4;

impl ProfileProvider {
    /// Resolves `name` in `profiles`. `endpoint` overrides the endpoint of any role the profile
    /// assumes; `mfa` answers `mfa_serial` prompts.
    pub fn new(
        profiles: &Profiles,
        name: &str,
        endpoint: Option<&str>,
        mfa: Option<MfaCallback>,
    ) -> Result<Self, CredentialsError> {
        Ok(Self {
            inner: Self::build(profiles, name, endpoint, mfa, 0)?,
        })
    }

    fn build(
        profiles: &Profiles,
        name: &str,
        endpoint: Option<&str>,
        mfa: Option<MfaCallback>,
        depth: usize,
    ) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
        if depth > MAX_SOURCE_DEPTH {
            return Err(CredentialsError::new(format!(
                "profile {name}: source_profile chain is too long (or circular)"
            )));
        }
        let p = profiles.get(name).ok_or_else(|| {
            CredentialsError::new(format!("The config profile ({name}) could not be found"))
        })?;
        let region = resolve_region(None, Some(p));
        if let Some(role_arn) = p.get("role_arn") {
            let resolved = resolve_endpoint(endpoint, Some(p), &region);
            let session_name = p.get("role_session_name").cloned().unwrap_or_else(|| {
                format!(
                    "tessera-{}",
                    time::OffsetDateTime::now_utc().unix_timestamp()
                )
            });
            if let Some(file) = p.get("web_identity_token_file") {
                let provider = WebIdentityProvider::from_file(
                    StsClient::new(resolved, Arc::new(StaticProvider::new("", "", None))),
                    PathBuf::from(file),
                    role_arn.clone(),
                    session_name,
                );
                return Ok(Arc::new(AutoRefreshingProvider::new(provider)));
            }
            let source: Arc<dyn ProvideCredentials> = match (
                p.get("source_profile"),
                p.get("credential_source"),
            ) {
                (Some(src), _) if src == name && p.contains_key("aws_access_key_id") => {
                    Self::static_keys(name, p)?
                }
                (Some(src), _) => Self::build(profiles, src, endpoint, mfa.clone(), depth + 1)?,
                (None, Some(cs)) if cs == "Environment" => Arc::new(EnvironmentProvider),
                (None, Some(cs)) => {
                    return Err(CredentialsError::new(format!(
                        "profile {name}: credential_source {cs} is not supported (only Environment)"
                    )));
                }
                (None, None) => {
                    return Err(CredentialsError::new(format!(
                        "profile {name}: role_arn needs source_profile or credential_source"
                    )));
                }
            };
            let mut provider = StsAssumeRoleSessionCredentialsProvider::new(
                StsClient::new(resolved, source),
                role_arn.clone(),
                session_name,
            );
            provider.external_id = p.get("external_id").cloned();
            provider.duration_seconds = p.get("duration_seconds").and_then(|d| d.parse().ok());
            if let Some(serial) = p.get("mfa_serial") {
                let callback = mfa.ok_or_else(|| {
                    CredentialsError::new(format!(
                        "profile {name} has mfa_serial but no MFA code source was given"
                    ))
                })?;
                provider = provider.with_mfa(serial.clone(), callback);
            }
            return Ok(Arc::new(AutoRefreshingProvider::new(provider)));
        }
        Self::static_keys(name, p)
    }

    fn static_keys(
        name: &str,
        p: &Profile,
    ) -> Result<Arc<dyn ProvideCredentials>, CredentialsError> {
        match (p.get("aws_access_key_id"), p.get("aws_secret_access_key")) {
            (Some(k), Some(s)) => Ok(Arc::new(StaticProvider::new(
                k.clone(),
                s.clone(),
                p.get("aws_session_token").cloned(),
            ))),
            _ => Err(CredentialsError::new(format!(
                "profile {name} has no credentials"
            ))),
        }
    }
}

impl ProvideCredentials for ProfileProvider {
    fn credentials(&self) -> CredentialsFuture<'_> {
        self.inner.credentials()
    }
}

/// The default chain: environment, then the profile (`AWS_PROFILE` or `default`), then the
/// IRSA environment (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`).
pub fn default_chain(
    profile: Option<&str>,
    endpoint: Option<&str>,
    mfa: Option<MfaCallback>,
) -> Arc<dyn ProvideCredentials> {
    let profiles = Profiles::load();
    let name = profile_name(profile);
    let mut chain: Vec<Box<dyn ProvideCredentials>> = Vec::new();
    if profile.is_none() {
        chain.push(Box::new(EnvironmentProvider));
    }
    match ProfileProvider::new(&profiles, &name, endpoint, mfa) {
        Ok(p) => chain.push(Box::new(p)),
        Err(e) => chain.push(Box::new(Failing(e))),
    }
    if profile.is_none()
        && let Some(p) = WebIdentityProvider::from_k8s_env(endpoint)
    {
        chain.push(Box::new(AutoRefreshingProvider::new(p)));
    }
    Arc::new(crate::credentials::ChainProvider::new(chain))
}

/// A provider that reports why it could not be built.
struct Failing(CredentialsError);

impl ProvideCredentials for Failing {
    fn credentials(&self) -> CredentialsFuture<'_> {
        let e = self.0.clone();
        Box::pin(async move { Err(e) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_merge_and_profiles_are_named_as_the_cli_does() {
        let p = Profiles::from_texts(
            "[default]\nregion = eu-west-1\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n# comment\n[sso-session x]\nk = v\n",
            "[base]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n[default]\naws_access_key_id=AKIA2\naws_secret_access_key=t\n",
        );
        assert_eq!(p.get("default").unwrap()["region"], "eu-west-1");
        assert_eq!(p.get("default").unwrap()["aws_access_key_id"], "AKIA2");
        assert_eq!(p.get("dev").unwrap()["source_profile"], "base");
        assert!(p.get("sso-session x").is_none());
        assert!(p.get("x").is_none());
    }

    #[tokio::test]
    async fn static_profiles_and_errors() {
        let p = Profiles::from_texts(
            "[profile loop]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = loop2\n[profile loop2]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = loop\n[profile bad]\nrole_arn = arn:aws:iam::1:role/r\n[profile mfa]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\nmfa_serial = arn:aws:iam::1:mfa/u\n",
            "[base]\naws_access_key_id = AKIA1\naws_secret_access_key = s\n",
        );
        let base = ProfileProvider::new(&p, "base", None, None).unwrap();
        assert_eq!(
            base.credentials().await.unwrap().aws_access_key_id(),
            "AKIA1"
        );
        assert!(ProfileProvider::new(&p, "nope", None, None).is_err());
        assert!(ProfileProvider::new(&p, "loop", None, None).is_err());
        assert!(ProfileProvider::new(&p, "bad", None, None).is_err());
        assert!(ProfileProvider::new(&p, "mfa", None, None).is_err());
    }
}
