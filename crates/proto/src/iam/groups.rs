//! IAM groups and their members: the requests, validated to the model, and their results.
//! (A group's inline policies and attachments use the shared inline-policy and attachment
//! requests with a group owner.)

use super::{Action, More, Page, Reader, UserView, write_more, write_user};
use crate::sts::format_timestamp;
use crate::xml::XmlWriter;
use time::OffsetDateTime;

/// A group request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRequest {
    /// `CreateGroup`.
    Create {
        /// `/` or `/…/`.
        path: String,
        /// Name, unique case-insensitively in the account.
        name: String,
    },
    /// `GetGroup`: the group and a page of its members.
    Get {
        /// Which group.
        name: String,
        /// Which page of members.
        page: Page,
    },
    /// `UpdateGroup`: rename and/or move.
    Update {
        /// Which group.
        name: String,
        /// New path, if given.
        new_path: Option<String>,
        /// New name, if given.
        new_name: Option<String>,
    },
    /// `DeleteGroup`.
    Delete {
        /// Which group.
        name: String,
    },
    /// `ListGroups`.
    List {
        /// Only groups whose path starts with this.
        path_prefix: String,
        /// Which page.
        page: Page,
    },
    /// `AddUserToGroup`, `RemoveUserFromGroup`.
    Membership {
        /// Which group.
        group: String,
        /// Which user.
        user: String,
    },
    /// `ListGroupsForUser`.
    ForUser {
        /// Whose.
        user: String,
        /// Which page.
        page: Page,
    },
}

impl Reader<'_, '_> {
    fn group(&mut self) -> String {
        self.required_name("GroupName", "groupName", 128)
    }
}

/// Decodes a group action.
pub(super) fn decode(action: Action, r: &mut Reader<'_, '_>) -> GroupRequest {
    match action {
        Action::CreateGroup => GroupRequest::Create {
            path: r.path("Path", "path"),
            name: r.group(),
        },
        Action::GetGroup => GroupRequest::Get {
            name: r.group(),
            page: r.page(),
        },
        Action::UpdateGroup => {
            let name = r.group();
            let new_path = r
                .params
                .get("NewPath")
                .is_some()
                .then(|| r.path("NewPath", "newPath"));
            let new_name = r.name("NewGroupName", "newGroupName", 128, false);
            GroupRequest::Update {
                name,
                new_path,
                new_name,
            }
        }
        Action::ListGroups => GroupRequest::List {
            path_prefix: r.path_prefix(),
            page: r.page(),
        },
        Action::AddUserToGroup | Action::RemoveUserFromGroup => GroupRequest::Membership {
            group: r.group(),
            user: r.user(),
        },
        Action::ListGroupsForUser => GroupRequest::ForUser {
            user: r.user(),
            page: r.page(),
        },
        // DeleteGroup.
        _ => GroupRequest::Delete { name: r.group() },
    }
}

/// A group as IAM returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    /// Path.
    pub path: String,
    /// Name.
    pub name: String,
    /// `AGPA…`.
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Creation time.
    pub created: OffsetDateTime,
}

/// The result of a group action.
#[derive(Clone, Debug)]
pub enum GroupResponse {
    /// `CreateGroup`.
    Created(GroupView),
    /// `GetGroup`.
    WithUsers(GroupView, Vec<UserView>, More),
    /// `ListGroups`, `ListGroupsForUser`.
    Groups(Action, Vec<GroupView>, More),
}

impl GroupResponse {
    pub(super) fn action(&self) -> Action {
        match self {
            Self::Created(_) => Action::CreateGroup,
            Self::WithUsers(..) => Action::GetGroup,
            Self::Groups(a, ..) => *a,
        }
    }

    pub(super) fn write(&self, w: &mut XmlWriter) {
        match self {
            Self::Created(g) => write_group(w, "Group", g),
            Self::WithUsers(g, users, more) => {
                write_group(w, "Group", g);
                w.open("Users");
                for u in users {
                    write_user(w, "member", u);
                }
                w.close("Users");
                write_more(w, more);
            }
            Self::Groups(_, groups, more) => {
                w.open("Groups");
                for g in groups {
                    write_group(w, "member", g);
                }
                w.close("Groups");
                write_more(w, more);
            }
        }
    }
}

fn write_group(w: &mut XmlWriter, element: &str, g: &GroupView) {
    w.open(element);
    w.text_element("Path", &g.path);
    w.text_element("GroupName", &g.name);
    w.text_element("GroupId", &g.id);
    w.text_element("Arn", &g.arn);
    w.text_element("CreateDate", &format_timestamp(g.created));
    w.close(element);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{Request, decode as decode_request};
    use crate::query::Params;

    #[test]
    fn update_group_takes_optional_new_values() {
        let r = decode_request(
            Action::UpdateGroup,
            &Params::decode("", "GroupName=g&NewGroupName=h").unwrap(),
        )
        .unwrap();
        assert_eq!(
            r,
            Request::Group(GroupRequest::Update {
                name: "g".into(),
                new_path: None,
                new_name: Some("h".into()),
            })
        );
        let e = decode_request(
            Action::UpdateGroup,
            &Params::decode("", "GroupName=g&NewPath=x").unwrap(),
        )
        .unwrap_err();
        assert!(e.message.contains("newPath"), "{}", e.message);
    }

    #[test]
    fn membership_needs_both_names() {
        let e = decode_request(
            Action::AddUserToGroup,
            &Params::decode("", "GroupName=g").unwrap(),
        )
        .unwrap_err();
        assert!(e.message.contains("userName"), "{}", e.message);
    }
}
