//! The immutable in-memory view of the identity store that serves every request (DESIGN.md §3):
//! hash lookups only, no disk, no lock. Writes build a new snapshot and swap it in.

use crate::keyring::MasterKey;
use crate::store::{OwnerTable, StoreData, StoreError};
use arc_swap::ArcSwapOption;
use std::collections::HashMap;
use std::sync::Arc;
use tessera_policy::{Policy, PolicyKind};
use tessera_proto::{AccountId, Arn};
use tessera_sigv4::{Scope, SecretKey, SigningKey};

/// An IAM user with its policies parsed.
#[derive(Debug)]
pub struct User {
    /// `AIDA…`.
    pub unique_id: String,
    /// Owning account.
    pub account: AccountId,
    /// Friendly name.
    pub name: String,
    /// Path (`/` or `/…/`).
    pub path: String,
    /// `arn:<partition>:iam::<account>:user<path><name>`.
    pub arn: Arn,
    /// Unix seconds.
    pub created_at: i64,
    /// Inline policies, sorted by name.
    pub inline: Vec<InlinePolicy>,
    /// Tags, in the order they were added.
    pub tags: Vec<(String, String)>,
    /// Ids of the user's access keys, oldest first.
    pub key_ids: Vec<String>,
}

impl User {
    /// Every identity policy of the user, parsed.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        self.inline.iter().map(|p| &p.policy)
    }
}

/// An IAM role with its policies parsed.
#[derive(Debug)]
pub struct Role {
    /// `AROA…`.
    pub unique_id: String,
    /// Owning account.
    pub account: AccountId,
    /// Friendly name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `arn:<partition>:iam::<account>:role<path><name>`.
    pub arn: Arn,
    /// Unix seconds.
    pub created_at: i64,
    /// The trust policy as written.
    pub trust_document: String,
    /// The trust policy, parsed.
    pub trust: Policy,
    /// Free text.
    pub description: Option<String>,
    /// 3600–43200 seconds.
    pub max_session_duration: u32,
    /// Inline policies, sorted by name.
    pub inline: Vec<InlinePolicy>,
    /// Tags, in the order they were added.
    pub tags: Vec<(String, String)>,
}

/// An IAM OpenID Connect provider: the issuers web identity tokens may come from.
#[derive(Debug)]
pub struct OidcProvider {
    /// `arn:<partition>:iam::<account>:oidc-provider/<url>`.
    pub arn: String,
    /// Owning account.
    pub account: AccountId,
    /// The issuer without its scheme (`host[:port][/path]`), exactly as registered.
    pub url: String,
    /// Audiences a token may be issued for.
    pub client_ids: Vec<String>,
    /// Lowercase hex SHA-1 thumbprints of CA certificates trusted for this issuer.
    pub thumbprints: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Tags, in the order they were added.
    pub tags: Vec<(String, String)>,
}

/// An inline policy: its name, its text as written, and its parsed form.
#[derive(Debug)]
pub struct InlinePolicy {
    /// Name, unique per user.
    pub name: String,
    /// The JSON document as stored.
    pub document: String,
    /// Parsed once here, never per request.
    pub policy: Policy,
}

/// Who owns a long-term key.
#[derive(Debug, Clone)]
pub enum KeyOwner {
    /// An IAM user.
    User(Arc<User>),
    /// The account root.
    Root(AccountId),
}

/// A long-term access key, secret unsealed.
#[derive(Debug)]
pub struct LongTermKey {
    /// Owner.
    pub owner: KeyOwner,
    /// Unix seconds.
    pub created_at: i64,
    /// The secret, for verifying signatures.
    pub secret: SecretKey,
    /// Inactive keys authenticate nothing.
    pub active: bool,
    /// The signing key of the scope last used with this key (clients sign a whole day with one
    /// scope), so verification skips four HMACs per request. Replaced, never locked.
    pub signing: ArcSwapOption<SigningKey>,
}

impl LongTermKey {
    /// Runs `f` with the signing key for `scope`, derived once per scope change. The cached key
    /// is borrowed, not cloned, so concurrent requests do not contend on a reference count.
    pub fn with_signing_key<T>(&self, scope: &Scope, f: impl FnOnce(&SigningKey) -> T) -> T {
        let cached = self.signing.load();
        if let Some(key) = cached.as_deref()
            && key.scope() == scope
        {
            return f(key);
        }
        let fresh = Arc::new(SigningKey::derive(&self.secret, scope));
        self.signing.store(Some(fresh.clone()));
        f(&fresh)
    }
}

/// The snapshot.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The partition every ARN is in.
    pub partition: String,
    users: HashMap<String, Arc<User>>,
    /// `(account, lowercased name)` → user: names are unique case-insensitively.
    users_by_name: HashMap<(AccountId, String), Arc<User>>,
    roles_by_name: HashMap<(AccountId, String), Arc<Role>>,
    roles: HashMap<String, Arc<Role>>,
    keys: HashMap<String, LongTermKey>,
    oidc_providers: HashMap<String, Arc<OidcProvider>>,
    /// `(account, url)` → provider: how a token's issuer finds its provider.
    oidc_by_url: HashMap<(AccountId, String), Arc<OidcProvider>>,
}

fn account(id: &str) -> Result<AccountId, StoreError> {
    AccountId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("account id {id}")))
}

impl Snapshot {
    /// Builds a snapshot, unsealing key secrets and parsing policies.
    pub fn build(
        data: &StoreData,
        master: &MasterKey,
        partition: &str,
    ) -> Result<Self, StoreError> {
        let mut inline: HashMap<(OwnerTable, &str), Vec<InlinePolicy>> = HashMap::new();
        for p in &data.policies {
            let policy = Policy::parse(&p.value, PolicyKind::Identity).map_err(|e| {
                StoreError::Corrupt(format!("policy {} of {}: {e}", p.name, p.owner_id))
            })?;
            inline
                .entry((p.table, p.owner_id.as_str()))
                .or_default()
                .push(InlinePolicy {
                    name: p.name.clone(),
                    document: p.value.clone(),
                    policy,
                });
        }
        for list in inline.values_mut() {
            list.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let mut tags: HashMap<(OwnerTable, &str), Vec<(String, String)>> = HashMap::new();
        for t in &data.tags {
            tags.entry((t.table, t.owner_id.as_str()))
                .or_default()
                .push((t.name.clone(), t.value.clone()));
        }
        let mut key_ids: HashMap<&str, Vec<(i64, String)>> = HashMap::new();
        for k in &data.access_keys {
            if let Some(uid) = &k.user_id {
                key_ids
                    .entry(uid.as_str())
                    .or_default()
                    .push((k.created_at, k.id.clone()));
            }
        }
        let mut users = HashMap::new();
        let mut users_by_name = HashMap::new();
        for u in &data.users {
            let account = account(&u.account_id)?;
            let arn = Arn::new(
                partition,
                "iam",
                "",
                &u.account_id,
                &format!("user{}{}", u.path, u.name),
            );
            let policies = inline
                .remove(&(OwnerTable::User, u.unique_id.as_str()))
                .unwrap_or_default();
            let mut keys = key_ids.remove(u.unique_id.as_str()).unwrap_or_default();
            keys.sort();
            let user = Arc::new(User {
                unique_id: u.unique_id.clone(),
                account,
                name: u.name.clone(),
                path: u.path.clone(),
                arn,
                created_at: u.created_at,
                inline: policies,
                tags: tags
                    .remove(&(OwnerTable::User, u.unique_id.as_str()))
                    .unwrap_or_default(),
                key_ids: keys.into_iter().map(|(_, id)| id).collect(),
            });
            users_by_name.insert((account, u.name.to_lowercase()), user.clone());
            users.insert(u.unique_id.clone(), user);
        }
        let mut roles_by_name = HashMap::new();
        let mut roles = HashMap::new();
        for r in &data.roles {
            let account = account(&r.account_id)?;
            let trust = Policy::parse(&r.trust_policy, PolicyKind::Trust)
                .map_err(|e| StoreError::Corrupt(format!("trust policy of {}: {e}", r.name)))?;
            let role = Arc::new(Role {
                unique_id: r.unique_id.clone(),
                account,
                name: r.name.clone(),
                path: r.path.clone(),
                arn: Arn::new(
                    partition,
                    "iam",
                    "",
                    &r.account_id,
                    &format!("role{}{}", r.path, r.name),
                ),
                created_at: r.created_at,
                trust_document: r.trust_policy.clone(),
                trust,
                description: r.description.clone(),
                max_session_duration: r.max_session_duration,
                inline: inline
                    .remove(&(OwnerTable::Role, r.unique_id.as_str()))
                    .unwrap_or_default(),
                tags: tags
                    .remove(&(OwnerTable::Role, r.unique_id.as_str()))
                    .unwrap_or_default(),
            });
            roles_by_name.insert((account, r.name.to_lowercase()), role.clone());
            roles.insert(r.unique_id.clone(), role);
        }
        let mut oidc_providers = HashMap::new();
        let mut oidc_by_url = HashMap::new();
        for p in &data.oidc_providers {
            let account = account(&p.account_id)?;
            let provider = Arc::new(OidcProvider {
                arn: p.arn.clone(),
                account,
                url: p.url.clone(),
                client_ids: p.client_ids.clone(),
                thumbprints: p.thumbprints.clone(),
                created_at: p.created_at,
                tags: tags
                    .remove(&(OwnerTable::OidcProvider, p.arn.as_str()))
                    .unwrap_or_default(),
            });
            oidc_by_url.insert((account, p.url.clone()), provider.clone());
            oidc_providers.insert(p.arn.clone(), provider);
        }
        let mut keys = HashMap::new();
        for k in &data.access_keys {
            let owner = match &k.user_id {
                Some(uid) => KeyOwner::User(
                    users
                        .get(uid)
                        .cloned()
                        .ok_or_else(|| StoreError::Corrupt(format!("key {} has no user", k.id)))?,
                ),
                None => KeyOwner::Root(account(&k.account_id)?),
            };
            let secret = master.open(&k.id, &k.secret_sealed).map_err(|_| {
                StoreError::Corrupt(format!(
                    "secret of key {} does not open with this master key",
                    k.id
                ))
            })?;
            let secret = String::from_utf8(secret.to_vec())
                .map_err(|_| StoreError::Corrupt(format!("secret of key {}", k.id)))?;
            keys.insert(
                k.id.clone(),
                LongTermKey {
                    owner,
                    created_at: k.created_at,
                    secret: SecretKey::new(secret),
                    active: k.active,
                    signing: ArcSwapOption::empty(),
                },
            );
        }
        Ok(Self {
            partition: partition.to_owned(),
            users,
            users_by_name,
            roles_by_name,
            roles,
            keys,
            oidc_providers,
            oidc_by_url,
        })
    }

    /// An OpenID Connect provider by ARN.
    pub fn oidc_provider(&self, arn: &str) -> Option<&Arc<OidcProvider>> {
        self.oidc_providers.get(arn)
    }

    /// The provider of an account registered for an issuer URL (without scheme, exact).
    pub fn oidc_provider_for(&self, account: AccountId, url: &str) -> Option<&Arc<OidcProvider>> {
        self.oidc_by_url.get(&(account, url.to_owned()))
    }

    /// The providers of an account, sorted by ARN.
    pub fn oidc_providers_in(&self, account: AccountId) -> Vec<&Arc<OidcProvider>> {
        let mut list: Vec<&Arc<OidcProvider>> = self
            .oidc_providers
            .values()
            .filter(|p| p.account == account)
            .collect();
        list.sort_by(|a, b| a.arn.cmp(&b.arn));
        list
    }

    /// A long-term key by id.
    pub fn key(&self, id: &str) -> Option<&LongTermKey> {
        self.keys.get(id)
    }

    /// A user by unique id.
    pub fn user(&self, unique_id: &str) -> Option<&Arc<User>> {
        self.users.get(unique_id)
    }

    /// A user by name, case-insensitively, within an account.
    pub fn user_named(&self, account: AccountId, name: &str) -> Option<&Arc<User>> {
        self.users_by_name.get(&(account, name.to_lowercase()))
    }

    /// A role by unique id.
    pub fn role(&self, unique_id: &str) -> Option<&Arc<Role>> {
        self.roles.get(unique_id)
    }

    /// A role by name, case-insensitively, within an account.
    pub fn role_named(&self, account: AccountId, name: &str) -> Option<&Arc<Role>> {
        self.roles_by_name.get(&(account, name.to_lowercase()))
    }

    /// The roles of an account whose path starts with `prefix`, sorted by name.
    pub fn roles_in(&self, account: AccountId, prefix: &str) -> Vec<&Arc<Role>> {
        let mut list: Vec<&Arc<Role>> = self
            .roles_by_name
            .values()
            .filter(|r| r.account == account && r.path.starts_with(prefix))
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// The users of an account whose path starts with `prefix`, sorted by name.
    pub fn users_in(&self, account: AccountId, prefix: &str) -> Vec<&Arc<User>> {
        let mut list: Vec<&Arc<User>> = self
            .users
            .values()
            .filter(|u| u.account == account && u.path.starts_with(prefix))
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }
}
