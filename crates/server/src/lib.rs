//! The Tessera server: HTTP, authentication, the STS operations, session tokens, the identity
//! store and the audit log, wired together by [`run`].

pub mod apply;
pub mod audit;
pub mod auth;
pub mod authorize;
pub mod aws_policies;
pub mod bootstrap;
pub mod claims;
pub mod config;
pub mod crypto;
pub mod http;
pub mod iam;
pub mod keyring;
pub mod mfa;
pub mod oidc;
pub mod ops;
pub mod pipeline;
pub mod principal;
mod protocol;
pub mod snapshot;
pub mod store;
pub mod tokens;
pub mod workers;

use crate::audit::AuditLog;
use crate::config::{Config, ConfigError};
use crate::keyring::{KeyRing, KeyRingError, MasterKey, MasterKeyError, new_ring_key};
use crate::snapshot::Snapshot;
use crate::store::{SqliteStore, Store, StoreError};
use arc_swap::ArcSwap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;

/// Shared server state. The snapshot and ring are swapped atomically; readers never lock.
pub struct App<S> {
    store: S,
    master: MasterKey,
    snapshot: ArcSwap<Snapshot>,
    ring: ArcSwap<KeyRing>,
    audit: AuditLog,
    scope_regions: Vec<String>,
    max_body_bytes: usize,
    partition: String,
    /// Serializes writers so snapshots are published in the order their writes committed.
    write_lock: tokio::sync::Mutex<()>,
    /// Web identity federation: issuer keys and the rules tokens are judged by.
    oidc: oidc::Federation,
    /// The rules SAML responses are judged by.
    saml: config::SamlConfig,
}

/// Why the server could not start or a command failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Master key.
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    /// Key ring.
    #[error(transparent)]
    KeyRing(#[from] KeyRingError),
    /// Store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// First start.
    #[error(transparent)]
    Bootstrap(#[from] bootstrap::BootstrapError),
    /// The bootstrap file (`serve --bootstrap`) was refused; the server did not start.
    #[error(transparent)]
    Apply(Box<apply::ApplyError>),
    /// A cipher failure.
    #[error(transparent)]
    Crypto(#[from] crypto::CryptoError),
    /// The trust roots for identity providers could not be loaded.
    #[error(transparent)]
    OidcRoots(#[from] oidc::RootsError),
    /// File system or network.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// The files of a data directory.
struct DataDir(PathBuf);

impl DataDir {
    fn create(path: &std::path::Path) -> Result<Self, ServerError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(path)
            .map_err(|e| ServerError::Io(path.display().to_string(), e))?;
        Ok(Self(path.to_owned()))
    }
    fn store(&self) -> PathBuf {
        self.0.join("tessera.db")
    }
    fn master_key(&self) -> PathBuf {
        self.0.join("master.key")
    }
    fn credentials(&self) -> PathBuf {
        self.0.join("admin-credentials")
    }
    fn audit(&self) -> PathBuf {
        self.0.join("audit.log")
    }
}

/// The master key: `TESSERA_MASTER_KEY`, else the data directory's file (created on first use).
fn load_master(dir: &DataDir) -> Result<MasterKey, ServerError> {
    let env_key = std::env::var("TESSERA_MASTER_KEY").ok();
    Ok(MasterKey::load_or_create(
        env_key.as_deref(),
        &dir.master_key(),
    )?)
}

async fn open_store(config: &Config) -> Result<(DataDir, MasterKey, SqliteStore), ServerError> {
    let dir = DataDir::create(&config.data_dir)?;
    let master = load_master(&dir)?;
    let store = SqliteStore::open(&dir.store()).await?;
    Ok((dir, master, store))
}

impl<S> App<S> {
    /// Whether `http://` issuers are accepted (development only).
    pub fn oidc_insecure_http(&self) -> bool {
        self.oidc.insecure_http()
    }
}

impl<S: Store> App<S> {
    /// Applies writes to the store, then publishes a snapshot that includes them: the next
    /// request on any connection sees the change.
    pub async fn write(&self, writes: &[store::Write]) -> Result<(), ServerError> {
        let _serialized = self.write_lock.lock().await;
        self.store.apply(writes).await?;
        let data = self.store.load().await?;
        let snapshot = Snapshot::build(&data, &self.master, &self.partition)?;
        self.snapshot.store(Arc::new(snapshot));
        Ok(())
    }

    /// Rebuilds the snapshot and key ring from the store and swaps them in.
    pub async fn reload(&self) -> Result<(), ServerError> {
        // Serialized with writes, so a reload never publishes a snapshot older than a write's.
        let _serialized = self.write_lock.lock().await;
        let data = self.store.load().await?;
        let snapshot = Snapshot::build(&data, &self.master, &self.partition)?;
        let ring = KeyRing::load(&self.master, &self.store.ring_keys().await?, now_secs())?;
        self.snapshot.store(Arc::new(snapshot));
        self.ring.store(Arc::new(ring));
        Ok(())
    }
}

/// Puts an app together over an open store: its snapshot and key ring as the store holds them.
async fn assemble<S: Store>(
    store: S,
    master: MasterKey,
    config: &Config,
    audit: AuditLog,
) -> Result<App<S>, ServerError> {
    let data = store.load().await?;
    let snapshot = Snapshot::build(&data, &master, &config.partition)?;
    let ring = KeyRing::load(&master, &store.ring_keys().await?, now_secs())?;
    Ok(App {
        store,
        master,
        snapshot: ArcSwap::from_pointee(snapshot),
        ring: ArcSwap::from_pointee(ring),
        audit,
        scope_regions: config.scope_regions(),
        max_body_bytes: config.max_body_bytes,
        partition: config.partition.clone(),
        write_lock: tokio::sync::Mutex::new(()),
        oidc: oidc::Federation::new(&config.oidc)?,
        saml: config.saml.clone(),
    })
}

/// Starts the server: first-start bootstrap if the store is empty, then serves until
/// `shutdown` completes. `announce` receives the lines to print (credentials only on the first
/// start).
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()>,
    announce: impl Fn(&str),
) -> Result<(), ServerError> {
    config.validate()?;
    let (dir, master, store) = open_store(&config).await?;
    if store.is_empty().await? {
        let created = bootstrap::prepare(&config, &master, now_secs())?;
        bootstrap::write_credentials_file(&dir.credentials(), &created)?;
        store.bootstrap(&created.rows).await?;
        announce(&format!(
            "Created account {} with administrator user '{}'.\nAdministrator credentials (shown once; also written to {}):\n  aws_access_key_id     = {}\n  aws_secret_access_key = {}",
            created.rows.account.id,
            bootstrap::ADMIN_NAME,
            dir.credentials().display(),
            created.access_key_id,
            created.secret.expose()
        ));
    } else {
        announce(&format!(
            "Using the existing store; administrator credentials were written to {} on first start.",
            dir.credentials().display()
        ));
    }
    if let Some(path) = &config.bootstrap {
        // The staging app owns a master key of its own; the server keeps `master`.
        let applied = apply::apply_to(&config, &dir, load_master(&dir)?, &store, path, false)
            .await
            .map_err(|e| ServerError::Apply(Box::new(e)))?;
        for line in apply::report(&applied, path, false) {
            announce(&line);
        }
    }
    let (audit, audit_writer) = AuditLog::start(&dir.audit())
        .map_err(|e| ServerError::Io(dir.audit().display().to_string(), e))?;
    // The state lives as long as the process serves; leaking it gives every connection a
    // `&'static` to share without reference counting on the hot path.
    let app: &'static App<SqliteStore> =
        Box::leak(Box::new(assemble(store, master, &config, audit).await?));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServerError::Io(config.listen.to_string(), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| ServerError::Io(config.listen.to_string(), e))?;
    announce(&format!("Tessera STS listening on http://{local}"));
    let reloader = spawn_reload_on_hangup(app);
    http::serve(app, listener, config.worker_threads(), shutdown)
        .await
        .map_err(|e| ServerError::Io("worker threads".to_owned(), e))?;
    reloader.abort();
    audit_writer.finish();
    Ok(())
}

/// On SIGHUP, re-reads the store and key ring (after `tessera keys rotate`, for example).
fn spawn_reload_on_hangup<S: Store>(app: &'static App<S>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut hup) = signal(SignalKind::hangup()) else {
                return;
            };
            while hup.recv().await.is_some() {
                match app.reload().await {
                    Ok(()) => tracing::info!("reloaded store and key ring"),
                    Err(e) => {
                        tracing::error!(error = %e, "reload failed; keeping the previous state")
                    }
                }
            }
        }
    })
}

/// Adds a ring key and demotes the current one; tokens it sealed keep verifying until they
/// expire. Returns the new key's id.
pub async fn rotate_keys(config: &Config) -> Result<u32, ServerError> {
    let (_dir, master, store) = open_store(config).await?;
    let existing = store.ring_keys().await?;
    // Opening the ring first proves the master key is the right one before anything is written.
    KeyRing::load(&master, &existing, now_secs())?;
    let next = existing.iter().map(|k| k.id).max().unwrap_or(0) + 1;
    let now = now_secs();
    store
        .rotate_ring(&new_ring_key(&master, next, now)?, now)
        .await?;
    Ok(next)
}

/// The name AWS gives the inline policy that revokes a role's sessions.
pub const REVOKE_POLICY_NAME: &str = "AWSRevokeOlderSessions";

/// Why sessions could not be revoked.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The server could not open its store.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// No role has that name in any account of the store.
    #[error("no role named {0}")]
    NoSuchRole(String),
}

/// Revokes every session of a role issued before now, as AWS's "Revoke active sessions" does:
/// an inline policy denying everything to sessions whose `aws:TokenIssueTime` is older. New
/// sessions are unaffected. Returns the cut-off time. A running server picks the policy up on
/// SIGHUP or restart.
pub async fn revoke_role_sessions(config: &Config, role_name: &str) -> Result<String, RevokeError> {
    let (_dir, master, store) = open_store(config).await.map_err(RevokeError::Server)?;
    let data = store.load().await.map_err(ServerError::from)?;
    let role = data
        .roles
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(role_name))
        .ok_or_else(|| RevokeError::NoSuchRole(role_name.to_owned()))?;
    let cutoff = tessera_proto::sts::format_timestamp(OffsetDateTime::now_utc());
    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{cutoff}"}}}}}}]}}"#
    );
    store
        .apply(&[store::Write::PutPolicy {
            table: store::OwnerTable::Role,
            owner_id: role.unique_id.clone(),
            name: REVOKE_POLICY_NAME.to_owned(),
            document,
        }])
        .await
        .map_err(ServerError::from)?;
    // Building a snapshot proves the stored policy parses with this master key's store.
    Snapshot::build(
        &store.load().await.map_err(ServerError::from)?,
        &master,
        &config.partition,
    )
    .map_err(ServerError::from)?;
    Ok(cutoff)
}

/// Why a root access key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum RootKeyError {
    /// The server could not open its store.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The store holds no account, or several and none was named.
    #[error("{0}")]
    Account(String),
    /// AWS allows two root access keys.
    #[error("the account already has 2 root access keys")]
    Quota,
}

/// Creates an access key for the account root (AWS does this in the console; IAM's API cannot),
/// so the root's rules can be used and tested: it is never subject to identity policies, may not
/// assume roles, and its sessions are capped at one hour. Returns the key id and secret; a
/// running server picks the key up on SIGHUP or restart.
pub async fn create_root_key(
    config: &Config,
    account: Option<&str>,
) -> Result<(String, tessera_sigv4::SecretKey), RootKeyError> {
    let (_dir, master, store) = open_store(config).await?;
    let data = store.load().await.map_err(ServerError::from)?;
    let account = match (account, data.accounts.as_slice()) {
        (Some(a), _) => data
            .accounts
            .iter()
            .find(|r| r.id == a)
            .ok_or_else(|| RootKeyError::Account(format!("no account {a} in this store")))?,
        (None, [only]) => only,
        (None, _) => {
            return Err(RootKeyError::Account(
                "name the account with --account-id".to_owned(),
            ));
        }
    };
    let root_keys = data
        .access_keys
        .iter()
        .filter(|k| k.user_id.is_none() && k.account_id == account.id)
        .count();
    if root_keys >= 2 {
        return Err(RootKeyError::Quota);
    }
    let account_id = tessera_proto::AccountId::parse(&account.id)
        .ok_or_else(|| RootKeyError::Account(format!("account id {} is corrupt", account.id)))?;
    let id = tessera_proto::AccessKeyId::generate(
        tessera_proto::KeyKind::LongTerm,
        account_id,
        crypto::random_bytes().map_err(ServerError::from)?,
    )
    .to_string();
    let secret = crypto::new_secret_access_key().map_err(ServerError::from)?;
    let row = store::AccessKeyRow {
        id: id.clone(),
        account_id: account.id.clone(),
        user_id: None,
        secret_sealed: master
            .seal(&id, secret.expose().as_bytes())
            .map_err(ServerError::from)?,
        active: true,
        created_at: now_secs(),
    };
    store
        .apply(&[store::Write::InsertAccessKey(row)])
        .await
        .map_err(ServerError::from)?;
    Ok((id, secret))
}
