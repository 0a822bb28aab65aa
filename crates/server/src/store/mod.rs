//! The identity store behind one trait (STYLE.md #9). The embedded SQLite adapter is the
//! default; a PostgreSQL adapter will implement the same trait and pass the same conformance
//! tests.

mod sqlite;

pub use sqlite::SqliteStore;

use crate::keyring::StoredRingKey;
use std::future::Future;

/// A storage failure. Always a server-side fault for the client (`InternalFailure`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("store: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row does not hold what our schema promises.
    #[error("store: corrupt row: {0}")]
    Corrupt(String),
    /// A write would break a uniqueness rule (a name already taken, concurrently).
    #[error("store: the entity already exists")]
    Conflict,
}

/// A role row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRow {
    /// `AROA…`.
    pub unique_id: String,
    /// Owning account.
    pub account_id: String,
    /// Friendly name (unique case-insensitively in the account).
    pub name: String,
    /// `/` or `/…/`.
    pub path: String,
    /// The trust policy, validated before it was stored.
    pub trust_policy: String,
    /// Free text.
    pub description: Option<String>,
    /// 3600–43200.
    pub max_session_duration: u32,
    /// The permissions boundary's policy ARN.
    pub boundary: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// Whose tags or inline policy a row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OwnerTable {
    /// A user's.
    User,
    /// A role's.
    Role,
    /// An OpenID Connect provider's (tags only; its owner id is its ARN).
    OidcProvider,
    /// A group's (inline policies and attachments; no tags).
    Group,
    /// A managed policy's (tags only; its owner id is its ARN).
    Policy,
    /// A virtual MFA device's (tags only; its owner id is its serial number).
    MfaDevice,
    /// A SAML provider's (tags only; its owner id is its ARN).
    SamlProvider,
}

impl OwnerTable {
    /// The `owner_kind` of an attachment row.
    pub fn attachment_kind(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Role => "role",
            Self::Group => "group",
            Self::OidcProvider => "oidc-provider",
            Self::Policy => "policy",
            Self::MfaDevice => "mfa-device",
            Self::SamlProvider => "saml-provider",
        }
    }
}

/// A customer managed policy row (its versions are rows of their own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedPolicyRow {
    /// `arn:<partition>:iam::<account>:policy<path><name>`.
    pub arn: String,
    /// `ANPA…`.
    pub unique_id: String,
    /// Owning account.
    pub account_id: String,
    /// Name, unique case-insensitively in the account.
    pub name: String,
    /// Path.
    pub path: String,
    /// Free text.
    pub description: Option<String>,
    /// The number of the version in force.
    pub default_version: u32,
    /// The number the next version gets (numbers are never reused).
    pub next_version: u32,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last version change.
    pub updated_at: i64,
}

/// A version of a managed policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersionRow {
    /// The policy.
    pub policy_arn: String,
    /// `N` of `vN`.
    pub version: u32,
    /// The JSON document, validated before it was stored.
    pub document: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A virtual MFA device row. The seed is sealed under the master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaDeviceRow {
    /// `arn:<partition>:iam::<account>:mfa<path><name>`.
    pub serial: String,
    /// Owning account.
    pub account_id: String,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// The TOTP seed, sealed with the serial number as label.
    pub seed_sealed: Vec<u8>,
    /// The user it is enabled for.
    pub user_id: Option<String>,
    /// Unix seconds when it was enabled.
    pub enabled_at: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A group row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRow {
    /// `AGPA…`.
    pub unique_id: String,
    /// Owning account.
    pub account_id: String,
    /// Name, unique case-insensitively in the account.
    pub name: String,
    /// Path.
    pub path: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A managed policy attached to a user, group or role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachmentRow {
    /// The policy (customer or AWS managed).
    pub policy_arn: String,
    /// User, group or role.
    pub table: OwnerTable,
    /// The owner's unique id.
    pub owner_id: String,
}

/// An IAM OpenID Connect provider row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProviderRow {
    /// `arn:<partition>:iam::<account>:oidc-provider/<url>`.
    pub arn: String,
    /// Owning account.
    pub account_id: String,
    /// The issuer URL without its scheme (unique in the account).
    pub url: String,
    /// Audiences.
    pub client_ids: Vec<String>,
    /// Lowercase hex SHA-1 thumbprints.
    pub thumbprints: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// An IAM SAML provider row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlProviderRow {
    /// `arn:<partition>:iam::<account>:saml-provider/<name>`.
    pub arn: String,
    /// Owning account.
    pub account_id: String,
    /// The name (unique in the account).
    pub name: String,
    /// `SAMLProviderUUID`.
    pub uuid: String,
    /// The metadata document as uploaded (parsed again when the snapshot is built).
    pub metadata: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// A tag or an inline policy of a user or role, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRow {
    /// User or role.
    pub table: OwnerTable,
    /// The owner's unique id.
    pub owner_id: String,
    /// Tag key or policy name.
    pub name: String,
    /// Tag value or policy document.
    pub value: String,
}

/// One mutation; [`Store::apply`] runs a list of them in one transaction.
#[derive(Clone, Debug)]
pub enum Write {
    /// Create an account (only a bootstrap file does: IAM has no call for it).
    InsertAccount(AccountRow),
    /// Create a user.
    InsertUser(UserRow),
    /// Rename or move a user or group (their ids, and so everything that refers to them, stay).
    Rename {
        /// User or group.
        table: OwnerTable,
        /// Unique id.
        unique_id: String,
        /// New name.
        name: String,
        /// New path.
        path: String,
    },
    /// Delete a user (its tags go with it).
    DeleteUser {
        /// Unique id.
        unique_id: String,
    },
    /// Create a role.
    InsertRole(RoleRow),
    /// Delete a role (its tags go with it).
    DeleteRole {
        /// Unique id.
        unique_id: String,
    },
    /// Replace a role's mutable attributes.
    UpdateRole {
        /// Unique id.
        unique_id: String,
        /// New description.
        description: Option<String>,
        /// New maximum session duration.
        max_session_duration: u32,
        /// New trust policy.
        trust_policy: String,
    },
    /// Replace the tags of a user or role.
    SetTags {
        /// Whose.
        table: OwnerTable,
        /// The owner's unique id.
        owner_id: String,
        /// The complete new set, in order.
        tags: Vec<(String, String)>,
    },
    /// Create or replace an inline policy.
    PutPolicy {
        /// Whose.
        table: OwnerTable,
        /// The owner's unique id.
        owner_id: String,
        /// Policy name.
        name: String,
        /// Document.
        document: String,
    },
    /// Delete an inline policy.
    DeletePolicy {
        /// Whose.
        table: OwnerTable,
        /// The owner's unique id.
        owner_id: String,
        /// Policy name.
        name: String,
    },
    /// Create an OpenID Connect provider.
    InsertOidcProvider(OidcProviderRow),
    /// Replace a provider's audiences and thumbprints.
    UpdateOidcProvider {
        /// Which provider.
        arn: String,
        /// The complete new audience list.
        client_ids: Vec<String>,
        /// The complete new thumbprint list.
        thumbprints: Vec<String>,
    },
    /// Delete a provider (its tags go with it).
    DeleteOidcProvider {
        /// Which provider.
        arn: String,
    },
    /// Create a SAML provider.
    InsertSamlProvider(SamlProviderRow),
    /// Replace a SAML provider's metadata.
    UpdateSamlProvider {
        /// Which provider.
        arn: String,
        /// The new document.
        metadata: String,
    },
    /// Delete a SAML provider (its tags go with it).
    DeleteSamlProvider {
        /// Which provider.
        arn: String,
    },
    /// Create a managed policy (its first version is a separate write).
    InsertManagedPolicy(ManagedPolicyRow),
    /// Record a version change of a managed policy.
    UpdateManagedPolicy {
        /// Which policy.
        arn: String,
        /// The version in force.
        default_version: u32,
        /// The number the next version gets.
        next_version: u32,
        /// Unix seconds.
        updated_at: i64,
    },
    /// Delete a managed policy (its versions and tags go with it).
    DeleteManagedPolicy {
        /// Which policy.
        arn: String,
    },
    /// Add a version to a managed policy.
    InsertPolicyVersion(PolicyVersionRow),
    /// Delete a version of a managed policy.
    DeletePolicyVersion {
        /// Which policy.
        arn: String,
        /// Which version.
        version: u32,
    },
    /// Create a group.
    InsertGroup(GroupRow),
    /// Delete a group (memberships and inline policies go with it).
    DeleteGroup {
        /// Unique id.
        unique_id: String,
    },
    /// Add a user to a group (a no-op when already a member).
    AddMember {
        /// The group's unique id.
        group_id: String,
        /// The user's unique id.
        user_id: String,
    },
    /// Remove a user from a group.
    RemoveMember {
        /// The group's unique id.
        group_id: String,
        /// The user's unique id.
        user_id: String,
    },
    /// Attach a managed policy (a no-op when already attached).
    Attach(AttachmentRow),
    /// Detach a managed policy.
    Detach(AttachmentRow),
    /// Set or clear the permissions boundary of a user or role.
    SetBoundary {
        /// User or role.
        table: OwnerTable,
        /// The owner's unique id.
        owner_id: String,
        /// The boundary policy's ARN, or `None` to remove it.
        arn: Option<String>,
    },
    /// Create a virtual MFA device.
    InsertMfaDevice(MfaDeviceRow),
    /// Enable a device for a user, or (with `None`) deactivate it.
    AssignMfaDevice {
        /// Which device.
        serial: String,
        /// The user's unique id and the time it was enabled.
        assignment: Option<(String, i64)>,
    },
    /// Delete a virtual MFA device (its tags go with it).
    DeleteMfaDevice {
        /// Which device.
        serial: String,
    },
    /// Create an access key.
    InsertAccessKey(AccessKeyRow),
    /// Activate or deactivate an access key.
    SetAccessKeyActive {
        /// Key id.
        id: String,
        /// New status.
        active: bool,
    },
    /// Delete an access key.
    DeleteAccessKey {
        /// Key id.
        id: String,
    },
}

/// An account row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    /// 12 digits.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// An IAM user row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    /// `AIDA…`.
    pub unique_id: String,
    /// Owning account.
    pub account_id: String,
    /// Friendly name (case preserved; unique case-insensitively in the account).
    pub name: String,
    /// `/` or `/…/`.
    pub path: String,
    /// The permissions boundary's policy ARN.
    pub boundary: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
}

/// An inline policy attached to a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserPolicyRow {
    /// The user's unique id.
    pub user_id: String,
    /// Policy name.
    pub name: String,
    /// The JSON document, validated before it was stored.
    pub document: String,
}

/// A long-term access key row. The secret is sealed under the master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKeyRow {
    /// `AKIA…`.
    pub id: String,
    /// Owning account.
    pub account_id: String,
    /// Owning user's unique id; `None` for the account root's keys.
    pub user_id: Option<String>,
    /// The secret, sealed under the master key with the key id as label.
    pub secret_sealed: Vec<u8>,
    /// `Active` or not.
    pub active: bool,
    /// Unix seconds.
    pub created_at: i64,
}

/// Everything the in-memory snapshot is built from.
#[derive(Clone, Debug, Default)]
pub struct StoreData {
    /// Accounts.
    pub accounts: Vec<AccountRow>,
    /// Users.
    pub users: Vec<UserRow>,
    /// Roles.
    pub roles: Vec<RoleRow>,
    /// Access keys.
    pub access_keys: Vec<AccessKeyRow>,
    /// OpenID Connect providers.
    pub oidc_providers: Vec<OidcProviderRow>,
    /// Customer managed policies.
    pub managed_policies: Vec<ManagedPolicyRow>,
    /// Their versions.
    pub policy_versions: Vec<PolicyVersionRow>,
    /// Groups.
    pub groups: Vec<GroupRow>,
    /// `(group id, user id)` memberships.
    pub memberships: Vec<(String, String)>,
    /// Managed policies attached to users, groups and roles.
    pub attachments: Vec<AttachmentRow>,
    /// Virtual MFA devices.
    pub mfa_devices: Vec<MfaDeviceRow>,
    /// SAML providers.
    pub saml_providers: Vec<SamlProviderRow>,
    /// Inline policies of users, groups and roles.
    pub policies: Vec<OwnedRow>,
    /// Tags of users and roles, in insertion order.
    pub tags: Vec<OwnedRow>,
}

/// What a first start writes, in one transaction.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    /// The account.
    pub account: AccountRow,
    /// The administrator.
    pub admin: UserRow,
    /// Its policy.
    pub admin_policy: UserPolicyRow,
    /// Its key.
    pub admin_key: AccessKeyRow,
    /// The first ring key.
    pub ring_key: StoredRingKey,
}

/// The storage operations the server needs. Writes are durable when the future completes.
pub trait Store: Send + Sync + 'static {
    /// Whether the store holds no account yet (first start).
    fn is_empty(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Writes a first start's account, administrator and ring key, all or nothing.
    fn bootstrap(&self, b: &Bootstrap) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Applies writes atomically; durable when the future completes.
    fn apply(&self, writes: &[Write]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Reads every identity, for a new snapshot.
    fn load(&self) -> impl Future<Output = Result<StoreData, StoreError>> + Send;
    /// Records that `(kind, id)` has been used, until `expires_at` (Unix seconds); `false` when
    /// it was already recorded and has not expired (a replay). Expired records are purged.
    fn claim_once(
        &self,
        kind: &str,
        id: &str,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Reads the key ring.
    fn ring_keys(&self) -> impl Future<Output = Result<Vec<StoredRingKey>, StoreError>> + Send;
    /// Adds a ring key and demotes the current active key(s) at `now`, all or nothing.
    fn rotate_ring(
        &self,
        new_key: &StoredRingKey,
        now: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
