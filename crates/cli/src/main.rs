//! `tessera`: runs the server and administers its data directory, and is a client of any
//! AWS-compatible STS (`tessera sts …`, `credential-process`, `env`, `exec`).

mod output;
mod session;
mod sts;

use clap::{CommandFactory, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tessera_server::config::Config;

/// glibc's allocator took a sixth of the server's CPU under load (BENCHMARKS.md); mimalloc's
/// per-thread heaps suit a request-per-task server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tessera: a self-hosted, AWS-compatible Security Token Service.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: sts::Global,
    #[command(subcommand)]
    command: Command,
}

/// Options shared by every command that opens a data directory.
#[derive(clap::Args)]
struct StoreArgs {
    /// TOML configuration file (every key can also be set with a TESSERA_* variable).
    #[arg(long, env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: store, master key, admin credentials, audit log [default: ./tessera-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server. On the first start it creates an account and an administrator and
    /// prints the administrator's access key once.
    ///
    /// Example: tessera serve --listen 127.0.0.1:8470 --data-dir ./tessera-data
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on [default: 127.0.0.1:8470].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Account id to create on first start (12 digits; random if unset).
        #[arg(long)]
        account_id: Option<String>,
        /// Use fixed, publicly documented test credentials on first start. Never for real use.
        #[arg(long)]
        dev: bool,
        /// Log format on stderr.
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
        /// A bootstrap file (see `tessera apply`) to apply at every start, before listening;
        /// the server does not start when the file is refused.
        #[arg(long, env = "TESSERA_BOOTSTRAP")]
        bootstrap: Option<PathBuf>,
    },
    /// Bring the store in line with a bootstrap file (TOML): accounts, managed policies, OIDC
    /// and SAML providers, groups, users (with access keys generated or taken from the
    /// environment) and roles. Every change goes through the IAM actions' own checks, is
    /// rehearsed on a copy first and committed in one transaction: a refused file changes
    /// nothing. Applying a file twice changes nothing the second time. A running server picks
    /// the changes up on SIGHUP or restart.
    ///
    /// Example: tessera apply bootstrap.toml --data-dir ./tessera-data
    Apply {
        #[command(flatten)]
        store: StoreArgs,
        /// The bootstrap file.
        file: PathBuf,
        /// Only print what would change.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage the key ring that seals session tokens.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Administer roles.
    Roles {
        #[command(subcommand)]
        command: RolesCommand,
    },
    /// Call STS like `aws sts`: same operation and parameter names, outputs and exit statuses.
    ///
    /// Example: tessera sts get-caller-identity --endpoint-url http://127.0.0.1:8470
    Sts {
        #[command(subcommand)]
        command: sts::StsCommand,
    },
    /// Print credentials as `credential_process` JSON (Version 1), cached on disk (0600) until 5
    /// minutes before they expire.
    ///
    /// Example (in ~/.aws/config): credential_process = tessera credential-process --role-arn arn:aws:iam::123456789012:role/Deploy --profile admin
    CredentialProcess {
        #[command(flatten)]
        session: session::SessionArgs,
        /// Always fetch new credentials; do not read or write the cache.
        #[arg(long)]
        no_cache: bool,
    },
    /// Print `export AWS_…=` lines with temporary credentials.
    ///
    /// Example: eval "$(tessera env --role-arn arn:aws:iam::123456789012:role/Deploy)"
    Env {
        #[command(flatten)]
        session: session::SessionArgs,
    },
    /// Run a command with temporary credentials in its environment; exits with its status.
    ///
    /// Example: tessera exec --role-arn arn:aws:iam::123456789012:role/Deploy -- terraform plan
    Exec {
        #[command(flatten)]
        session: session::SessionArgs,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Print a shell completion script.
    ///
    /// Example: tessera completions bash > /etc/bash_completion.d/tessera
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum RolesCommand {
    /// Revoke every session of a role issued before now (AWS's "Revoke active sessions"): adds
    /// the inline policy AWSRevokeOlderSessions denying everything to older sessions. A running
    /// server picks it up on SIGHUP or restart; new sessions are unaffected.
    ///
    /// Example: tessera roles revoke-sessions --role-name Deploy --data-dir ./tessera-data
    RevokeSessions {
        #[command(flatten)]
        store: StoreArgs,
        /// The role whose sessions to revoke.
        #[arg(long)]
        role_name: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an access key for the account root (at most 2), printed once. The root is not
    /// subject to identity policies: keep this key offline. A running server picks it up on
    /// SIGHUP or restart.
    ///
    /// Example: tessera keys create-root --data-dir ./tessera-data
    CreateRoot {
        #[command(flatten)]
        store: StoreArgs,
        /// The account, when the store holds several.
        #[arg(long)]
        account_id: Option<String>,
    },
    /// Add a new sealing key. Tokens sealed by the previous key keep verifying until they
    /// expire. A running server picks the new key up on SIGHUP or restart.
    ///
    /// Example: tessera keys rotate --data-dir ./tessera-data
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn load_config(store: &StoreArgs) -> Result<Config, String> {
    let mut config = Config::load(store.config.as_deref()).map_err(|e| e.to_string())?;
    if let Some(dir) = &store.data_dir {
        config.data_dir.clone_from(dir);
    }
    Ok(config)
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}

/// Runs a client command: prints its output, or its failure as the aws CLI does.
async fn client_command(command: Command, global: sts::Global) -> u8 {
    let result = match command {
        Command::Sts { command } => sts::run(command, &global).await.map(|out| (out, 0)),
        Command::CredentialProcess { session, no_cache } => {
            session::credential_process(&session, &global, no_cache)
                .await
                .map(|out| (out, 0))
        }
        Command::Env { session } => session::env(&session, &global).await.map(|out| (out, 0)),
        Command::Exec { session, command } => session::exec(&session, &global, &command)
            .await
            .map(|code| (String::new(), code)),
        _ => Ok((String::new(), 0)),
    };
    match result {
        Ok((out, code)) => {
            print!("{out}");
            code
        }
        Err(failure) => failure.report(),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Sts { .. }
        | Command::CredentialProcess { .. }
        | Command::Env { .. }
        | Command::Exec { .. } => Ok(()),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tessera",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Serve {
            store,
            listen,
            account_id,
            dev,
            log_format,
            bootstrap,
        } => {
            init_logging(log_format);
            let mut config = load_config(&store)?;
            if let Some(l) = listen {
                config.listen = l;
            }
            if let Some(r) = cli.global.region {
                // The global --region: the region this server presents as.
                config.region = r;
            }
            if account_id.is_some() {
                config.account_id = account_id;
            }
            config.dev |= dev;
            if bootstrap.is_some() {
                config.bootstrap = bootstrap;
            }
            tessera_server::run(config, shutdown_signal(), |line| println!("{line}"))
                .await
                .map_err(|e| e.to_string())
        }
        Command::Apply {
            store,
            file,
            dry_run,
        } => {
            let config = load_config(&store)?;
            let applied = tessera_server::apply::apply_file(&config, &file, dry_run)
                .await
                .map_err(|e| e.to_string())?;
            for line in tessera_server::apply::report(&applied, &file, dry_run) {
                println!("{line}");
            }
            if !dry_run && !applied.changes.is_empty() {
                println!("Send SIGHUP to a running server to pick the changes up.");
            }
            Ok(())
        }
        Command::Roles {
            command: RolesCommand::RevokeSessions { store, role_name },
        } => {
            let config = load_config(&store)?;
            let cutoff = tessera_server::revoke_role_sessions(&config, &role_name)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Sessions of role {role_name} issued before {cutoff} are revoked (policy {}). Send SIGHUP to a running server.",
                tessera_server::REVOKE_POLICY_NAME
            );
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::CreateRoot { store, account_id },
        } => {
            let config = load_config(&store)?;
            let (id, secret) = tessera_server::create_root_key(&config, account_id.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Root access key (shown once):\n  aws_access_key_id     = {id}\n  aws_secret_access_key = {}",
                secret.expose()
            );
            Ok(())
        }
        Command::Keys {
            command: KeysCommand::Rotate { store },
        } => {
            let config = load_config(&store)?;
            let id = tessera_server::rotate_keys(&config)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Ring key {id} now seals new session tokens; earlier keys verify until their tokens expire."
            );
            Ok(())
        }
    }
}

/// The aws CLI's status for a usage error.
const USAGE_ERROR: u8 = 252;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            return if usage {
                ExitCode::from(USAGE_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tessera: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if matches!(
        cli.command,
        Command::Sts { .. }
            | Command::CredentialProcess { .. }
            | Command::Env { .. }
            | Command::Exec { .. }
    ) {
        return ExitCode::from(runtime.block_on(client_command(cli.command, cli.global)));
    }
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera: {e}");
            ExitCode::FAILURE
        }
    }
}
