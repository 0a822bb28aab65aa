//! `tessera credential-process`, `tessera env` and `tessera exec`: temporary credentials for
//! other programs, as aws-vault offers them.

use crate::sts::{Failure, Global, client, failure};
use serde_json::json;
use std::io::Write as _;
use std::path::PathBuf;
use tessera_client::*;
use time::OffsetDateTime;

/// Which credentials to fetch.
#[derive(clap::Args, Debug, Clone)]
pub struct SessionArgs {
    /// Role to assume; without it, a GetSessionToken session of the caller.
    #[arg(long)]
    pub role_arn: Option<String>,
    /// Session name [default: tessera-<unix time>].
    #[arg(long)]
    pub role_session_name: Option<String>,
    /// Session length in seconds.
    #[arg(long)]
    pub duration_seconds: Option<i64>,
    /// External id for the role's trust policy.
    #[arg(long)]
    pub external_id: Option<String>,
    /// MFA device serial or ARN (the code is asked on the terminal).
    #[arg(long)]
    pub serial_number: Option<String>,
}

/// Credentials are reused until this long before they expire.
const REUSE_MARGIN: time::Duration = time::Duration::minutes(5);

async fn fetch(args: &SessionArgs, g: &Global) -> Result<Credentials, Failure> {
    let sts = client(g);
    let token_code = match &args.serial_number {
        Some(serial) => {
            Some(crate::sts::prompt_mfa()(serial).map_err(|e| Failure::Other(e.message))?)
        }
        None => None,
    };
    let creds = match &args.role_arn {
        Some(role_arn) => {
            let r = sts
                .assume_role(AssumeRoleRequest {
                    role_arn: role_arn.clone(),
                    role_session_name: args.role_session_name.clone().unwrap_or_else(|| {
                        format!("tessera-{}", OffsetDateTime::now_utc().unix_timestamp())
                    }),
                    duration_seconds: args.duration_seconds,
                    external_id: args.external_id.clone(),
                    serial_number: args.serial_number.clone(),
                    token_code,
                    ..Default::default()
                })
                .await
                .map_err(|e| failure("AssumeRole", e))?;
            r.credentials
        }
        None => {
            let r = sts
                .get_session_token(GetSessionTokenRequest {
                    duration_seconds: args.duration_seconds,
                    serial_number: args.serial_number.clone(),
                    token_code,
                })
                .await
                .map_err(|e| failure("GetSessionToken", e))?;
            r.credentials
        }
    };
    creds.ok_or_else(|| Failure::Other("the response carried no credentials".into()))
}

fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("tessera").join("credential-process"))
}

/// The cache file of one set of arguments: a hash of everything that selects the credentials.
fn cache_file(args: &SessionArgs, g: &Global) -> Option<PathBuf> {
    let key = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
        g.profile,
        g.region,
        g.endpoint_url,
        args.role_arn,
        args.role_session_name,
        args.duration_seconds,
        args.external_id,
        std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.as_bytes());
    let name: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    cache_dir().map(|d| d.join(format!("{name}.json")))
}

fn parse_expiration(c: &Credentials) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(
        &c.expiration,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()
}

fn read_cache(path: &PathBuf) -> Option<Credentials> {
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    let c = Credentials {
        access_key_id: doc.get("AccessKeyId")?.as_str()?.to_owned(),
        secret_access_key: doc.get("SecretAccessKey")?.as_str()?.to_owned(),
        session_token: doc.get("SessionToken")?.as_str()?.to_owned(),
        expiration: doc.get("Expiration")?.as_str()?.to_owned(),
    };
    (parse_expiration(&c)? - OffsetDateTime::now_utc() > REUSE_MARGIN).then_some(c)
}

fn process_json(c: &Credentials) -> String {
    json!({
        "Version": 1,
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key,
        "SessionToken": c.session_token,
        "Expiration": c.expiration,
    })
    .to_string()
}

fn write_cache(path: &PathBuf, c: &Credentials) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(path);
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(process_json(c).as_bytes())?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}

/// `credential-process`: the JSON the AWS SDKs' `credential_process` setting reads, cached on
/// disk (0600) until 5 minutes before expiry unless `no_cache`.
pub async fn credential_process(
    args: &SessionArgs,
    g: &Global,
    no_cache: bool,
) -> Result<String, Failure> {
    let path = (!no_cache).then(|| cache_file(args, g)).flatten();
    if let Some(c) = path.as_ref().and_then(read_cache) {
        return Ok(format!("{}\n", process_json(&c)));
    }
    let c = fetch(args, g).await?;
    if let Some(p) = &path
        && let Err(e) = write_cache(p, &c)
    {
        eprintln!(
            "tessera: could not cache credentials in {}: {e}",
            p.display()
        );
    }
    Ok(format!("{}\n", process_json(&c)))
}

fn variables(c: &Credentials) -> [(&'static str, String); 4] {
    [
        ("AWS_ACCESS_KEY_ID", c.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.clone()),
        ("AWS_SESSION_TOKEN", c.session_token.clone()),
        ("AWS_CREDENTIAL_EXPIRATION", c.expiration.clone()),
    ]
}

/// Single-quotes a value for POSIX shells when it holds anything but safe characters.
fn shell_quote(v: &str) -> String {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=_-.:@%,".contains(c))
    {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}

/// `env`: `export` lines for a shell.
pub async fn env(args: &SessionArgs, g: &Global) -> Result<String, Failure> {
    let c = fetch(args, g).await?;
    Ok(variables(&c)
        .iter()
        .map(|(k, v)| format!("export {k}={}\n", shell_quote(v)))
        .collect())
}

/// `exec`: runs a command with the credentials in its environment; returns its exit status.
pub async fn exec(args: &SessionArgs, g: &Global, command: &[String]) -> Result<u8, Failure> {
    let (program, rest) = command
        .split_first()
        .ok_or_else(|| Failure::Other("exec needs a command after --".into()))?;
    let c = fetch(args, g).await?;
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest).env_remove("AWS_PROFILE");
    for (k, v) in variables(&c) {
        cmd.env(k, v);
    }
    let status = cmd
        .status()
        .map_err(|e| Failure::Other(format!("cannot run {program}: {e}")))?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(255))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("AKIA/x+y="), "AKIA/x+y=");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
