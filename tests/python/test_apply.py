"""End-to-end tests of ``tessera apply FILE`` and ``tessera serve --bootstrap FILE``.

The contract is docs/apply.md: a TOML bootstrap file declares accounts and what
they hold; applying it brings the named entities in line with it (and leaves
everything else alone), all or nothing, idempotently, and a refusal names the
line it is about with the IAM API's own error code and message.

Every test runs the real ``tessera apply`` binary against the data directory
of a real ``tessera serve`` and then checks the outcome the way a user would:
through boto3 IAM and STS calls against that server, after SIGHUP.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python/test_apply.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import string
import subprocess
import time
from pathlib import Path
from typing import Optional

import pytest

from saml_idp import TestSamlIdP
from tessera_testlib import (
    Creds,
    TesseraServer,
    assert_expires_in,
    expect_client_error,
    free_port,
    random_akia,
    random_secret,
)

FILE = "bootstrap.toml"
NEW_ACCOUNT = "210987654321"
SECOND_NEW_ACCOUNT = "333344445555"
OIDC_URL = "https://token.actions.githubusercontent.com"
OIDC_HOST = "token.actions.githubusercontent.com"
THUMBPRINT = "6938fd4d98bab03faadb97b34396831e3780aea1"
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
RELOADED = "reloaded store and key ring"  # what the server logs once a SIGHUP reload is done
APPLY_TIMEOUT = 30.0
RELOAD_TIMEOUT = 10.0


# ---------------------------------------------------------------------------
# policy documents
# ---------------------------------------------------------------------------


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(principal_arn: str) -> str:
    return doc({"Effect": "Allow", "Principal": {"AWS": principal_arn},
                "Action": "sts:AssumeRole"})


def reformatted(document: str) -> str:
    """The same JSON document with every object's keys reversed and other whitespace
    (still one line, so it fits a '…' TOML string)."""

    def reverse(value):
        if isinstance(value, dict):
            return {k: reverse(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reverse(v) for v in value]
        return value

    text = json.dumps(reverse(json.loads(document)), separators=(" ,  ", " :   "))
    assert text != document and json.loads(text) == json.loads(document)
    return text


READ_ONLY_V1 = doc(allow(["iam:GetUser", "iam:ListUsers"]))
READ_ONLY_V2 = doc(allow(["iam:GetUser", "iam:ListUsers", "iam:ListRoles"]))
BOUNDARY = doc(allow(["iam:*", "sts:*"]))
ASSUME = doc(allow("sts:AssumeRole"))
EXTRA = doc(allow("iam:ListGroups"))
INSPECT = doc(allow(["iam:Get*", "iam:List*"]))
GROUP_EXTRA = doc(allow("iam:ListPolicies"))
LOGS = doc(allow("logs:PutLogEvents"))
MANUAL = doc(allow("iam:ListAccountAliases"))


# ---------------------------------------------------------------------------
# bootstrap files
# ---------------------------------------------------------------------------


def line_of(text: str, marker: str) -> int:
    """The 1-based line of the one line of ``text`` containing ``marker``."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if marker in line]
    assert len(found) == 1, f"{marker!r} is on lines {found} of the file, want exactly one"
    return found[0]


def table_line(text: str, marker: str) -> int:
    """The line of the ``[[…]]`` header of the table that contains ``marker``."""
    lines = text.splitlines()
    n = line_of(text, marker)
    while not lines[n - 1].lstrip().startswith("[["):
        n -= 1
        assert n > 0, f"no [[table]] header above {marker!r}"
    return n


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the file"
    return text.replace(old, new)


def saml_metadata() -> str:
    """SAML IdP metadata with a fresh self-signed RSA-2048 signing certificate."""
    return TestSamlIdP().metadata()


# A full file for an account that does not exist yet.  ci may read IAM (Inspect), so the
# tests can look into the new account, which the first account's administrator cannot.
NEW_ACCOUNT_FILE = f"""\
[[accounts]]
id = "{NEW_ACCOUNT}"

[[accounts.policies]]
name = "ReadOnly"
path = "/team/"
description = "Read access"
document = '''
{READ_ONLY_V1}
'''
tags = {{ team = "platform" }}

[[accounts.oidc_providers]]
url = "{OIDC_URL}"
client_ids = ["sts.amazonaws.com"]
thumbprints = ["{THUMBPRINT}"]
tags = {{ ci = "github" }}

[[accounts.saml_providers]]
name = "Corp"
metadata_file = "corp-idp-metadata.xml"
tags = {{ idp = "corp" }}

[[accounts.groups]]
name = "deployers"
managed_policies = ["arn:aws:iam::{NEW_ACCOUNT}:policy/team/ReadOnly"]

[[accounts.users]]
name = "ci"
groups = ["deployers"]
tags = {{ owner = "ci" }}
access_key = "generate"
[accounts.users.inline_policies]
Assume = '{ASSUME}'
Inspect = '{INSPECT}'

[[accounts.users]]
name = "importer"
path = "/imported/"
access_key = {{ id_env = "IMPORTED_KEY_ID", secret_env = "IMPORTED_SECRET" }}

[[accounts.roles]]
name = "Deploy"
description = "CI deploys"
max_session_duration = 7200
trust_policy = '''
{trust(f"arn:aws:iam::{NEW_ACCOUNT}:user/ci")}
'''
tags = {{ env = "prod", team = "platform" }}
"""

# A team setup in the administrator's own account (no id: the store's only account).
TEAM_FILE = string.Template("""\
[[accounts]]

[[accounts.policies]]
name = "ReadOnly"
path = "/team/"
description = "Read access"
document = '$read_only'
tags = { team = "platform", cost = "shared" }

[[accounts.policies]]
name = "Boundary"
document = '$boundary'

[[accounts.oidc_providers]]
url = "$oidc_url"
client_ids = ["sts.amazonaws.com"]
thumbprints = ["$thumbprint"]
tags = { ci = "github" }

[[accounts.saml_providers]]
name = "Corp"
metadata_file = "corp-idp-metadata.xml"
tags = { idp = "corp" }

[[accounts.groups]]
name = "deployers"
path = "/team/"
managed_policies = ["arn:aws:iam::$account:policy/team/ReadOnly"]
[accounts.groups.inline_policies]
GroupExtra = '$group_extra'

[[accounts.users]]
name = "ci"
path = "/automation/"
groups = ["deployers"]
permissions_boundary = "arn:aws:iam::$account:policy/Boundary"
tags = { owner = "ci", tier = "build" }
access_key = "generate"
[accounts.users.inline_policies]
Assume = '$assume'
Extra = '$extra'

[[accounts.users]]
name = "importer"
access_key = { id_env = "IMPORTED_KEY_ID", secret_env = "IMPORTED_SECRET" }

[[accounts.roles]]
name = "Deploy"
description = "CI deploys"
max_session_duration = 7200
trust_policy = '$trust'
managed_policies = ["$read_only_access", "arn:aws:iam::$account:policy/team/ReadOnly"]
tags = { env = "prod", team = "platform" }
[accounts.roles.inline_policies]
Logs = '$logs'
""")


def team_documents(account: str) -> dict:
    return {"read_only": READ_ONLY_V1, "boundary": BOUNDARY, "group_extra": GROUP_EXTRA,
            "assume": ASSUME, "extra": EXTRA, "logs": LOGS,
            "trust": trust(f"arn:aws:iam::{account}:user/automation/ci")}


def team_file(account: str, reformat: bool = False, **documents: str) -> str:
    docs = {**team_documents(account), **documents}
    if reformat:
        docs = {k: reformatted(v) for k, v in docs.items()}
    return TEAM_FILE.substitute(docs, account=account, oidc_url=OIDC_URL,
                                thumbprint=THUMBPRINT, read_only_access=READ_ONLY_ACCESS)


# ---------------------------------------------------------------------------
# running `tessera apply`
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Report:
    """What `tessera apply` printed on stdout."""
    header: str
    changes: list[str]          # without the two leading spaces
    keys: dict[str, Creds]      # "<account>/<user>" → the generated key
    rest: list[str]


KEY_HEADER_RE = re.compile(r"Access key of user (\S+) in account ([0-9]{12}) \(shown once\):")
KEY_ID_RE = re.compile(r"  aws_access_key_id     = (AKIA[A-Z2-7]{16})")
KEY_SECRET_RE = re.compile(r"  aws_secret_access_key = ([A-Za-z0-9+/]{40})")


def parse_report(stdout: str) -> Report:
    lines = stdout.splitlines()
    assert lines, "tessera apply printed nothing"
    i, changes, keys = 1, [], {}
    while i < len(lines) and re.match(r"  [+~-] \S", lines[i]):
        changes.append(lines[i][2:])
        i += 1
    while i < len(lines) and (head := KEY_HEADER_RE.fullmatch(lines[i])):
        key_id = KEY_ID_RE.fullmatch(lines[i + 1] if i + 1 < len(lines) else "")
        secret = KEY_SECRET_RE.fullmatch(lines[i + 2] if i + 2 < len(lines) else "")
        assert key_id and secret, f"malformed key lines after {lines[i]!r}:\n{stdout}"
        keys[f"{head[2]}/{head[1]}"] = Creds(key_id[1], secret[1])
        i += 3
    rest = lines[i:]
    for line in rest:
        assert not line.startswith(" ") and "Access key" not in line, (
            f"unexpected line {line!r} in the report:\n{stdout}")
    return Report(lines[0], changes, keys, rest)


def describe(proc: subprocess.CompletedProcess) -> str:
    return (f"{' '.join(map(str, proc.args))} exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}--- stderr ---\n{proc.stderr}")


def run_apply(binary: Path, data_dir: Path, path: Path, *args: str,
              env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """`tessera apply <name> --data-dir …` run in the file's directory (so reports say
    ``bootstrap.toml``), with no TESSERA_* variables but those in ``env``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    environ.update(env or {})
    return subprocess.run(
        [str(binary), "apply", path.name, "--data-dir", str(data_dir), *args],
        cwd=path.parent, env=environ, capture_output=True, text=True, timeout=APPLY_TIMEOUT)


def check_applied(proc: subprocess.CompletedProcess, name: str, dry_run: bool) -> Report:
    assert proc.returncode == 0, describe(proc)
    assert proc.stderr == "", describe(proc)
    report = parse_report(proc.stdout)
    n = len(report.changes)
    if n == 0:
        assert proc.stdout == f"{name}: no changes; the store already matches.\n", describe(proc)
    elif dry_run:
        assert report.header == (
            f"{name}: {n} change(s) would be made (dry run, nothing written):"), describe(proc)
        assert report.keys == {}, "a dry run showed an access key"
    else:
        assert report.header == f"{name}: {n} change(s) applied:", describe(proc)
    return report


def check_refused(proc: subprocess.CompletedProcess) -> str:
    """Exit 1, nothing on stdout, one line on stderr (returned)."""
    assert proc.returncode == 1, describe(proc)
    assert proc.stdout == "", describe(proc)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, describe(proc)
    return lines[0]


def log_text(srv: TesseraServer) -> str:
    try:
        return srv.log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def reload(srv: TesseraServer) -> None:
    """SIGHUP the server and wait until it has reloaded its store (it logs that once the new
    snapshot is in place)."""
    before = log_text(srv).count(RELOADED)
    os.kill(srv.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while log_text(srv).count(RELOADED) <= before:
        assert srv.running, f"the server exited after SIGHUP:\n{log_text(srv)[-3000:]}"
        assert time.monotonic() < deadline, f"no {RELOADED!r} within {RELOAD_TIMEOUT}s of SIGHUP"
        time.sleep(0.02)


class Site:
    """A running server, its administrator, and a directory for bootstrap files."""

    def __init__(self, binary: Path, srv: TesseraServer, directory: Path):
        self.binary = binary
        self.srv = srv
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.admin = srv.admin_credentials()
        self.iam = srv.iam(self.admin)
        self.account = srv.client(self.admin).get_caller_identity()["Account"]

    def write(self, text: str, name: str = FILE) -> Path:
        path = self.dir / name
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, text: str, *args: str, env: Optional[dict] = None):
        return run_apply(self.binary, self.srv.data_dir, self.write(text), *args, env=env)

    def apply(self, text: str, *args: str, env: Optional[dict] = None) -> Report:
        return check_applied(self.run(text, *args, env=env), FILE, "--dry-run" in args)

    def refuse(self, text: str, *args: str, env: Optional[dict] = None) -> str:
        return check_refused(self.run(text, *args, env=env))

    def reload(self) -> None:
        reload(self.srv)

    def sts(self, creds: Creds):
        return self.srv.client(creds)

    def iam_as(self, creds: Creds):
        return self.srv.iam(creds)


@pytest.fixture
def site(start_server, tessera_bin, tmp_path) -> Site:
    return Site(tessera_bin, start_server("apply"), tmp_path / "files")


def imported_key_env() -> tuple[Creds, dict]:
    creds = Creds(random_akia(), random_secret())
    return creds, {"IMPORTED_KEY_ID": creds.access_key, "IMPORTED_SECRET": creds.secret_key}


# ---------------------------------------------------------------------------
# reading IAM back
# ---------------------------------------------------------------------------


def tag_dict(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags}


def body(response: dict) -> dict:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def no_such_entity(call) -> None:
    expect_client_error(call, code="NoSuchEntity", status=404)


def iam_dump(iam) -> dict:
    """Everything the IAM API shows of an account's users, groups, roles, customer managed
    policies (with every version) and identity providers."""
    dump: dict = {"users": {}, "groups": {}, "roles": {}, "policies": {}, "oidc": {}, "saml": {}}
    for u in iam.list_users()["Users"]:
        name = u["UserName"]
        dump["users"][name] = {
            "user": iam.get_user(UserName=name)["User"],
            "tags": iam.list_user_tags(UserName=name)["Tags"],
            "inline": {p: iam.get_user_policy(UserName=name, PolicyName=p)["PolicyDocument"]
                       for p in iam.list_user_policies(UserName=name)["PolicyNames"]},
            "attached": iam.list_attached_user_policies(UserName=name)["AttachedPolicies"],
            "groups": iam.list_groups_for_user(UserName=name)["Groups"],
            "keys": iam.list_access_keys(UserName=name)["AccessKeyMetadata"],
        }
    for g in iam.list_groups()["Groups"]:
        name = g["GroupName"]
        dump["groups"][name] = {
            "group": body(iam.get_group(GroupName=name)),
            "inline": {p: iam.get_group_policy(GroupName=name, PolicyName=p)["PolicyDocument"]
                       for p in iam.list_group_policies(GroupName=name)["PolicyNames"]},
            "attached": iam.list_attached_group_policies(GroupName=name)["AttachedPolicies"],
        }
    for r in iam.list_roles()["Roles"]:
        name = r["RoleName"]
        role = iam.get_role(RoleName=name)["Role"]
        role.pop("RoleLastUsed", None)
        dump["roles"][name] = {
            "role": role,
            "tags": iam.list_role_tags(RoleName=name)["Tags"],
            "inline": {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                       for p in iam.list_role_policies(RoleName=name)["PolicyNames"]},
            "attached": iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"],
        }
    for p in iam.list_policies(Scope="Local")["Policies"]:
        arn = p["Arn"]
        versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
        dump["policies"][arn] = {
            "policy": iam.get_policy(PolicyArn=arn)["Policy"],
            "tags": iam.list_policy_tags(PolicyArn=arn)["Tags"],
            "versions": {v["VersionId"]: iam.get_policy_version(
                PolicyArn=arn, VersionId=v["VersionId"])["PolicyVersion"] for v in versions},
        }
    for o in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
        dump["oidc"][o["Arn"]] = body(iam.get_open_id_connect_provider(
            OpenIDConnectProviderArn=o["Arn"]))
    for s in iam.list_saml_providers()["SAMLProviderList"]:
        dump["saml"][s["Arn"]] = {
            "provider": body(iam.get_saml_provider(SAMLProviderArn=s["Arn"])),
            "tags": iam.list_saml_provider_tags(SAMLProviderArn=s["Arn"])["Tags"],
        }
    return dump


def assert_team_setup(iam, account: str, metadata: str) -> None:
    """The administrator's account holds what TEAM_FILE declares."""
    read_only = f"arn:aws:iam::{account}:policy/team/ReadOnly"
    boundary = f"arn:aws:iam::{account}:policy/Boundary"

    policy = iam.get_policy(PolicyArn=read_only)["Policy"]
    assert (policy["Path"], policy["Description"], policy["DefaultVersionId"]) == (
        "/team/", "Read access", "v1")
    assert tag_dict(iam.list_policy_tags(PolicyArn=read_only)["Tags"]) == {
        "team": "platform", "cost": "shared"}
    assert iam.get_policy_version(PolicyArn=read_only, VersionId="v1")[
        "PolicyVersion"]["Document"] == json.loads(READ_ONLY_V1)

    group = iam.get_group(GroupName="deployers")
    assert group["Group"]["Path"] == "/team/"
    assert [u["UserName"] for u in group["Users"]] == ["ci"]
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(
        GroupName="deployers")["AttachedPolicies"]] == [read_only]
    assert iam.list_group_policies(GroupName="deployers")["PolicyNames"] == ["GroupExtra"]

    ci = iam.get_user(UserName="ci")["User"]
    assert ci["Arn"] == f"arn:aws:iam::{account}:user/automation/ci"
    assert ci["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert tag_dict(iam.list_user_tags(UserName="ci")["Tags"]) == {"owner": "ci", "tier": "build"}
    assert sorted(iam.list_user_policies(UserName="ci")["PolicyNames"]) == ["Assume", "Extra"]
    assert iam.get_user_policy(UserName="ci", PolicyName="Assume")[
        "PolicyDocument"] == json.loads(ASSUME)
    assert len(iam.list_access_keys(UserName="ci")["AccessKeyMetadata"]) == 1

    role = iam.get_role(RoleName="Deploy")["Role"]
    assert (role["Path"], role["Description"], role["MaxSessionDuration"]) == (
        "/", "CI deploys", 7200)
    assert role["AssumeRolePolicyDocument"] == json.loads(team_documents(account)["trust"])
    assert tag_dict(iam.list_role_tags(RoleName="Deploy")["Tags"]) == {
        "env": "prod", "team": "platform"}
    assert sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(
        RoleName="Deploy")["AttachedPolicies"]) == sorted([READ_ONLY_ACCESS, read_only])
    assert iam.list_role_policies(RoleName="Deploy")["PolicyNames"] == ["Logs"]

    oidc_arn = f"arn:aws:iam::{account}:oidc-provider/{OIDC_HOST}"
    assert [o["Arn"] for o in iam.list_open_id_connect_providers()[
        "OpenIDConnectProviderList"]] == [oidc_arn]
    saml_arn = f"arn:aws:iam::{account}:saml-provider/Corp"
    assert [s["Arn"] for s in iam.list_saml_providers()["SAMLProviderList"]] == [saml_arn]
    assert iam.get_saml_provider(SAMLProviderArn=saml_arn)["SAMLMetadataDocument"] == metadata


TEAM_CHANGES = [
    "+ policy ReadOnly",
    "+ policy Boundary",
    f"+ OIDC provider {OIDC_URL}",
    "+ SAML provider Corp",
    "+ group deployers",
    "+ group deployers: inline policy GroupExtra",
    "+ group deployers: attach arn:aws:iam::{account}:policy/team/ReadOnly",
    "+ user ci",
    "+ user ci: inline policy Assume",
    "+ user ci: inline policy Extra",
    "+ user ci: member of deployers",
    "+ user ci: access key (generated)",
    "+ user importer",
    "+ user importer: access key {key} (from $IMPORTED_KEY_ID)",
    "+ role Deploy",
    "+ role Deploy: inline policy Logs",
    f"+ role Deploy: attach {READ_ONLY_ACCESS}",
    "+ role Deploy: attach arn:aws:iam::{account}:policy/team/ReadOnly",
]


def team_changes(account: str, key: str) -> list[str]:
    return [c.replace("{account}", account).replace("{key}", key) for c in TEAM_CHANGES]


def apply_team_file(site: Site) -> tuple[Report, Creds, dict, str]:
    """Apply TEAM_FILE to the administrator's account; returns the report, the imported key,
    the environment that supplies it and the SAML metadata."""
    metadata = saml_metadata()
    site.write(metadata, "corp-idp-metadata.xml")
    imported, env = imported_key_env()
    report = site.apply(team_file(site.account), env=env)
    assert report.changes == team_changes(site.account, imported.access_key)
    assert list(report.keys) == [f"{site.account}/ci"]
    site.reload()
    return report, imported, env, metadata


# ---------------------------------------------------------------------------
# 1. a full file in a new account
# ---------------------------------------------------------------------------


def test_full_file_creates_a_working_new_account(site):
    metadata = saml_metadata()
    site.write(metadata, "corp-idp-metadata.xml")
    imported, env = imported_key_env()

    report = site.apply(NEW_ACCOUNT_FILE, env=env)

    assert report.changes == [
        f"+ account {NEW_ACCOUNT}",
        "+ policy ReadOnly",
        f"+ OIDC provider {OIDC_URL}",
        "+ SAML provider Corp",
        "+ group deployers",
        f"+ group deployers: attach arn:aws:iam::{NEW_ACCOUNT}:policy/team/ReadOnly",
        "+ user ci",
        "+ user ci: inline policy Assume",
        "+ user ci: inline policy Inspect",
        "+ user ci: member of deployers",
        "+ user ci: access key (generated)",
        "+ user importer",
        f"+ user importer: access key {imported.access_key} (from $IMPORTED_KEY_ID)",
        "+ role Deploy",
    ]
    assert list(report.keys) == [f"{NEW_ACCOUNT}/ci"]
    ci = report.keys[f"{NEW_ACCOUNT}/ci"]
    assert imported.secret_key not in report.header + "\n".join(report.changes + report.rest)

    site.reload()

    # Both keys authenticate as their users of the new account.
    ci_sts = site.sts(ci)
    assert ci_sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{NEW_ACCOUNT}:user/ci"
    assert site.sts(imported).get_caller_identity()["Arn"] == (
        f"arn:aws:iam::{NEW_ACCOUNT}:user/imported/importer")

    # ci may assume the role for its 7200-second maximum, and not a second longer.
    role_arn = f"arn:aws:iam::{NEW_ACCOUNT}:role/Deploy"
    assumed = ci_sts.assume_role(RoleArn=role_arn, RoleSessionName="deploy",
                                 DurationSeconds=7200)
    assert assumed["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{NEW_ACCOUNT}:assumed-role/Deploy/deploy")
    assert_expires_in(assumed["Credentials"]["Expiration"], 7200)
    expect_client_error(
        lambda: ci_sts.assume_role(RoleArn=role_arn, RoleSessionName="deploy",
                                   DurationSeconds=7201),
        code="ValidationError", status=400,
        message="The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    # The imported user is not trusted by the role.
    expect_client_error(
        lambda: site.sts(imported).assume_role(RoleArn=role_arn, RoleSessionName="nope"),
        code="AccessDenied", status=403)

    # ci reads the new account's IAM (its Inspect policy).
    iam = site.iam_as(ci)
    role = iam.get_role(RoleName="Deploy")["Role"]
    assert (role["Arn"], role["Description"], role["MaxSessionDuration"]) == (
        role_arn, "CI deploys", 7200)
    assert role["AssumeRolePolicyDocument"] == json.loads(
        trust(f"arn:aws:iam::{NEW_ACCOUNT}:user/ci"))
    assert tag_dict(iam.list_role_tags(RoleName="Deploy")["Tags"]) == {
        "env": "prod", "team": "platform"}

    policy_arn = f"arn:aws:iam::{NEW_ACCOUNT}:policy/team/ReadOnly"
    policy = iam.get_policy(PolicyArn=policy_arn)["Policy"]
    assert (policy["Path"], policy["Description"], policy["DefaultVersionId"]) == (
        "/team/", "Read access", "v1")
    assert tag_dict(iam.list_policy_tags(PolicyArn=policy_arn)["Tags"]) == {"team": "platform"}
    assert iam.get_policy_version(PolicyArn=policy_arn, VersionId="v1")[
        "PolicyVersion"]["Document"] == json.loads(READ_ONLY_V1)

    group = iam.get_group(GroupName="deployers")
    assert [u["UserName"] for u in group["Users"]] == ["ci"]
    assert [p["PolicyArn"] for p in iam.list_attached_group_policies(
        GroupName="deployers")["AttachedPolicies"]] == [policy_arn]

    assert sorted(iam.list_user_policies(UserName="ci")["PolicyNames"]) == ["Assume", "Inspect"]
    assert iam.get_user_policy(UserName="ci", PolicyName="Assume")[
        "PolicyDocument"] == json.loads(ASSUME)
    assert tag_dict(iam.list_user_tags(UserName="ci")["Tags"]) == {"owner": "ci"}
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="ci")[
        "AccessKeyMetadata"]] == [ci.access_key]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="importer")[
        "AccessKeyMetadata"]] == [imported.access_key]

    oidc_arn = f"arn:aws:iam::{NEW_ACCOUNT}:oidc-provider/{OIDC_HOST}"
    assert [o["Arn"] for o in iam.list_open_id_connect_providers()[
        "OpenIDConnectProviderList"]] == [oidc_arn]
    oidc = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=oidc_arn)
    assert (oidc["ClientIDList"], oidc["ThumbprintList"], tag_dict(oidc["Tags"])) == (
        ["sts.amazonaws.com"], [THUMBPRINT], {"ci": "github"})

    saml_arn = f"arn:aws:iam::{NEW_ACCOUNT}:saml-provider/Corp"
    assert [s["Arn"] for s in iam.list_saml_providers()["SAMLProviderList"]] == [saml_arn]
    assert iam.get_saml_provider(SAMLProviderArn=saml_arn)["SAMLMetadataDocument"] == metadata
    assert tag_dict(iam.list_saml_provider_tags(SAMLProviderArn=saml_arn)["Tags"]) == {
        "idp": "corp"}

    # The entities are in the new account, not in the administrator's.
    no_such_entity(lambda: site.iam.get_role(RoleName="Deploy"))
    no_such_entity(lambda: site.iam.get_user(UserName="ci"))
    assert [u["UserName"] for u in site.iam.list_users()["Users"]] == ["admin"]


def test_file_without_account_id_fills_the_administrators_account(site):
    report, imported, _, metadata = apply_team_file(site)
    ci = report.keys[f"{site.account}/ci"]

    assert_team_setup(site.iam, site.account, metadata)
    assert [k["AccessKeyId"] for k in site.iam.list_access_keys(UserName="ci")[
        "AccessKeyMetadata"]] == [ci.access_key]
    assert site.sts(ci).get_caller_identity()["Arn"] == (
        f"arn:aws:iam::{site.account}:user/automation/ci")
    assert site.sts(imported).get_caller_identity()["Arn"] == (
        f"arn:aws:iam::{site.account}:user/importer")
    # The administrator, not in the file, is left alone.
    assert sorted(u["UserName"] for u in site.iam.list_users()["Users"]) == [
        "admin", "ci", "importer"]
    assert site.sts(site.admin).get_caller_identity()["Arn"].endswith(":user/admin")


# ---------------------------------------------------------------------------
# 2. idempotence
# ---------------------------------------------------------------------------


def test_applying_the_same_file_twice_changes_nothing(site):
    _, _, env, _ = apply_team_file(site)
    before = iam_dump(site.iam)
    assert set(before["users"]) == {"admin", "ci", "importer"}

    # Same file, same imported key: nothing to do, with and without --dry-run.
    assert site.apply(team_file(site.account), env=env).changes == []
    assert site.apply(team_file(site.account), "--dry-run", env=env).changes == []
    site.reload()

    assert iam_dump(site.iam) == before


# ---------------------------------------------------------------------------
# 3. changes
# ---------------------------------------------------------------------------


def test_edited_file_changes_exactly_what_it_says(site):
    report, _, env, _ = apply_team_file(site)
    ci_key = report.keys[f"{site.account}/ci"]
    iam = site.iam

    # Things the file does not name, made by the administrator, and an inline policy the
    # administrator adds to ci (which the file names, so it is the whole truth for ci).
    iam.create_user(UserName="outsider", Path="/manual/", Tags=[{"Key": "k", "Value": "v"}])
    iam.put_user_policy(UserName="outsider", PolicyName="Manual", PolicyDocument=MANUAL)
    iam.add_user_to_group(GroupName="deployers", UserName="outsider")
    iam.create_role(RoleName="Manual", AssumeRolePolicyDocument=trust(
        f"arn:aws:iam::{site.account}:root"), MaxSessionDuration=5400)
    iam.create_policy(PolicyName="ManualPolicy", PolicyDocument=MANUAL)
    iam.put_user_policy(UserName="ci", PolicyName="Manual", PolicyDocument=MANUAL)
    before = iam_dump(iam)

    text = team_file(site.account, read_only=READ_ONLY_V2)                 # new document
    text = edit(text, 'tags = { env = "prod", team = "platform" }',
                'tags = { env = "staging" }')                                # role tags
    text = edit(text, "max_session_duration = 7200", "max_session_duration = 10800")
    text = edit(text, f"Extra = '{EXTRA}'\n", "")                          # ci's inline policy
    text = edit(text, 'groups = ["deployers"]', "groups = []")              # ci leaves the group
    text = edit(text, 'access_key = "generate"\n', "")                     # keys are never removed

    report = site.apply(text, env=env)
    assert report.changes == [
        "~ policy ReadOnly: new default version",
        "- user ci: inline policy Extra",
        "- user ci: inline policy Manual",
        "- user ci: member of deployers",
        "~ role Deploy: description and maximum session duration",
        "- role Deploy: tags team",
        "~ role Deploy: tags env",
    ]
    assert report.keys == {}
    site.reload()

    read_only = f"arn:aws:iam::{site.account}:policy/team/ReadOnly"
    assert iam.get_policy(PolicyArn=read_only)["Policy"]["DefaultVersionId"] == "v2"
    versions = {v["VersionId"]: v["IsDefaultVersion"]
                for v in iam.list_policy_versions(PolicyArn=read_only)["Versions"]}
    assert versions == {"v1": False, "v2": True}
    assert iam.get_policy_version(PolicyArn=read_only, VersionId="v2")[
        "PolicyVersion"]["Document"] == json.loads(READ_ONLY_V2)
    assert iam.get_policy_version(PolicyArn=read_only, VersionId="v1")[
        "PolicyVersion"]["Document"] == json.loads(READ_ONLY_V1)

    assert tag_dict(iam.list_role_tags(RoleName="Deploy")["Tags"]) == {"env": "staging"}
    role = iam.get_role(RoleName="Deploy")["Role"]
    assert (role["MaxSessionDuration"], role["Description"]) == (10800, "CI deploys")
    assert role["RoleId"] == before["roles"]["Deploy"]["role"]["RoleId"]  # changed, not recreated

    assert iam.list_user_policies(UserName="ci")["PolicyNames"] == ["Assume"]
    assert iam.list_groups_for_user(UserName="ci")["Groups"] == []
    assert [u["UserName"] for u in iam.get_group(GroupName="deployers")["Users"]] == ["outsider"]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="ci")[
        "AccessKeyMetadata"]] == [ci_key.access_key]
    assert site.sts(ci_key).get_caller_identity()["Arn"].endswith(":user/automation/ci")

    # What the file does not name is untouched.
    after = iam_dump(iam)
    assert after["users"]["outsider"] == before["users"]["outsider"]
    assert after["users"]["admin"] == before["users"]["admin"]
    assert after["users"]["importer"] == before["users"]["importer"]
    assert after["roles"]["Manual"] == before["roles"]["Manual"]
    manual_policy = f"arn:aws:iam::{site.account}:policy/ManualPolicy"
    assert after["policies"][manual_policy] == before["policies"][manual_policy]
    # Nor are the file's entities the edit did not touch.
    for kind, name in [("policies", f"arn:aws:iam::{site.account}:policy/Boundary"),
                       ("oidc", f"arn:aws:iam::{site.account}:oidc-provider/{OIDC_HOST}"),
                       ("saml", f"arn:aws:iam::{site.account}:saml-provider/Corp")]:
        assert after[kind][name] == before[kind][name], (kind, name)


def test_reformatted_documents_are_no_change(site):
    _, _, env, _ = apply_team_file(site)
    before = iam_dump(site.iam)
    text = team_file(site.account, reformat=True)
    assert reformatted(READ_ONLY_V1) in text and READ_ONLY_V1 not in text
    assert site.apply(text, env=env).changes == []
    site.reload()
    assert iam_dump(site.iam) == before


def test_sixth_document_version_drops_the_oldest(site):
    arn = f"arn:aws:iam::{site.account}:policy/Rolling"

    def rolling(n: int) -> str:
        return doc(allow([f"iam:GetUser{'s' * n}"]))  # six different documents

    def file(n: int) -> str:
        return f"[[accounts]]\n[[accounts.policies]]\nname = \"Rolling\"\ndocument = '{rolling(n)}'\n"

    assert site.apply(file(1)).changes == ["+ policy Rolling"]
    for n in range(2, 6):
        assert site.apply(file(n)).changes == ["~ policy Rolling: new default version"]
    assert site.apply(file(6)).changes == [
        "- policy Rolling: version v1", "~ policy Rolling: new default version"]
    site.reload()

    versions = {v["VersionId"]: v["IsDefaultVersion"]
                for v in site.iam.list_policy_versions(PolicyArn=arn)["Versions"]}
    assert versions == {"v2": False, "v3": False, "v4": False, "v5": False, "v6": True}
    assert site.iam.get_policy_version(PolicyArn=arn, VersionId="v6")[
        "PolicyVersion"]["Document"] == json.loads(rolling(6))


def test_changed_imported_secret_replaces_the_stored_one(site):
    key = Creds(random_akia(), random_secret())
    text = ("[[accounts]]\n[[accounts.users]]\nname = \"importer\"\n"
            "access_key = { id_env = \"KEY_ID\", secret_env = \"KEY_SECRET\" }\n")
    env = {"KEY_ID": key.access_key, "KEY_SECRET": key.secret_key}
    assert site.apply(text, env=env).changes == [
        "+ user importer", f"+ user importer: access key {key.access_key} (from $KEY_ID)"]
    site.reload()
    assert site.sts(key).get_caller_identity()["Arn"].endswith(":user/importer")

    rotated = key.replace(secret_key=random_secret())
    env["KEY_SECRET"] = rotated.secret_key
    assert site.apply(text, env=env).changes == [
        f"~ user importer: access key {key.access_key} (from $KEY_ID)"]
    assert site.apply(text, env=env).changes == []
    site.reload()

    assert site.sts(rotated).get_caller_identity()["Arn"].endswith(":user/importer")
    expect_client_error(lambda: site.sts(key).get_caller_identity(),
                        code="SignatureDoesNotMatch", status=403)
    assert [k["AccessKeyId"] for k in site.iam.list_access_keys(UserName="importer")[
        "AccessKeyMetadata"]] == [key.access_key]


# ---------------------------------------------------------------------------
# 4. all or nothing
# ---------------------------------------------------------------------------

MALFORMED_TRUST = ('{"Version": "2012-10-17", "Bogus": 1, "Statement": [{"Effect": "Allow", '
                   '"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')


def all_or_nothing_file(account: str, broken_trust: str = MALFORMED_TRUST) -> str:
    """Two accounts (the administrator's, and a new one); the new account's role — the last
    role of the file — is the only thing wrong."""
    return f"""\
[[accounts]]

[[accounts.policies]]
name = "Early"
document = '{READ_ONLY_V1}'

[[accounts.groups]]
name = "early-group"
managed_policies = ["arn:aws:iam::{account}:policy/Early"]

[[accounts.users]]
name = "early-user"
groups = ["early-group"]
access_key = "generate"

[[accounts.roles]]
name = "EarlyRole"
trust_policy = '{trust(f"arn:aws:iam::{account}:user/early-user")}'

[[accounts]]
id = "{SECOND_NEW_ACCOUNT}"

[[accounts.users]]
name = "far-user"

[[accounts.roles]]
name = "Broken"
trust_policy = '''
{broken_trust}
'''
"""


def test_refused_file_changes_nothing(site):
    text = all_or_nothing_file(site.account)
    before = iam_dump(site.iam)

    error = site.refuse(text)
    assert error.startswith(f"tessera: {FILE}, line "), error
    assert error.endswith(
        ": MalformedPolicyDocument: Syntax errors in policy. Unknown field Bogus"), error
    assert "role Broken" in error, error
    site.reload()

    assert iam_dump(site.iam) == before
    no_such_entity(lambda: site.iam.get_user(UserName="early-user"))
    no_such_entity(lambda: site.iam.get_role(RoleName="EarlyRole"))
    no_such_entity(lambda: site.iam.get_group(GroupName="early-group"))
    no_such_entity(lambda: site.iam.get_policy(
        PolicyArn=f"arn:aws:iam::{site.account}:policy/Early"))

    # Everything, including the new account, is still to be made.
    fixed = all_or_nothing_file(site.account, trust(f"arn:aws:iam::{SECOND_NEW_ACCOUNT}:root"))
    assert site.apply(fixed, "--dry-run").changes == [
        f"+ account {SECOND_NEW_ACCOUNT}",
        "+ policy Early",
        "+ group early-group",
        f"+ group early-group: attach arn:aws:iam::{site.account}:policy/Early",
        "+ user early-user",
        "+ user early-user: member of early-group",
        "+ user early-user: access key (generated)",
        "+ user far-user",
        "+ role EarlyRole",
        "+ role Broken",
    ]


class WrongLocation(AssertionError):
    """The refusal's reason is right but the line (or what it names) is not."""


def assert_refusal(error: str, line: int, message: str, core: Optional[str] = None) -> None:
    """stderr is ``tessera: bootstrap.toml, line N: <message>``.  ``core`` (default: all of
    ``message``) must end it or the test fails outright; any other difference (the line, or
    how the message names what it is about) raises WrongLocation."""
    core = message if core is None else core
    assert error.endswith(core), f"stderr {error!r} does not end with {core!r}"
    expected = f"tessera: {FILE}, line {line}: {message}"
    if error != expected:
        raise WrongLocation(f"stderr {error!r}\n    want {expected!r}")


def test_refusal_names_the_trust_policy_line(site):
    text = all_or_nothing_file(site.account)
    error = site.refuse(text)
    assert_refusal(error, line_of(text, "trust_policy = '''"),
                   "role Broken: trust policy: MalformedPolicyDocument: Syntax errors in policy. "
                   "Unknown field Bogus",
                   core="MalformedPolicyDocument: Syntax errors in policy. Unknown field Bogus")


# ---------------------------------------------------------------------------
# 5. refusals
# ---------------------------------------------------------------------------

PRECURSOR = '[[accounts.groups]]\nname = "Precursor"\n\n'


@dataclasses.dataclass
class Refusal:
    text: str                     # after "[[accounts]]\n" + PRECURSOR; {account} is replaced
    line_marker: str              # a unique text on the line the refusal must name
    reason: str                   # what follows "line N: "
    env: dict = dataclasses.field(default_factory=dict)
    header_line: bool = False     # the line is that of the [[table]] holding line_marker
    account_line: str = ""        # replaces "[[accounts]]" (e.g. to give an id)
    core: Optional[str] = None    # the part of reason that must match even where a known
                                  # bug names the wrong line (see assert_refusal)


REFUSALS = {
    "toml-syntax": Refusal(
        '[[accounts.users]]\nname = "unterminated\n', 'name = "unterminated',
        "invalid basic string, expected `\"`"),
    "unknown-key": Refusal(
        '[[accounts.groups]]\nname = "g"\nmanged_policies = []\n', "manged_policies",
        "unknown field `manged_policies`, expected one of `name`, `path`, `inline_policies`, "
        "`managed_policies`"),
    "invalid-user-name": Refusal(
        '[[accounts.users]]\nname = "bad name!"\n', 'name = "bad name!"',
        "user bad name!: ValidationError: 1 validation error detected: Value 'bad name!' at "
        "'userName' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: [\\w+=,.@-]+", header_line=True),
    "unknown-policy-attached": Refusal(
        '[[accounts.groups]]\nname = "attacher"\n'
        'managed_policies = ["arn:aws:iam::{account}:policy/Nope"]\n', 'name = "attacher"',
        "group attacher: attach arn:aws:iam::{account}:policy/Nope: NoSuchEntity: Policy "
        "arn:aws:iam::{account}:policy/Nope does not exist or is not attachable.",
        header_line=True),
    "trust-policy-unknown-user": Refusal(
        '[[accounts.roles]]\nname = "Ghostly"\n'
        "trust_policy = '" + trust("arn:aws:iam::{account}:user/ghost") + "'\n",
        "trust_policy =",
        'role Ghostly: trust policy: MalformedPolicyDocument: Invalid principal in policy: '
        '"AWS":"arn:aws:iam::{account}:user/ghost"',
        core='MalformedPolicyDocument: Invalid principal in policy: '
             '"AWS":"arn:aws:iam::{account}:user/ghost"'),
    "id-env-unset": Refusal(
        '[[accounts.users]]\nname = "u"\n'
        'access_key = { id_env = "TESSERA_TEST_UNSET_ID", secret_env = "SECRET" }\n',
        "access_key =", "environment variable TESSERA_TEST_UNSET_ID is not set",
        env={"SECRET": random_secret()}),
    "malformed-key-id": Refusal(
        '[[accounts.users]]\nname = "u"\n'
        'access_key = { id_env = "BAD_KEY_ID", secret_env = "SECRET" }\n',
        "access_key =", "BAD_KEY_ID: an access key id is AKIA followed by 16 characters A-Z "
        "and 2-7", env={"BAD_KEY_ID": "AKIA1234567890123456", "SECRET": random_secret()}),
    "malformed-secret": Refusal(
        '[[accounts.users]]\nname = "u"\n'
        'access_key = { id_env = "KEY_ID", secret_env = "BAD_SECRET" }\n',
        "access_key =", "BAD_SECRET: a secret access key is 40 characters A-Z, a-z, 0-9, + and /",
        env={"KEY_ID": random_akia(), "BAD_SECRET": "short"}),
    "third-access-key": Refusal(
        '[[accounts.users]]\nname = "Full"\n'
        'access_key = { id_env = "KEY_ID", secret_env = "SECRET" }\n',
        "access_key =", "user Full: LimitExceeded: Cannot exceed quota for AccessKeysPerUser: 2",
        env={"KEY_ID": random_akia(), "SECRET": random_secret()}),
    "access-key-of-another-identity": Refusal(
        '[[accounts.users]]\nname = "thief"\n'
        'access_key = { id_env = "KEY_ID", secret_env = "SECRET" }\n',
        "access_key =", "access key {admin_key} belongs to another identity",
        env={"KEY_ID": "{admin_key}", "SECRET": random_secret()}),
    "account-id-not-12-digits": Refusal(
        "", 'id = "21098765432"', 'account id "21098765432" is not 12 digits',
        account_line='[[accounts]]\nid = "21098765432"'),
    "role-path-differs": Refusal(
        '[[accounts.roles]]\nname = "Existing"\n'
        "trust_policy = '" + trust("arn:aws:iam::{account}:root") + "'\n", 'name = "Existing"',
        "role Existing exists with path /kept/: IAM cannot move a role (delete it first)",
        header_line=True),
    "policy-path-differs": Refusal(
        '[[accounts.policies]]\nname = "Kept"\ndescription = "original"\n'
        f"document = '{READ_ONLY_V1}'\n", 'name = "Kept"',
        "policy Kept exists as arn:aws:iam::{account}:policy/kept/Kept: IAM cannot rename or "
        "move a policy (delete it first)", header_line=True),
    "policy-description-changed": Refusal(
        '[[accounts.policies]]\nname = "Kept"\npath = "/kept/"\ndescription = "changed"\n'
        f"document = '{READ_ONLY_V1}'\n", 'name = "Kept"',
        "policy Kept: IAM cannot change a policy's description (delete it first)",
        header_line=True),
}



@pytest.fixture(scope="module")
def refusal_site(tessera_bin, tmp_path_factory):
    """One server for all refusals (a refused file changes nothing), with a role and a
    policy the refusals try to move and a user with two access keys."""
    base = tmp_path_factory.mktemp("apply-refusals")
    (base / "data").mkdir()
    srv = TesseraServer(tessera_bin, base / "data", base / "server.log").start()
    try:
        site = Site(tessera_bin, srv, base / "files")
        site.iam.create_role(RoleName="Existing", Path="/kept/",
                             AssumeRolePolicyDocument=trust(f"arn:aws:iam::{site.account}:root"))
        site.iam.create_policy(PolicyName="Kept", Path="/kept/", Description="original",
                               PolicyDocument=READ_ONLY_V1)
        site.iam.create_user(UserName="Full")
        for _ in range(2):
            site.iam.create_access_key(UserName="Full")
        yield site
    finally:
        srv.stop()


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refusal_names_line_and_reason(refusal_site, case):
    site = refusal_site
    spec = REFUSALS[case]

    def fill(value: Optional[str]) -> Optional[str]:
        return value and value.replace("{account}", site.account).replace(
            "{admin_key}", site.admin.access_key)

    text = (spec.account_line or "[[accounts]]") + "\n\n" + PRECURSOR + fill(spec.text)
    line = (table_line if spec.header_line else line_of)(text, spec.line_marker)
    before = iam_dump(site.iam)

    error = site.refuse(text, env={k: fill(v) for k, v in spec.env.items()})
    site.reload()
    assert iam_dump(site.iam) == before  # not even the group declared before it
    assert_refusal(error, line, fill(spec.reason), fill(spec.core))


def test_unknown_key_in_access_key_table_is_refused(refusal_site):
    text = ('[[accounts]]\n[[accounts.users]]\nname = "typo"\n'
            'access_key = { id_env = "KEY_ID", secret_env = "KEY_SECRET", secret_enf = "X" }\n')
    env = {"KEY_ID": random_akia(), "KEY_SECRET": random_secret()}
    error = refusal_site.refuse(text, "--dry-run", env=env)
    assert error.startswith(f"tessera: {FILE}, line 4: "), error
    assert "secret_enf" in error, error


def test_dry_run_prints_the_changes_and_writes_nothing(site):
    imported, env = imported_key_env()
    text = team_file(site.account)
    site.write(saml_metadata(), "corp-idp-metadata.xml")
    before = iam_dump(site.iam)
    data_files = sorted(p.name for p in site.srv.data_dir.iterdir())

    for _ in range(2):  # a second dry run still has everything to do
        report = site.apply(text, "--dry-run", env=env)
        assert report.changes == team_changes(site.account, imported.access_key)
        assert report.keys == {}
    site.reload()
    assert iam_dump(site.iam) == before
    expect_client_error(lambda: site.sts(imported).get_caller_identity(),
                        code="InvalidClientTokenId", status=403)
    assert sorted(p.name for p in site.srv.data_dir.iterdir()) == data_files  # no copy left

    # The real run makes exactly the changes the dry run announced.
    assert site.apply(text, env=env).changes == report.changes


# ---------------------------------------------------------------------------
# 6. a data directory that was never served
# ---------------------------------------------------------------------------


def test_apply_needs_a_served_data_dir(tessera_bin, tmp_path):
    path = tmp_path / FILE
    path.write_text('[[accounts]]\n[[accounts.users]]\nname = "early"\n', encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    for directory in (data_dir, tmp_path / "missing"):
        error = check_refused(run_apply(tessera_bin, directory, path))
        assert "tessera serve" in error, error
        assert error.startswith("tessera: "), error
    # A refusal creates nothing: no directory, no master key, no store.
    assert list(data_dir.iterdir()) == []
    assert not (tmp_path / "missing").exists()

    # The refusal left nothing that stops a normal first start.
    srv = TesseraServer(tessera_bin, data_dir, tmp_path / "server.log").start()
    try:
        admin = srv.admin_credentials()
        assert srv.client(admin).get_caller_identity()["Arn"].endswith(":user/admin")
        assert [u["UserName"] for u in srv.iam(admin).list_users()["Users"]] == ["admin"]
        assert check_applied(run_apply(tessera_bin, data_dir, path), FILE, False).changes == [
            "+ user early"]
    finally:
        srv.stop()


# ---------------------------------------------------------------------------
# 7. serve --bootstrap
# ---------------------------------------------------------------------------

BOOT_FILE = f"""\
[[accounts]]

[[accounts.users]]
name = "booted"
access_key = "generate"
[accounts.users.inline_policies]
Assume = '{ASSUME}'

[[accounts.roles]]
name = "BootRole"
max_session_duration = 5400
trust_policy = '{trust("arn:aws:iam::{account}:root")}'
tags = {{ source = "bootstrap" }}
"""


def test_serve_bootstrap_applies_before_listening(start_server, tmp_path):
    account = "123456789012"  # fixed (--account-id), so the file can name it
    path = tmp_path / "boot" / FILE
    path.parent.mkdir()
    path.write_text(BOOT_FILE.replace("{account}", account), encoding="utf-8")

    srv = start_server("boot", extra_args=("--account-id", account, "--bootstrap", str(path)))

    # No SIGHUP: the entities are there as soon as the server answers.
    admin = srv.admin_credentials()
    iam = srv.iam(admin)
    assert iam.get_role(RoleName="BootRole")["Role"]["MaxSessionDuration"] == 5400
    assert tag_dict(iam.list_role_tags(RoleName="BootRole")["Tags"]) == {"source": "bootstrap"}
    assert iam.list_user_policies(UserName="booted")["PolicyNames"] == ["Assume"]

    # The report is in the server's output, after the first-start lines and before it listens.
    log = log_text(srv)
    start = log.index(f"{path}: 4 change(s) applied:")
    assert log.index("Created account") < start < log.index("Tessera STS listening")
    report = parse_report(log[start:log.index("Tessera STS listening")])
    assert report.changes == [
        "+ user booted",
        "+ user booted: inline policy Assume",
        "+ user booted: access key (generated)",
        "+ role BootRole",
    ]
    key = report.keys[f"{account}/booted"]
    sts = srv.client(key)
    assert sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{account}:user/booted"
    assumed = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/BootRole",
                              RoleSessionName="boot", DurationSeconds=5400)
    assert assumed["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{account}:assumed-role/BootRole/boot")

    # Every start applies the file; the second time there is nothing to do, and the user
    # keeps its one key.
    srv.stop()
    mark = srv.log_size()
    srv.start()
    assert f"{path}: no changes; the store already matches." in srv.read_log(mark)
    assert [k["AccessKeyId"] for k in srv.iam(admin).list_access_keys(UserName="booted")[
        "AccessKeyMetadata"]] == [key.access_key]


def run_serve(binary: Path, data_dir: Path, *args: str, env: Optional[dict] = None):
    """`tessera serve` that is expected to exit by itself; returns (process, port)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    environ.update(env or {})
    proc = subprocess.run(
        [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir),
         *args], env=environ, capture_output=True, text=True, timeout=30)
    return proc, port


def assert_not_listening(port: int) -> None:
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, f"something listens on {port}"


@pytest.mark.parametrize("how", ["option", "environment"])
def test_refused_bootstrap_file_stops_the_server(tessera_bin, tmp_path, how):
    path = tmp_path / FILE
    text = ('[[accounts]]\n\n[[accounts.groups]]\nname = "never"\n\n'
            '[[accounts.users]]\nname = "bad name!"\n')
    path.write_text(text, encoding="utf-8")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    args, env = (("--bootstrap", str(path)), None) if how == "option" else (
        (), {"TESSERA_BOOTSTRAP": str(path)})

    proc, port = run_serve(tessera_bin, data_dir, *args, env=env)

    assert proc.returncode != 0, f"serve exited 0:\n{proc.stdout}\n{proc.stderr}"
    assert "listening" not in proc.stdout + proc.stderr
    assert_not_listening(port)
    expected = (f"tessera: {path}, line {table_line(text, 'bad name!')}: user bad name!: "
                "ValidationError: 1 validation error detected: Value 'bad name!' at 'userName' "
                "failed to satisfy constraint: Member must satisfy regular expression pattern: "
                "[\\w+=,.@-]+")
    assert expected in proc.stderr.splitlines(), proc.stderr

    # The first-start setup happened, the file's group did not: a later start without the
    # file serves the administrator alone.
    srv = TesseraServer(tessera_bin, data_dir, tmp_path / "server.log").start()
    try:
        iam = srv.iam(srv.admin_credentials())
        no_such_entity(lambda: iam.get_group(GroupName="never"))
        assert [u["UserName"] for u in iam.list_users()["Users"]] == ["admin"]
    finally:
        srv.stop()
