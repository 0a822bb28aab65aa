//! Declarative bootstrap (`tessera apply FILE`, `tessera serve --bootstrap FILE`): a TOML file
//! declares accounts, policies, providers, groups, users and roles, and the store is brought in
//! line with it.
//!
//! The file is turned into the IAM calls an operator would make with `aws iam`, and they run
//! through the same IAM actions, as each account's root, so every name, document and limit is
//! checked exactly as for the API. They run first on a copy of the store; only when every call
//! succeeded are the writes they made committed to the real store, in one transaction. A file
//! that fails anywhere changes nothing, and says which line failed and why. Applying the same
//! file twice changes nothing the second time.

mod file;
mod plan;
mod staging;

pub use plan::Refusal;

use crate::config::Config;
use crate::iam;
use crate::principal::{Caller, Credential, Identity, RequestEnv, SessionData};
use crate::snapshot::Snapshot;
use crate::store::{AccessKeyRow, AccountRow, SqliteStore, Store, Write};
use crate::{App, ServerError};
use plan::{Op, Step, World};
use staging::{Recording, StagingFile};
use std::path::Path;
use tessera_proto::AccountId;
use tessera_proto::error::ApiError;
use tessera_proto::iam::Response;
use tessera_sigv4::SecretKey;
use time::OffsetDateTime;

/// Why a bootstrap file was not applied. Nothing was written in every case.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file could not be read.
    #[error("reading {0}: {1}")]
    Read(String, std::io::Error),
    /// The file is not a valid bootstrap file.
    #[error("{path}, {message}")]
    Invalid {
        /// The file.
        path: String,
        /// `line N: why`.
        message: String,
    },
    /// A declaration was refused (by the planner or by the IAM action it became).
    #[error("{path}, line {}: {}", refusal.line, refusal.message)]
    Refused {
        /// The file.
        path: String,
        /// Where and why.
        refusal: Refusal,
    },
    /// The data directory has no store yet.
    #[error(
        "the data directory holds no store yet: start `tessera serve` once, or use `tessera serve --bootstrap FILE`"
    )]
    NoStore,
    /// The store or a cipher failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

/// An access key the file asked to generate: the only time its secret is shown.
pub struct NewKey {
    /// The account.
    pub account: String,
    /// The user.
    pub user: String,
    /// `AKIA…`.
    pub id: String,
    /// The secret.
    pub secret: SecretKey,
}

/// What applying a file did (or, for a dry run, would do).
pub struct Applied {
    /// One line per change: `+` created, `~` changed, `-` removed. Empty when the store already
    /// matched the file.
    pub changes: Vec<String>,
    /// Generated access keys (empty for a dry run: nothing was kept).
    pub new_keys: Vec<NewKey>,
}

/// Applies a bootstrap file to the data directory of `config` (`dry_run`: only reports).
/// A running server sees the changes after SIGHUP or a restart.
pub async fn apply_file(
    config: &Config,
    path: &Path,
    dry_run: bool,
) -> Result<Applied, ApplyError> {
    // Refused before anything is created: a data directory is made by `tessera serve` only.
    if !crate::DataDir(config.data_dir.clone()).store().is_file() {
        return Err(ApplyError::NoStore);
    }
    let (dir, master, store) = crate::open_store(config).await?;
    if store.is_empty().await.map_err(ServerError::from)? {
        return Err(ApplyError::NoStore);
    }
    apply_to(config, &dir, master, &store, path, dry_run).await
}

/// Applies a bootstrap file to an open store (the server calls this before it listens).
pub(crate) async fn apply_to(
    config: &Config,
    dir: &crate::DataDir,
    master: crate::keyring::MasterKey,
    store: &SqliteStore,
    path: &Path,
    dry_run: bool,
) -> Result<Applied, ApplyError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ApplyError::Read(shown.clone(), e))?;
    let declared = file::parse(&text).map_err(|message| ApplyError::Invalid {
        path: shown.clone(),
        message,
    })?;
    let refused = |refusal| ApplyError::Refused {
        path: shown.clone(),
        refusal,
    };

    let staging = StagingFile::new(&dir.0);
    store
        .copy_to(staging.path())
        .await
        .map_err(ServerError::from)?;
    let copy = SqliteStore::open(staging.path())
        .await
        .map_err(ServerError::from)?;
    let app = crate::assemble(
        Recording::new(copy),
        master,
        config,
        crate::audit::AuditLog::disconnected(),
    )
    .await?;
    let data = app.store.load().await.map_err(ServerError::from)?;
    let accounts: Vec<AccountId> = data
        .accounts
        .iter()
        .filter_map(|a| AccountId::parse(&a.id))
        .collect();
    let snapshot = app.snapshot.load_full();
    let env = |name: &str| std::env::var(name).ok();
    let world = World {
        text: &text,
        base: path.parent().unwrap_or(Path::new(".")),
        snapshot: &snapshot,
        accounts: &accounts,
        env: &env,
    };
    let steps = plan::plan(&declared, &world).map_err(refused)?;
    drop(snapshot);

    let mut new_keys = Vec::new();
    for step in &steps {
        run_step(&app, config, step, &mut new_keys)
            .await
            .map_err(|message| {
                let what = step.change.get(2..).unwrap_or("");
                refused(match step.document {
                    Some((line, name)) if message.starts_with("MalformedPolicyDocument") => {
                        Refusal {
                            line,
                            message: format!("{what}: {name}: {message}"),
                        }
                    }
                    _ => Refusal {
                        line: step.line,
                        message: format!("{what}: {message}"),
                    },
                })
            })?;
    }
    let changes = steps.into_iter().map(|s| s.change).collect();
    if dry_run {
        return Ok(Applied {
            changes,
            new_keys: Vec::new(),
        });
    }
    let writes = app.store.take();
    if !writes.is_empty() {
        store.apply(&writes).await.map_err(ServerError::from)?;
        // The committed store must still make a snapshot (it always does when the copy did).
        Snapshot::build(
            &store.load().await.map_err(ServerError::from)?,
            &app.master,
            &config.partition,
        )
        .map_err(ServerError::from)?;
    }
    Ok(Applied { changes, new_keys })
}

/// The account root, as which a bootstrap file's calls run.
fn root(account: AccountId, config: &Config) -> Caller<'static> {
    Caller {
        identity: Identity::Root(account),
        credential: Credential::LongTerm {
            access_key_id: String::new(),
        },
        region: config.region.clone(),
        session: SessionData::default(),
    }
}

/// Runs one step on the staging app; the error is the message to show.
async fn run_step(
    app: &App<Recording>,
    config: &Config,
    step: &Step,
    new_keys: &mut Vec<NewKey>,
) -> Result<(), String> {
    let now = OffsetDateTime::now_utc();
    let failed = |e: ApiError| format!("{}: {}", e.code.as_str(), e.message);
    match &step.op {
        Op::CreateAccount => app
            .write(&[Write::InsertAccount(AccountRow {
                id: step.account.to_string(),
                created_at: now.unix_timestamp(),
            })])
            .await
            .map_err(|e| e.to_string()),
        Op::Iam(action, params) => {
            let body: Vec<String> = params
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        tessera_sigv4::percent_encode(k),
                        tessera_sigv4::percent_encode(v)
                    )
                })
                .collect();
            let body = body.join("&");
            let query = tessera_proto::query::Params::decode("", &body).map_err(failed)?;
            let request = tessera_proto::iam::decode(*action, &query).map_err(failed)?;
            let snapshot = app.snapshot.load_full();
            let caller = root(step.account, config);
            let env = RequestEnv {
                partition: &config.partition,
                now,
                source_ip: "127.0.0.1",
            };
            let planned =
                iam::plan(*action, request, &caller, &snapshot).map_err(|e| failed(e.into()))?;
            let authorized =
                iam::authorize(planned, &caller, &env).map_err(|e| failed(e.into()))?;
            let response = iam::execute(authorized, app, &snapshot, &caller, now)
                .await
                .map_err(|e| failed(e.into()))?;
            if let Response::NewAccessKey(key, secret) = response {
                new_keys.push(NewKey {
                    account: step.account.to_string(),
                    user: key.user_name,
                    id: key.id,
                    secret,
                });
            }
            Ok(())
        }
        Op::ImportKey {
            user,
            id,
            secret,
            replace,
        } => {
            let snapshot = app.snapshot.load_full();
            let owner = snapshot.user_named(step.account, user).ok_or_else(|| {
                format!("NoSuchEntity: The user with name {user} cannot be found.")
            })?;
            let row = AccessKeyRow {
                id: id.clone(),
                account_id: step.account.to_string(),
                user_id: Some(owner.unique_id.clone()),
                secret_sealed: app
                    .master
                    .seal(id, secret.expose().as_bytes())
                    .map_err(|e| e.to_string())?,
                active: true,
                created_at: now.unix_timestamp(),
            };
            let mut writes = Vec::with_capacity(2);
            if *replace {
                writes.push(Write::DeleteAccessKey { id: id.clone() });
            }
            writes.push(Write::InsertAccessKey(row));
            app.write(&writes).await.map_err(|e| e.to_string())
        }
    }
}

/// The lines that tell an operator what applying `path` did (or would do).
pub fn report(applied: &Applied, path: &Path, dry_run: bool) -> Vec<String> {
    let shown = path.display();
    let n = applied.changes.len();
    let mut lines = Vec::with_capacity(n + 1 + 3 * applied.new_keys.len());
    lines.push(match (n, dry_run) {
        (0, _) => format!("{shown}: no changes; the store already matches."),
        (_, true) => format!("{shown}: {n} change(s) would be made (dry run, nothing written):"),
        (_, false) => format!("{shown}: {n} change(s) applied:"),
    });
    lines.extend(applied.changes.iter().map(|c| format!("  {c}")));
    for key in &applied.new_keys {
        lines.push(format!(
            "Access key of user {} in account {} (shown once):",
            key.user, key.account
        ));
        lines.push(format!("  aws_access_key_id     = {}", key.id));
        lines.push(format!("  aws_secret_access_key = {}", key.secret.expose()));
    }
    lines
}
