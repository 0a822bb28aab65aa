//! The client crate against the real server: every action (success and a modeled or
//! unmodeled error), the providers (profiles, MFA callback, session tokens, web identity with
//! the token file re-read), and one refresh shared by concurrent callers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails by panicking"
)]

mod common;

use common::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tessera_client::*;

fn client(server: &Server, creds: &Creds) -> StsClient {
    StsClient::new(
        Endpoint::custom(format!("http://127.0.0.1:{}", server.port), "us-east-1"),
        Arc::new(StaticProvider::new(
            creds.id.clone(),
            creds.secret.clone(),
            creds.token.clone(),
        )),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A role named `web` trusting `issuer`'s tokens for audience `app` and subject `sub`.
fn web_identity_role(server: &Server, admin: &Creds, issuer: &Issuer, sub: &str) -> String {
    create_web_identity_role(
        server,
        admin,
        issuer,
        "app",
        "web",
        &[("{issuer}:sub", sub)],
    )
}

#[test]
fn every_action_through_the_client() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(tmp.path(), &[("TESSERA_OIDC_INSECURE_HTTP", "true")]);
    let admin = server.admin();
    let me_arn = {
        let (_, body) = server.call(&admin, "Action=GetCallerIdentity&Version=2011-06-15");
        element(&body, "Arn").to_owned()
    };
    let role_arn = create_role(&server, &admin, "deploy", &me_arn);
    let issuer = Issuer::start();
    let web_role = web_identity_role(&server, &admin, &issuer, "alice");
    let sts = client(&server, &admin);
    runtime().block_on(async {
        let me = sts
            .get_caller_identity(GetCallerIdentityRequest::default())
            .await
            .unwrap();
        assert_eq!(me.arn.as_deref(), Some(me_arn.as_str()));
        assert_eq!(me.account.as_deref().map(str::len), Some(12));

        let session = sts
            .get_session_token(GetSessionTokenRequest {
                duration_seconds: Some(900),
                ..Default::default()
            })
            .await
            .unwrap();
        let c = session.credentials.unwrap();
        assert!(c.access_key_id.starts_with("ASIA"));
        let as_session = client(
            &server,
            &Creds {
                id: c.access_key_id.clone(),
                secret: c.secret_access_key.clone(),
                token: Some(c.session_token.clone()),
            },
        );
        let again = as_session
            .get_caller_identity(GetCallerIdentityRequest::default())
            .await
            .unwrap();
        assert_eq!(again.arn, me.arn);

        let info = sts
            .get_access_key_info(GetAccessKeyInfoRequest {
                access_key_id: admin.id.clone(),
            })
            .await
            .unwrap();
        assert_eq!(info.account, me.account);

        let assumed = sts
            .assume_role(AssumeRoleRequest {
                role_arn: role_arn.clone(),
                role_session_name: "ci".into(),
                tags: Some(vec![Tag {
                    key: "team".into(),
                    value: "blue".into(),
                }]),
                ..Default::default()
            })
            .await;
        // The trust names the admin, but tags need sts:TagSession, which it does not allow.
        match assumed {
            Err(StsError::Unknown {
                status,
                code,
                request_id,
                ..
            }) => {
                assert_eq!((status, code.as_str()), (403, "AccessDenied"));
                assert!(!request_id.is_empty());
            }
            other => panic!("expected AccessDenied, got {other:?}"),
        }
        let assumed = sts
            .assume_role(AssumeRoleRequest {
                role_arn: role_arn.clone(),
                role_session_name: "ci".into(),
                policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let user = assumed.assumed_role_user.unwrap();
        assert!(user.arn.ends_with(":assumed-role/deploy/ci"), "{}", user.arn);
        assert!(assumed.packed_policy_size.is_some());
        match sts
            .assume_role(AssumeRoleRequest {
                role_arn: role_arn.clone(),
                role_session_name: "ci".into(),
                policy: Some("{not json".into()),
                ..Default::default()
            })
            .await
        {
            Err(StsError::Service(AssumeRoleError::MalformedPolicyDocument(_))) => {}
            other => panic!("expected MalformedPolicyDocument, got {other:?}"),
        }

        let fed = sts
            .get_federation_token(GetFederationTokenRequest {
                name: "bob".into(),
                policy: Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(fed.federated_user.unwrap().arn.ends_with(":federated-user/bob"));

        // Unsigned: a client without any usable credentials can call it.
        let anonymous = StsClient::new(
            sts.endpoint().clone(),
            Arc::new(ChainProvider::new(Vec::new())),
        );
        let web = anonymous
            .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest {
                role_arn: web_role.clone(),
                role_session_name: "web".into(),
                web_identity_token: issuer.mint("alice", "app"),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(web.subject_from_web_identity_token.as_deref(), Some("alice"));
        assert_eq!(web.audience.as_deref(), Some("app"));
        match anonymous
            .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest {
                role_arn: web_role.clone(),
                role_session_name: "web".into(),
                web_identity_token: issuer.mint("alice", "other-app"),
                ..Default::default()
            })
            .await
        {
            Err(StsError::Service(AssumeRoleWithWebIdentityError::InvalidIdentityToken(m))) => {
                assert_eq!(m, "Incorrect token audience");
            }
            other => panic!("expected InvalidIdentityToken, got {other:?}"),
        }
        // Signed actions need credentials: the error says so before anything is sent.
        assert!(matches!(
            anonymous
                .get_caller_identity(GetCallerIdentityRequest::default())
                .await,
            Err(StsError::Credentials(_))
        ));

        // Actions the server does not implement yet are typed and callable.
        let code = |e: Option<(&str, &str)>| e.map(|(c, _)| c.to_owned());
        let e = sts
            .assume_root(AssumeRootRequest {
                target_principal: "111122223333".into(),
                task_policy_arn: PolicyDescriptorType {
                    arn: Some("arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials".into()),
                },
                duration_seconds: None,
            })
            .await
            .unwrap_err();
        assert_eq!(code(e.service_error()).as_deref(), Some("NotImplemented"));
        let e = sts
            .decode_authorization_message(DecodeAuthorizationMessageRequest {
                encoded_message: "x".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(code(e.service_error()).as_deref(), Some("NotImplemented"));
        let e = sts
            .get_delegated_access_token(GetDelegatedAccessTokenRequest {
                trade_in_token: "x".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(code(e.service_error()).as_deref(), Some("NotImplemented"));
        let e = sts
            .get_web_identity_token(GetWebIdentityTokenRequest {
                audience: vec!["https://example.com".into()],
                signing_algorithm: "RS256".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(code(e.service_error()).as_deref(), Some("NotImplemented"));
        let e = anonymous
            .assume_role_with_saml(AssumeRoleWithSAMLRequest {
                role_arn: web_role.clone(),
                // A provider name of the role's own account that does not exist.
                principal_arn: web_role.replace(":role/", ":saml-provider/no-such-"),
                saml_assertion: "PHNhbWw+".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        // No such provider: the unsigned request reached the SAML checks.
        assert_eq!(
            code(e.service_error()).as_deref(),
            Some("InvalidIdentityToken")
        );
    });
}

#[test]
fn providers_against_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_with(tmp.path(), &[("TESSERA_OIDC_INSECURE_HTTP", "true")]);
    let admin = server.admin();
    let me_arn = {
        let (_, body) = server.call(&admin, "Action=GetCallerIdentity&Version=2011-06-15");
        element(&body, "Arn").to_owned()
    };
    let role_arn = create_role(&server, &admin, "deploy", &me_arn);
    let endpoint = format!("http://127.0.0.1:{}", server.port);
    let profiles = Profiles::from_texts(
        &format!(
            "[profile deploy]\nrole_arn = {role_arn}\nsource_profile = base\nrole_session_name = from-profile\n[profile guarded]\nrole_arn = {role_arn}\nsource_profile = base\nmfa_serial = arn:aws:iam::123456789012:mfa/admin\n"
        ),
        &format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            admin.id, admin.secret
        ),
    );
    let issuer = Issuer::start();
    let web_role = web_identity_role(&server, &admin, &issuer, "alice");
    runtime().block_on(async {
        // role_arn + source_profile: the profile's credentials are the role's.
        let deploy =
            Arc::new(ProfileProvider::new(&profiles, "deploy", Some(&endpoint), None).unwrap());
        let sts = StsClient::new(Endpoint::custom(&endpoint, "us-east-1"), deploy.clone());
        let who = sts
            .get_caller_identity(GetCallerIdentityRequest::default())
            .await
            .unwrap();
        assert!(
            who.arn
                .unwrap()
                .ends_with(":assumed-role/deploy/from-profile"),
            "profile role"
        );
        // Cached: ten concurrent callers get the same session.
        let keys: Vec<String> = futures_join(deploy.clone(), 10).await;
        assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");

        // mfa_serial: the callback is asked for the code; the server then refuses the serial.
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let callback: MfaCallback = Arc::new(move |serial: &str| {
            assert_eq!(serial, "arn:aws:iam::123456789012:mfa/admin");
            counter.fetch_add(1, Ordering::SeqCst);
            Ok("123456".to_owned())
        });
        let guarded =
            ProfileProvider::new(&profiles, "guarded", Some(&endpoint), Some(callback)).unwrap();
        let err = guarded.credentials().await.unwrap_err();
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        assert!(err.message.contains("AccessDenied"), "{}", err.message);

        // GetSessionToken provider.
        let base = StsClient::new(
            Endpoint::custom(&endpoint, "us-east-1"),
            Arc::new(StaticProvider::new(
                admin.id.clone(),
                admin.secret.clone(),
                None,
            )),
        );
        let mut sessions = StsSessionCredentialsProvider::new(base.clone());
        sessions.duration_seconds = Some(900);
        let c = sessions.credentials().await.unwrap();
        assert!(c.aws_access_key_id().starts_with("ASIA") && c.token().is_some());

        // Web identity from a file, re-read at every call: a rotated token for a subject the
        // role does not trust is refused.
        let token_file = tmp.path().join("token");
        std::fs::write(&token_file, issuer.mint("alice", "app")).unwrap();
        let web = WebIdentityProvider::from_file(
            StsClient::new(
                Endpoint::custom(&endpoint, "us-east-1"),
                Arc::new(ChainProvider::new(Vec::new())),
            ),
            token_file.clone(),
            web_role.clone(),
            "pod".into(),
        );
        let first = web.credentials().await.unwrap();
        assert!(first.aws_access_key_id().starts_with("ASIA"));
        std::fs::write(&token_file, issuer.mint("mallory", "app")).unwrap();
        let err = web.credentials().await.unwrap_err();
        assert!(err.message.contains("AccessDenied"), "{}", err.message);
    });
}

/// Asks `provider` for credentials from `n` tasks at once; returns the key ids.
async fn futures_join(provider: Arc<ProfileProvider>, n: usize) -> Vec<String> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let p = provider.clone();
            tokio::spawn(async move {
                p.credentials()
                    .await
                    .unwrap()
                    .aws_access_key_id()
                    .to_owned()
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
