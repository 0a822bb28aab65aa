//! From a bootstrap file and the store as it is to the IAM calls that bring the store in line.
//! The plan only compares; every rule on names, paths, documents and limits is enforced by the
//! IAM actions themselves when the steps run, exactly as for `aws iam`.

use super::file::{
    AccountSpec, File, GroupSpec, KeySpec, OidcSpec, PolicySpec, RoleSpec, SamlSpec, UserSpec,
    line_of,
};
use crate::snapshot::{InlinePolicy, KeyOwner, ManagedPolicy, Snapshot};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tessera_proto::iam::Action;
use tessera_proto::{AccessKeyId, AccountId, KeyKind};
use tessera_sigv4::SecretKey;
use toml::Spanned;

/// A refusal of the file, before anything is written.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The 1-based line of the file it is about.
    pub line: usize,
    /// Why.
    pub message: String,
}

/// One change, in the order it must run.
pub(crate) struct Step {
    /// The line of the file that asks for it.
    pub(crate) line: usize,
    /// The account it happens in.
    pub(crate) account: AccountId,
    /// The line printed for it: `+` creates, `~` changes, `-` removes.
    pub(crate) change: String,
    /// For a call that carries a policy document among other things (a new role's trust policy,
    /// a new managed policy's document): the document's line and name, which a refusal of the
    /// document points at instead.
    pub(crate) document: Option<(usize, &'static str)>,
    /// What runs.
    pub(crate) op: Op,
}

/// How a step runs.
pub(crate) enum Op {
    /// A new account (IAM has no call for it).
    CreateAccount,
    /// An IAM call as the account root, with its Query parameters.
    Iam(Action, Vec<(String, String)>),
    /// A user's access key whose id and secret the operator supplies (IAM cannot import keys).
    ImportKey {
        /// The user's name.
        user: String,
        /// `AKIA…`.
        id: String,
        /// The secret.
        secret: SecretKey,
        /// Whether a key with this id exists and only its secret changes.
        replace: bool,
    },
}

/// What the planner reads besides the file.
pub(crate) struct World<'a> {
    /// The file's text, for line numbers.
    pub(crate) text: &'a str,
    /// The directory `metadata_file` paths are relative to.
    pub(crate) base: &'a Path,
    /// The store as it is.
    pub(crate) snapshot: &'a Snapshot,
    /// The store's accounts.
    pub(crate) accounts: &'a [AccountId],
    /// Environment lookup (access keys supplied by the operator).
    pub(crate) env: &'a dyn Fn(&str) -> Option<String>,
}

struct Planner<'a> {
    world: &'a World<'a>,
    steps: Vec<Step>,
}

/// The steps that bring the store in line with `file`, in dependency order: accounts, then
/// policies, providers, groups, users and roles of every account.
pub(crate) fn plan(file: &File, world: &World<'_>) -> Result<Vec<Step>, Refusal> {
    let mut p = Planner {
        world,
        steps: Vec::new(),
    };
    let mut accounts = Vec::with_capacity(file.accounts.len());
    for spec in &file.accounts {
        let id = p.account(spec)?;
        if accounts.iter().any(|(a, _)| *a == id) {
            return Err(p.refuse(spec.span().start, format!("account {id} is declared twice")));
        }
        accounts.push((id, spec.get_ref()));
    }
    for (account, spec) in &accounts {
        for policy in &spec.policies {
            p.policy(*account, policy)?;
        }
    }
    for (account, spec) in &accounts {
        for provider in &spec.oidc_providers {
            p.oidc_provider(*account, provider);
        }
        for provider in &spec.saml_providers {
            p.saml_provider(*account, provider)?;
        }
    }
    for (account, spec) in &accounts {
        for group in &spec.groups {
            p.group(*account, group)?;
        }
    }
    for (account, spec) in &accounts {
        for user in &spec.users {
            p.user(*account, user)?;
        }
    }
    for (account, spec) in &accounts {
        for role in &spec.roles {
            p.role(*account, role)?;
        }
    }
    Ok(p.steps)
}

/// Query parameters of one IAM call.
type Params = Vec<(String, String)>;

/// Parameters with fixed names.
fn named(pairs: Vec<(&str, String)>) -> Params {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// `Tags.member.N.Key/Value` parameters.
fn tag_params(params: &mut Params, tags: &BTreeMap<String, String>) {
    for (i, (k, v)) in tags.iter().enumerate() {
        params.push((format!("Tags.member.{}.Key", i + 1), k.clone()));
        params.push((format!("Tags.member.{}.Value", i + 1), v.clone()));
    }
}

/// `<List>.member.N` parameters.
fn list_params(params: &mut Params, list: &str, items: &[String]) {
    for (i, item) in items.iter().enumerate() {
        params.push((format!("{list}.member.{}", i + 1), item.clone()));
    }
}

/// Whether two policy documents say the same thing (JSON equality; whitespace and key order
/// do not create a change).
fn same_document(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn tags_equal(current: &[(String, String)], desired: &BTreeMap<String, String>) -> bool {
    current.len() == desired.len()
        && current
            .iter()
            .all(|(k, v)| desired.get(k).is_some_and(|d| d == v))
}

fn blank(s: Option<&str>) -> &str {
    s.unwrap_or("")
}

/// Whose inline policies, attachments and tags a step changes.
#[derive(Clone, Copy)]
enum Kind {
    User,
    Group,
    Role,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Role => "role",
        }
    }
    fn name_param(self) -> &'static str {
        match self {
            Self::User => "UserName",
            Self::Group => "GroupName",
            Self::Role => "RoleName",
        }
    }
    fn put(self) -> Action {
        match self {
            Self::User => Action::PutUserPolicy,
            Self::Group => Action::PutGroupPolicy,
            Self::Role => Action::PutRolePolicy,
        }
    }
    fn delete(self) -> Action {
        match self {
            Self::User => Action::DeleteUserPolicy,
            Self::Group => Action::DeleteGroupPolicy,
            Self::Role => Action::DeleteRolePolicy,
        }
    }
    fn attach(self) -> Action {
        match self {
            Self::User => Action::AttachUserPolicy,
            Self::Group => Action::AttachGroupPolicy,
            Self::Role => Action::AttachRolePolicy,
        }
    }
    fn detach(self) -> Action {
        match self {
            Self::User => Action::DetachUserPolicy,
            Self::Group => Action::DetachGroupPolicy,
            Self::Role => Action::DetachRolePolicy,
        }
    }
}

/// What a tag change applies to, and the calls that make it.
#[derive(Clone, Copy)]
struct TagTarget<'a> {
    /// How the diff names the owner.
    what: &'a str,
    tag: Action,
    untag: Action,
    /// The parameter naming the owner, and its value.
    owner: (&'static str, &'a str),
}

/// An owner's current inline policies, attachments and tags (empty when it is being created).
#[derive(Default)]
struct Current<'s> {
    inline: &'s [InlinePolicy],
    attached: &'s [Arc<ManagedPolicy>],
}

impl Planner<'_> {
    fn refuse(&self, offset: usize, message: String) -> Refusal {
        Refusal {
            line: line_of(self.world.text, offset),
            message,
        }
    }

    fn line(&self, offset: usize) -> usize {
        line_of(self.world.text, offset)
    }

    fn call(
        &mut self,
        offset: usize,
        account: AccountId,
        change: String,
        action: Action,
        params: impl IntoIterator<Item = (impl Into<String>, String)>,
    ) {
        let line = self.line(offset);
        let params = params.into_iter().map(|(k, v)| (k.into(), v)).collect();
        self.steps.push(Step {
            line,
            account,
            change,
            document: None,
            op: Op::Iam(action, params),
        });
    }

    /// Marks the last step as carrying a policy document at `offset`.
    fn document_at(&mut self, offset: usize, name: &'static str) {
        let line = self.line(offset);
        if let Some(step) = self.steps.last_mut() {
            step.document = Some((line, name));
        }
    }

    fn account(&mut self, spec: &Spanned<AccountSpec>) -> Result<AccountId, Refusal> {
        let known = self.world.accounts;
        let Some(id) = &spec.get_ref().id else {
            return match known {
                [only] => Ok(*only),
                _ => Err(self.refuse(
                    spec.span().start,
                    format!(
                        "this account has no id, and the store holds {} accounts: name it with id = \"…\"",
                        known.len()
                    ),
                )),
            };
        };
        let account = AccountId::parse(id.get_ref()).ok_or_else(|| {
            self.refuse(
                id.span().start,
                format!("account id {:?} is not 12 digits", id.get_ref()),
            )
        })?;
        if !known.contains(&account) {
            let line = self.line(id.span().start);
            self.steps.push(Step {
                line,
                account,
                change: format!("+ account {account}"),
                document: None,
                op: Op::CreateAccount,
            });
        }
        Ok(account)
    }

    fn tags(
        &mut self,
        offset: usize,
        account: AccountId,
        target: &TagTarget<'_>,
        current: &[(String, String)],
        desired: &BTreeMap<String, String>,
    ) {
        let TagTarget {
            what,
            tag,
            untag,
            owner,
        } = *target;
        if tags_equal(current, desired) {
            return;
        }
        let stale: Vec<String> = current
            .iter()
            .filter(|(k, v)| desired.get(k) != Some(v))
            .map(|(k, _)| k.clone())
            .filter(|k| !desired.contains_key(k))
            .collect();
        if !stale.is_empty() {
            let mut params = named(vec![(owner.0, owner.1.to_owned())]);
            list_params(&mut params, "TagKeys", &stale);
            self.call(
                offset,
                account,
                format!("- {what}: tags {}", stale.join(", ")),
                untag,
                params,
            );
        }
        let fresh: BTreeMap<String, String> = desired
            .iter()
            .filter(|(k, v)| !current.iter().any(|(ck, cv)| ck == *k && cv == *v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !fresh.is_empty() {
            let mut params = named(vec![(owner.0, owner.1.to_owned())]);
            tag_params(&mut params, &fresh);
            let keys: Vec<&str> = fresh.keys().map(String::as_str).collect();
            self.call(
                offset,
                account,
                format!("~ {what}: tags {}", keys.join(", ")),
                tag,
                params,
            );
        }
    }

    /// Inline policies and attachments of a user, group or role: the file's set is the whole set.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call per owner kind, all of it needed"
    )]
    fn owned_policies(
        &mut self,
        account: AccountId,
        kind: Kind,
        name: &str,
        current: &Current<'_>,
        inline: &BTreeMap<String, Spanned<String>>,
        managed: &[String],
        offset: usize,
    ) {
        let who = format!("{} {name}", kind.word());
        for (policy_name, document) in inline {
            let unchanged = current
                .inline
                .iter()
                .any(|p| p.name == *policy_name && same_document(&p.document, document.get_ref()));
            if unchanged {
                continue;
            }
            let sign = if current.inline.iter().any(|p| p.name == *policy_name) {
                "~"
            } else {
                "+"
            };
            self.call(
                document.span().start,
                account,
                format!("{sign} {who}: inline policy {policy_name}"),
                kind.put(),
                vec![
                    (kind.name_param(), name.to_owned()),
                    ("PolicyName", policy_name.clone()),
                    ("PolicyDocument", document.get_ref().clone()),
                ],
            );
        }
        for stale in current
            .inline
            .iter()
            .filter(|p| !inline.contains_key(&p.name))
        {
            self.call(
                offset,
                account,
                format!("- {who}: inline policy {}", stale.name),
                kind.delete(),
                vec![
                    (kind.name_param(), name.to_owned()),
                    ("PolicyName", stale.name.clone()),
                ],
            );
        }
        for arn in managed {
            if !current.attached.iter().any(|p| p.arn == *arn) {
                self.call(
                    offset,
                    account,
                    format!("+ {who}: attach {arn}"),
                    kind.attach(),
                    vec![
                        (kind.name_param(), name.to_owned()),
                        ("PolicyArn", arn.clone()),
                    ],
                );
            }
        }
        for stale in current
            .attached
            .iter()
            .filter(|p| !managed.contains(&p.arn))
        {
            self.call(
                offset,
                account,
                format!("- {who}: detach {}", stale.arn),
                kind.detach(),
                vec![
                    (kind.name_param(), name.to_owned()),
                    ("PolicyArn", stale.arn.clone()),
                ],
            );
        }
    }

    fn policy(&mut self, account: AccountId, spec: &Spanned<PolicySpec>) -> Result<(), Refusal> {
        let at = spec.span().start;
        let s = spec.get_ref();
        let snapshot = self.world.snapshot;
        let existing = snapshot
            .managed_policies_for(account)
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(&s.name));
        let Some(existing) = existing else {
            let mut params = named(vec![
                ("PolicyName", s.name.clone()),
                ("Path", s.path.clone()),
                ("PolicyDocument", s.document.get_ref().clone()),
            ]);
            if let Some(d) = &s.description {
                params.push(("Description".to_owned(), d.clone()));
            }
            tag_params(&mut params, &s.tags);
            self.call(
                at,
                account,
                format!("+ policy {}", s.name),
                Action::CreatePolicy,
                params,
            );
            self.document_at(s.document.span().start, "document");
            return Ok(());
        };
        if existing.path != s.path || existing.name != s.name {
            return Err(self.refuse(
                at,
                format!(
                    "policy {} exists as {}: IAM cannot rename or move a policy (delete it first)",
                    s.name, existing.arn
                ),
            ));
        }
        if blank(existing.description.as_deref()) != blank(s.description.as_deref()) {
            return Err(self.refuse(
                at,
                format!(
                    "policy {}: IAM cannot change a policy's description (delete it first)",
                    s.name
                ),
            ));
        }
        let in_force = existing
            .version(existing.default_version)
            .map(|v| v.document.as_str());
        if !in_force.is_some_and(|d| same_document(d, s.document.get_ref())) {
            if existing.versions.len() >= 5 {
                // Make room as IAM asks: the oldest version that is not in force goes.
                if let Some(oldest) = existing
                    .versions
                    .iter()
                    .filter(|v| v.number != existing.default_version)
                    .min_by_key(|v| v.number)
                {
                    self.call(
                        at,
                        account,
                        format!("- policy {}: version v{}", s.name, oldest.number),
                        Action::DeletePolicyVersion,
                        vec![
                            ("PolicyArn", existing.arn.clone()),
                            ("VersionId", format!("v{}", oldest.number)),
                        ],
                    );
                }
            }
            self.call(
                s.document.span().start,
                account,
                format!("~ policy {}: new default version", s.name),
                Action::CreatePolicyVersion,
                vec![
                    ("PolicyArn", existing.arn.clone()),
                    ("PolicyDocument", s.document.get_ref().clone()),
                    ("SetAsDefault", "true".to_owned()),
                ],
            );
        }
        self.tags(
            at,
            account,
            &TagTarget {
                what: &format!("policy {}", s.name),
                tag: Action::TagPolicy,
                untag: Action::UntagPolicy,
                owner: ("PolicyArn", &existing.arn),
            },
            &existing.tags,
            &s.tags,
        );
        Ok(())
    }

    fn oidc_provider(&mut self, account: AccountId, spec: &Spanned<OidcSpec>) {
        let at = spec.span().start;
        let s = spec.get_ref();
        let host_path = s.url.strip_prefix("https://").unwrap_or(&s.url);
        let Some(existing) = self.world.snapshot.oidc_provider_for(account, host_path) else {
            let mut params = named(vec![("Url", s.url.clone())]);
            list_params(&mut params, "ClientIDList", &s.client_ids);
            list_params(&mut params, "ThumbprintList", &s.thumbprints);
            tag_params(&mut params, &s.tags);
            self.call(
                at,
                account,
                format!("+ OIDC provider {}", s.url),
                Action::CreateOpenIDConnectProvider,
                params,
            );
            return;
        };
        let what = format!("OIDC provider {}", s.url);
        let arn = existing.arn.clone();
        for id in s
            .client_ids
            .iter()
            .filter(|c| !existing.client_ids.contains(c))
        {
            self.call(
                at,
                account,
                format!("+ {what}: client id {id}"),
                Action::AddClientIDToOpenIDConnectProvider,
                vec![
                    ("OpenIDConnectProviderArn", arn.clone()),
                    ("ClientID", id.clone()),
                ],
            );
        }
        for id in existing
            .client_ids
            .iter()
            .filter(|c| !s.client_ids.contains(c))
        {
            self.call(
                at,
                account,
                format!("- {what}: client id {id}"),
                Action::RemoveClientIDFromOpenIDConnectProvider,
                vec![
                    ("OpenIDConnectProviderArn", arn.clone()),
                    ("ClientID", id.clone()),
                ],
            );
        }
        let fold = |list: &[String]| {
            let mut v: Vec<String> = list.iter().map(|t| t.to_ascii_lowercase()).collect();
            v.sort();
            v
        };
        if fold(&existing.thumbprints) != fold(&s.thumbprints) {
            let mut params = named(vec![("OpenIDConnectProviderArn", arn.clone())]);
            list_params(&mut params, "ThumbprintList", &s.thumbprints);
            self.call(
                at,
                account,
                format!("~ {what}: thumbprints"),
                Action::UpdateOpenIDConnectProviderThumbprint,
                params,
            );
        }
        self.tags(
            at,
            account,
            &TagTarget {
                what: &what,
                tag: Action::TagOpenIDConnectProvider,
                untag: Action::UntagOpenIDConnectProvider,
                owner: ("OpenIDConnectProviderArn", &arn),
            },
            &existing.tags,
            &s.tags,
        );
    }

    fn saml_provider(
        &mut self,
        account: AccountId,
        spec: &Spanned<SamlSpec>,
    ) -> Result<(), Refusal> {
        let at = spec.span().start;
        let s = spec.get_ref();
        let metadata = match (&s.metadata, &s.metadata_file) {
            (Some(m), None) => m.clone(),
            (None, Some(file)) => {
                let path = self.world.base.join(file.get_ref());
                std::fs::read_to_string(&path).map_err(|e| {
                    self.refuse(
                        file.span().start,
                        format!("reading {}: {e}", path.display()),
                    )
                })?
            }
            _ => {
                return Err(self.refuse(
                    at,
                    format!(
                        "SAML provider {}: give exactly one of metadata and metadata_file",
                        s.name
                    ),
                ));
            }
        };
        let arn = format!(
            "arn:{}:iam::{account}:saml-provider/{}",
            self.world.snapshot.partition, s.name
        );
        let Some(existing) = self.world.snapshot.saml_provider(&arn) else {
            let mut params = named(vec![
                ("Name", s.name.clone()),
                ("SAMLMetadataDocument", metadata),
            ]);
            tag_params(&mut params, &s.tags);
            self.call(
                at,
                account,
                format!("+ SAML provider {}", s.name),
                Action::CreateSAMLProvider,
                params,
            );
            return Ok(());
        };
        let what = format!("SAML provider {}", s.name);
        if existing.document != metadata {
            self.call(
                at,
                account,
                format!("~ {what}: metadata"),
                Action::UpdateSAMLProvider,
                vec![
                    ("SAMLProviderArn", arn.clone()),
                    ("SAMLMetadataDocument", metadata),
                ],
            );
        }
        self.tags(
            at,
            account,
            &TagTarget {
                what: &what,
                tag: Action::TagSAMLProvider,
                untag: Action::UntagSAMLProvider,
                owner: ("SAMLProviderArn", &arn),
            },
            &existing.tags,
            &s.tags,
        );
        Ok(())
    }

    fn group(&mut self, account: AccountId, spec: &Spanned<GroupSpec>) -> Result<(), Refusal> {
        let at = spec.span().start;
        let s = spec.get_ref();
        let existing = self.world.snapshot.group_named(account, &s.name).cloned();
        let current = match &existing {
            None => {
                self.call(
                    at,
                    account,
                    format!("+ group {}", s.name),
                    Action::CreateGroup,
                    vec![("GroupName", s.name.clone()), ("Path", s.path.clone())],
                );
                Current::default()
            }
            Some(g) => {
                if g.path != s.path {
                    self.call(
                        at,
                        account,
                        format!("~ group {}: path {}", s.name, s.path),
                        Action::UpdateGroup,
                        vec![("GroupName", s.name.clone()), ("NewPath", s.path.clone())],
                    );
                }
                Current {
                    inline: &g.inline,
                    attached: &g.attached,
                }
            }
        };
        self.owned_policies(
            account,
            Kind::Group,
            &s.name,
            &current,
            &s.inline_policies,
            &s.managed_policies,
            at,
        );
        Ok(())
    }

    fn user(&mut self, account: AccountId, spec: &Spanned<UserSpec>) -> Result<(), Refusal> {
        let at = spec.span().start;
        let s = spec.get_ref();
        let existing = self.world.snapshot.user_named(account, &s.name).cloned();
        let who = format!("user {}", s.name);
        let current = match &existing {
            None => {
                let mut params =
                    named(vec![("UserName", s.name.clone()), ("Path", s.path.clone())]);
                if let Some(b) = &s.permissions_boundary {
                    params.push(("PermissionsBoundary".to_owned(), b.clone()));
                }
                tag_params(&mut params, &s.tags);
                self.call(at, account, format!("+ {who}"), Action::CreateUser, params);
                Current::default()
            }
            Some(u) => {
                if u.path != s.path {
                    self.call(
                        at,
                        account,
                        format!("~ {who}: path {}", s.path),
                        Action::UpdateUser,
                        vec![("UserName", s.name.clone()), ("NewPath", s.path.clone())],
                    );
                }
                let boundary = u.boundary.as_ref().map(|b| b.arn.as_str());
                self.boundary(
                    at,
                    account,
                    Kind::User,
                    &s.name,
                    boundary,
                    s.permissions_boundary.as_deref(),
                );
                self.tags(
                    at,
                    account,
                    &TagTarget {
                        what: &who,
                        tag: Action::TagUser,
                        untag: Action::UntagUser,
                        owner: ("UserName", &s.name),
                    },
                    &u.tags,
                    &s.tags,
                );
                Current {
                    inline: &u.inline,
                    attached: &u.attached,
                }
            }
        };
        self.owned_policies(
            account,
            Kind::User,
            &s.name,
            &current,
            &s.inline_policies,
            &s.managed_policies,
            at,
        );
        let member_of: Vec<&str> = existing
            .as_ref()
            .map(|u| u.groups.iter().map(|g| g.name.as_str()).collect())
            .unwrap_or_default();
        for group in s
            .groups
            .iter()
            .filter(|g| !member_of.iter().any(|m| m.eq_ignore_ascii_case(g)))
        {
            self.call(
                at,
                account,
                format!("+ {who}: member of {group}"),
                Action::AddUserToGroup,
                vec![("GroupName", group.clone()), ("UserName", s.name.clone())],
            );
        }
        for group in member_of
            .iter()
            .filter(|m| !s.groups.iter().any(|g| g.eq_ignore_ascii_case(m)))
        {
            self.call(
                at,
                account,
                format!("- {who}: member of {group}"),
                Action::RemoveUserFromGroup,
                vec![
                    ("GroupName", (*group).to_owned()),
                    ("UserName", s.name.clone()),
                ],
            );
        }
        if let Some(key) = &s.access_key {
            let key_ids = existing
                .as_ref()
                .map(|u| u.key_ids.clone())
                .unwrap_or_default();
            self.access_key(account, &s.name, &key_ids, key)?;
        }
        Ok(())
    }

    fn boundary(
        &mut self,
        at: usize,
        account: AccountId,
        kind: Kind,
        name: &str,
        current: Option<&str>,
        desired: Option<&str>,
    ) {
        if current == desired {
            return;
        }
        let (put, delete) = match kind {
            Kind::Role => (
                Action::PutRolePermissionsBoundary,
                Action::DeleteRolePermissionsBoundary,
            ),
            Kind::User => (
                Action::PutUserPermissionsBoundary,
                Action::DeleteUserPermissionsBoundary,
            ),
            // Groups have no permissions boundary in IAM; the file has no key for one.
            Kind::Group => return,
        };
        let who = format!("{} {name}", kind.word());
        match desired {
            Some(arn) => self.call(
                at,
                account,
                format!("~ {who}: permissions boundary {arn}"),
                put,
                vec![
                    (kind.name_param(), name.to_owned()),
                    ("PermissionsBoundary", arn.to_owned()),
                ],
            ),
            None => self.call(
                at,
                account,
                format!("- {who}: permissions boundary"),
                delete,
                vec![(kind.name_param(), name.to_owned())],
            ),
        }
    }

    fn access_key(
        &mut self,
        account: AccountId,
        user: &str,
        key_ids: &[String],
        spec: &Spanned<KeySpec>,
    ) -> Result<(), Refusal> {
        let at = spec.span().start;
        let (id_env, secret_env) = match spec.get_ref() {
            KeySpec::Generate => {
                if key_ids.is_empty() {
                    self.call(
                        at,
                        account,
                        format!("+ user {user}: access key (generated)"),
                        Action::CreateAccessKey,
                        vec![("UserName", user.to_owned())],
                    );
                }
                return Ok(());
            }
            KeySpec::FromEnv(key) => (&key.id_env, &key.secret_env),
        };
        let read = |name: &str| {
            (self.world.env)(name)
                .ok_or_else(|| self.refuse(at, format!("environment variable {name} is not set")))
        };
        let id = read(id_env)?;
        let secret = SecretKey::new(read(secret_env)?);
        if AccessKeyId::parse(&id).is_none_or(|k| k.kind() != KeyKind::LongTerm) {
            return Err(self.refuse(
                at,
                format!("{id_env}: an access key id is AKIA followed by 16 characters A-Z and 2-7"),
            ));
        }
        let s = secret.expose();
        if s.len() != 40
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        {
            return Err(self.refuse(
                at,
                format!(
                    "{secret_env}: a secret access key is 40 characters A-Z, a-z, 0-9, + and /"
                ),
            ));
        }
        let replace = match self.world.snapshot.key(&id) {
            Some(k) => {
                let mine = matches!(&k.owner, KeyOwner::User(u) if u.account == account && u.name.eq_ignore_ascii_case(user));
                if !mine {
                    return Err(
                        self.refuse(at, format!("access key {id} belongs to another identity"))
                    );
                }
                if crate::tokens::subtle_eq(k.secret.expose().as_bytes(), s.as_bytes()) {
                    return Ok(());
                }
                true
            }
            None => {
                if key_ids.len() >= 2 {
                    return Err(self.refuse(
                        at,
                        format!(
                            "user {user}: LimitExceeded: Cannot exceed quota for AccessKeysPerUser: 2"
                        ),
                    ));
                }
                false
            }
        };
        let line = self.line(at);
        let sign = if replace { "~" } else { "+" };
        self.steps.push(Step {
            line,
            account,
            change: format!("{sign} user {user}: access key {id} (from ${id_env})"),
            document: None,
            op: Op::ImportKey {
                user: user.to_owned(),
                id,
                secret,
                replace,
            },
        });
        Ok(())
    }

    fn role(&mut self, account: AccountId, spec: &Spanned<RoleSpec>) -> Result<(), Refusal> {
        let at = spec.span().start;
        let s = spec.get_ref();
        let existing = self.world.snapshot.role_named(account, &s.name).cloned();
        let who = format!("role {}", s.name);
        let current = match &existing {
            None => {
                let mut params = named(vec![
                    ("RoleName", s.name.clone()),
                    ("Path", s.path.clone()),
                    ("AssumeRolePolicyDocument", s.trust_policy.get_ref().clone()),
                ]);
                if let Some(d) = &s.description {
                    params.push(("Description".to_owned(), d.clone()));
                }
                if let Some(m) = s.max_session_duration {
                    params.push(("MaxSessionDuration".to_owned(), m.to_string()));
                }
                if let Some(b) = &s.permissions_boundary {
                    params.push(("PermissionsBoundary".to_owned(), b.clone()));
                }
                tag_params(&mut params, &s.tags);
                self.call(at, account, format!("+ {who}"), Action::CreateRole, params);
                self.document_at(s.trust_policy.span().start, "trust policy");
                Current::default()
            }
            Some(r) => {
                if r.path != s.path {
                    return Err(self.refuse(
                        at,
                        format!(
                            "role {} exists with path {}: IAM cannot move a role (delete it first)",
                            s.name, r.path
                        ),
                    ));
                }
                if !same_document(&r.trust_document, s.trust_policy.get_ref()) {
                    self.call(
                        s.trust_policy.span().start,
                        account,
                        format!("~ {who}: trust policy"),
                        Action::UpdateAssumeRolePolicy,
                        vec![
                            ("RoleName", s.name.clone()),
                            ("PolicyDocument", s.trust_policy.get_ref().clone()),
                        ],
                    );
                }
                let max = s.max_session_duration.unwrap_or(3600);
                if blank(r.description.as_deref()) != blank(s.description.as_deref())
                    || r.max_session_duration != max
                {
                    self.call(
                        at,
                        account,
                        format!("~ {who}: description and maximum session duration"),
                        Action::UpdateRole,
                        vec![
                            ("RoleName", s.name.clone()),
                            ("Description", blank(s.description.as_deref()).to_owned()),
                            ("MaxSessionDuration", max.to_string()),
                        ],
                    );
                }
                let boundary = r.boundary.as_ref().map(|b| b.arn.as_str());
                self.boundary(
                    at,
                    account,
                    Kind::Role,
                    &s.name,
                    boundary,
                    s.permissions_boundary.as_deref(),
                );
                self.tags(
                    at,
                    account,
                    &TagTarget {
                        what: &who,
                        tag: Action::TagRole,
                        untag: Action::UntagRole,
                        owner: ("RoleName", &s.name),
                    },
                    &r.tags,
                    &s.tags,
                );
                Current {
                    inline: &r.inline,
                    attached: &r.attached,
                }
            }
        };
        self.owned_policies(
            account,
            Kind::Role,
            &s.name,
            &current,
            &s.inline_policies,
            &s.managed_policies,
            at,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        reason = "a test fails by panicking"
    )]
    use super::*;
    use crate::keyring::MasterKey;
    use crate::store::StoreData;

    fn refusal(text: &str, accounts: &[&str]) -> Refusal {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::load_or_create(None, &dir.path().join("m")).unwrap();
        let snapshot = Snapshot::build(&StoreData::default(), &master, "aws").unwrap();
        let accounts: Vec<AccountId> = accounts
            .iter()
            .map(|a| AccountId::parse(a).unwrap())
            .collect();
        let env = |_: &str| None;
        let world = World {
            text,
            base: dir.path(),
            snapshot: &snapshot,
            accounts: &accounts,
            env: &env,
        };
        let file = super::super::file::parse(text).unwrap();
        match plan(&file, &world) {
            Ok(steps) => panic!("planned {} steps instead of refusing", steps.len()),
            Err(r) => r,
        }
    }

    #[test]
    fn an_account_declared_twice_is_refused_at_its_second_table() {
        let r = refusal(
            "[[accounts]]\nid = \"111122223333\"\n\n[[accounts]]\nid = \"111122223333\"\n",
            &[],
        );
        assert_eq!(r.line, 4);
        assert_eq!(r.message, "account 111122223333 is declared twice");
    }

    #[test]
    fn an_account_without_id_needs_exactly_one_account_in_the_store() {
        let text = "[[accounts]]\n[[accounts.users]]\nname = \"u\"\n";
        for accounts in [&[][..], &["111122223333", "444455556666"][..]] {
            let r = refusal(text, accounts);
            assert_eq!(r.line, 1);
            assert!(r.message.contains("has no id"), "{}", r.message);
        }
    }

    #[test]
    fn a_saml_provider_needs_exactly_one_metadata_source() {
        let neither = "[[accounts]]\n[[accounts.saml_providers]]\nname = \"Corp\"\n";
        let both = "[[accounts]]\n[[accounts.saml_providers]]\nname = \"Corp\"\nmetadata = \"<x/>\"\nmetadata_file = \"m.xml\"\n";
        for text in [neither, both] {
            let r = refusal(text, &["111122223333"]);
            assert_eq!(r.line, 2);
            assert_eq!(
                r.message,
                "SAML provider Corp: give exactly one of metadata and metadata_file"
            );
        }
        let missing = "[[accounts]]\n[[accounts.saml_providers]]\nname = \"Corp\"\nmetadata_file = \"absent.xml\"\n";
        let r = refusal(missing, &["111122223333"]);
        assert_eq!(r.line, 4);
        assert!(r.message.starts_with("reading "), "{}", r.message);
    }
}
