"""End-to-end tests of Tessera's IAM role operations (Query API, Version 2010-05-08).

Covers CreateRole/GetRole/DeleteRole/ListRoles/UpdateRole, trust policies
(UpdateAssumeRolePolicy and their validation: grammar, principals that must
exist, the 2048-character quota), ListInstanceProfilesForRole, role tags,
inline role policies, authorization of role actions, persistence across a
restart and the aws CLI.

The tests share the session server and keep out of each other's way with
unique role names (and, where a listing is checked, a unique path).  Helpers
and fixtures that are not specific to roles come from test_iam_users.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python
"""

from __future__ import annotations

import json
import re
from typing import Optional
from urllib.parse import unquote

import pytest

from tessera_testlib import (
    IAM_NS,
    admin_credentials_path,
    expect_client_error,
    iam_client,
    run_aws_cli,
    run_aws_cli_process,
    send,
    signed_request,
)
from test_iam_users import (  # shared helpers, and the fixtures account,
    account,  # noqa: F401  admin_iam_unvalidated and make_user (no tests)
    admin_iam_unvalidated,  # noqa: F401
    allow,
    assert_recent,
    iam_form,
    make_user,  # noqa: F401
    not_authorized,
    policy,
    policy_of_size,
    tag_dict,
    unique,
    unique_path,
    user_arn,
)

ROLE_ID_RE = r"AROA[A-Z0-9]{17}"
OTHER_ACCOUNT = "444455556666"
DEFAULT_PRINCIPAL = {"Service": "lambda.amazonaws.com"}
ROLE_FIELDS = ("Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument",
               "Description", "MaxSessionDuration", "Tags")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def role_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


def trust_statement(principal: Optional[dict] = None, **extra) -> dict:
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole", **extra}
    if principal is not None:
        statement["Principal"] = principal
    return statement


def trust_policy(principal: Optional[dict] = None, **extra) -> str:
    """A trust policy with one Allow sts:AssumeRole statement for ``principal``."""
    return policy(trust_statement(DEFAULT_PRINCIPAL if principal is None else principal,
                                  **extra))


def trust_policy_of_size(size: int) -> str:
    """A valid trust policy of exactly ``size`` characters, none of them whitespace."""
    base = json.dumps(json.loads(trust_policy(Sid="S")), separators=(",", ":"))
    pad = size - len(base)
    assert pad >= 0, f"{size} is below the minimum of {len(base)}"
    doc = base.replace('"Sid":"S"', '"Sid":"S' + "A" * pad + '"')
    assert len(doc) == size and not any(c.isspace() for c in doc)
    return doc


def role_view(role: dict) -> dict:
    """The fields of a Role structure that CreateRole and GetRole share."""
    return {k: role[k] for k in ROLE_FIELDS if k in role}


def role_names(response: dict) -> list:
    return [r["RoleName"] for r in response["Roles"]]


def raw_iam(server, creds, action: str, **params: str):
    return send(signed_request(server, creds, body=iam_form(action, **params), service="iam"))


@pytest.fixture
def make_role(admin_iam):
    """Factory: ``make_role(prefix, path='/', trust=None, policies={}, **CreateRole args)``
    creates a role named ``<prefix>-<random>`` on the shared server (as admin) and
    returns the CreateRole ``Role``; ``policies`` are inline role policies."""

    def factory(prefix: str = "role", *, path: str = "/", trust: Optional[str] = None,
                policies: Optional[dict] = None, **kwargs) -> dict:
        name = unique(prefix)
        role = admin_iam.create_role(RoleName=name, Path=path,
                                     AssumeRolePolicyDocument=trust or trust_policy(),
                                     **kwargs)["Role"]
        for policy_name, document in (policies or {}).items():
            admin_iam.put_role_policy(RoleName=name, PolicyName=policy_name,
                                      PolicyDocument=document)
        return role

    return factory


# ---------------------------------------------------------------------------
# CreateRole / GetRole
# ---------------------------------------------------------------------------


def test_create_role_returns_the_role(admin_iam, account):
    name, path = unique(), unique_path()
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT},
         "Action": "sts:AssumeRole"}]}, indent=2)
    tags = [{"Key": "Team", "Value": "blue"}, {"Key": "cost-center", "Value": ""}]
    role = admin_iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=document,
                                 Description="the e2e role", MaxSessionDuration=7200,
                                 Tags=tags)["Role"]
    assert role["Path"] == path
    assert role["RoleName"] == name
    assert re.fullmatch(ROLE_ID_RE, role["RoleId"]), role["RoleId"]
    assert role["Arn"] == role_arn(account, name, path)
    assert role["AssumeRolePolicyDocument"] == json.loads(document)  # decoded by boto3
    assert role["Description"] == "the e2e role"
    assert role["MaxSessionDuration"] == 7200
    assert role["Tags"] == tags
    assert_recent(role["CreateDate"])

    got = admin_iam.get_role(RoleName=name)["Role"]
    assert role_view(got) == role_view(role)


def test_create_role_defaults(admin_iam, account):
    name = unique()
    role = admin_iam.create_role(RoleName=name,
                                 AssumeRolePolicyDocument=trust_policy())["Role"]
    assert role["Path"] == "/"
    assert role["Arn"] == role_arn(account, name)
    assert role["MaxSessionDuration"] == 3600
    assert "Description" not in role
    assert role.get("Tags", []) == []
    got = admin_iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 3600 and "Description" not in got


def test_create_role_ids_are_unique(make_role):
    assert make_role()["RoleId"] != make_role()["RoleId"]


def test_create_role_raw_response_is_url_encoded(server, admin, account):
    name = unique()
    document = trust_policy(Sid="Raw")
    resp = raw_iam(server, admin, "CreateRole", RoleName=name, AssumeRolePolicyDocument=document)
    assert resp.status == 200, resp.body[:500]
    root = resp.xml()
    ns = {"i": IAM_NS}
    assert root.tag == f"{{{IAM_NS}}}CreateRoleResponse", root.tag
    role = root.find("i:CreateRoleResult/i:Role", ns)
    assert role is not None, resp.body[:500]
    assert role.findtext("i:Arn", namespaces=ns) == role_arn(account, name)
    assert re.fullmatch(ROLE_ID_RE, role.findtext("i:RoleId", namespaces=ns) or "")
    assert role.findtext("i:MaxSessionDuration", namespaces=ns) == "3600"
    raw = role.findtext("i:AssumeRolePolicyDocument", namespaces=ns)
    assert raw is not None and raw.startswith("%7B"), raw
    assert unquote(raw) == document
    rid = root.findtext("i:ResponseMetadata/i:RequestId", namespaces=ns)
    assert rid and resp.header("x-amzn-RequestId") == rid

    resp = raw_iam(server, admin, "GetRole", RoleName=name)
    assert resp.status == 200, resp.body[:500]
    raw = resp.xml().findtext("i:GetRoleResult/i:Role/i:AssumeRolePolicyDocument", namespaces=ns)
    assert raw is not None and raw.startswith("%7B"), raw
    assert unquote(raw) == document


@pytest.mark.parametrize("variant", ["same", "upper", "capitalized"])
def test_create_role_duplicate_name(admin_iam, make_role, variant):
    role = make_role()
    name = role["RoleName"]
    again = {"same": name, "upper": name.upper(), "capitalized": name.capitalize()}[variant]
    expect_client_error(
        lambda: admin_iam.create_role(RoleName=again, AssumeRolePolicyDocument=trust_policy()),
        code="EntityAlreadyExists", status=409,
        message=f"Role with name {again} already exists.")
    assert admin_iam.get_role(RoleName=name)["Role"]["RoleId"] == role["RoleId"]


@pytest.mark.parametrize("duration, constraint", [
    (3599, "Member must have value greater than or equal to 3600"),
    (43201, "Member must have value less than or equal to 43200"),
])
def test_create_role_max_session_duration_out_of_range(admin_iam, admin_iam_unvalidated,
                                                       duration, constraint):
    name = unique()
    expect_client_error(
        lambda: admin_iam_unvalidated.create_role(
            RoleName=name, AssumeRolePolicyDocument=trust_policy(),
            MaxSessionDuration=duration),
        code="ValidationError", status=400,
        message=f"1 validation error detected: Value '{duration}' at 'maxSessionDuration' "
                f"failed to satisfy constraint: {constraint}")
    expect_client_error(lambda: admin_iam.get_role(RoleName=name),
                        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("duration", [3600, 43200])
def test_create_role_max_session_duration_bounds(make_role, duration):
    assert make_role(MaxSessionDuration=duration)["MaxSessionDuration"] == duration


def test_create_role_duplicate_tag_keys_differing_in_case(admin_iam):
    name = unique()
    tags = [{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]
    expect_client_error(
        lambda: admin_iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(),
                                      Tags=tags),
        code="InvalidInput", status=400,
        message="Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    expect_client_error(lambda: admin_iam.get_role(RoleName=name),
                        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("key", ["aws:team", "AWS:Team"])
def test_create_role_reserved_tag_prefix(admin_iam, key):
    name = unique()
    expect_client_error(
        lambda: admin_iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(),
                                      Tags=[{"Key": key, "Value": "x"}]),
        code="InvalidInput", status=400, contains=key)
    expect_client_error(lambda: admin_iam.get_role(RoleName=name),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# unknown roles
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("operation, kwargs", [
    ("get_role", {}),
    ("delete_role", {}),
    ("update_role", {"Description": "x"}),
    ("update_assume_role_policy", {"PolicyDocument": trust_policy()}),
    ("list_instance_profiles_for_role", {}),
    ("tag_role", {"Tags": [{"Key": "a", "Value": "b"}]}),
    ("untag_role", {"TagKeys": ["a"]}),
    ("list_role_tags", {}),
    ("put_role_policy", {"PolicyName": "p", "PolicyDocument": policy(allow("iam:GetRole"))}),
    ("get_role_policy", {"PolicyName": "p"}),
    ("delete_role_policy", {"PolicyName": "p"}),
    ("list_role_policies", {}),
])
def test_operations_on_unknown_role(admin_iam, operation, kwargs):
    name = unique("nobody")
    expect_client_error(lambda: getattr(admin_iam, operation)(RoleName=name, **kwargs),
                        code="NoSuchEntity", status=404,
                        message=f"The role with name {name} cannot be found.")


# ---------------------------------------------------------------------------
# trust policies (CreateRole and UpdateAssumeRolePolicy)
# ---------------------------------------------------------------------------


@pytest.fixture(params=["create_role", "update_assume_role_policy"])
def write_trust(request, admin_iam, make_role):
    """Writes a trust policy through CreateRole (new role) or UpdateAssumeRolePolicy
    (existing role); ``write_trust(document)`` returns the role name, and
    ``write_trust.check_unchanged(name)`` asserts a failed write left no trace."""
    operation = request.param

    class Writer:
        def __init__(self):
            self.original = None
            if operation == "update_assume_role_policy":
                self.original = make_role("trust")
            self.name = self.original["RoleName"] if self.original else unique("trust")

        def __call__(self, document: str) -> str:
            if self.original is None:
                admin_iam.create_role(RoleName=self.name, AssumeRolePolicyDocument=document)
            else:
                admin_iam.update_assume_role_policy(RoleName=self.name, PolicyDocument=document)
            return self.name

        def check_unchanged(self) -> None:
            if self.original is None:
                expect_client_error(lambda: admin_iam.get_role(RoleName=self.name),
                                    code="NoSuchEntity", status=404)
            else:
                got = admin_iam.get_role(RoleName=self.name)["Role"]
                assert got["AssumeRolePolicyDocument"] == self.original[
                    "AssumeRolePolicyDocument"]

    return Writer()


BASE = {"Version": "2012-10-17"}


@pytest.mark.parametrize("document, message, contains", [
    ('{"Version": "2012-10-17", "Statement": [', "Syntax errors in policy.", None),
    (json.dumps({**BASE, "Statement": [trust_statement(DEFAULT_PRINCIPAL, Resource="*")]}),
     None, "Has prohibited field Resource"),
    (json.dumps({**BASE, "Statement": [trust_statement()]}),
     None, "Missing required field Principal"),
    (json.dumps({**BASE, "Statement": [trust_statement(NotPrincipal={"AWS": OTHER_ACCOUNT})]}),
     None, None),
], ids=["malformed-json", "resource", "missing-principal", "not-principal"])
def test_trust_policy_malformed(admin_iam, write_trust, document, message, contains):
    expect_client_error(lambda: write_trust(document), code="MalformedPolicyDocument",
                        status=400, message=message, contains=contains)
    write_trust.check_unchanged()


def test_trust_policy_naming_an_unknown_user(write_trust, account):
    arn = user_arn(account, unique("ghost"))
    expect_client_error(lambda: write_trust(trust_policy({"AWS": arn})),
                        code="MalformedPolicyDocument", status=400,
                        message=f'Invalid principal in policy: "AWS":"{arn}"')
    write_trust.check_unchanged()


def test_trust_policy_naming_an_unknown_role(write_trust, account):
    arn = role_arn(account, unique("ghost"))
    expect_client_error(lambda: write_trust(trust_policy({"AWS": arn})),
                        code="MalformedPolicyDocument", status=400,
                        message=f'Invalid principal in policy: "AWS":"{arn}"')
    write_trust.check_unchanged()


def test_trust_policy_partial_wildcard_principal(write_trust, account):
    arn = f"arn:aws:iam::{account}:user/*"
    expect_client_error(lambda: write_trust(trust_policy({"AWS": arn})),
                        code="MalformedPolicyDocument", status=400)
    write_trust.check_unchanged()


@pytest.mark.parametrize("principal", [
    "existing-user", "existing-role", "account-root", "other-account", "other-account-root",
    "service", "federated",
])
def test_trust_policy_valid_principals(admin_iam, write_trust, make_user, make_role, account,
                                       principal):
    value = {
        "existing-user": lambda: {"AWS": make_user().arn},
        "existing-role": lambda: {"AWS": make_role()["Arn"]},
        "account-root": lambda: {"AWS": f"arn:aws:iam::{account}:root"},
        "other-account": lambda: {"AWS": OTHER_ACCOUNT},
        "other-account-root": lambda: {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
        "service": lambda: {"Service": "ec2.amazonaws.com"},
        "federated": lambda: {"Federated": f"arn:aws:iam::{account}:oidc-provider/example.com"},
    }[principal]()
    document = trust_policy(value)
    name = write_trust(document)
    got = admin_iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(document)


def test_trust_policy_size_limit(write_trust):
    expect_client_error(lambda: write_trust(trust_policy_of_size(2049)),
                        code="LimitExceeded", status=409,
                        message="Cannot exceed quota for ACLSizePerRole: 2048")
    write_trust.check_unchanged()


def test_trust_policy_of_2048_characters(admin_iam, write_trust):
    document = trust_policy_of_size(2048)
    name = write_trust(document)
    got = admin_iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(document)


def test_trust_policy_size_ignores_whitespace(admin_iam, write_trust):
    compact = trust_policy_of_size(2000)
    padded = json.dumps(json.loads(compact), indent=40)
    assert len(padded) > 2048
    name = write_trust(padded)
    got = admin_iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(compact)


def test_update_assume_role_policy_shows_in_get_role(server, admin, admin_iam, make_role):
    role = make_role()
    document = json.dumps({**BASE, "Statement": [
        trust_statement({"AWS": OTHER_ACCOUNT}, Sid="Other"),
        trust_statement({"Service": "ec2.amazonaws.com"}, Sid="Ec2")]}, indent=1)
    resp = admin_iam.update_assume_role_policy(RoleName=role["RoleName"],
                                               PolicyDocument=document)
    assert set(resp) == {"ResponseMetadata"}
    got = admin_iam.get_role(RoleName=role["RoleName"])["Role"]
    assert got["AssumeRolePolicyDocument"] == json.loads(document)
    assert (got["RoleId"], got["Arn"]) == (role["RoleId"], role["Arn"])

    resp = raw_iam(server, admin, "GetRole", RoleName=role["RoleName"])
    raw = resp.xml().findtext("i:GetRoleResult/i:Role/i:AssumeRolePolicyDocument",
                              namespaces={"i": IAM_NS})
    assert raw is not None and unquote(raw) == document


# ---------------------------------------------------------------------------
# DeleteRole
# ---------------------------------------------------------------------------


def test_delete_role(admin_iam, make_role):
    role = make_role(path=unique_path(), Tags=[{"Key": "k", "Value": "v"}])
    name = role["RoleName"]
    admin_iam.delete_role(RoleName=name)  # tags do not block deletion
    expect_client_error(lambda: admin_iam.get_role(RoleName=name),
                        code="NoSuchEntity", status=404,
                        message=f"The role with name {name} cannot be found.")
    assert admin_iam.list_roles(PathPrefix=role["Path"])["Roles"] == []
    expect_client_error(lambda: admin_iam.delete_role(RoleName=name),
                        code="NoSuchEntity", status=404,
                        message=f"The role with name {name} cannot be found.")


def test_delete_role_with_inline_policy_conflicts(admin_iam, make_role):
    role = make_role(policies={"p": policy(allow("iam:GetRole"))})
    name = role["RoleName"]
    expect_client_error(lambda: admin_iam.delete_role(RoleName=name),
                        code="DeleteConflict", status=409,
                        message="Cannot delete entity, must delete policies first.")
    assert admin_iam.get_role(RoleName=name)["Role"]["RoleId"] == role["RoleId"]
    admin_iam.delete_role_policy(RoleName=name, PolicyName="p")
    admin_iam.delete_role(RoleName=name)
    expect_client_error(lambda: admin_iam.get_role(RoleName=name),
                        code="NoSuchEntity", status=404)


def test_recreated_role_is_a_new_entity(admin_iam, make_role):
    role = make_role(Tags=[{"Key": "old", "Value": "tag"}], Description="old")
    name = role["RoleName"]
    admin_iam.delete_role(RoleName=name)
    again = admin_iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy())["Role"]
    assert again["RoleId"] != role["RoleId"]
    assert again["Arn"] == role["Arn"]
    assert again.get("Tags", []) == [] and "Description" not in again
    assert admin_iam.list_role_tags(RoleName=name)["Tags"] == []


# ---------------------------------------------------------------------------
# ListRoles
# ---------------------------------------------------------------------------


@pytest.fixture
def listed_roles(admin_iam):
    """Four roles under a fresh path: three directly in it, one in ``sub/``."""
    path = unique_path()
    stem = unique("l")
    names = [f"{stem}-{n}" for n in ("carol", "alice", "dave", "bob")]
    for name in names[:3]:
        admin_iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust_policy())
    admin_iam.create_role(RoleName=names[3], Path=path + "sub/",
                          AssumeRolePolicyDocument=trust_policy())
    return path, sorted(names)


def test_list_roles_sorted_and_filtered_by_path_prefix(admin_iam, listed_roles, account):
    path, names = listed_roles
    resp = admin_iam.list_roles(PathPrefix=path)
    assert role_names(resp) == names
    assert resp["IsTruncated"] is False and "Marker" not in resp
    for role in resp["Roles"]:
        expected_path = path + "sub/" if role["RoleName"].endswith("-bob") else path
        assert role["Path"] == expected_path
        assert role["Arn"] == role_arn(account, role["RoleName"], expected_path)
        assert re.fullmatch(ROLE_ID_RE, role["RoleId"])
        assert role["AssumeRolePolicyDocument"] == json.loads(trust_policy())

    assert role_names(admin_iam.list_roles(PathPrefix=path + "sub/")) == [
        n for n in names if n.endswith("-bob")]
    assert role_names(admin_iam.list_roles(PathPrefix=path + "nothing/")) == []


def test_list_roles_without_prefix_lists_every_role_sorted(admin_iam, listed_roles):
    _, names = listed_roles
    everyone = [r["RoleName"] for page in admin_iam.get_paginator("list_roles").paginate()
                for r in page["Roles"]]
    assert set(names) <= set(everyone)
    assert everyone == sorted(everyone)
    assert len(everyone) == len(set(everyone))


def test_list_roles_max_items_and_marker(admin_iam, listed_roles):
    path, names = listed_roles
    first = admin_iam.list_roles(PathPrefix=path, MaxItems=1)
    assert role_names(first) == names[:1]
    assert first["IsTruncated"] is True and first["Marker"]

    seen = role_names(first)
    marker = first["Marker"]
    while True:
        page = admin_iam.list_roles(PathPrefix=path, MaxItems=1, Marker=marker)
        assert len(page["Roles"]) == 1
        seen += role_names(page)
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
        assert len(seen) < 10, "pagination does not end"
    assert seen == names

    two = admin_iam.list_roles(PathPrefix=path, MaxItems=2)
    assert role_names(two) == names[:2] and two["IsTruncated"] is True
    rest = admin_iam.list_roles(PathPrefix=path, MaxItems=100, Marker=two["Marker"])
    assert role_names(rest) == names[2:] and rest["IsTruncated"] is False


def test_list_roles_paginator(admin_iam, listed_roles):
    path, names = listed_roles
    pages = list(admin_iam.get_paginator("list_roles").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 1}))
    assert len(pages) == len(names)
    assert [n for p in pages for n in role_names(p)] == names
    pages = list(admin_iam.get_paginator("list_roles").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 3}))
    assert [len(p["Roles"]) for p in pages] == [3, 1]


# ---------------------------------------------------------------------------
# UpdateRole
# ---------------------------------------------------------------------------


def test_update_role_description_and_max_session_duration(admin_iam, make_role):
    role = make_role(Description="before", MaxSessionDuration=7200)
    name = role["RoleName"]

    resp = admin_iam.update_role(RoleName=name, Description="after")
    assert set(resp) == {"ResponseMetadata"}
    got = admin_iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("after", 7200)

    admin_iam.update_role(RoleName=name, MaxSessionDuration=43200)
    got = admin_iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("after", 43200)

    admin_iam.update_role(RoleName=name, Description="both", MaxSessionDuration=3600)
    got = admin_iam.get_role(RoleName=name)["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("both", 3600)
    assert (got["RoleId"], got["Arn"], got["AssumeRolePolicyDocument"]) == (
        role["RoleId"], role["Arn"], role["AssumeRolePolicyDocument"])


def test_update_role_raw_response_has_empty_result(server, admin, make_role):
    name = make_role()["RoleName"]
    resp = raw_iam(server, admin, "UpdateRole", RoleName=name, Description="raw")
    assert resp.status == 200, resp.body[:500]
    root = resp.xml()
    ns = {"i": IAM_NS}
    assert root.tag == f"{{{IAM_NS}}}UpdateRoleResponse", root.tag
    result = root.find("i:UpdateRoleResult", ns)
    assert result is not None, resp.body[:500]
    assert len(result) == 0 and not (result.text or "").strip(), resp.body[:500]
    rid = root.findtext("i:ResponseMetadata/i:RequestId", namespaces=ns)
    assert rid and resp.header("x-amzn-RequestId") == rid


@pytest.mark.parametrize("duration, constraint", [
    (3599, "Member must have value greater than or equal to 3600"),
    (43201, "Member must have value less than or equal to 43200"),
])
def test_update_role_max_session_duration_out_of_range(admin_iam, admin_iam_unvalidated,
                                                       make_role, duration, constraint):
    name = make_role(MaxSessionDuration=7200)["RoleName"]
    expect_client_error(
        lambda: admin_iam_unvalidated.update_role(RoleName=name, MaxSessionDuration=duration),
        code="ValidationError", status=400,
        message=f"1 validation error detected: Value '{duration}' at 'maxSessionDuration' "
                f"failed to satisfy constraint: {constraint}")
    assert admin_iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200


# ---------------------------------------------------------------------------
# ListInstanceProfilesForRole
# ---------------------------------------------------------------------------


def test_list_instance_profiles_for_role_is_empty(admin_iam, make_role):
    name = make_role()["RoleName"]
    resp = admin_iam.list_instance_profiles_for_role(RoleName=name)
    assert resp["InstanceProfiles"] == []
    assert resp["IsTruncated"] is False and "Marker" not in resp
    pages = list(admin_iam.get_paginator("list_instance_profiles_for_role").paginate(
        RoleName=name))
    assert [p["InstanceProfiles"] for p in pages] == [[]]


# ---------------------------------------------------------------------------
# role tags
# ---------------------------------------------------------------------------


def test_tag_untag_and_list_role_tags(admin_iam, make_role):
    role = make_role(Tags=[{"Key": "Team", "Value": "a"}, {"Key": "Env", "Value": "prod"}])
    name = role["RoleName"]
    admin_iam.tag_role(RoleName=name, Tags=[{"Key": "team", "Value": "b"},
                                            {"Key": "Owner", "Value": "me"}])
    expected = {"Env": "prod", "team": "b", "Owner": "me"}  # 'Team' replaced, new case kept
    listed = admin_iam.list_role_tags(RoleName=name)
    assert tag_dict(listed["Tags"]) == expected
    assert len(listed["Tags"]) == 3
    assert listed["IsTruncated"] is False
    assert tag_dict(admin_iam.get_role(RoleName=name)["Role"]["Tags"]) == expected

    # removal is case-insensitive; an absent key is a no-op
    admin_iam.untag_role(RoleName=name, TagKeys=["ENV", "no-such-key"])
    expected = {"team": "b", "Owner": "me"}
    assert tag_dict(admin_iam.list_role_tags(RoleName=name)["Tags"]) == expected
    assert tag_dict(admin_iam.get_role(RoleName=name)["Role"]["Tags"]) == expected

    admin_iam.untag_role(RoleName=name, TagKeys=["TEAM", "owner"])
    assert admin_iam.list_role_tags(RoleName=name)["Tags"] == []
    assert admin_iam.get_role(RoleName=name)["Role"].get("Tags", []) == []


def test_list_role_tags_pagination(admin_iam, make_role):
    tags = [{"Key": f"k{i}", "Value": str(i)} for i in range(5)]
    name = make_role(Tags=tags)["RoleName"]
    pages = list(admin_iam.get_paginator("list_role_tags").paginate(
        RoleName=name, PaginationConfig={"PageSize": 2}))
    assert [len(p["Tags"]) for p in pages] == [2, 2, 1]
    collected = [t for p in pages for t in p["Tags"]]
    assert tag_dict(collected) == tag_dict(tags) and len(collected) == 5


def test_tag_role_beyond_50_tags(admin_iam, make_role):
    name = make_role(Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])["RoleName"]
    expect_client_error(
        lambda: admin_iam.tag_role(RoleName=name, Tags=[{"Key": "one-more", "Value": "x"}]),
        code="LimitExceeded", status=409, contains="50")
    # replacing an existing key (in another case) keeps the count at 50
    admin_iam.tag_role(RoleName=name, Tags=[{"Key": "K07", "Value": "new"}])
    tags = tag_dict(admin_iam.list_role_tags(RoleName=name)["Tags"])
    assert len(tags) == 50 and tags["K07"] == "new" and "k07" not in tags


def test_create_role_with_51_tags(admin_iam):
    name = unique()
    tags = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(51)]
    expect_client_error(
        lambda: admin_iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy(),
                                      Tags=tags),
        code="ValidationError", status=400,
        contains=("'tags'", "Member must have length less than or equal to 50"))
    expect_client_error(lambda: admin_iam.get_role(RoleName=name),
                        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("tags", [
    [{"Key": "aws:x", "Value": "1"}],
    [{"Key": "Dup", "Value": "1"}, {"Key": "dUP", "Value": "2"}],
], ids=["reserved-prefix", "duplicate-keys"])
def test_tag_role_invalid_tags(admin_iam, make_role, tags):
    name = make_role(Tags=[{"Key": "keep", "Value": "me"}])["RoleName"]
    expect_client_error(lambda: admin_iam.tag_role(RoleName=name, Tags=tags),
                        code="InvalidInput", status=400)
    assert tag_dict(admin_iam.list_role_tags(RoleName=name)["Tags"]) == {"keep": "me"}


# ---------------------------------------------------------------------------
# inline role policies
# ---------------------------------------------------------------------------


def test_put_get_list_role_policy(server, admin, admin_iam, make_role, account):
    name = make_role()["RoleName"]
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadRoles", "Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRoleTags"],
         "Resource": f"arn:aws:iam::{account}:role/*"}]}, indent=2)
    resp = admin_iam.put_role_policy(RoleName=name, PolicyName="read-roles",
                                     PolicyDocument=document)
    assert set(resp) == {"ResponseMetadata"}

    got = admin_iam.get_role_policy(RoleName=name, PolicyName="read-roles")
    assert got["RoleName"] == name and got["PolicyName"] == "read-roles"
    assert got["PolicyDocument"] == json.loads(document)

    resp = raw_iam(server, admin, "GetRolePolicy", RoleName=name, PolicyName="read-roles")
    assert resp.status == 200, resp.body[:500]
    raw = resp.xml().findtext("i:GetRolePolicyResult/i:PolicyDocument",
                              namespaces={"i": IAM_NS})
    assert raw is not None and raw.startswith("%7B"), raw
    assert unquote(raw) == document

    listed = admin_iam.list_role_policies(RoleName=name)
    assert listed["PolicyNames"] == ["read-roles"] and listed["IsTruncated"] is False


def test_put_role_policy_replaces_a_policy_of_the_same_name(admin_iam, make_role):
    name = make_role(policies={"p": policy(allow("iam:GetRole"))})["RoleName"]
    admin_iam.put_role_policy(RoleName=name, PolicyName="p",
                              PolicyDocument=policy(allow("iam:ListRoles")))
    got = admin_iam.get_role_policy(RoleName=name, PolicyName="p")["PolicyDocument"]
    assert got["Statement"][0]["Action"] == "iam:ListRoles"
    assert admin_iam.list_role_policies(RoleName=name)["PolicyNames"] == ["p"]


def test_list_role_policies_sorted_and_paginated(admin_iam, make_role):
    names = ["zeta", "alpha", "Mid", "beta"]
    role = make_role(policies={n: policy(allow("iam:GetRole")) for n in names})
    listed = admin_iam.list_role_policies(RoleName=role["RoleName"])
    assert listed["PolicyNames"] == sorted(names) and listed["IsTruncated"] is False
    pages = list(admin_iam.get_paginator("list_role_policies").paginate(
        RoleName=role["RoleName"], PaginationConfig={"PageSize": 1}))
    assert [n for p in pages for n in p["PolicyNames"]] == sorted(names)


def test_role_inline_policy_size_limit(admin_iam, make_role):
    name = make_role()["RoleName"]
    limit_message = f"Maximum policy size of 10240 bytes exceeded for role {name}"

    expect_client_error(
        lambda: admin_iam.put_role_policy(RoleName=name, PolicyName="big",
                                          PolicyDocument=policy_of_size(10241)),
        code="LimitExceeded", status=409, message=limit_message)
    admin_iam.put_role_policy(RoleName=name, PolicyName="big",
                              PolicyDocument=policy_of_size(10240))
    # replacing the same policy does not count its old text
    admin_iam.put_role_policy(RoleName=name, PolicyName="big",
                              PolicyDocument=policy_of_size(5120))
    admin_iam.put_role_policy(RoleName=name, PolicyName="second",
                              PolicyDocument=policy_of_size(5120))
    # the aggregate of all inline policies counts
    expect_client_error(
        lambda: admin_iam.put_role_policy(RoleName=name, PolicyName="third",
                                          PolicyDocument=policy_of_size(200)),
        code="LimitExceeded", status=409, message=limit_message)
    assert admin_iam.list_role_policies(RoleName=name)["PolicyNames"] == ["big", "second"]


def test_role_inline_policy_size_ignores_whitespace(admin_iam, make_role):
    name = make_role()["RoleName"]
    compact = policy_of_size(10000)
    padded = json.dumps(json.loads(compact), indent=200)
    assert len(padded) > 10240
    admin_iam.put_role_policy(RoleName=name, PolicyName="padded", PolicyDocument=padded)
    got = admin_iam.get_role_policy(RoleName=name, PolicyName="padded")
    assert got["PolicyDocument"] == json.loads(compact)


@pytest.mark.parametrize("document, message", [
    ('{"Version": "2012-10-17", "Statement": [', "Syntax errors in policy."),
    (json.dumps({**BASE, "Statement": [{"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT},
                                        "Action": "iam:GetRole", "Resource": "*"}]}),
     "Policy document should not specify a principal."),
], ids=["malformed-json", "principal"])
def test_put_role_policy_malformed(admin_iam, make_role, document, message):
    name = make_role()["RoleName"]
    expect_client_error(
        lambda: admin_iam.put_role_policy(RoleName=name, PolicyName="bad",
                                          PolicyDocument=document),
        code="MalformedPolicyDocument", status=400, message=message)
    assert admin_iam.list_role_policies(RoleName=name)["PolicyNames"] == []


@pytest.mark.parametrize("operation", ["get_role_policy", "delete_role_policy"])
def test_unknown_role_policy(admin_iam, make_role, operation):
    name = make_role(policies={"exists": policy(allow("iam:GetRole"))})["RoleName"]
    expect_client_error(
        lambda: getattr(admin_iam, operation)(RoleName=name, PolicyName="absent"),
        code="NoSuchEntity", status=404,
        message="The role policy with name absent cannot be found.")


def test_delete_role_policy(admin_iam, make_role):
    name = make_role(policies={"a": policy(allow("iam:GetRole")),
                               "b": policy(allow("iam:ListRoles"))})["RoleName"]
    resp = admin_iam.delete_role_policy(RoleName=name, PolicyName="a")
    assert set(resp) == {"ResponseMetadata"}
    assert admin_iam.list_role_policies(RoleName=name)["PolicyNames"] == ["b"]
    expect_client_error(
        lambda: admin_iam.get_role_policy(RoleName=name, PolicyName="a"),
        code="NoSuchEntity", status=404,
        message="The role policy with name a cannot be found.")


# ---------------------------------------------------------------------------
# authorization
# ---------------------------------------------------------------------------


@pytest.fixture
def role_reader(server, make_user, account):
    """A user with a key, allowed only iam:GetRole on roles named ``allowed-*``."""
    user = make_user("reader", key=True, policies={"p": policy(
        allow("iam:GetRole", f"arn:aws:iam::{account}:role/allowed-*"))})
    return user, user.iam(server)


def test_get_role_allowed_only_on_matching_roles(role_reader, make_role, admin_iam, account):
    user, client = role_reader
    allowed = make_role("allowed")
    assert client.get_role(RoleName=allowed["RoleName"])["Role"]["RoleId"] == allowed["RoleId"]

    other = make_role("other")
    expect_client_error(
        lambda: client.get_role(RoleName=other["RoleName"]), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:GetRole", other["Arn"]))

    new_name = unique("allowed")
    expect_client_error(
        lambda: client.create_role(RoleName=new_name, AssumeRolePolicyDocument=trust_policy()),
        code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:CreateRole", role_arn(account, new_name)))
    expect_client_error(lambda: admin_iam.get_role(RoleName=new_name),
                        code="NoSuchEntity", status=404)


def test_list_roles_denied_names_the_role_prefix_resource(role_reader, account):
    user, client = role_reader
    expect_client_error(
        client.list_roles, code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:ListRoles", f"arn:aws:iam::{account}:role/"))


def test_list_roles_allowed_on_role_wildcard(server, make_user, make_role, account):
    user = make_user("lister", key=True, policies={"p": policy(
        allow("iam:ListRoles", f"arn:aws:iam::{account}:role/*"))})
    role = make_role(path=unique_path())
    client = user.iam(server)
    # The shared server holds roles of other tests: page through all of them.
    every = [r["RoleName"] for page in client.get_paginator("list_roles").paginate() for r in page["Roles"]]
    assert role["RoleName"] in every
    assert role_names(client.list_roles(PathPrefix=role["Path"])) == [role["RoleName"]]


# ---------------------------------------------------------------------------
# persistence
# ---------------------------------------------------------------------------


def test_roles_survive_a_restart(start_server):
    srv = start_server("role-restart")
    admin = srv.admin_credentials()
    iam = iam_client(srv, admin)
    document = trust_policy({"AWS": OTHER_ACCOUNT})
    role = iam.create_role(RoleName="keeper", Path="/persist/", AssumeRolePolicyDocument=document,
                           Description="kept", MaxSessionDuration=9000,
                           Tags=[{"Key": "Team", "Value": "blue"}])["Role"]
    inline = policy(allow("iam:GetRole", role["Arn"]))
    iam.put_role_policy(RoleName="keeper", PolicyName="self", PolicyDocument=inline)
    updated = trust_policy({"Service": "ec2.amazonaws.com"})
    iam.update_assume_role_policy(RoleName="keeper", PolicyDocument=updated)
    iam.update_role(RoleName="keeper", Description="kept and updated")
    iam.create_role(RoleName="gone", AssumeRolePolicyDocument=document)
    iam.delete_role(RoleName="gone")

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    srv.start()

    iam = iam_client(srv, admin)
    got = iam.get_role(RoleName="keeper")["Role"]
    expected = {**role_view(role), "AssumeRolePolicyDocument": json.loads(updated),
                "Description": "kept and updated"}
    assert role_view(got) == expected
    assert iam.get_role_policy(RoleName="keeper", PolicyName="self")["PolicyDocument"] == (
        json.loads(inline))
    expect_client_error(lambda: iam.get_role(RoleName="gone"), code="NoSuchEntity", status=404)
    assert role_names(iam.list_roles()) == ["keeper"]


# ---------------------------------------------------------------------------
# aws CLI
# ---------------------------------------------------------------------------


def test_aws_cli_role_round_trip(server, account, tmp_path):
    admin_file = admin_credentials_path(server.data_dir)

    def cli(*args):
        return run_aws_cli(server, list(args), credentials_file=admin_file, home=tmp_path)

    name = unique("cli")
    document = trust_policy({"AWS": OTHER_ACCOUNT})
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(document, encoding="utf-8")
    created = cli("iam", "create-role", "--role-name", name, "--path", "/cli-roles/",
                  "--assume-role-policy-document", f"file://{trust_file}")["Role"]
    assert created["Arn"] == role_arn(account, name, "/cli-roles/")
    assert created["AssumeRolePolicyDocument"] == json.loads(document)

    got = cli("iam", "get-role", "--role-name", name)["Role"]
    assert (got["RoleId"], got["Arn"]) == (created["RoleId"], created["Arn"])
    assert got["MaxSessionDuration"] == 3600

    listed = cli("iam", "list-roles", "--path-prefix", "/cli-roles/")["Roles"]
    assert name in [r["RoleName"] for r in listed]

    assert cli("iam", "delete-role", "--role-name", name) == {}
    proc = run_aws_cli_process(server, ["iam", "get-role", "--role-name", name],
                               credentials_file=admin_file, home=tmp_path)
    assert proc.returncode == 255, (proc.returncode, proc.stdout, proc.stderr)
    assert ("An error occurred (NoSuchEntity) when calling the GetRole operation: "
            f"The role with name {name} cannot be found.") in proc.stderr, proc.stderr
