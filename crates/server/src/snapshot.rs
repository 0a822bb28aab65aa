//! The immutable in-memory view of the identity store that serves every request (DESIGN.md §3):
//! hash lookups only, no disk, no lock. Writes build a new snapshot and swap it in.

use crate::aws_policies::AWS_POLICIES;
use crate::keyring::MasterKey;
use crate::mfa::Seed;
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
    /// Managed policies attached to the user, in attachment order.
    pub attached: Vec<Arc<ManagedPolicy>>,
    /// The groups the user is in, sorted by name.
    pub groups: Vec<Arc<Group>>,
    /// The permissions boundary.
    pub boundary: Option<Arc<ManagedPolicy>>,
}

impl User {
    /// Every identity policy of the user, parsed: its inline and attached policies and those of
    /// its groups (IAM-ADMIN-SUBSET.md §3.6).
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        inline_and_attached(&self.inline, &self.attached)
            .chain(self.groups.iter().flat_map(|g| g.policies()))
    }

    /// The permissions boundary's policy, as it is now.
    pub fn boundary_policy(&self) -> Option<&Policy> {
        self.boundary.as_ref().and_then(|b| b.in_force())
    }
}

/// An owner's inline policies and the policies in force of its attached managed ones.
fn inline_and_attached<'a>(
    inline: &'a [InlinePolicy],
    attached: &'a [Arc<ManagedPolicy>],
) -> impl Iterator<Item = &'a Policy> {
    inline
        .iter()
        .map(|p| &p.policy)
        .chain(attached.iter().filter_map(|m| m.in_force()))
}

/// A version of a managed policy.
#[derive(Debug)]
pub struct PolicyVersion {
    /// `N` of `vN`.
    pub number: u32,
    /// The document as written.
    pub document: String,
    /// Parsed once here.
    pub policy: Policy,
    /// Unix seconds.
    pub created_at: i64,
}

/// A managed policy: a customer's, or one of the built-in AWS managed policies.
#[derive(Debug)]
pub struct ManagedPolicy {
    /// `arn:<partition>:iam::<account or "aws">:policy<path><name>`.
    pub arn: String,
    /// `ANPA…`.
    pub unique_id: String,
    /// The owning account; `None` for AWS managed policies, which no one may change.
    pub account: Option<AccountId>,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// Free text.
    pub description: Option<String>,
    /// The version in force.
    pub default_version: u32,
    /// The number the next version gets.
    pub next_version: u32,
    /// Versions, oldest first.
    pub versions: Vec<PolicyVersion>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last version change.
    pub updated_at: i64,
    /// Tags, in the order they were added.
    pub tags: Vec<(String, String)>,
    /// Users, groups and roles it is attached to.
    pub attachment_count: usize,
    /// Users and roles it bounds.
    pub boundary_count: usize,
}

impl ManagedPolicy {
    /// The default version's policy: what attachments, boundaries and session policies apply.
    pub fn in_force(&self) -> Option<&Policy> {
        self.version(self.default_version).map(|v| &v.policy)
    }

    /// A version by number.
    pub fn version(&self, number: u32) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.number == number)
    }
}

/// An IAM group: a set of users sharing its policies.
#[derive(Debug)]
pub struct Group {
    /// `AGPA…`.
    pub unique_id: String,
    /// Owning account.
    pub account: AccountId,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `arn:<partition>:iam::<account>:group<path><name>`.
    pub arn: Arn,
    /// Unix seconds.
    pub created_at: i64,
    /// Inline policies, sorted by name.
    pub inline: Vec<InlinePolicy>,
    /// Attached managed policies, in attachment order.
    pub attached: Vec<Arc<ManagedPolicy>>,
    /// Unique ids of the members.
    pub member_ids: Vec<String>,
}

impl Group {
    /// The group's inline and attached policies, parsed.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        inline_and_attached(&self.inline, &self.attached)
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
    /// Managed policies attached to the role, in attachment order.
    pub attached: Vec<Arc<ManagedPolicy>>,
    /// The permissions boundary.
    pub boundary: Option<Arc<ManagedPolicy>>,
}

impl Role {
    /// Every identity policy of the role, parsed: inline and attached.
    pub fn policies(&self) -> impl Iterator<Item = &Policy> {
        inline_and_attached(&self.inline, &self.attached)
    }

    /// The permissions boundary's policy, as it is now.
    pub fn boundary_policy(&self) -> Option<&Policy> {
        self.boundary.as_ref().and_then(|b| b.in_force())
    }
}

/// A virtual MFA device, its seed unsealed.
#[derive(Debug)]
pub struct MfaDevice {
    /// `arn:<partition>:iam::<account>:mfa<path><name>`.
    pub serial: String,
    /// Owning account.
    pub account: AccountId,
    /// The TOTP seed.
    pub seed: Seed,
    /// The user it is enabled for, and when (Unix seconds).
    pub assigned: Option<(String, i64)>,
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

/// An IAM SAML provider: the identity provider `AssumeRoleWithSAML` responses may come from.
#[derive(Debug)]
pub struct SamlProvider {
    /// `arn:<partition>:iam::<account>:saml-provider/<name>`.
    pub arn: String,
    /// Owning account.
    pub account: AccountId,
    /// The name, part of `NameQualifier`.
    pub name: String,
    /// `SAMLProviderUUID`, also the `{idp-id}` of recipient URLs.
    pub uuid: String,
    /// The metadata document as uploaded.
    pub document: String,
    /// The metadata, parsed once: entity id, expiry, signing keys.
    pub metadata: tessera_saml::Metadata,
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
    pub fn with_signing_key<T>(&self, scope: &Scope<'_>, f: impl FnOnce(&SigningKey) -> T) -> T {
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
    /// ARN → managed policy (customer and AWS managed).
    managed: HashMap<String, Arc<ManagedPolicy>>,
    groups: HashMap<String, Arc<Group>>,
    groups_by_name: HashMap<(AccountId, String), Arc<Group>>,
    mfa_devices: HashMap<String, Arc<MfaDevice>>,
    saml_providers: HashMap<String, Arc<SamlProvider>>,
}

fn account(id: &str) -> Result<AccountId, StoreError> {
    AccountId::parse(id).ok_or_else(|| StoreError::Corrupt(format!("account id {id}")))
}

/// The managed policies, customer and AWS managed, with their versions parsed and their uses
/// counted.
fn build_managed<'d>(
    data: &'d StoreData,
    tags: &mut HashMap<(OwnerTable, &'d str), Vec<(String, String)>>,
    partition: &str,
) -> Result<HashMap<String, Arc<ManagedPolicy>>, StoreError> {
    let mut attachment_count: HashMap<&str, usize> = HashMap::new();
    for a in &data.attachments {
        *attachment_count.entry(a.policy_arn.as_str()).or_default() += 1;
    }
    let mut boundary_count: HashMap<&str, usize> = HashMap::new();
    let boundaries = data.users.iter().map(|u| &u.boundary);
    for arn in boundaries
        .chain(data.roles.iter().map(|r| &r.boundary))
        .flatten()
    {
        *boundary_count.entry(arn.as_str()).or_default() += 1;
    }
    let mut versions: HashMap<&str, Vec<PolicyVersion>> = HashMap::new();
    for v in &data.policy_versions {
        let policy = Policy::parse(&v.document, PolicyKind::Identity).map_err(|e| {
            StoreError::Corrupt(format!("version {} of {}: {e}", v.version, v.policy_arn))
        })?;
        versions
            .entry(v.policy_arn.as_str())
            .or_default()
            .push(PolicyVersion {
                number: v.version,
                document: v.document.clone(),
                policy,
                created_at: v.created_at,
            });
    }
    let mut managed = HashMap::new();
    for p in &data.managed_policies {
        let mut list = versions.remove(p.arn.as_str()).unwrap_or_default();
        list.sort_by_key(|v| v.number);
        let policy = ManagedPolicy {
            arn: p.arn.clone(),
            unique_id: p.unique_id.clone(),
            account: Some(account(&p.account_id)?),
            name: p.name.clone(),
            path: p.path.clone(),
            description: p.description.clone(),
            default_version: p.default_version,
            next_version: p.next_version,
            versions: list,
            created_at: p.created_at,
            updated_at: p.updated_at,
            tags: tags
                .remove(&(OwnerTable::Policy, p.arn.as_str()))
                .unwrap_or_default(),
            attachment_count: attachment_count.get(p.arn.as_str()).copied().unwrap_or(0),
            boundary_count: boundary_count.get(p.arn.as_str()).copied().unwrap_or(0),
        };
        managed.insert(p.arn.clone(), Arc::new(policy));
    }
    for p in AWS_POLICIES {
        let arn = format!("arn:{partition}:iam::aws:policy/{}", p.name);
        let policy = Policy::parse(p.document, PolicyKind::Identity)
            .map_err(|e| StoreError::Corrupt(format!("built-in policy {}: {e}", p.name)))?;
        let counts = (
            attachment_count.get(arn.as_str()).copied().unwrap_or(0),
            boundary_count.get(arn.as_str()).copied().unwrap_or(0),
        );
        managed.insert(
            arn.clone(),
            Arc::new(ManagedPolicy {
                arn,
                unique_id: p.id.to_owned(),
                account: None,
                name: p.name.to_owned(),
                path: "/".to_owned(),
                description: Some(p.description.to_owned()),
                default_version: 1,
                next_version: 2,
                versions: vec![PolicyVersion {
                    number: 1,
                    document: p.document.to_owned(),
                    policy,
                    created_at: AWS_POLICIES_CREATED,
                }],
                created_at: AWS_POLICIES_CREATED,
                updated_at: AWS_POLICIES_CREATED,
                tags: Vec::new(),
                attachment_count: counts.0,
                boundary_count: counts.1,
            }),
        );
    }
    Ok(managed)
}

/// When the built-in policies say they were created (2015-02-06, as AWS's own show).
const AWS_POLICIES_CREATED: i64 = 1_423_180_800;

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
        let managed = build_managed(data, &mut tags, partition)?;
        let mut attached: HashMap<(OwnerTable, &str), Vec<Arc<ManagedPolicy>>> = HashMap::new();
        for a in &data.attachments {
            let policy = managed.get(&a.policy_arn).ok_or_else(|| {
                StoreError::Corrupt(format!("attachment of unknown policy {}", a.policy_arn))
            })?;
            attached
                .entry((a.table, a.owner_id.as_str()))
                .or_default()
                .push(policy.clone());
        }
        let boundary_of = |arn: &Option<String>| -> Result<Option<Arc<ManagedPolicy>>, StoreError> {
            arn.as_ref()
                .map(|a| {
                    managed
                        .get(a)
                        .cloned()
                        .ok_or_else(|| StoreError::Corrupt(format!("boundary {a} does not exist")))
                })
                .transpose()
        };
        let mut members: HashMap<&str, Vec<String>> = HashMap::new();
        for (group_id, user_id) in &data.memberships {
            members
                .entry(group_id.as_str())
                .or_default()
                .push(user_id.clone());
        }
        let mut groups = HashMap::new();
        let mut groups_by_name = HashMap::new();
        for g in &data.groups {
            let account = account(&g.account_id)?;
            let group = Arc::new(Group {
                unique_id: g.unique_id.clone(),
                account,
                name: g.name.clone(),
                path: g.path.clone(),
                arn: Arn::new(
                    partition,
                    "iam",
                    "",
                    &g.account_id,
                    &format!("group{}{}", g.path, g.name),
                ),
                created_at: g.created_at,
                inline: inline
                    .remove(&(OwnerTable::Group, g.unique_id.as_str()))
                    .unwrap_or_default(),
                attached: attached
                    .remove(&(OwnerTable::Group, g.unique_id.as_str()))
                    .unwrap_or_default(),
                member_ids: members.remove(g.unique_id.as_str()).unwrap_or_default(),
            });
            groups_by_name.insert((account, g.name.to_lowercase()), group.clone());
            groups.insert(g.unique_id.clone(), group);
        }
        let mut groups_of: HashMap<&str, Vec<Arc<Group>>> = HashMap::new();
        for (group_id, user_id) in &data.memberships {
            if let Some(g) = groups.get(group_id) {
                groups_of
                    .entry(user_id.as_str())
                    .or_default()
                    .push(g.clone());
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
                attached: attached
                    .remove(&(OwnerTable::User, u.unique_id.as_str()))
                    .unwrap_or_default(),
                groups: {
                    let mut list = groups_of.remove(u.unique_id.as_str()).unwrap_or_default();
                    list.sort_by(|a, b| a.name.cmp(&b.name));
                    list
                },
                boundary: boundary_of(&u.boundary)?,
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
                attached: attached
                    .remove(&(OwnerTable::Role, r.unique_id.as_str()))
                    .unwrap_or_default(),
                boundary: boundary_of(&r.boundary)?,
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
        let mut saml_providers = HashMap::new();
        for p in &data.saml_providers {
            let metadata = tessera_saml::Metadata::parse(&p.metadata)
                .map_err(|e| StoreError::Corrupt(format!("metadata of {}: {e}", p.arn)))?;
            let provider = SamlProvider {
                arn: p.arn.clone(),
                account: account(&p.account_id)?,
                name: p.name.clone(),
                uuid: p.uuid.clone(),
                document: p.metadata.clone(),
                metadata,
                created_at: p.created_at,
                tags: tags
                    .remove(&(OwnerTable::SamlProvider, p.arn.as_str()))
                    .unwrap_or_default(),
            };
            saml_providers.insert(p.arn.clone(), Arc::new(provider));
        }
        let mut mfa_devices = HashMap::new();
        for d in &data.mfa_devices {
            let seed = master.open(&d.serial, &d.seed_sealed).map_err(|_| {
                StoreError::Corrupt(format!(
                    "seed of MFA device {} does not open with this master key",
                    d.serial
                ))
            })?;
            let device = MfaDevice {
                serial: d.serial.clone(),
                account: account(&d.account_id)?,
                seed: Seed::from_bytes(seed),
                assigned: d.user_id.clone().zip(d.enabled_at),
                tags: tags
                    .remove(&(OwnerTable::MfaDevice, d.serial.as_str()))
                    .unwrap_or_default(),
            };
            mfa_devices.insert(d.serial.clone(), Arc::new(device));
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
            managed,
            groups,
            groups_by_name,
            mfa_devices,
            saml_providers,
        })
    }

    /// A SAML provider by ARN.
    pub fn saml_provider(&self, arn: &str) -> Option<&Arc<SamlProvider>> {
        self.saml_providers.get(arn)
    }

    /// The SAML providers of an account, sorted by ARN.
    pub fn saml_providers_in(&self, account: AccountId) -> Vec<&Arc<SamlProvider>> {
        let mut list: Vec<&Arc<SamlProvider>> = self
            .saml_providers
            .values()
            .filter(|p| p.account == account)
            .collect();
        list.sort_by(|a, b| a.arn.cmp(&b.arn));
        list
    }

    /// A virtual MFA device by serial number.
    pub fn mfa_device(&self, serial: &str) -> Option<&Arc<MfaDevice>> {
        self.mfa_devices.get(serial)
    }

    /// The MFA devices of an account, sorted by serial number.
    pub fn mfa_devices_in(&self, account: AccountId) -> Vec<&Arc<MfaDevice>> {
        let mut list: Vec<&Arc<MfaDevice>> = self
            .mfa_devices
            .values()
            .filter(|d| d.account == account)
            .collect();
        list.sort_by(|a, b| a.serial.cmp(&b.serial));
        list
    }

    /// The MFA devices enabled for a user, sorted by serial number.
    pub fn mfa_devices_of(&self, user_id: &str) -> Vec<&Arc<MfaDevice>> {
        let mut list: Vec<&Arc<MfaDevice>> = self
            .mfa_devices
            .values()
            .filter(|d| d.assigned.as_ref().is_some_and(|(u, _)| u == user_id))
            .collect();
        list.sort_by(|a, b| a.serial.cmp(&b.serial));
        list
    }

    /// A managed policy by ARN (customer or AWS managed).
    pub fn managed_policy(&self, arn: &str) -> Option<&Arc<ManagedPolicy>> {
        self.managed.get(arn)
    }

    /// The managed policies an account can see (its own, and the AWS managed ones), sorted by
    /// name.
    pub fn managed_policies_for(&self, account: AccountId) -> Vec<&Arc<ManagedPolicy>> {
        let mut list: Vec<&Arc<ManagedPolicy>> = self
            .managed
            .values()
            .filter(|p| p.account.is_none_or(|a| a == account))
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.arn.cmp(&b.arn)));
        list
    }

    /// A group by unique id.
    pub fn group(&self, unique_id: &str) -> Option<&Arc<Group>> {
        self.groups.get(unique_id)
    }

    /// A group by name, case-insensitively, within an account.
    pub fn group_named(&self, account: AccountId, name: &str) -> Option<&Arc<Group>> {
        self.groups_by_name.get(&(account, name.to_lowercase()))
    }

    /// The groups of an account whose path starts with `prefix`, sorted by name.
    pub fn groups_in(&self, account: AccountId, prefix: &str) -> Vec<&Arc<Group>> {
        let mut list: Vec<&Arc<Group>> = self
            .groups_by_name
            .values()
            .filter(|g| g.account == account && g.path.starts_with(prefix))
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
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
