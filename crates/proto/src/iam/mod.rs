//! The IAM admin API (version 2010-05-08): the implemented actions, their typed requests
//! validated to the model's limits, and the XML encoding of their results.

mod groups;
mod managed;
mod mfa;
mod saml;

pub use groups::{GroupRequest, GroupResponse, GroupView};
pub use managed::{
    EntityFilter, EntityRef, ManagedRequest, ManagedResponse, PolicyView, Scope, Usage, VersionView,
};
pub use mfa::{Assignment, MfaDeviceView, MfaRequest, MfaResponse, NewDevice, VirtualDeviceView};
pub use saml::{SamlProviderView, SamlRequest, SamlResponse};

use crate::query::Params;
use crate::sts::format_timestamp;
use crate::validate::Violations;
use crate::xml::XmlWriter;
use crate::{ApiError, ErrorCode};
use time::OffsetDateTime;

/// The only IAM API version.
pub const VERSION: &str = "2010-05-08";
/// The XML namespace of every IAM response.
pub const NAMESPACE: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// Default page size of every `List*` action.
pub const DEFAULT_MAX_ITEMS: usize = 100;

macro_rules! actions {
    ($($variant:ident),* $(,)?) => {
        /// The IAM actions this server implements.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Action {
            $(
                #[doc = concat!("`", stringify!($variant), "`.")]
                $variant,
            )*
        }

        impl Action {
            /// Looks an action up by its wire name.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// The wire name, which is also the IAM permission's action name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)*
                }
            }
        }
    };
}

actions!(
    CreateUser,
    GetUser,
    UpdateUser,
    DeleteUser,
    ListUsers,
    TagUser,
    UntagUser,
    ListUserTags,
    CreateAccessKey,
    DeleteAccessKey,
    ListAccessKeys,
    UpdateAccessKey,
    PutUserPolicy,
    GetUserPolicy,
    DeleteUserPolicy,
    ListUserPolicies,
    CreateRole,
    GetRole,
    DeleteRole,
    ListRoles,
    UpdateRole,
    UpdateAssumeRolePolicy,
    ListInstanceProfilesForRole,
    UpdateRoleDescription,
    ListGroupsForUser,
    ListAttachedUserPolicies,
    ListAttachedRolePolicies,
    ListMFADevices,
    TagRole,
    UntagRole,
    ListRoleTags,
    PutRolePolicy,
    GetRolePolicy,
    DeleteRolePolicy,
    ListRolePolicies,
    CreateOpenIDConnectProvider,
    GetOpenIDConnectProvider,
    DeleteOpenIDConnectProvider,
    ListOpenIDConnectProviders,
    AddClientIDToOpenIDConnectProvider,
    RemoveClientIDFromOpenIDConnectProvider,
    UpdateOpenIDConnectProviderThumbprint,
    TagOpenIDConnectProvider,
    UntagOpenIDConnectProvider,
    ListOpenIDConnectProviderTags,
    CreatePolicy,
    GetPolicy,
    DeletePolicy,
    ListPolicies,
    CreatePolicyVersion,
    GetPolicyVersion,
    DeletePolicyVersion,
    ListPolicyVersions,
    SetDefaultPolicyVersion,
    TagPolicy,
    UntagPolicy,
    ListPolicyTags,
    AttachUserPolicy,
    AttachGroupPolicy,
    AttachRolePolicy,
    DetachUserPolicy,
    DetachGroupPolicy,
    DetachRolePolicy,
    ListAttachedGroupPolicies,
    ListEntitiesForPolicy,
    PutUserPermissionsBoundary,
    DeleteUserPermissionsBoundary,
    PutRolePermissionsBoundary,
    DeleteRolePermissionsBoundary,
    CreateGroup,
    GetGroup,
    UpdateGroup,
    DeleteGroup,
    ListGroups,
    AddUserToGroup,
    RemoveUserFromGroup,
    PutGroupPolicy,
    GetGroupPolicy,
    DeleteGroupPolicy,
    ListGroupPolicies,
    CreateVirtualMFADevice,
    EnableMFADevice,
    DeactivateMFADevice,
    DeleteVirtualMFADevice,
    ListVirtualMFADevices,
    ResyncMFADevice,
    TagMFADevice,
    UntagMFADevice,
    ListMFADeviceTags,
    CreateSAMLProvider,
    GetSAMLProvider,
    UpdateSAMLProvider,
    DeleteSAMLProvider,
    ListSAMLProviders,
    TagSAMLProvider,
    UntagSAMLProvider,
    ListSAMLProviderTags,
);

/// The kinds of identity that carry tags and inline policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    /// An IAM user (`UserName`).
    User,
    /// An IAM role (`RoleName`).
    Role,
    /// An OpenID Connect provider (`OpenIDConnectProviderArn`): named by its ARN.
    OidcProvider,
    /// An IAM group (`GroupName`).
    Group,
    /// A managed policy (`PolicyArn`): named by its ARN.
    Policy,
    /// A virtual MFA device (`SerialNumber`): named by its serial number.
    MfaDevice,
    /// A SAML provider (`SAMLProviderArn`): named by its ARN.
    SamlProvider,
}

/// The user or role a tag or inline-policy action applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// User or role.
    pub kind: OwnerKind,
    /// Its name.
    pub name: String,
}

impl OwnerKind {
    /// The wire element naming the owner (`UserName`, `RoleName`).
    pub fn element(self) -> &'static str {
        match self {
            Self::User => "UserName",
            Self::Role => "RoleName",
            Self::OidcProvider => "OpenIDConnectProviderArn",
            Self::Group => "GroupName",
            Self::Policy => "PolicyArn",
            Self::MfaDevice => "SerialNumber",
            Self::SamlProvider => "SAMLProviderArn",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::User => "userName",
            Self::Role => "roleName",
            Self::OidcProvider => "openIDConnectProviderArn",
            Self::Group => "groupName",
            Self::Policy => "policyArn",
            Self::MfaDevice => "serialNumber",
            Self::SamlProvider => "sAMLProviderArn",
        }
    }

    fn max_len(self) -> usize {
        match self {
            Self::User | Self::Group => 128,
            Self::Role => 64,
            Self::OidcProvider | Self::Policy | Self::SamlProvider => 2048,
            Self::MfaDevice => 256,
        }
    }
}

/// Resolves `Action` for version 2010-05-08: `MissingAction`, or `InvalidAction` for an action
/// this server does not know.
pub fn resolve_action(params: &Params<'_>) -> Result<Action, ApiError> {
    let name = params
        .get("Action")
        .ok_or_else(|| ApiError::new(ErrorCode::MissingAction, "Missing Action"))?;
    Action::parse(name).ok_or_else(|| {
        ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {name} for version {VERSION}"),
        )
    })
}

/// A tag on an IAM entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// 1–128 characters; compared case-insensitively.
    pub key: String,
    /// 0–256 characters.
    pub value: String,
}

/// Which page of a `List*` result to return.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Resume after this item (the `Marker` of the previous page).
    pub marker: Option<String>,
    /// Page size, 1–1000.
    pub max_items: usize,
}

/// A validated IAM request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `CreateUser`.
    CreateUser {
        /// `/` or `/…/`.
        path: String,
        /// The new user's name.
        user_name: String,
        /// A managed policy ARN to bound the user's permissions with.
        permissions_boundary: Option<String>,
        /// Initial tags.
        tags: Vec<Tag>,
    },
    /// `GetUser` (the caller when no name is given).
    GetUser {
        /// Whose.
        user_name: Option<String>,
    },
    /// `UpdateUser`: rename and/or move.
    UpdateUser {
        /// Whose.
        user_name: String,
        /// New path, if given.
        new_path: Option<String>,
        /// New name, if given.
        new_user_name: Option<String>,
    },
    /// `DeleteUser`.
    DeleteUser {
        /// Whose.
        user_name: String,
    },
    /// `ListUsers`.
    ListUsers {
        /// Only users whose path starts with this.
        path_prefix: String,
        /// Which page.
        page: Page,
    },
    /// `TagUser`, `TagRole`.
    Tag {
        /// Whose.
        owner: Owner,
        /// Tags to add or replace.
        tags: Vec<Tag>,
    },
    /// `UntagUser`, `UntagRole`.
    Untag {
        /// Whose.
        owner: Owner,
        /// Keys to remove (case-insensitively).
        tag_keys: Vec<String>,
    },
    /// `ListUserTags`, `ListRoleTags`.
    ListTags {
        /// Whose.
        owner: Owner,
        /// Which page.
        page: Page,
    },
    /// `CreateAccessKey` (for the caller when no name is given).
    CreateAccessKey {
        /// Whose.
        user_name: Option<String>,
    },
    /// `DeleteAccessKey`.
    DeleteAccessKey {
        /// Whose (the caller when absent).
        user_name: Option<String>,
        /// Which key.
        access_key_id: String,
    },
    /// `ListAccessKeys`.
    ListAccessKeys {
        /// Whose (the caller when absent).
        user_name: Option<String>,
        /// Which page.
        page: Page,
    },
    /// `UpdateAccessKey`.
    UpdateAccessKey {
        /// Whose (the caller when absent).
        user_name: Option<String>,
        /// Which key.
        access_key_id: String,
        /// Active or Inactive.
        active: bool,
    },
    /// `PutUserPolicy`, `PutRolePolicy`.
    PutPolicy {
        /// Whose.
        owner: Owner,
        /// The inline policy's name.
        policy_name: String,
        /// The JSON document (validated by the policy engine when applied).
        policy_document: String,
    },
    /// `GetUserPolicy`, `GetRolePolicy`.
    GetPolicy {
        /// Whose.
        owner: Owner,
        /// Which policy.
        policy_name: String,
    },
    /// `DeleteUserPolicy`, `DeleteRolePolicy`.
    DeletePolicy {
        /// Whose.
        owner: Owner,
        /// Which policy.
        policy_name: String,
    },
    /// `ListUserPolicies`, `ListRolePolicies`.
    ListPolicies {
        /// Whose.
        owner: Owner,
        /// Which page.
        page: Page,
    },
    /// `CreateRole`.
    CreateRole {
        /// `/` or `/…/`.
        path: String,
        /// The new role's name.
        role_name: String,
        /// The trust policy (validated by the policy engine when applied).
        trust_policy: String,
        /// Free text.
        description: Option<String>,
        /// 3600–43200 seconds.
        max_session_duration: u32,
        /// A managed policy ARN to bound the role's permissions with.
        permissions_boundary: Option<String>,
        /// Initial tags.
        tags: Vec<Tag>,
    },
    /// `GetRole`.
    GetRole {
        /// Which role.
        role_name: String,
    },
    /// `DeleteRole`.
    DeleteRole {
        /// Which role.
        role_name: String,
    },
    /// `ListRoles`.
    ListRoles {
        /// Only roles whose path starts with this.
        path_prefix: String,
        /// Which page.
        page: Page,
    },
    /// `UpdateRole`.
    UpdateRole {
        /// Which role.
        role_name: String,
        /// New description, if given.
        description: Option<String>,
        /// New maximum session duration, if given.
        max_session_duration: Option<u32>,
    },
    /// `UpdateAssumeRolePolicy`.
    UpdateAssumeRolePolicy {
        /// Which role.
        role_name: String,
        /// The new trust policy.
        policy_document: String,
    },
    /// `UpdateRoleDescription`.
    UpdateRoleDescription {
        /// Which role.
        role_name: String,
        /// The new description.
        description: String,
    },
    /// `CreateOpenIDConnectProvider`.
    CreateOidcProvider {
        /// `https://host[:port][/path]`, as given (checked by the action).
        url: String,
        /// Audiences.
        client_ids: Vec<String>,
        /// SHA-1 thumbprints of the IdP's top CA certificate (40 characters each).
        thumbprints: Vec<String>,
        /// Initial tags.
        tags: Vec<Tag>,
    },
    /// `GetOpenIDConnectProvider`, `DeleteOpenIDConnectProvider`.
    OidcProvider {
        /// Which action.
        action: Action,
        /// The provider's ARN, as given.
        arn: String,
    },
    /// `ListOpenIDConnectProviders`.
    ListOidcProviders,
    /// `AddClientIDToOpenIDConnectProvider`, `RemoveClientIDFromOpenIDConnectProvider`.
    OidcClientId {
        /// Add (`true`) or remove.
        add: bool,
        /// The provider's ARN, as given.
        arn: String,
        /// The audience.
        client_id: String,
    },
    /// `UpdateOpenIDConnectProviderThumbprint`: replaces the whole list.
    UpdateOidcThumbprints {
        /// The provider's ARN, as given.
        arn: String,
        /// The new list.
        thumbprints: Vec<String>,
    },
    /// Managed policies, attachments and permissions boundaries.
    Managed(ManagedRequest),
    /// Groups and their members.
    Group(GroupRequest),
    /// Virtual MFA devices.
    Mfa(MfaRequest),
    /// SAML providers.
    Saml(SamlRequest),
    /// `ListInstanceProfilesForRole`: this server has no instance profiles, so the listing is
    /// always empty; clients such as Terraform read it on every refresh.
    EmptyListing {
        /// Whose.
        owner: Owner,
    },
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

struct Reader<'p, 'a> {
    params: &'p Params<'a>,
    v: Violations,
}

impl<'a> Reader<'_, 'a> {
    fn name(&mut self, param: &str, path: &str, max: usize, required: bool) -> Option<String> {
        match self.params.get(param) {
            Some(value) => {
                self.v.length(value, path, 1, max);
                self.v.pattern(value, path, "[\\w+=,.@-]+", is_name_char);
                Some(value.to_owned())
            }
            None => {
                if required {
                    self.v.missing(path);
                }
                None
            }
        }
    }

    fn required_name(&mut self, param: &str, path: &str, max: usize) -> String {
        self.name(param, path, max, true).unwrap_or_default()
    }

    fn user(&mut self) -> String {
        self.required_name("UserName", "userName", 128)
    }

    fn optional_user(&mut self) -> Option<String> {
        self.name("UserName", "userName", 128, false)
    }

    fn owner(&mut self, kind: OwnerKind) -> Owner {
        let name = match kind {
            OwnerKind::User | OwnerKind::Role | OwnerKind::Group => {
                self.required_name(kind.element(), kind.path(), kind.max_len())
            }
            OwnerKind::OidcProvider | OwnerKind::Policy | OwnerKind::SamlProvider => {
                self.arn(kind.element(), kind.path())
            }
            OwnerKind::MfaDevice => self.serial(),
        };
        Owner { kind, name }
    }

    /// A required ARN parameter (20–2048 characters; its shape is checked by the action).
    fn arn(&mut self, param: &str, path: &str) -> String {
        match self.params.get(param) {
            Some(a) => {
                self.v.length(a, path, 20, 2048);
                a.to_owned()
            }
            None => {
                self.v.missing(path);
                String::new()
            }
        }
    }

    fn client_id(&mut self) -> String {
        match self.params.get("ClientID") {
            Some(c) => {
                self.v.length(c, "clientID", 1, 255);
                c.to_owned()
            }
            None => {
                self.v.missing("clientID");
                String::new()
            }
        }
    }

    /// A `member.N` list of strings, each `min..=max` characters long.
    fn string_list(
        &mut self,
        param: &str,
        path: &str,
        (min, max): (usize, usize),
        required: bool,
    ) -> Vec<String> {
        match self.params.list(param) {
            Ok(items) => {
                if items.is_empty() && required && self.params.get(param).is_none() {
                    self.v.missing(path);
                }
                for item in &items {
                    self.v.length(item, path, min, max);
                }
                items.into_iter().map(str::to_owned).collect()
            }
            Err(bad) => {
                self.v.push(Some(&bad), path, "be a well-formed list");
                Vec::new()
            }
        }
    }

    fn role(&mut self) -> String {
        self.required_name("RoleName", "roleName", 64)
    }

    fn description(&mut self) -> Option<String> {
        self.params.get("Description").map(|d| {
            self.v.length(d, "description", 0, 1000);
            self.v.pattern(
                d,
                "description",
                "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
                |c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}'),
            );
            d.to_owned()
        })
    }

    fn max_session_duration(&mut self) -> Option<u32> {
        self.v
            .integer(
                self.params.get("MaxSessionDuration"),
                "maxSessionDuration",
                3600,
                43_200,
            )
            .and_then(|n| u32::try_from(n).ok())
    }

    fn path_prefix(&mut self) -> String {
        match self.params.get("PathPrefix") {
            Some(p) => {
                self.v.length(p, "pathPrefix", 1, 512);
                if !p.starts_with('/') {
                    self.v.push(
                        Some(p),
                        "pathPrefix",
                        "satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
                    );
                }
                p.to_owned()
            }
            None => "/".to_owned(),
        }
    }

    fn tag_keys(&mut self) -> Vec<String> {
        match self.params.list("TagKeys") {
            Ok(keys) => {
                if keys.is_empty() && self.params.get("TagKeys").is_none() {
                    self.v.missing("tagKeys");
                }
                for k in &keys {
                    self.v.length(k, "tagKeys", 1, 128);
                }
                keys.into_iter().map(str::to_owned).collect()
            }
            Err(bad) => {
                self.v.push(Some(&bad), "tagKeys", "be a well-formed list");
                Vec::new()
            }
        }
    }

    fn access_key_id(&mut self) -> String {
        match self.params.get("AccessKeyId") {
            Some(id) => {
                self.v.length(id, "accessKeyId", 16, 128);
                self.v.pattern(id, "accessKeyId", "[\\w]+", |c| {
                    c.is_ascii_alphanumeric() || c == '_'
                });
                id.to_owned()
            }
            None => {
                self.v.missing("accessKeyId");
                String::new()
            }
        }
    }

    fn path(&mut self, param: &str, member: &str) -> String {
        match self.params.get(param) {
            Some(p) => {
                self.v.length(p, member, 1, 512);
                let shaped = p == "/" || (p.len() > 1 && p.starts_with('/') && p.ends_with('/'));
                if !shaped || !p.chars().all(|c| ('\u{21}'..='\u{7E}').contains(&c)) {
                    self.v.push(Some(p), member, "satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
                }
                p.to_owned()
            }
            None => "/".to_owned(),
        }
    }

    fn page(&mut self) -> Page {
        let marker = self.params.get("Marker").map(|m| {
            self.v.length(m, "marker", 1, 320);
            m.to_owned()
        });
        let max_items = self
            .v
            .integer(self.params.get("MaxItems"), "maxItems", 1, 1000)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(DEFAULT_MAX_ITEMS);
        Page { marker, max_items }
    }

    fn tags(&mut self, required: bool) -> Vec<Tag> {
        let items = match self.params.struct_list("Tags") {
            Ok(items) => items,
            Err(bad) => {
                self.v
                    .push(Some(&bad), "tags", "be a well-formed list of Tag");
                return Vec::new();
            }
        };
        if items.is_empty() && required && self.params.get("Tags").is_none() {
            self.v.missing("tags");
        }
        if items.len() > 50 {
            self.v
                .push(None, "tags", "have length less than or equal to 50");
        }
        let mut tags = Vec::with_capacity(items.len());
        for (i, members) in items.iter().enumerate() {
            let get = |m: &str| members.iter().find(|(n, _)| *n == m).map(|(_, v)| *v);
            let n = i + 1;
            let key = match get("Key") {
                Some(k) => {
                    self.v.length(k, &format!("tags.{n}.member.key"), 1, 128);
                    self.v.pattern(
                        k,
                        &format!("tags.{n}.member.key"),
                        "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+",
                        is_tag_char,
                    );
                    k
                }
                None => {
                    self.v.missing(&format!("tags.{n}.member.key"));
                    ""
                }
            };
            let value = match get("Value") {
                Some(v) => {
                    self.v.length(v, &format!("tags.{n}.member.value"), 0, 256);
                    self.v.pattern(
                        v,
                        &format!("tags.{n}.member.value"),
                        "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*",
                        is_tag_char,
                    );
                    v
                }
                None => {
                    self.v.missing(&format!("tags.{n}.member.value"));
                    ""
                }
            };
            tags.push(Tag {
                key: key.to_owned(),
                value: value.to_owned(),
            });
        }
        tags
    }

    fn policy_document(&mut self, param: &str, path: &str) -> String {
        match self.params.get(param) {
            Some(d) => {
                self.v.length(d, path, 1, 131_072);
                if !d
                    .chars()
                    .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
                {
                    self.v.push(None, path, "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
                }
                d.to_owned()
            }
            None => {
                self.v.missing(path);
                String::new()
            }
        }
    }

    fn policy_name(&mut self) -> String {
        self.required_name("PolicyName", "policyName", 128)
    }

    /// The optional `PermissionsBoundary` of `CreateUser` and `CreateRole`.
    fn boundary(&mut self) -> Option<String> {
        self.params.get("PermissionsBoundary").map(|a| {
            self.v.length(a, "permissionsBoundary", 20, 2048);
            a.to_owned()
        })
    }
}

/// Whether a tag or inline-policy action is about a user or a role.
fn owner_kind(action: Action) -> OwnerKind {
    match action {
        Action::TagRole
        | Action::UntagRole
        | Action::ListRoleTags
        | Action::PutRolePolicy
        | Action::GetRolePolicy
        | Action::DeleteRolePolicy
        | Action::ListRolePolicies => OwnerKind::Role,
        Action::PutGroupPolicy
        | Action::GetGroupPolicy
        | Action::DeleteGroupPolicy
        | Action::ListGroupPolicies => OwnerKind::Group,
        Action::TagPolicy | Action::UntagPolicy | Action::ListPolicyTags => OwnerKind::Policy,
        Action::TagMFADevice | Action::UntagMFADevice | Action::ListMFADeviceTags => {
            OwnerKind::MfaDevice
        }
        Action::TagOpenIDConnectProvider
        | Action::UntagOpenIDConnectProvider
        | Action::ListOpenIDConnectProviderTags => OwnerKind::OidcProvider,
        Action::TagSAMLProvider | Action::UntagSAMLProvider | Action::ListSAMLProviderTags => {
            OwnerKind::SamlProvider
        }
        _ => OwnerKind::User,
    }
}

/// Decodes and validates the parameters of `action`, reporting every violation together.
pub fn decode(action: Action, params: &Params<'_>) -> Result<Request, ApiError> {
    let mut r = Reader {
        params,
        v: Violations::new(),
    };
    let request = match action {
        Action::CreateUser => {
            let path = r.path("Path", "path");
            let user_name = r.required_name("UserName", "userName", 64);
            let permissions_boundary = r.boundary();
            let tags = r.tags(false);
            Request::CreateUser {
                path,
                user_name,
                permissions_boundary,
                tags,
            }
        }
        Action::GetUser => Request::GetUser {
            user_name: r.optional_user(),
        },
        Action::DeleteUser => Request::DeleteUser {
            user_name: r.user(),
        },
        Action::UpdateUser => {
            let user_name = r.user();
            let new_path = params
                .get("NewPath")
                .is_some()
                .then(|| r.path("NewPath", "newPath"));
            let new_user_name = r.name("NewUserName", "newUserName", 64, false);
            Request::UpdateUser {
                user_name,
                new_path,
                new_user_name,
            }
        }
        Action::ListUsers => Request::ListUsers {
            path_prefix: r.path_prefix(),
            page: r.page(),
        },
        Action::TagUser
        | Action::TagRole
        | Action::TagOpenIDConnectProvider
        | Action::TagPolicy
        | Action::TagMFADevice
        | Action::TagSAMLProvider => Request::Tag {
            owner: r.owner(owner_kind(action)),
            tags: r.tags(true),
        },
        Action::UntagUser
        | Action::UntagRole
        | Action::UntagOpenIDConnectProvider
        | Action::UntagPolicy
        | Action::UntagMFADevice
        | Action::UntagSAMLProvider => Request::Untag {
            owner: r.owner(owner_kind(action)),
            tag_keys: r.tag_keys(),
        },
        Action::ListUserTags
        | Action::ListRoleTags
        | Action::ListOpenIDConnectProviderTags
        | Action::ListPolicyTags
        | Action::ListMFADeviceTags
        | Action::ListSAMLProviderTags => Request::ListTags {
            owner: r.owner(owner_kind(action)),
            page: r.page(),
        },
        Action::CreateAccessKey => Request::CreateAccessKey {
            user_name: r.optional_user(),
        },
        Action::DeleteAccessKey => Request::DeleteAccessKey {
            user_name: r.optional_user(),
            access_key_id: r.access_key_id(),
        },
        Action::ListAccessKeys => Request::ListAccessKeys {
            user_name: r.optional_user(),
            page: r.page(),
        },
        Action::UpdateAccessKey => {
            let user_name = r.optional_user();
            let access_key_id = r.access_key_id();
            let active = match params.get("Status") {
                Some("Active") => true,
                Some("Inactive") => false,
                Some(other) => {
                    r.v.push(
                        Some(other),
                        "status",
                        "satisfy enum value set: [Active, Inactive]",
                    );
                    false
                }
                None => {
                    r.v.missing("status");
                    false
                }
            };
            Request::UpdateAccessKey {
                user_name,
                access_key_id,
                active,
            }
        }
        Action::PutUserPolicy | Action::PutRolePolicy | Action::PutGroupPolicy => {
            Request::PutPolicy {
                owner: r.owner(owner_kind(action)),
                policy_name: r.policy_name(),
                policy_document: r.policy_document("PolicyDocument", "policyDocument"),
            }
        }
        Action::GetUserPolicy | Action::GetRolePolicy | Action::GetGroupPolicy => {
            Request::GetPolicy {
                owner: r.owner(owner_kind(action)),
                policy_name: r.policy_name(),
            }
        }
        Action::DeleteUserPolicy | Action::DeleteRolePolicy | Action::DeleteGroupPolicy => {
            Request::DeletePolicy {
                owner: r.owner(owner_kind(action)),
                policy_name: r.policy_name(),
            }
        }
        Action::ListUserPolicies | Action::ListRolePolicies | Action::ListGroupPolicies => {
            Request::ListPolicies {
                owner: r.owner(owner_kind(action)),
                page: r.page(),
            }
        }
        Action::CreateRole => {
            let path = r.path("Path", "path");
            let role_name = r.required_name("RoleName", "roleName", 64);
            let trust_policy =
                r.policy_document("AssumeRolePolicyDocument", "assumeRolePolicyDocument");
            let description = r.description();
            let max_session_duration = r.max_session_duration().unwrap_or(3600);
            let permissions_boundary = r.boundary();
            let tags = r.tags(false);
            Request::CreateRole {
                path,
                role_name,
                trust_policy,
                description,
                max_session_duration,
                permissions_boundary,
                tags,
            }
        }
        Action::GetRole => Request::GetRole {
            role_name: r.role(),
        },
        Action::DeleteRole => Request::DeleteRole {
            role_name: r.role(),
        },
        Action::ListRoles => Request::ListRoles {
            path_prefix: r.path_prefix(),
            page: r.page(),
        },
        Action::UpdateRole => Request::UpdateRole {
            role_name: r.role(),
            description: r.description(),
            max_session_duration: r.max_session_duration(),
        },
        Action::UpdateAssumeRolePolicy => Request::UpdateAssumeRolePolicy {
            role_name: r.role(),
            policy_document: r.policy_document("PolicyDocument", "policyDocument"),
        },
        Action::UpdateRoleDescription => {
            let role_name = r.role();
            let description = r.description().unwrap_or_else(|| {
                r.v.missing("description");
                String::new()
            });
            Request::UpdateRoleDescription {
                role_name,
                description,
            }
        }
        Action::ListInstanceProfilesForRole => {
            let owner = r.owner(OwnerKind::Role);
            r.page();
            Request::EmptyListing { owner }
        }
        Action::CreatePolicy
        | Action::GetPolicy
        | Action::DeletePolicy
        | Action::ListPolicies
        | Action::CreatePolicyVersion
        | Action::GetPolicyVersion
        | Action::DeletePolicyVersion
        | Action::ListPolicyVersions
        | Action::SetDefaultPolicyVersion
        | Action::AttachUserPolicy
        | Action::AttachGroupPolicy
        | Action::AttachRolePolicy
        | Action::DetachUserPolicy
        | Action::DetachGroupPolicy
        | Action::DetachRolePolicy
        | Action::ListAttachedUserPolicies
        | Action::ListAttachedGroupPolicies
        | Action::ListAttachedRolePolicies
        | Action::ListEntitiesForPolicy
        | Action::PutUserPermissionsBoundary
        | Action::DeleteUserPermissionsBoundary
        | Action::PutRolePermissionsBoundary
        | Action::DeleteRolePermissionsBoundary => {
            Request::Managed(managed::decode(action, &mut r))
        }
        Action::CreateGroup
        | Action::GetGroup
        | Action::UpdateGroup
        | Action::DeleteGroup
        | Action::ListGroups
        | Action::AddUserToGroup
        | Action::RemoveUserFromGroup
        | Action::ListGroupsForUser => Request::Group(groups::decode(action, &mut r)),
        Action::CreateOpenIDConnectProvider => {
            let url = match params.get("Url") {
                Some(u) => {
                    r.v.length(u, "url", 1, 255);
                    u.to_owned()
                }
                None => {
                    r.v.missing("url");
                    String::new()
                }
            };
            Request::CreateOidcProvider {
                url,
                client_ids: r.string_list("ClientIDList", "clientIDList", (1, 255), false),
                thumbprints: r.string_list("ThumbprintList", "thumbprintList", (40, 40), false),
                tags: r.tags(false),
            }
        }
        Action::GetOpenIDConnectProvider | Action::DeleteOpenIDConnectProvider => {
            Request::OidcProvider {
                action,
                arn: r.arn("OpenIDConnectProviderArn", "openIDConnectProviderArn"),
            }
        }
        Action::ListOpenIDConnectProviders => Request::ListOidcProviders,
        Action::AddClientIDToOpenIDConnectProvider
        | Action::RemoveClientIDFromOpenIDConnectProvider => Request::OidcClientId {
            add: action == Action::AddClientIDToOpenIDConnectProvider,
            arn: r.arn("OpenIDConnectProviderArn", "openIDConnectProviderArn"),
            client_id: r.client_id(),
        },
        Action::UpdateOpenIDConnectProviderThumbprint => Request::UpdateOidcThumbprints {
            arn: r.arn("OpenIDConnectProviderArn", "openIDConnectProviderArn"),
            thumbprints: r.string_list("ThumbprintList", "thumbprintList", (40, 40), true),
        },
        Action::CreateVirtualMFADevice
        | Action::EnableMFADevice
        | Action::DeactivateMFADevice
        | Action::DeleteVirtualMFADevice
        | Action::ListMFADevices
        | Action::ListVirtualMFADevices
        | Action::ResyncMFADevice => Request::Mfa(mfa::decode(action, &mut r)),
        Action::CreateSAMLProvider
        | Action::GetSAMLProvider
        | Action::UpdateSAMLProvider
        | Action::DeleteSAMLProvider
        | Action::ListSAMLProviders => Request::Saml(saml::decode(action, &mut r)),
    };
    r.v.finish()?;
    Ok(request)
}

/// A user as IAM returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    /// Path.
    pub path: String,
    /// Name.
    pub name: String,
    /// `AIDA…` (or the account id for the root).
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Creation time.
    pub created: OffsetDateTime,
    /// The boundary policy's ARN, where the action returns it.
    pub boundary: Option<String>,
    /// Tags, where the action returns them (`GetUser`, `CreateUser`), else `None`.
    pub tags: Option<Vec<Tag>>,
}

/// Access key metadata (the secret only on creation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKeyView {
    /// Owner.
    pub user_name: String,
    /// `AKIA…`.
    pub id: String,
    /// Active or not.
    pub active: bool,
    /// Creation time.
    pub created: OffsetDateTime,
}

/// Where a listing stopped.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct More {
    /// The marker to resume from, when truncated.
    pub marker: Option<String>,
}

/// A role as IAM returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleView {
    /// Path.
    pub path: String,
    /// Name.
    pub name: String,
    /// `AROA…`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Creation time.
    pub created: OffsetDateTime,
    /// The trust policy (URL-encoded on the wire).
    pub trust_policy: String,
    /// Description, if set.
    pub description: Option<String>,
    /// Maximum session duration in seconds.
    pub max_session_duration: u32,
    /// The boundary policy's ARN, where the action returns it.
    pub boundary: Option<String>,
    /// Tags, where the action returns them (`GetRole`, `CreateRole`), else `None`.
    pub tags: Option<Vec<Tag>>,
}

/// An OpenID Connect provider as `GetOpenIDConnectProvider` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcProviderView {
    /// The URL without its scheme.
    pub url: String,
    /// Audiences.
    pub client_ids: Vec<String>,
    /// Thumbprints.
    pub thumbprints: Vec<String>,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// A successful IAM result.
#[derive(Clone, Debug)]
pub enum Response {
    /// `CreateOpenIDConnectProvider`.
    OidcProviderCreated {
        /// The new provider's ARN.
        arn: String,
        /// Its tags.
        tags: Vec<Tag>,
    },
    /// `GetOpenIDConnectProvider`.
    OidcProvider(OidcProviderView),
    /// `ListOpenIDConnectProviders`: ARNs.
    OidcProviders(Vec<String>),
    /// Actions without output.
    Empty(Action),
    /// Actions whose result element is present but empty (`UpdateRole`).
    EmptyResult(Action),
    /// `CreateUser`, `GetUser`.
    User(Action, UserView),
    /// `ListUsers`.
    Users(Vec<UserView>, More),
    /// `CreateRole`, `GetRole`.
    Role(Action, RoleView),
    /// `ListRoles`.
    Roles(Vec<RoleView>, More),
    /// `ListUserTags`, `ListRoleTags`.
    Tags(Action, Vec<Tag>, More),
    /// `CreateAccessKey`: the only time the secret is shown.
    NewAccessKey(AccessKeyView, tessera_sigv4::SecretKey),
    /// `ListAccessKeys`.
    AccessKeys(Vec<AccessKeyView>, More),
    /// `GetUserPolicy`, `GetRolePolicy`.
    InlinePolicy {
        /// Which action.
        action: Action,
        /// Owner.
        owner: Owner,
        /// Name.
        policy_name: String,
        /// The JSON document (URL-encoded on the wire).
        document: String,
    },
    /// `ListUserPolicies`, `ListRolePolicies`.
    PolicyNames(Action, Vec<String>, More),
    /// An always-empty listing (see [`Request::EmptyListing`]).
    EmptyList(Action),
    /// A managed-policy, attachment or boundary result.
    Managed(ManagedResponse),
    /// A group result.
    Group(GroupResponse),
    /// An MFA-device result.
    Mfa(MfaResponse),
    /// A SAML-provider result.
    Saml(SamlResponse),
}

/// Percent-encodes a policy document as IAM returns them: every byte but `A–Z a–z 0–9 - _ . ~`.
pub fn url_encode_policy(doc: &str) -> String {
    tessera_sigv4::percent_encode(doc)
}

fn write_tags(w: &mut XmlWriter, tags: &[Tag]) {
    w.open("Tags");
    for t in tags {
        w.open("member");
        w.text_element("Key", &t.key);
        w.text_element("Value", &t.value);
        w.close("member");
    }
    w.close("Tags");
}

fn write_boundary(w: &mut XmlWriter, boundary: Option<&String>) {
    if let Some(arn) = boundary {
        w.open("PermissionsBoundary");
        w.text_element("PermissionsBoundaryType", "PermissionsBoundaryPolicy");
        w.text_element("PermissionsBoundaryArn", arn);
        w.close("PermissionsBoundary");
    }
}

fn write_user(w: &mut XmlWriter, element: &str, u: &UserView) {
    w.open(element);
    w.text_element("Path", &u.path);
    w.text_element("UserName", &u.name);
    w.text_element("UserId", &u.id);
    w.text_element("Arn", &u.arn);
    w.text_element("CreateDate", &format_timestamp(u.created));
    write_boundary(w, u.boundary.as_ref());
    if let Some(tags) = u.tags.as_ref().filter(|t| !t.is_empty()) {
        write_tags(w, tags);
    }
    w.close(element);
}

fn write_role(w: &mut XmlWriter, element: &str, r: &RoleView) {
    w.open(element);
    w.text_element("Path", &r.path);
    w.text_element("RoleName", &r.name);
    w.text_element("RoleId", &r.id);
    w.text_element("Arn", &r.arn);
    w.text_element("CreateDate", &format_timestamp(r.created));
    w.text_element(
        "AssumeRolePolicyDocument",
        &url_encode_policy(&r.trust_policy),
    );
    if let Some(d) = &r.description {
        w.text_element("Description", d);
    }
    w.text_element("MaxSessionDuration", &r.max_session_duration.to_string());
    write_boundary(w, r.boundary.as_ref());
    if let Some(tags) = r.tags.as_ref().filter(|t| !t.is_empty()) {
        write_tags(w, tags);
    }
    w.close(element);
}

fn write_strings(w: &mut XmlWriter, element: &str, items: &[String]) {
    w.open(element);
    for item in items {
        w.text_element("member", item);
    }
    w.close(element);
}

fn write_more(w: &mut XmlWriter, more: &More) {
    w.text_element(
        "IsTruncated",
        if more.marker.is_some() {
            "true"
        } else {
            "false"
        },
    );
    if let Some(m) = &more.marker {
        w.text_element("Marker", m);
    }
}

fn write_key(
    w: &mut XmlWriter,
    element: &str,
    k: &AccessKeyView,
    secret: Option<&tessera_sigv4::SecretKey>,
) {
    w.open(element);
    w.text_element("UserName", &k.user_name);
    w.text_element("AccessKeyId", &k.id);
    w.text_element("Status", if k.active { "Active" } else { "Inactive" });
    if let Some(s) = secret {
        w.text_element("SecretAccessKey", s.expose());
    }
    w.text_element("CreateDate", &format_timestamp(k.created));
    w.close(element);
}

impl Response {
    fn action(&self) -> Action {
        match self {
            Self::Empty(a) | Self::EmptyResult(a) | Self::User(a, _) | Self::Role(a, _) => *a,
            Self::Tags(a, ..) | Self::PolicyNames(a, ..) | Self::InlinePolicy { action: a, .. } => {
                *a
            }
            Self::Users(..) => Action::ListUsers,
            Self::Roles(..) => Action::ListRoles,
            Self::NewAccessKey(..) => Action::CreateAccessKey,
            Self::AccessKeys(..) => Action::ListAccessKeys,
            Self::EmptyList(a) => *a,
            Self::OidcProviderCreated { .. } => Action::CreateOpenIDConnectProvider,
            Self::OidcProvider(_) => Action::GetOpenIDConnectProvider,
            Self::OidcProviders(_) => Action::ListOpenIDConnectProviders,
            Self::Managed(m) => m.action(),
            Self::Group(g) => g.action(),
            Self::Mfa(m) => m.action(),
            Self::Saml(s) => s.action(),
        }
    }

    fn write_result(&self, w: &mut XmlWriter) {
        match self {
            Self::Empty(_) | Self::EmptyResult(_) => {}
            Self::User(_, u) => write_user(w, "User", u),
            Self::Users(users, more) => {
                w.open("Users");
                for u in users {
                    write_user(w, "member", u);
                }
                w.close("Users");
                write_more(w, more);
            }
            Self::Role(_, r) => write_role(w, "Role", r),
            Self::Roles(roles, more) => {
                w.open("Roles");
                for r in roles {
                    write_role(w, "member", r);
                }
                w.close("Roles");
                write_more(w, more);
            }
            Self::Tags(_, tags, more) => {
                write_tags(w, tags);
                write_more(w, more);
            }
            Self::NewAccessKey(k, secret) => write_key(w, "AccessKey", k, Some(secret)),
            Self::AccessKeys(keys, more) => {
                w.open("AccessKeyMetadata");
                for k in keys {
                    write_key(w, "member", k, None);
                }
                w.close("AccessKeyMetadata");
                write_more(w, more);
            }
            Self::InlinePolicy {
                owner,
                policy_name,
                document,
                ..
            } => {
                w.text_element(owner.kind.element(), &owner.name);
                w.text_element("PolicyName", policy_name);
                w.text_element("PolicyDocument", &url_encode_policy(document));
            }
            Self::PolicyNames(_, names, more) => {
                write_strings(w, "PolicyNames", names);
                write_more(w, more);
            }
            Self::OidcProviderCreated { arn, tags } => {
                w.text_element("OpenIDConnectProviderArn", arn);
                write_tags(w, tags);
            }
            Self::OidcProvider(p) => {
                w.text_element("Url", &p.url);
                write_strings(w, "ClientIDList", &p.client_ids);
                write_strings(w, "ThumbprintList", &p.thumbprints);
                w.text_element("CreateDate", &format_timestamp(p.created));
                write_tags(w, &p.tags);
            }
            Self::OidcProviders(arns) => {
                w.open("OpenIDConnectProviderList");
                for arn in arns {
                    w.open("member");
                    w.text_element("Arn", arn);
                    w.close("member");
                }
                w.close("OpenIDConnectProviderList");
            }
            Self::EmptyList(_) => {
                w.open("InstanceProfiles");
                w.close("InstanceProfiles");
                write_more(w, &More::default());
            }
            Self::Managed(m) => m.write(w),
            Self::Group(g) => g.write(w),
            Self::Mfa(m) => m.write(w),
            Self::Saml(s) => s.write(w),
        }
    }

    /// The `<{Action}Response>` document.
    pub fn to_xml(&self, request_id: &str) -> String {
        let has_result = !matches!(self, Self::Empty(_));
        crate::xml::envelope(
            self.action().name(),
            NAMESPACE,
            request_id,
            has_result,
            |w| {
                self.write_result(w);
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params<'_> {
        Params::decode("", body).unwrap()
    }

    #[test]
    fn create_user_validation() {
        let ok = decode(
            Action::CreateUser,
            &params("UserName=bob&Path=%2Fteam%2F&Tags.member.1.Key=k&Tags.member.1.Value=v"),
        )
        .unwrap();
        assert_eq!(
            ok,
            Request::CreateUser {
                path: "/team/".into(),
                user_name: "bob".into(),
                permissions_boundary: None,
                tags: vec![Tag {
                    key: "k".into(),
                    value: "v".into()
                }]
            }
        );
        let e = decode(Action::CreateUser, &params("Path=team")).unwrap_err();
        assert!(
            e.message.starts_with("2 validation errors detected"),
            "{}",
            e.message
        );
        let e = decode(
            Action::CreateUser,
            &params(&format!("UserName={}", "a".repeat(65))),
        )
        .unwrap_err();
        assert!(e.message.contains("have length less than or equal to 64"));
        let e = decode(Action::CreateUser, &params("UserName=a%20b")).unwrap_err();
        assert!(e.message.contains("[\\w+=,.@-]+"));
        let e = decode(
            Action::CreateUser,
            &params("UserName=a&Tags.member.1.Key=k"),
        )
        .unwrap_err();
        assert!(e.message.contains("tags.1.member.value"));
    }

    #[test]
    fn update_access_key_status_is_an_enum() {
        let e = decode(
            Action::UpdateAccessKey,
            &params("AccessKeyId=AKIAAAAAAAAAAAAAAAAA&Status=Expired"),
        )
        .unwrap_err();
        assert!(e.message.contains("enum"));
        assert!(
            decode(
                Action::UpdateAccessKey,
                &params("AccessKeyId=AKIAAAAAAAAAAAAAAAAA&Status=Inactive")
            )
            .is_ok()
        );
    }

    #[test]
    fn page_limits() {
        assert!(decode(Action::ListUsers, &params("MaxItems=0")).is_err());
        assert!(decode(Action::ListUsers, &params("MaxItems=1001")).is_err());
        let Request::ListUsers { page, .. } = decode(Action::ListUsers, &params("")).unwrap()
        else {
            panic!()
        };
        assert_eq!(page.max_items, 100);
    }

    #[test]
    fn policies_are_url_encoded_in_output() {
        assert_eq!(
            url_encode_policy(r#"{"a": "b+c"}"#),
            "%7B%22a%22%3A%20%22b%2Bc%22%7D"
        );
        let r = Response::InlinePolicy {
            action: Action::GetRolePolicy,
            owner: Owner {
                kind: OwnerKind::Role,
                name: "r".into(),
            },
            policy_name: "p".into(),
            document: "{ }".into(),
        };
        assert!(r.to_xml("rid").contains("<RoleName>r</RoleName>"));
        assert!(
            r.to_xml("rid")
                .contains("<PolicyDocument>%7B%20%7D</PolicyDocument>")
        );
    }

    #[test]
    fn role_decoding_and_encoding() {
        let r = decode(
            Action::CreateRole,
            &params("RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=7200"),
        )
        .unwrap();
        let Request::CreateRole {
            max_session_duration,
            description,
            ..
        } = &r
        else {
            panic!()
        };
        assert_eq!((*max_session_duration, description.clone()), (7200, None));
        assert!(
            decode(
                Action::CreateRole,
                &params("RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=3599")
            )
            .is_err()
        );
        assert!(
            decode(Action::CreateRole, &params("RoleName=r"))
                .unwrap_err()
                .message
                .contains("assumeRolePolicyDocument")
        );
        let tag = decode(
            Action::TagRole,
            &params("RoleName=r&Tags.member.1.Key=k&Tags.member.1.Value=v"),
        )
        .unwrap();
        assert!(matches!(
            tag,
            Request::Tag {
                owner: Owner {
                    kind: OwnerKind::Role,
                    ..
                },
                ..
            }
        ));
        let view = RoleView {
            path: "/".into(),
            name: "r".into(),
            id: "AROA".into(),
            arn: "arn".into(),
            created: OffsetDateTime::UNIX_EPOCH,
            trust_policy: "{}".into(),
            description: None,
            max_session_duration: 3600,
            boundary: None,
            tags: None,
        };
        let xml = Response::Role(Action::GetRole, view).to_xml("x");
        assert!(xml.contains("<AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument><MaxSessionDuration>3600</MaxSessionDuration>"), "{xml}");
        assert!(
            Response::EmptyResult(Action::UpdateRole)
                .to_xml("x")
                .contains("<UpdateRoleResult></UpdateRoleResult>")
        );
    }

    #[test]
    fn empty_results_have_no_result_element() {
        assert_eq!(
            Response::Empty(Action::DeleteUser).to_xml("r"),
            "<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteUserResponse>"
        );
        let list = Response::Users(vec![], More::default()).to_xml("r");
        assert!(
            list.contains("<Users></Users><IsTruncated>false</IsTruncated>"),
            "{list}"
        );
    }
}
