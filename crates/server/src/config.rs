//! Configuration: defaults, then a TOML file, then `TESSERA_*` environment variables, then
//! command-line flags (applied by the CLI), each overriding the one before.

use serde::Deserialize;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

/// The default listen address: loopback only, port 8470.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";

/// More worker threads than this is a typo, not a machine.
const MAX_WORKERS: usize = 1024;

/// Server configuration.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where the store, master key, admin credentials and audit log live.
    pub data_dir: PathBuf,
    /// The account created on first start (random 12 digits when unset).
    pub account_id: Option<String>,
    /// The region this server presents as.
    pub region: String,
    /// Regions accepted in SigV4 scopes; empty means `[region, "us-east-1"]`; `"*"` means any.
    pub allowed_regions: Vec<String>,
    /// The partition of every ARN (`aws`, `aws-cn`, …).
    pub partition: String,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Fixed, documented test credentials on first start. Never for real use.
    pub dev: bool,
    /// Web identity federation.
    pub oidc: OidcConfig,
    /// SAML federation.
    pub saml: SamlConfig,
    /// A bootstrap file applied at every start, before the server listens (`tessera apply`).
    pub bootstrap: Option<PathBuf>,
    /// Threads serving connections; unset means one per available core.
    pub workers: Option<NonZeroUsize>,
}

/// How SAML responses are judged (besides their signature and the provider's metadata).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SamlConfig {
    /// Accepted `Audience` values. `{region}` matches one DNS label; `{idp-id}` is the
    /// provider's `SAMLProviderUUID`.
    pub audiences: Vec<String>,
    /// Accepted `Recipient` (and `Destination`) URLs, with the same placeholders.
    pub recipients: Vec<String>,
    /// Tolerated clock difference with identity providers.
    pub clock_skew_secs: u64,
}

impl Default for SamlConfig {
    /// AWS's service-provider identities: its sign-in endpoints, global and regional, and its
    /// SP metadata entity id.
    fn default() -> Self {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        Self {
            audiences: owned(&[
                "https://signin.aws.amazon.com/saml",
                "https://{region}.signin.aws.amazon.com/saml",
                "urn:amazon:webservices",
            ]),
            recipients: owned(&[
                "https://signin.aws.amazon.com/saml",
                "https://{region}.signin.aws.amazon.com/saml",
                "https://signin.aws.amazon.com/static/saml",
                "https://{region}.signin.aws.amazon.com/static/saml",
                "https://signin.aws.amazon.com/saml/acs/{idp-id}",
                "https://{region}.signin.aws.amazon.com/saml/acs/{idp-id}",
            ]),
            clock_skew_secs: 300,
        }
    }
}

fn env_list(name: &str, into: &mut Vec<String>) {
    if let Ok(list) = std::env::var(name) {
        *into = list
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
    }
}

/// How OpenID Connect issuers are reached and their tokens judged.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// PEM file of extra CA certificates trusted for discovery and JWKS fetches, besides the
    /// system's roots.
    pub ca_bundle: Option<PathBuf>,
    /// Accept `http://` issuers. For local development only: keys fetched in clear text can be
    /// replaced by anyone on the path.
    pub insecure_http: bool,
    /// Least time between two JWKS fetches of one issuer caused by unknown key ids, and the
    /// shortest cache lifetime honoured from `Cache-Control`.
    pub refresh_interval_secs: u64,
    /// Cache lifetime of a JWKS whose response carries no `max-age`.
    pub jwks_ttl_secs: u64,
    /// Tokens issued (`iat`) longer ago than this are refused even if not expired.
    pub max_token_age_secs: u64,
    /// Tolerated clock difference for `nbf` and `iat`.
    pub clock_skew_secs: u64,
    /// Timeout of one discovery or JWKS fetch.
    pub fetch_timeout_secs: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            ca_bundle: None,
            insecure_http: false,
            refresh_interval_secs: 60,
            jwks_ttl_secs: 3600,
            max_token_age_secs: 86_400,
            clock_skew_secs: 60,
            fetch_timeout_secs: 5,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8470))),
            data_dir: PathBuf::from("tessera-data"),
            account_id: None,
            region: "us-east-1".to_owned(),
            allowed_regions: Vec::new(),
            partition: "aws".to_owned(),
            max_body_bytes: 512 * 1024,
            dev: false,
            oidc: OidcConfig::default(),
            saml: SamlConfig::default(),
            bootstrap: None,
            workers: None,
        }
    }
}

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {0}: {1}")]
    Read(String, std::io::Error),
    /// The file is not valid TOML for this schema (unknown keys included).
    #[error("config file {0}: {1}")]
    Parse(String, toml::de::Error),
    /// An environment variable does not parse.
    #[error("environment variable {0}: invalid value '{1}'")]
    Env(&'static str, String),
    /// A value is out of its domain.
    #[error("{0}")]
    Invalid(String),
}

fn env_parse<T: std::str::FromStr>(name: &'static str, into: &mut T) -> Result<(), ConfigError> {
    if let Ok(raw) = std::env::var(name) {
        *into = raw.parse().map_err(|_| ConfigError::Env(name, raw))?;
    }
    Ok(())
}

impl Config {
    /// Reads the optional file, then applies `TESSERA_*` overrides.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.display().to_string(), e))?;
                toml::from_str(&text)
                    .map_err(|e| ConfigError::Parse(path.display().to_string(), e))?
            }
            None => Self::default(),
        };
        env_parse("TESSERA_LISTEN", &mut config.listen)?;
        env_parse("TESSERA_DATA_DIR", &mut config.data_dir)?;
        env_parse("TESSERA_REGION", &mut config.region)?;
        env_parse("TESSERA_PARTITION", &mut config.partition)?;
        env_parse("TESSERA_MAX_BODY_BYTES", &mut config.max_body_bytes)?;
        env_parse("TESSERA_DEV", &mut config.dev)?;
        let oidc = &mut config.oidc;
        if let Ok(path) = std::env::var("TESSERA_OIDC_CA_BUNDLE") {
            oidc.ca_bundle = Some(PathBuf::from(path));
        }
        env_parse("TESSERA_OIDC_INSECURE_HTTP", &mut oidc.insecure_http)?;
        env_parse(
            "TESSERA_OIDC_REFRESH_INTERVAL_SECS",
            &mut oidc.refresh_interval_secs,
        )?;
        env_parse("TESSERA_OIDC_JWKS_TTL_SECS", &mut oidc.jwks_ttl_secs)?;
        env_parse(
            "TESSERA_OIDC_MAX_TOKEN_AGE_SECS",
            &mut oidc.max_token_age_secs,
        )?;
        env_parse("TESSERA_OIDC_CLOCK_SKEW_SECS", &mut oidc.clock_skew_secs)?;
        env_parse(
            "TESSERA_OIDC_FETCH_TIMEOUT_SECS",
            &mut oidc.fetch_timeout_secs,
        )?;
        if let Ok(path) = std::env::var("TESSERA_BOOTSTRAP") {
            config.bootstrap = Some(PathBuf::from(path));
        }
        if let Ok(id) = std::env::var("TESSERA_ACCOUNT_ID") {
            config.account_id = Some(id);
        }
        if let Ok(raw) = std::env::var("TESSERA_WORKERS") {
            config.workers = Some(
                raw.parse()
                    .map_err(|_| ConfigError::Env("TESSERA_WORKERS", raw))?,
            );
        }
        env_list("TESSERA_ALLOWED_REGIONS", &mut config.allowed_regions);
        env_list("TESSERA_SAML_AUDIENCES", &mut config.saml.audiences);
        env_list("TESSERA_SAML_RECIPIENTS", &mut config.saml.recipients);
        env_parse(
            "TESSERA_SAML_CLOCK_SKEW_SECS",
            &mut config.saml.clock_skew_secs,
        )?;
        Ok(config)
    }

    /// Checks values that the types alone do not constrain.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(id) = &self.account_id
            && tessera_proto::AccountId::parse(id).is_none()
        {
            return Err(ConfigError::Invalid(format!(
                "account_id must be 12 digits, got '{id}'"
            )));
        }
        if self.max_body_bytes < 256 * 1024 {
            return Err(ConfigError::Invalid(
                "max_body_bytes must be at least 262144 (a SAML assertion can be that large)"
                    .into(),
            ));
        }
        if self.oidc.fetch_timeout_secs == 0 || self.oidc.fetch_timeout_secs > 60 {
            return Err(ConfigError::Invalid(
                "oidc.fetch_timeout_secs must be between 1 and 60".into(),
            ));
        }
        if self.saml.clock_skew_secs > 900 {
            return Err(ConfigError::Invalid(
                "saml.clock_skew_secs must be at most 900".into(),
            ));
        }
        if self.saml.audiences.is_empty() || self.saml.recipients.is_empty() {
            return Err(ConfigError::Invalid(
                "saml.audiences and saml.recipients must not be empty".into(),
            ));
        }
        if self.workers.is_some_and(|n| n.get() > MAX_WORKERS) {
            return Err(ConfigError::Invalid(format!(
                "workers must be between 1 and {MAX_WORKERS}"
            )));
        }
        if self.oidc.clock_skew_secs > 900 {
            return Err(ConfigError::Invalid(
                "oidc.clock_skew_secs must be at most 900".into(),
            ));
        }
        Ok(())
    }

    /// How many threads serve connections: the configured number, or one per core the process
    /// may use (more threads than cores would only take turns).
    pub fn worker_threads(&self) -> usize {
        self.workers
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    /// The regions accepted in credential scopes.
    pub fn scope_regions(&self) -> Vec<String> {
        if self.allowed_regions.is_empty() {
            let mut r = vec![self.region.clone()];
            if self.region != "us-east-1" {
                r.push("us-east-1".to_owned());
            }
            r
        } else {
            self.allowed_regions.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.toml");
        std::fs::write(
            &good,
            "listen = \"127.0.0.1:9000\"\nregion = \"eu-west-1\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&good)).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(
            c.scope_regions(),
            vec!["eu-west-1".to_owned(), "us-east-1".to_owned()]
        );
        let workers = dir.path().join("workers.toml");
        std::fs::write(&workers, "workers = 3\n").unwrap();
        assert_eq!(Config::load(Some(&workers)).unwrap().worker_threads(), 3);
        std::fs::write(&workers, "workers = 0\n").unwrap();
        assert!(matches!(
            Config::load(Some(&workers)),
            Err(ConfigError::Parse(..))
        ));
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "lisen = \"127.0.0.1:9000\"\n").unwrap();
        assert!(matches!(
            Config::load(Some(&bad)),
            Err(ConfigError::Parse(..))
        ));
    }

    #[test]
    fn values_are_validated() {
        let c = Config {
            account_id: Some("12345".into()),
            ..Config::default()
        };
        assert!(c.validate().is_err());
        let c = Config {
            max_body_bytes: 10,
            ..Config::default()
        };
        assert!(c.validate().is_err());
        assert!(Config::default().validate().is_ok());
        let c = Config {
            workers: NonZeroUsize::new(MAX_WORKERS + 1),
            ..Config::default()
        };
        assert!(c.validate().is_err());
        assert!(Config::default().worker_threads() >= 1);
        assert_eq!(
            Config::default().scope_regions(),
            vec!["us-east-1".to_owned()]
        );
    }
}
