//! Managed policies, their versions, their attachments to users, groups and roles, and
//! permissions boundaries: the requests, validated to the model, and their results.

use super::{Action, More, Owner, OwnerKind, Page, Reader, Tag, write_more, write_tags};
use crate::sts::format_timestamp;
use crate::xml::XmlWriter;
use time::OffsetDateTime;

/// `ListPolicies` `Scope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Customer and AWS managed policies.
    All,
    /// AWS managed policies only.
    Aws,
    /// The account's own policies only.
    Local,
}

/// `PolicyUsageFilter`: how a policy is used by the entities counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Attached as a permissions policy.
    Permissions,
    /// Set as a permissions boundary.
    Boundary,
}

/// `ListEntitiesForPolicy` `EntityFilter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityFilter {
    /// Users only.
    User,
    /// Roles only.
    Role,
    /// Groups only.
    Group,
    /// Every kind (also what `LocalManagedPolicy`/`AWSManagedPolicy` mean here).
    All,
}

/// A managed-policy, attachment or boundary request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagedRequest {
    /// `CreatePolicy`.
    Create {
        /// Name, unique case-insensitively in the account.
        name: String,
        /// `/` or `/…/`.
        path: String,
        /// The first version's document.
        document: String,
        /// Free text.
        description: Option<String>,
        /// Initial tags.
        tags: Vec<Tag>,
    },
    /// `GetPolicy`, `DeletePolicy`.
    Policy {
        /// The policy's ARN, as given.
        arn: String,
    },
    /// `ListPolicies`.
    List {
        /// Whose policies.
        scope: Scope,
        /// Only policies attached to something.
        only_attached: bool,
        /// Only policies whose path starts with this.
        path_prefix: String,
        /// Only policies used this way.
        usage: Option<Usage>,
        /// Which page.
        page: Page,
    },
    /// `CreatePolicyVersion`.
    CreateVersion {
        /// The policy's ARN.
        arn: String,
        /// The new version's document.
        document: String,
        /// Whether it becomes the default at once.
        set_as_default: bool,
    },
    /// `GetPolicyVersion`, `DeletePolicyVersion`, `SetDefaultPolicyVersion`.
    Version {
        /// The policy's ARN.
        arn: String,
        /// `v<N>`.
        version_id: String,
    },
    /// `ListPolicyVersions`.
    ListVersions {
        /// The policy's ARN.
        arn: String,
        /// Which page.
        page: Page,
    },
    /// `Attach{User,Group,Role}Policy`, `Detach…Policy`.
    Attachment {
        /// To or from whom.
        owner: Owner,
        /// The policy's ARN.
        arn: String,
    },
    /// `ListAttached{User,Group,Role}Policies`.
    ListAttached {
        /// Whose.
        owner: Owner,
        /// Only policies whose path starts with this.
        path_prefix: String,
        /// Which page.
        page: Page,
    },
    /// `ListEntitiesForPolicy`.
    ListEntities {
        /// The policy's ARN.
        arn: String,
        /// Which kinds of entity.
        filter: EntityFilter,
        /// Only entities whose path starts with this.
        path_prefix: String,
        /// Only entities using the policy this way.
        usage: Option<Usage>,
        /// Which page.
        page: Page,
    },
    /// `Put{User,Role}PermissionsBoundary`.
    PutBoundary {
        /// Whose.
        owner: Owner,
        /// The boundary policy's ARN.
        arn: String,
    },
    /// `Delete{User,Role}PermissionsBoundary`.
    DeleteBoundary {
        /// Whose.
        owner: Owner,
    },
}

/// Whether an attachment or boundary action is about a user, a group or a role.
fn owner_kind(action: Action) -> OwnerKind {
    match action {
        Action::AttachGroupPolicy
        | Action::DetachGroupPolicy
        | Action::ListAttachedGroupPolicies => OwnerKind::Group,
        Action::AttachRolePolicy
        | Action::DetachRolePolicy
        | Action::ListAttachedRolePolicies
        | Action::PutRolePermissionsBoundary
        | Action::DeleteRolePermissionsBoundary => OwnerKind::Role,
        _ => OwnerKind::User,
    }
}

impl Reader<'_, '_> {
    fn policy_arn(&mut self) -> String {
        self.arn("PolicyArn", "policyArn")
    }

    fn version_id(&mut self) -> String {
        match self.params.get("VersionId") {
            Some(v) => {
                let digits = v.strip_prefix('v').unwrap_or_default();
                let number = digits.split('.').next().unwrap_or_default();
                let shaped = number.starts_with(|c: char| ('1'..='9').contains(&c))
                    && number.chars().all(|c| c.is_ascii_digit());
                if !shaped {
                    self.v.push(
                        Some(v),
                        "versionId",
                        "satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?",
                    );
                }
                v.to_owned()
            }
            None => {
                self.v.missing("versionId");
                String::new()
            }
        }
    }

    fn boolean(&mut self, param: &str, path: &str) -> bool {
        match self.params.get(param) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                self.v.push(Some(other), path, "be a boolean");
                false
            }
        }
    }

    fn usage(&mut self) -> Option<Usage> {
        match self.params.get("PolicyUsageFilter") {
            None => None,
            Some("PermissionsPolicy") => Some(Usage::Permissions),
            Some("PermissionsBoundary") => Some(Usage::Boundary),
            Some(other) => {
                self.v.push(
                    Some(other),
                    "policyUsageFilter",
                    "satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]",
                );
                None
            }
        }
    }

    /// `PathPrefix` of `ListPolicies` (the policy-path pattern).
    fn policy_path_prefix(&mut self) -> String {
        match self.params.get("PathPrefix") {
            Some(p) => {
                self.v.length(p, "pathPrefix", 1, 512);
                if !is_policy_path(p) {
                    self.v.push(
                        Some(p),
                        "pathPrefix",
                        "satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
                    );
                }
                p.to_owned()
            }
            None => "/".to_owned(),
        }
    }
}

/// `((/[A-Za-z0-9\.,\+@=_-]+)*)/`.
fn is_policy_path(p: &str) -> bool {
    let Some(inner) = p.strip_suffix('/') else {
        return false;
    };
    inner.is_empty()
        || inner.strip_prefix('/').is_some_and(|rest| {
            rest.split('/').all(|segment| {
                !segment.is_empty()
                    && segment
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".,+@=_-".contains(c))
            })
        })
}

/// Decodes a managed-policy, attachment or boundary action.
pub(super) fn decode(action: Action, r: &mut Reader<'_, '_>) -> ManagedRequest {
    match action {
        Action::CreatePolicy => {
            let name = r.policy_name();
            let path = match r.params.get("Path") {
                Some(p) => {
                    r.v.length(p, "path", 1, 512);
                    if !is_policy_path(p) {
                        r.v.push(
                            Some(p),
                            "path",
                            "satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
                        );
                    }
                    p.to_owned()
                }
                None => "/".to_owned(),
            };
            ManagedRequest::Create {
                name,
                path,
                document: r.policy_document("PolicyDocument", "policyDocument"),
                description: r.params.get("Description").map(|d| {
                    r.v.length(d, "description", 0, 1000);
                    d.to_owned()
                }),
                tags: r.tags(false),
            }
        }
        Action::CreatePolicyVersion => ManagedRequest::CreateVersion {
            arn: r.policy_arn(),
            document: r.policy_document("PolicyDocument", "policyDocument"),
            set_as_default: r.boolean("SetAsDefault", "setAsDefault"),
        },
        Action::GetPolicyVersion
        | Action::DeletePolicyVersion
        | Action::SetDefaultPolicyVersion => ManagedRequest::Version {
            arn: r.policy_arn(),
            version_id: r.version_id(),
        },
        Action::ListPolicyVersions => ManagedRequest::ListVersions {
            arn: r.policy_arn(),
            page: r.page(),
        },
        Action::ListPolicies => {
            let scope = match r.params.get("Scope") {
                None | Some("All") => Scope::All,
                Some("AWS") => Scope::Aws,
                Some("Local") => Scope::Local,
                Some(other) => {
                    r.v.push(
                        Some(other),
                        "scope",
                        "satisfy enum value set: [All, AWS, Local]",
                    );
                    Scope::All
                }
            };
            ManagedRequest::List {
                scope,
                only_attached: r.boolean("OnlyAttached", "onlyAttached"),
                path_prefix: r.policy_path_prefix(),
                usage: r.usage(),
                page: r.page(),
            }
        }
        Action::AttachUserPolicy
        | Action::AttachGroupPolicy
        | Action::AttachRolePolicy
        | Action::DetachUserPolicy
        | Action::DetachGroupPolicy
        | Action::DetachRolePolicy => ManagedRequest::Attachment {
            owner: r.owner(owner_kind(action)),
            arn: r.policy_arn(),
        },
        Action::ListAttachedUserPolicies
        | Action::ListAttachedGroupPolicies
        | Action::ListAttachedRolePolicies => ManagedRequest::ListAttached {
            owner: r.owner(owner_kind(action)),
            path_prefix: r.policy_path_prefix(),
            page: r.page(),
        },
        Action::ListEntitiesForPolicy => {
            let arn = r.policy_arn();
            let filter = match r.params.get("EntityFilter") {
                None | Some("LocalManagedPolicy" | "AWSManagedPolicy") => EntityFilter::All,
                Some("User") => EntityFilter::User,
                Some("Role") => EntityFilter::Role,
                Some("Group") => EntityFilter::Group,
                Some(other) => {
                    r.v.push(
                        Some(other),
                        "entityFilter",
                        "satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]",
                    );
                    EntityFilter::All
                }
            };
            ManagedRequest::ListEntities {
                arn,
                filter,
                path_prefix: r.path("PathPrefix", "pathPrefix"),
                usage: r.usage(),
                page: r.page(),
            }
        }
        Action::PutUserPermissionsBoundary | Action::PutRolePermissionsBoundary => {
            ManagedRequest::PutBoundary {
                owner: r.owner(owner_kind(action)),
                arn: r.arn("PermissionsBoundary", "permissionsBoundary"),
            }
        }
        Action::DeleteUserPermissionsBoundary | Action::DeleteRolePermissionsBoundary => {
            ManagedRequest::DeleteBoundary {
                owner: r.owner(owner_kind(action)),
            }
        }
        // GetPolicy, DeletePolicy.
        _ => ManagedRequest::Policy {
            arn: r.policy_arn(),
        },
    }
}

/// A managed policy as `GetPolicy` and `CreatePolicy` return it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyView {
    /// Name.
    pub name: String,
    /// `ANPA…`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Path.
    pub path: String,
    /// `v<N>`.
    pub default_version: String,
    /// Users, groups and roles it is attached to.
    pub attachment_count: usize,
    /// Users and roles it bounds.
    pub boundary_count: usize,
    /// Free text.
    pub description: Option<String>,
    /// Creation time.
    pub created: OffsetDateTime,
    /// Time of the last version change.
    pub updated: OffsetDateTime,
    /// Tags, where the action returns them.
    pub tags: Option<Vec<Tag>>,
}

/// A policy version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionView {
    /// The document, where the action returns it (URL-encoded on the wire).
    pub document: Option<String>,
    /// `v<N>`.
    pub id: String,
    /// Whether it is the one in force.
    pub is_default: bool,
    /// Creation time.
    pub created: OffsetDateTime,
}

/// A user, group or role using a policy, by name and unique id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityRef {
    /// Name.
    pub name: String,
    /// Unique id.
    pub id: String,
}

/// The result of a managed-policy action.
#[derive(Clone, Debug)]
pub enum ManagedResponse {
    /// `CreatePolicy`, `GetPolicy`.
    Policy(Action, PolicyView),
    /// `ListPolicies`.
    Policies(Vec<PolicyView>, More),
    /// `CreatePolicyVersion`, `GetPolicyVersion`.
    Version(Action, VersionView),
    /// `ListPolicyVersions`.
    Versions(Vec<VersionView>, More),
    /// `ListAttached…Policies`: `(name, ARN)` pairs.
    Attached(Action, Vec<(String, String)>, More),
    /// `ListEntitiesForPolicy`.
    Entities {
        /// Groups.
        groups: Vec<EntityRef>,
        /// Users.
        users: Vec<EntityRef>,
        /// Roles.
        roles: Vec<EntityRef>,
        /// Where the listing stopped.
        more: More,
    },
}

impl ManagedResponse {
    pub(super) fn action(&self) -> Action {
        match self {
            Self::Policy(a, _) | Self::Version(a, _) | Self::Attached(a, ..) => *a,
            Self::Policies(..) => Action::ListPolicies,
            Self::Versions(..) => Action::ListPolicyVersions,
            Self::Entities { .. } => Action::ListEntitiesForPolicy,
        }
    }

    pub(super) fn write(&self, w: &mut XmlWriter) {
        match self {
            Self::Policy(_, p) => write_policy(w, "Policy", p),
            Self::Policies(list, more) => {
                w.open("Policies");
                for p in list {
                    write_policy(w, "member", p);
                }
                w.close("Policies");
                write_more(w, more);
            }
            Self::Version(_, v) => write_version(w, "PolicyVersion", v),
            Self::Versions(list, more) => {
                w.open("Versions");
                for v in list {
                    write_version(w, "member", v);
                }
                w.close("Versions");
                write_more(w, more);
            }
            Self::Attached(_, list, more) => {
                w.open("AttachedPolicies");
                for (name, arn) in list {
                    w.open("member");
                    w.text_element("PolicyName", name);
                    w.text_element("PolicyArn", arn);
                    w.close("member");
                }
                w.close("AttachedPolicies");
                write_more(w, more);
            }
            Self::Entities {
                groups,
                users,
                roles,
                more,
            } => {
                for (element, name, id, list) in [
                    ("PolicyGroups", "GroupName", "GroupId", groups),
                    ("PolicyUsers", "UserName", "UserId", users),
                    ("PolicyRoles", "RoleName", "RoleId", roles),
                ] {
                    w.open(element);
                    for e in list {
                        w.open("member");
                        w.text_element(name, &e.name);
                        w.text_element(id, &e.id);
                        w.close("member");
                    }
                    w.close(element);
                }
                write_more(w, more);
            }
        }
    }
}

fn write_policy(w: &mut XmlWriter, element: &str, p: &PolicyView) {
    w.open(element);
    w.text_element("PolicyName", &p.name);
    w.text_element("PolicyId", &p.id);
    w.text_element("Arn", &p.arn);
    w.text_element("Path", &p.path);
    w.text_element("DefaultVersionId", &p.default_version);
    w.text_element("AttachmentCount", &p.attachment_count.to_string());
    w.text_element(
        "PermissionsBoundaryUsageCount",
        &p.boundary_count.to_string(),
    );
    w.text_element("IsAttachable", "true");
    if let Some(d) = &p.description {
        w.text_element("Description", d);
    }
    w.text_element("CreateDate", &format_timestamp(p.created));
    w.text_element("UpdateDate", &format_timestamp(p.updated));
    if let Some(tags) = p.tags.as_ref().filter(|t| !t.is_empty()) {
        write_tags(w, tags);
    }
    w.close(element);
}

fn write_version(w: &mut XmlWriter, element: &str, v: &VersionView) {
    w.open(element);
    if let Some(d) = &v.document {
        w.text_element("Document", &super::url_encode_policy(d));
    }
    w.text_element("VersionId", &v.id);
    w.text_element(
        "IsDefaultVersion",
        if v.is_default { "true" } else { "false" },
    );
    w.text_element("CreateDate", &format_timestamp(v.created));
    w.close(element);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{Request, decode as decode_request};
    use crate::query::Params;

    fn decode_one(action: Action, body: &str) -> Result<Request, crate::ApiError> {
        decode_request(action, &Params::decode("", body).unwrap())
    }

    #[test]
    fn policy_paths_follow_the_model() {
        for ok in ["/", "/a/", "/a.b/c-d/"] {
            assert!(is_policy_path(ok), "{ok}");
        }
        for bad in ["", "a/", "/a", "//", "/a b/"] {
            assert!(!is_policy_path(bad), "{bad}");
        }
    }

    #[test]
    fn version_ids_and_enums_are_validated() {
        let arn = "PolicyArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fp";
        assert!(decode_one(Action::GetPolicyVersion, &format!("{arn}&VersionId=v3")).is_ok());
        for bad in ["3", "v0", "v", "vx"] {
            let e = decode_one(Action::GetPolicyVersion, &format!("{arn}&VersionId={bad}"))
                .unwrap_err();
            assert!(e.message.contains("versionId"), "{bad}: {}", e.message);
        }
        assert!(decode_one(Action::ListPolicies, "Scope=Mine").is_err());
        assert!(decode_one(Action::ListPolicies, "OnlyAttached=yes").is_err());
        let Request::Managed(ManagedRequest::List {
            scope,
            only_attached,
            ..
        }) = decode_one(Action::ListPolicies, "Scope=AWS&OnlyAttached=true").unwrap()
        else {
            panic!("a ListPolicies request")
        };
        assert_eq!((scope, only_attached), (Scope::Aws, true));
    }

    #[test]
    fn attachment_owner_follows_the_action() {
        let r = decode_one(
            Action::AttachGroupPolicy,
            "GroupName=g&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess",
        )
        .unwrap();
        let Request::Managed(ManagedRequest::Attachment { owner, .. }) = r else {
            panic!("an attachment")
        };
        assert_eq!(owner.kind, OwnerKind::Group);
        assert!(decode_one(Action::AttachRolePolicy, "RoleName=r").is_err());
    }

    #[test]
    fn versions_encode_their_documents() {
        let xml = super::super::Response::Managed(ManagedResponse::Version(
            Action::GetPolicyVersion,
            VersionView {
                document: Some("{ }".into()),
                id: "v2".into(),
                is_default: true,
                created: OffsetDateTime::UNIX_EPOCH,
            },
        ))
        .to_xml("r");
        assert!(
            xml.contains("<PolicyVersion><Document>%7B%20%7D</Document><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion>"),
            "{xml}"
        );
    }
}
