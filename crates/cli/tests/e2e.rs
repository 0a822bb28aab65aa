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

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;
use tessera_sigv4::sign::{Params, presign};
use tessera_sigv4::{AmzDate, HttpRequest, SecretKey};
use time::OffsetDateTime;

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
    let role_arn = create_web_identity_role(
        &server,
        &admin,
        &issuer,
        "sts.amazonaws.com",
        "irsa",
        &[
            ("{issuer}:sub", "system:serviceaccount:default:app"),
            ("{issuer}:aud", "sts.amazonaws.com"),
        ],
    );

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
