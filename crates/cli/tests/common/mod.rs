//! What the end-to-end test binaries share: the real `tessera` server on a free loopback
//! port, requests signed with our own `sigv4` crate, and a minimal OIDC issuer.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a part of these helpers"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tessera_sigv4::sign::{Params, sign_headers};
use tessera_sigv4::{AmzDate, HttpRequest, SecretKey};
use time::OffsetDateTime;

pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub log: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    pub fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// Starts a server with extra environment variables.
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Self {
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

    pub fn raw(&self, request: &str) -> std::io::Result<(u16, String)> {
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

    pub fn stop(&mut self) {
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

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn admin(&self) -> Creds {
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
    pub fn call(&self, creds: &Creds, body: &str) -> (u16, String) {
        self.call_service(creds, "sts", body)
    }

    /// POSTs a form body signed with `creds` for `service` (`sts` or `iam`).
    pub fn call_service(&self, creds: &Creds, service: &str, body: &str) -> (u16, String) {
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
pub struct Creds {
    pub id: String,
    pub secret: String,
    pub token: Option<String>,
}

pub fn element<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{name}> in {xml}"))
        + open.len();
    let end = xml[start..].find(&format!("</{name}>")).unwrap() + start;
    &xml[start..end]
}

pub fn session(server: &Server, creds: &Creds) -> Creds {
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

pub const WHO: &str = "Action=GetCallerIdentity&Version=2011-06-15";

pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", tessera_sigv4::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Creates a role whose trust policy names `principal` (an ARN or account id) for
/// `sts:AssumeRole`; returns its ARN.
pub fn create_role(server: &Server, admin: &Creds, name: &str, principal: &str) -> String {
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

/// A minimal OIDC issuer on loopback (plain HTTP: the server runs with the dev flag) serving
/// discovery and a JWKS with one EC P-256 key, which signs the tokens it mints.
pub struct Issuer {
    pub url: String,
    pkcs8: Vec<u8>,
}

impl Issuer {
    pub fn start() -> Self {
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

    pub fn mint(&self, sub: &str, aud: &str) -> String {
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

/// Registers `issuer` with the audience `client_id` and creates the role `name` trusting it
/// under `conditions` (a `StringEquals` map of condition keys, `{issuer}` replaced by the
/// issuer's host and port); returns the role's ARN.
pub fn create_web_identity_role(
    server: &Server,
    admin: &Creds,
    issuer: &Issuer,
    client_id: &str,
    name: &str,
    conditions: &[(&str, &str)],
) -> String {
    let (status, body) = server.call_service(
        admin,
        "iam",
        &form(&[
            ("Action", "CreateOpenIDConnectProvider"),
            ("Version", "2010-05-08"),
            ("Url", &issuer.url),
            ("ClientIDList.member.1", client_id),
        ]),
    );
    assert_eq!(status, 200, "{body}");
    let provider = element(&body, "OpenIDConnectProviderArn").to_owned();
    let host = issuer.url.trim_start_matches("http://");
    let equals: serde_json::Map<String, serde_json::Value> = conditions
        .iter()
        .map(|(k, v)| (k.replace("{issuer}", host), serde_json::Value::from(*v)))
        .collect();
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": equals},
    }]})
    .to_string();
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
