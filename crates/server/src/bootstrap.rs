//! First start: an account, an administrator with full access and one access key, written to
//! `<data-dir>/admin-credentials` (0600) before the store commits, so the key is never lost.

use crate::config::Config;
use crate::crypto::{CryptoError, new_secret_access_key, random_bytes};
use crate::keyring::{MasterKey, new_ring_key, private_file};
use crate::store::{AccessKeyRow, AccountRow, Bootstrap, UserPolicyRow, UserRow};
use std::io::Write;
use std::path::Path;
use tessera_proto::{AccessKeyId, AccountId, KeyKind, UniqueId, UniqueIdKind};
use tessera_sigv4::SecretKey;

/// The administrator's name.
pub const ADMIN_NAME: &str = "admin";
/// The administrator's inline policy.
pub const ADMIN_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AdministratorAccess","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
/// `--dev` account (documented in the README; never used unless asked for).
pub const DEV_ACCOUNT: &str = "123456789012";
/// `--dev` access key id (AWS's documentation example).
pub const DEV_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// `--dev` secret (AWS's documentation example).
pub const DEV_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// What the first start created, to print once.
pub struct Created {
    /// The rows to commit.
    pub rows: Bootstrap,
    /// The administrator's key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret: SecretKey,
}

/// Failure to prepare the first start.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// Random or cipher failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The credentials file could not be written.
    #[error("writing {0}: {1}")]
    Io(String, std::io::Error),
}

fn random_account() -> Result<AccountId, CryptoError> {
    // Twelve digits without a leading zero, like real account ids.
    let n = u64::from_be_bytes(random_bytes::<8>()?) % 900_000_000_000 + 100_000_000_000;
    AccountId::from_u64(n).ok_or(CryptoError::Random)
}

/// Prepares the rows of a first start.
pub fn prepare(config: &Config, master: &MasterKey, now: i64) -> Result<Created, BootstrapError> {
    let account = if config.dev {
        AccountId::parse(DEV_ACCOUNT)
    } else {
        config.account_id.as_deref().and_then(AccountId::parse)
    };
    let account = match account {
        Some(a) => a,
        None => random_account()?,
    };
    let user_id = UniqueId::generate(UniqueIdKind::User, random_bytes()?).to_string();
    let (access_key_id, secret) = if config.dev {
        (
            DEV_ACCESS_KEY_ID.to_owned(),
            SecretKey::new(DEV_SECRET.to_owned()),
        )
    } else {
        (
            AccessKeyId::generate(KeyKind::LongTerm, account, random_bytes()?).to_string(),
            new_secret_access_key()?,
        )
    };
    let account_id = account.to_string();
    let rows = Bootstrap {
        account: AccountRow {
            id: account_id.clone(),
            created_at: now,
        },
        admin: UserRow {
            unique_id: user_id.clone(),
            account_id: account_id.clone(),
            name: ADMIN_NAME.to_owned(),
            path: "/".to_owned(),
            boundary: None,
            created_at: now,
        },
        admin_policy: UserPolicyRow {
            user_id: user_id.clone(),
            name: "AdministratorAccess".to_owned(),
            document: ADMIN_POLICY.to_owned(),
        },
        admin_key: AccessKeyRow {
            id: access_key_id.clone(),
            account_id,
            user_id: Some(user_id),
            secret_sealed: master.seal(&access_key_id, secret.expose().as_bytes())?,
            active: true,
            created_at: now,
        },
        ring_key: new_ring_key(master, 1, now)?,
    };
    Ok(Created {
        rows,
        access_key_id,
        secret,
    })
}

/// Writes the credentials in `~/.aws/credentials` form, replacing a file left by a first start
/// that never committed.
pub fn write_credentials_file(path: &Path, created: &Created) -> Result<(), BootstrapError> {
    let io = |e| BootstrapError::Io(path.display().to_string(), e);
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = private_file(&tmp).map_err(io)?;
    write!(
        f,
        "# Tessera administrator (account {}), created on first start.\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        created.rows.account.id,
        created.access_key_id,
        created.secret.expose()
    )
    .map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}
