//! The bootstrap file: what an operator declares, read from TOML with the position of every
//! entity and policy document kept, so a refusal names the line it is about.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A whole bootstrap file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    /// The accounts, in the order they are brought in line.
    #[serde(default)]
    pub(crate) accounts: Vec<Spanned<AccountSpec>>,
}

/// One account and everything it holds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountSpec {
    /// Twelve digits; absent means the store's only account.
    pub(crate) id: Option<Spanned<String>>,
    /// Customer managed policies.
    #[serde(default)]
    pub(crate) policies: Vec<Spanned<PolicySpec>>,
    /// OpenID Connect providers.
    #[serde(default)]
    pub(crate) oidc_providers: Vec<Spanned<OidcSpec>>,
    /// SAML providers.
    #[serde(default)]
    pub(crate) saml_providers: Vec<Spanned<SamlSpec>>,
    /// Groups.
    #[serde(default)]
    pub(crate) groups: Vec<Spanned<GroupSpec>>,
    /// Users.
    #[serde(default)]
    pub(crate) users: Vec<Spanned<UserSpec>>,
    /// Roles.
    #[serde(default)]
    pub(crate) roles: Vec<Spanned<RoleSpec>>,
}

fn root_path() -> String {
    "/".to_owned()
}

/// A customer managed policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicySpec {
    pub(crate) name: String,
    #[serde(default = "root_path")]
    pub(crate) path: String,
    pub(crate) description: Option<String>,
    pub(crate) document: Spanned<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
}

/// An OpenID Connect provider, named by its URL.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OidcSpec {
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) client_ids: Vec<String>,
    #[serde(default)]
    pub(crate) thumbprints: Vec<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
}

/// A SAML provider; its metadata inline or in a file beside the bootstrap file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SamlSpec {
    pub(crate) name: String,
    pub(crate) metadata: Option<String>,
    pub(crate) metadata_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
}

/// A group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GroupSpec {
    pub(crate) name: String,
    #[serde(default = "root_path")]
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) inline_policies: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(crate) managed_policies: Vec<String>,
}

/// A user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserSpec {
    pub(crate) name: String,
    #[serde(default = "root_path")]
    pub(crate) path: String,
    pub(crate) permissions_boundary: Option<String>,
    #[serde(default)]
    pub(crate) groups: Vec<String>,
    #[serde(default)]
    pub(crate) inline_policies: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(crate) managed_policies: Vec<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) access_key: Option<Spanned<KeySpec>>,
}

/// Where a user's access key comes from.
#[derive(Debug)]
pub(crate) enum KeySpec {
    /// `"generate"`: one is created (and printed once) when the user has none.
    Generate,
    /// An existing key pair, read from two environment variables (never written in the file).
    FromEnv(EnvKey),
}

impl<'de> Deserialize<'de> for KeySpec {
    /// A string or a table; written by hand so a misspelt key inside the table is reported as
    /// such (an untagged enum would only say that nothing matched).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        const EXPECTED: &str =
            "access_key is \"generate\" or { id_env = \"VARIABLE\", secret_env = \"VARIABLE\" }";
        match toml::Value::deserialize(d)? {
            toml::Value::String(word) if word == "generate" => Ok(Self::Generate),
            table @ toml::Value::Table(_) => EnvKey::deserialize(table)
                .map(Self::FromEnv)
                .map_err(|e| D::Error::custom(format!("access_key: {}", e.message()))),
            _ => Err(D::Error::custom(EXPECTED)),
        }
    }
}

/// The environment variables holding an imported key pair.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvKey {
    /// The variable holding the `AKIA…` id.
    pub(crate) id_env: String,
    /// The variable holding the secret.
    pub(crate) secret_env: String,
}

/// A role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleSpec {
    pub(crate) name: String,
    #[serde(default = "root_path")]
    pub(crate) path: String,
    pub(crate) description: Option<String>,
    pub(crate) max_session_duration: Option<u32>,
    pub(crate) trust_policy: Spanned<String>,
    pub(crate) permissions_boundary: Option<String>,
    #[serde(default)]
    pub(crate) inline_policies: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(crate) managed_policies: Vec<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
}

/// Reads a bootstrap file; a syntax or shape error carries its line and column.
pub(crate) fn parse(text: &str) -> Result<File, String> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        format!("line {line}: {}", e.message())
    })
}

/// The 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails by panicking")]
    use super::*;

    #[test]
    fn reads_every_section_with_positions() {
        let text = r#"
[[accounts]]
id = "111122223333"

[[accounts.policies]]
name = "Read"
document = '{"Version":"2012-10-17","Statement":[]}'

[[accounts.users]]
name = "ci"
groups = ["deployers"]
access_key = "generate"

[[accounts.users]]
name = "imported"
access_key = { id_env = "KEY_ID", secret_env = "KEY_SECRET" }
"#;
        let file = parse(text).unwrap();
        let account = file.accounts[0].get_ref();
        assert_eq!(account.id.as_ref().unwrap().get_ref(), "111122223333");
        let policy = &account.policies[0];
        assert_eq!(line_of(text, policy.span().start), 5);
        assert_eq!(policy.get_ref().path, "/");
        let users = &account.users;
        assert!(matches!(
            users[0].get_ref().access_key.as_ref().unwrap().get_ref(),
            KeySpec::Generate
        ));
        assert!(matches!(
            users[1].get_ref().access_key.as_ref().unwrap().get_ref(),
            KeySpec::FromEnv(_)
        ));
    }

    #[test]
    fn unknown_fields_and_wrong_types_name_their_line() {
        let err =
            parse("[[accounts]]\nid = \"1\"\n[[accounts.users]]\nnmae = \"x\"\n").unwrap_err();
        assert!(err.starts_with("line 4:"), "{err}");
        assert!(err.contains("nmae"), "{err}");
        let err = parse("[[accounts]]\n[[accounts.roles]]\nname = 5\n").unwrap_err();
        assert!(err.starts_with("line 3:"), "{err}");
        let err = parse("[[accounts]]\n[[accounts.users]]\nname = \"u\"\naccess_key = \"make\"\n")
            .unwrap_err();
        assert!(err.starts_with("line 4:"), "{err}");
        assert!(err.contains("\"generate\" or { id_env"), "{err}");
        let err = parse(
            "[[accounts]]\n[[accounts.users]]\nname = \"u\"\naccess_key = { id_env = \"A\", secret_env = \"B\", secret_enf = \"C\" }\n",
        )
        .unwrap_err();
        assert!(err.starts_with("line 4:"), "{err}");
        assert!(err.contains("secret_enf"), "{err}");
    }
}
