//! End-to-end tests: the real `tessera` binary on a free loopback port with its own data
//! directory, driven over HTTP with requests signed by our own `sigv4` crate (the signer the
//! client crate uses). One test binary, one server per test, its log kept for failures.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tessera_sigv4::sign::{Params, presign, sign_headers};
use tessera_sigv4::{AmzDate, HttpRequest, SecretKey};
use time::OffsetDateTime;

struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts a server with extra environment variables.
    fn start_with(dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = dir.join(format!("server-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.join("data"))
            .env_remove("TESSERA_MASTER_KEY")
            .envs(env.iter().copied())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let server = Self {
            child: Some(child),
            port,
            dir: dir.to_owned(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok((200, _)) =
                server.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "server did not start:\n{}",
            std::fs::read_to_string(&server.log).unwrap_or_default()
        );
    }

    fn raw(&self, request: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.write_all(request.as_bytes())?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        let status = response
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok((status, response))
    }

    fn stop(&mut self) {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "exit status {status}\n{}",
                    self.log_text()
                );
                return;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn admin(&self) -> Creds {
        let text = std::fs::read_to_string(self.dir.join("data/admin-credentials")).unwrap();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix(name)
                        .map(|v| v.trim_start_matches([' ', '=']).to_owned())
                })
                .unwrap()
        };
        Creds {
            id: field("aws_access_key_id"),
            secret: field("aws_secret_access_key"),
            token: None,
        }
    }

    /// POSTs a form body signed with `creds` for STS; returns status and the whole response.
    fn call(&self, creds: &Creds, body: &str) -> (u16, String) {
        self.call_service(creds, "sts", body)
    }

    /// POSTs a form body signed with `creds` for `service` (`sts` or `iam`).
    fn call_service(&self, creds: &Creds, service: &str, body: &str) -> (u16, String) {
        let host = format!("127.0.0.1:{}", self.port);
        let headers = [
            ("host", host.as_str()),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ];
        let req = HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body: body.as_bytes(),
        };
        let secret = SecretKey::new(creds.secret.clone());
        let signed = sign_headers(
            &req,
            &Params {
                access_key_id: &creds.id,
                secret: &secret,
                session_token: creds.token.as_deref(),
                region: "us-east-1",
                service,
                time: AmzDate::from_time(OffsetDateTime::now_utc()),
            },
        );
        let mut raw = format!(
            "POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (n, v) in headers
            .iter()
            .copied()
            .chain(signed.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        raw.push_str(body);
        self.raw(&raw).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!("--- server log ---\n{}", self.log_text());
            }
        }
    }
}

#[derive(Clone)]
struct Creds {
    id: String,
    secret: String,
    token: Option<String>,
}

fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    &xml[start..end]
}

fn session(server: &Server, creds: &Creds) -> Creds {
    let (status, body) = server.call(
        creds,
        "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900",
    );
    assert_eq!(status, 200, "{body}");
    Creds {
        id: element(&body, "AccessKeyId").to_owned(),
        secret: element(&body, "SecretAccessKey").to_owned(),
        token: Some(element(&body, "SessionToken").to_owned()),
    }
}

const WHO: &str = "Action=GetCallerIdentity&Version=2011-06-15";

#[test]
fn first_start_serves_the_admin_and_its_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path());
    let admin = server.admin();
    let (status, body) = server.call(&admin, WHO);
    assert_eq!(status, 200, "{body}");
    let arn = element(&body, "Arn").to_owned();
    assert!(arn.ends_with(":user/admin"), "{arn}");
    assert!(
        body.to_ascii_lowercase().contains("x-amzn-requestid:"),
        "{body}"
    );

    let temp = session(&server, &admin);
    assert!(temp.id.starts_with("ASIA"));
    let (status, body) = server.call(&temp, WHO);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        element(&body, "Arn"),
        arn,
        "a user session is the same user"
    );

    let forged = Creds {
        secret: "x".repeat(40),
        ..temp.clone()
    };
    let (status, body) = server.call(&forged, WHO);
    assert_eq!(status, 403);
    assert_eq!(element(&body, "Code"), "SignatureDoesNotMatch");

    let (status, body) = server.call(&temp, "Action=GetSessionToken&Version=2011-06-15");
    assert_eq!((status, element(&body, "Code")), (403, "AccessDenied"));
    server.stop();
}

#[test]
fn presigned_get_caller_identity_with_our_signer() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path());
    let admin = server.admin();
    let host = format!("127.0.0.1:{}", server.port);
    let headers = [("host", host.as_str())];
    let req = HttpRequest {
        method: "GET",
        path: "/",
        query: WHO,
        headers: &headers,
        body: b"",
    };
    let secret = SecretKey::new(admin.secret.clone());
    let signed = presign(
        &req,
        &Params {
            access_key_id: &admin.id,
            secret: &secret,
            session_token: None,
            region: "us-east-1",
            service: "sts",
            time: AmzDate::from_time(OffsetDateTime::now_utc()),
        },
        900,
    );
    let (status, body) = server
        .raw(&format!(
            "GET /?{} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
            signed.query
        ))
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(element(&body, "Arn").ends_with(":user/admin"));
    let tampered = signed.query.replace("GetCallerIdentity", "GetSessionToken");
    let (status, _) = server
        .raw(&format!(
            "GET /?{tampered} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ))
        .unwrap();
    assert_eq!(status, 403);
}

#[test]
fn restart_and_rotation_keep_identities_and_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path());
    let admin = server.admin();
    let before = session(&server, &admin);
    server.stop();

    let rotate = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["keys", "rotate", "--data-dir"])
        .arg(tmp.path().join("data"))
        .env_remove("TESSERA_MASTER_KEY")
        .output()
        .unwrap();
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    assert!(String::from_utf8_lossy(&rotate.stdout).contains("Ring key 2"));

    let mut server = Server::start(tmp.path());
    assert_eq!(server.admin().id, admin.id, "no second administrator");
    assert_eq!(
        server.call(&admin, WHO).0,
        200,
        "the admin key survives a restart"
    );
    let (status, body) = server.call(&before, WHO);
    assert_eq!(
        status, 200,
        "a token sealed before the rotation still verifies: {body}"
    );
    let after = session(&server, &admin);
    assert_eq!(server.call(&after, WHO).0, 200);
    let old_head = &before.token.as_ref().unwrap()[..8];
    let new_head = &after.token.as_ref().unwrap()[..8];
    assert_ne!(old_head, new_head, "new tokens name the new ring key");
    server.stop();
}

#[test]
fn a_wrong_master_key_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path());
    server.stop();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
        ])
        .arg(tmp.path().join("data"))
        .env(
            "TESSERA_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("master key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", tessera_sigv4::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Creates a role whose trust policy names `principal` (an ARN or account id) for
/// `sts:AssumeRole`; returns its ARN.
fn create_role(server: &Server, admin: &Creds, name: &str, principal: &str) -> String {
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    let (status, body) = server.call_service(
        admin,
        "iam",
        &form(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", &trust),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    element(&body, "Arn").to_owned()
}

#[test]
fn revoke_sessions_denies_older_sessions_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path());
    let admin = server.admin();
    let (_, who) = server.call(&admin, WHO);
    let admin_arn = element(&who, "Arn").to_owned();
    let role_arn = create_role(&server, &admin, "Deploy", &admin_arn);
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"*"}]}"#;
    let (status, body) = server.call_service(
        &admin,
        "iam",
        &form(&[
            ("Action", "PutRolePolicy"),
            ("Version", "2010-05-08"),
            ("RoleName", "Deploy"),
            ("PolicyName", "read"),
            ("PolicyDocument", allow),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    let assume = |server: &Server| {
        let (status, body) = server.call(
            &admin,
            &form(&[
                ("Action", "AssumeRole"),
                ("Version", "2011-06-15"),
                ("RoleArn", &role_arn),
                ("RoleSessionName", "s1"),
            ]),
        );
        assert_eq!(status, 200, "{body}");
        Creds {
            id: element(&body, "AccessKeyId").to_owned(),
            secret: element(&body, "SecretAccessKey").to_owned(),
            token: Some(element(&body, "SessionToken").to_owned()),
        }
    };
    let get_role = form(&[
        ("Action", "GetRole"),
        ("Version", "2010-05-08"),
        ("RoleName", "Deploy"),
    ]);
    let old = assume(&server);
    assert_eq!(server.call_service(&old, "iam", &get_role).0, 200);
    server.stop();

    // Sessions issued in the same second as the cut-off are not older than it.
    std::thread::sleep(Duration::from_millis(1100));
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "roles",
            "revoke-sessions",
            "--role-name",
            "deploy",
            "--data-dir",
        ])
        .arg(tmp.path().join("data"))
        .env_remove("TESSERA_MASTER_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_millis(1100));

    let mut server = Server::start(tmp.path());
    let (status, body) = server.call_service(&old, "iam", &get_role);
    assert_eq!(
        (status, element(&body, "Code")),
        (403, "AccessDenied"),
        "{body}"
    );
    assert!(
        body.contains("with an explicit deny in an identity-based policy"),
        "{body}"
    );
    let new = assume(&server);
    assert_eq!(
        server.call_service(&new, "iam", &get_role).0,
        200,
        "sessions issued after the revocation work"
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "roles",
            "revoke-sessions",
            "--role-name",
            "nope",
            "--data-dir",
        ])
        .arg(tmp.path().join("data"))
        .output()
        .unwrap();
    assert!(!missing.status.success());
    server.stop();
}

#[test]
fn the_account_root_has_its_own_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path());
    let admin = server.admin();
    let (_, who) = server.call(&admin, WHO);
    let account = element(&who, "Account").to_owned();
    let admin_arn = element(&who, "Arn").to_owned();
    let role_arn = create_role(&server, &admin, "R", &account);
    server.stop();

    let create = || {
        Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["keys", "create-root", "--data-dir"])
            .arg(tmp.path().join("data"))
            .env_remove("TESSERA_MASTER_KEY")
            .output()
            .unwrap()
    };
    let out = create();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(name)
                    .map(|v| v.trim_start_matches([' ', '=']).to_owned())
            })
            .unwrap()
    };
    let root = Creds {
        id: field("aws_access_key_id"),
        secret: field("aws_secret_access_key"),
        token: None,
    };
    assert!(create().status.success(), "a second root key is allowed");
    assert!(!create().status.success(), "a third is not");

    let mut server = Server::start(tmp.path());
    let (status, body) = server.call(&root, WHO);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        element(&body, "Arn"),
        format!("arn:aws:iam::{account}:root")
    );
    assert_eq!(element(&body, "UserId"), account);

    // Root sessions are silently capped at one hour.
    let (status, body) = server.call(
        &root,
        "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=7200",
    );
    assert_eq!(status, 200, "{body}");
    let expiration = time::OffsetDateTime::parse(
        element(&body, "Expiration"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expiration - OffsetDateTime::now_utc();
    assert!(
        left <= time::Duration::seconds(3600) && left > time::Duration::seconds(3500),
        "{left}"
    );

    // Roles may not be assumed by root, whatever the trust policy says.
    let (status, body) = server.call(
        &root,
        &form(&[
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", &role_arn),
            ("RoleSessionName", "s1"),
        ]),
    );
    assert_eq!(
        (status, element(&body, "Code")),
        (403, "AccessDenied"),
        "{body}"
    );
    assert_eq!(
        element(&body, "Message"),
        "Roles may not be assumed by root accounts."
    );

    // The root is not subject to identity policies, and its federated users are limited by
    // their session policy only.
    let (status, body) = server.call(
        &root,
        &form(&[
            ("Action", "GetAccessKeyInfo"),
            ("Version", "2011-06-15"),
            ("AccessKeyId", &admin.id),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let (status, body) = server.call(
        &root,
        &form(&[
            ("Action", "GetFederationToken"),
            ("Version", "2011-06-15"),
            ("Name", "fed"),
            ("Policy", policy),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        element(&body, "Arn"),
        format!("arn:aws:sts::{account}:federated-user/fed")
    );
    assert_ne!(admin_arn, element(&body, "Arn"));
    server.stop();
}

/// A minimal OIDC issuer on loopback (plain HTTP: the server runs with the dev flag) serving
/// discovery and a JWKS with one EC P-256 key, which signs the tokens it mints.
struct Issuer {
    url: String,
    pkcs8: Vec<u8>,
}

impl Issuer {
    fn start() -> Self {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
        use base64::Engine as _;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap()
            .as_ref()
            .to_vec();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let discovery =
            serde_json::json!({"issuer": url, "jwks_uri": format!("{url}/keys")}).to_string();
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
            "x": b64(&point[1..33]), "y": b64(&point[33..]),
        }]})
        .to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = match path {
                    "/.well-known/openid-configuration" => ("200 OK", discovery.as_str()),
                    "/keys" => ("200 OK", jwks.as_str()),
                    _ => ("404 Not Found", "{}"),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, pkcs8 }
    }

    fn mint(&self, sub: &str, aud: &str) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("k1".into());
        let claims = serde_json::json!({
            "iss": self.url, "sub": sub, "aud": aud, "iat": now, "exp": now + 600,
        });
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ec_der(&self.pkcs8),
        )
        .unwrap()
    }
}

/// The IRSA convention (a Kubernetes pod's environment) with the AWS SDK for Rust's default
/// credential chain: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, and
/// `AWS_ENDPOINT_URL_STS` pointing the chain's STS client at Tessera. The SDK runs in a child
/// process (the `irsa_child` test) because the environment is process-wide.
#[test]
fn irsa_environment_works_with_the_aws_sdk_default_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(tmp.path(), &[("TESSERA_OIDC_INSECURE_HTTP", "true")]);
    let admin = server.admin();
    let issuer = Issuer::start();
    let (status, body) = server.call_service(
        &admin,
        "iam",
        &form(&[
            ("Action", "CreateOpenIDConnectProvider"),
            ("Version", "2010-05-08"),
            ("Url", &issuer.url),
            ("ClientIDList.member.1", "sts.amazonaws.com"),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    let provider = element(&body, "OpenIDConnectProviderArn").to_owned();
    let host = issuer.url.trim_start_matches("http://");
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {
            format!("{host}:sub"): "system:serviceaccount:default:app",
            format!("{host}:aud"): "sts.amazonaws.com",
        }},
    }]})
    .to_string();
    let (status, body) = server.call_service(
        &admin,
        "iam",
        &form(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", "irsa"),
            ("AssumeRolePolicyDocument", &trust),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    let role_arn = element(&body, "Arn").to_owned();

    let token_file = tmp.path().join("token");
    let run_child = |sub: &str| {
        std::fs::write(&token_file, issuer.mint(sub, "sts.amazonaws.com")).unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "irsa_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", tmp.path())
            .env("AWS_CONFIG_FILE", tmp.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                tmp.path().join("no-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
            .env("AWS_ROLE_ARN", &role_arn)
            .env("AWS_ROLE_SESSION_NAME", "pod-1")
            .env(
                "AWS_ENDPOINT_URL_STS",
                format!("http://127.0.0.1:{}", server.port),
            )
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, output) = run_child("system:serviceaccount:default:app");
    assert!(ok, "{output}\n{}", server.log_text());
    assert!(
        output.contains("CALLER arn:aws:sts::") && output.contains(":assumed-role/irsa/pod-1"),
        "{output}"
    );
    // A token for another service account does not satisfy the trust condition.
    let (ok, output) = run_child("system:serviceaccount:default:other");
    assert!(!ok, "{output}");
    assert!(output.contains("AccessDenied"), "{output}");
}

/// The SDK side of `irsa_environment_works_with_the_aws_sdk_default_chain`, which runs it in a
/// child process with the IRSA environment.
#[test]
#[ignore = "run by irsa_environment_works_with_the_aws_sdk_default_chain with its environment"]
fn irsa_child() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let sts = aws_sdk_sts::Client::new(&config);
        match sts.get_caller_identity().send().await {
            Ok(out) => println!("CALLER {}", out.arn().unwrap_or_default()),
            Err(e) => panic!("{}", aws_sdk_sts::error::DisplayErrorContext(e)),
        }
    });
}
