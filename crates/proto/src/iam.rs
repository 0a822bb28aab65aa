//! The IAM admin API (version 2010-05-08): the implemented actions, their typed requests
//! validated to the model's limits, and the XML encoding of their results.

use crate::query::Params;
use crate::sts::format_timestamp;
use crate::validate::Violations;
use crate::xml::{XmlWriter, escape};
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
);

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
        /// Initial tags.
        tags: Vec<Tag>,
    },
    /// `GetUser` (the caller when no name is given).
    GetUser {
        /// Whose.
        user_name: Option<String>,
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
    /// `TagUser`.
    TagUser {
        /// Whose.
        user_name: String,
        /// Tags to add or replace.
        tags: Vec<Tag>,
    },
    /// `UntagUser`.
    UntagUser {
        /// Whose.
        user_name: String,
        /// Keys to remove (case-insensitively).
        tag_keys: Vec<String>,
    },
    /// `ListUserTags`.
    ListUserTags {
        /// Whose.
        user_name: String,
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
    /// `PutUserPolicy`.
    PutUserPolicy {
        /// Whose.
        user_name: String,
        /// The inline policy's name.
        policy_name: String,
        /// The JSON document (validated by the policy engine when applied).
        policy_document: String,
    },
    /// `GetUserPolicy`.
    GetUserPolicy {
        /// Whose.
        user_name: String,
        /// Which policy.
        policy_name: String,
    },
    /// `DeleteUserPolicy`.
    DeleteUserPolicy {
        /// Whose.
        user_name: String,
        /// Which policy.
        policy_name: String,
    },
    /// `ListUserPolicies`.
    ListUserPolicies {
        /// Whose.
        user_name: String,
        /// Which page.
        page: Page,
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

    fn policy_document(&mut self) -> String {
        match self.params.get("PolicyDocument") {
            Some(d) => {
                self.v.length(d, "policyDocument", 1, 131_072);
                if !d
                    .chars()
                    .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
                {
                    self.v.push(None, "policyDocument", "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
                }
                d.to_owned()
            }
            None => {
                self.v.missing("policyDocument");
                String::new()
            }
        }
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
            let tags = r.tags(false);
            Request::CreateUser {
                path,
                user_name,
                tags,
            }
        }
        Action::GetUser => Request::GetUser {
            user_name: r.optional_user(),
        },
        Action::DeleteUser => Request::DeleteUser {
            user_name: r.user(),
        },
        Action::ListUsers => {
            let path_prefix = match params.get("PathPrefix") {
                Some(p) => {
                    r.v.length(p, "pathPrefix", 1, 512);
                    if !p.starts_with('/') {
                        r.v.push(
                            Some(p),
                            "pathPrefix",
                            "satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
                        );
                    }
                    p.to_owned()
                }
                None => "/".to_owned(),
            };
            Request::ListUsers {
                path_prefix,
                page: r.page(),
            }
        }
        Action::TagUser => Request::TagUser {
            user_name: r.user(),
            tags: r.tags(true),
        },
        Action::UntagUser => {
            let user_name = r.user();
            let tag_keys = match params.list("TagKeys") {
                Ok(keys) => {
                    if keys.is_empty() && params.get("TagKeys").is_none() {
                        r.v.missing("tagKeys");
                    }
                    for k in &keys {
                        r.v.length(k, "tagKeys", 1, 128);
                    }
                    keys.into_iter().map(str::to_owned).collect()
                }
                Err(bad) => {
                    r.v.push(Some(&bad), "tagKeys", "be a well-formed list");
                    Vec::new()
                }
            };
            Request::UntagUser {
                user_name,
                tag_keys,
            }
        }
        Action::ListUserTags => Request::ListUserTags {
            user_name: r.user(),
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
        Action::PutUserPolicy => Request::PutUserPolicy {
            user_name: r.user(),
            policy_name: r.required_name("PolicyName", "policyName", 128),
            policy_document: r.policy_document(),
        },
        Action::GetUserPolicy => Request::GetUserPolicy {
            user_name: r.user(),
            policy_name: r.required_name("PolicyName", "policyName", 128),
        },
        Action::DeleteUserPolicy => Request::DeleteUserPolicy {
            user_name: r.user(),
            policy_name: r.required_name("PolicyName", "policyName", 128),
        },
        Action::ListUserPolicies => Request::ListUserPolicies {
            user_name: r.user(),
            page: r.page(),
        },
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

/// A successful IAM result.
#[derive(Clone, Debug)]
pub enum Response {
    /// Actions without output.
    Empty(Action),
    /// `CreateUser`, `GetUser`.
    User(Action, UserView),
    /// `ListUsers`.
    Users(Vec<UserView>, More),
    /// `ListUserTags`.
    Tags(Vec<Tag>, More),
    /// `CreateAccessKey`: the only time the secret is shown.
    NewAccessKey(AccessKeyView, tessera_sigv4::SecretKey),
    /// `ListAccessKeys`.
    AccessKeys(Vec<AccessKeyView>, More),
    /// `GetUserPolicy`.
    UserPolicy {
        /// Owner.
        user_name: String,
        /// Name.
        policy_name: String,
        /// The JSON document (URL-encoded on the wire).
        document: String,
    },
    /// `ListUserPolicies`.
    PolicyNames(Vec<String>, More),
}

/// Percent-encodes a policy document as IAM returns them: every byte but `A–Z a–z 0–9 - _ . ~`.
pub fn url_encode_policy(doc: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(doc.len() * 2);
    for &b in doc.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            for nibble in [b >> 4, b & 0x0F] {
                out.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
    }
    out
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

fn write_user(w: &mut XmlWriter, element: &str, u: &UserView) {
    w.open(element);
    w.text_element("Path", &u.path);
    w.text_element("UserName", &u.name);
    w.text_element("UserId", &u.id);
    w.text_element("Arn", &u.arn);
    w.text_element("CreateDate", &format_timestamp(u.created));
    if let Some(tags) = u.tags.as_ref().filter(|t| !t.is_empty()) {
        write_tags(w, tags);
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
            Self::Empty(a) | Self::User(a, _) => *a,
            Self::Users(..) => Action::ListUsers,
            Self::Tags(..) => Action::ListUserTags,
            Self::NewAccessKey(..) => Action::CreateAccessKey,
            Self::AccessKeys(..) => Action::ListAccessKeys,
            Self::UserPolicy { .. } => Action::GetUserPolicy,
            Self::PolicyNames(..) => Action::ListUserPolicies,
        }
    }

    /// The `<{Action}Response>` document.
    pub fn to_xml(&self, request_id: &str) -> String {
        let name = self.action().name();
        let mut w = XmlWriter::with_capacity(1024);
        w.raw(&format!("<{name}Response xmlns=\"{}\">", escape(NAMESPACE)));
        if !matches!(self, Self::Empty(_)) {
            w.open(&format!("{name}Result"));
            match self {
                Self::Empty(_) => {}
                Self::User(_, u) => write_user(&mut w, "User", u),
                Self::Users(users, more) => {
                    w.open("Users");
                    for u in users {
                        write_user(&mut w, "member", u);
                    }
                    w.close("Users");
                    write_more(&mut w, more);
                }
                Self::Tags(tags, more) => {
                    write_tags(&mut w, tags);
                    write_more(&mut w, more);
                }
                Self::NewAccessKey(k, secret) => write_key(&mut w, "AccessKey", k, Some(secret)),
                Self::AccessKeys(keys, more) => {
                    w.open("AccessKeyMetadata");
                    for k in keys {
                        write_key(&mut w, "member", k, None);
                    }
                    w.close("AccessKeyMetadata");
                    write_more(&mut w, more);
                }
                Self::UserPolicy {
                    user_name,
                    policy_name,
                    document,
                } => {
                    w.text_element("UserName", user_name);
                    w.text_element("PolicyName", policy_name);
                    w.text_element("PolicyDocument", &url_encode_policy(document));
                }
                Self::PolicyNames(names, more) => {
                    w.open("PolicyNames");
                    for n in names {
                        w.text_element("member", n);
                    }
                    w.close("PolicyNames");
                    write_more(&mut w, more);
                }
            }
            w.close(&format!("{name}Result"));
        }
        w.open("ResponseMetadata");
        w.text_element("RequestId", request_id);
        w.close("ResponseMetadata");
        w.close(&format!("{name}Response"));
        w.finish()
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
        let r = Response::UserPolicy {
            user_name: "u".into(),
            policy_name: "p".into(),
            document: "{ }".into(),
        };
        assert!(
            r.to_xml("rid")
                .contains("<PolicyDocument>%7B%20%7D</PolicyDocument>")
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
