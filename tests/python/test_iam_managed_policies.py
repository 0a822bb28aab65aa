"""End-to-end tests of Tessera's IAM managed policies, groups, attachments and
permissions boundaries (Query API, Version 2010-05-08), and their effect on
authorization.

Covers customer managed policies (create/get/delete, versions and their limits,
listing with scopes, filters and pagination, tags, the size quota, document
validation), AWS managed policies (listed, attachable, unmodifiable),
attachments to users, roles and groups (listing, quotas, counts,
ListEntitiesForPolicy, delete conflicts), groups (create/get/list/update/delete,
membership, inline group policies and their size quota), permissions
boundaries on users and roles, and what all of these do to authorization:
attached and group policies granting and stopping to grant, policy version
edits taking effect at once, boundaries limiting identity policies, role
sessions with attached policies, managed session policies (PolicyArns) for
AssumeRole and GetFederationToken; persistence across a restart and the aws
CLI.

The tests share the session server and keep out of each other's way with
unique names (and, where a listing is checked, a unique path).

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python
"""

from __future__ import annotations

import json
import re
from typing import Optional

import pytest
from botocore.exceptions import ClientError

from tessera_testlib import (
    admin_credentials_path,
    expect_client_error,
    iam_client,
    run_aws_cli,
    run_aws_cli_process,
    sts_client,
)
from test_assume_role import (  # helpers (no tests)
    assume,
    creds_of,
    iam_for,
    session_arn,
    sts_for,
    trust,
)
from test_iam_roles import (  # the fixture make_role (no tests)
    make_role,  # noqa: F401
    trust_policy,
)
from test_iam_users import (  # helpers and the fixtures account and make_user (no tests)
    NewUser,
    account,  # noqa: F401
    allow,
    assert_recent,
    deny,
    key_creds,
    make_user,  # noqa: F401
    policy,
    policy_of_size,
    tag_dict,
    unique,
    unique_path,
)

POLICY_ID_RE = r"ANPA[A-Z0-9]{17}"
GROUP_ID_RE = r"AGPA[A-Z0-9]{17}"
ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN_ACCESS_DOCUMENT = {"Version": "2012-10-17",
                         "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
VERSION_LIMIT = ("A managed policy can have up to 5 versions. Before you create a new version, "
                 "you must delete an existing version.")
DETACH_FIRST = "Cannot delete entity, must detach all policies first."
REMOVE_USERS_FIRST = "Cannot delete entity, must remove users from group first."
DELETE_POLICIES_FIRST = "Cannot delete entity, must delete policies first."
LIST_USERS = policy(allow("iam:ListUsers"))
LIST_ROLES = policy(allow("iam:ListRoles"))


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def policy_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:policy{path}{name}"


def group_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:group{path}{name}"


def users_resource(account: str) -> str:
    """The resource of iam:ListUsers (the user path prefix '/')."""
    return f"arn:aws:iam::{account}:user/"


def roles_resource(account: str) -> str:
    return f"arn:aws:iam::{account}:role/"


def denied(caller: str, action: str, resource: str, reason: str = "identity") -> str:
    """The AccessDenied message for ``caller``; ``reason`` is 'identity' (no
    identity-based policy allows), 'boundary' (no permissions boundary allows),
    'session' (no session policy allows), 'explicit' (explicit deny in an
    identity-based policy) or 'boundary-deny' (explicit deny in a permissions
    boundary)."""
    because = {
        "identity": f"because no identity-based policy allows the {action} action",
        "boundary": f"because no permissions boundary allows the {action} action",
        "session": f"because no session policy allows the {action} action",
        "explicit": "with an explicit deny in an identity-based policy",
        "boundary-deny": "with an explicit deny in a permissions boundary",
    }[reason]
    return (f"User: {caller} is not authorized to perform: {action} on resource: "
            f"{resource} {because}")


def body(response: dict) -> dict:
    """A response without its ResponseMetadata (request ids differ per call)."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def attached(response: dict) -> list:
    """AttachedPolicies as sorted (name, arn) pairs."""
    return sorted((p["PolicyName"], p["PolicyArn"]) for p in response["AttachedPolicies"])


def version_ids(iam, arn: str) -> dict:
    """{VersionId: IsDefaultVersion} of every version of a policy."""
    return {v["VersionId"]: v["IsDefaultVersion"]
            for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]}


def every_policy(iam, **kwargs) -> list:
    return [p for page in iam.get_paginator("list_policies").paginate(**kwargs)
            for p in page["Policies"]]


def client_error_of(call) -> tuple:
    """(Code, HTTP status) of the ClientError that ``call`` raises."""
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def make_policy(admin_iam):
    """Factory: ``make_policy(prefix, document=None, path='/', **CreatePolicy args)``
    creates a customer managed policy named ``<prefix>-<random>`` (default
    document: allow iam:GetUser) and returns the CreatePolicy ``Policy``."""

    def factory(prefix: str = "mp", document: Optional[str] = None, *, path: str = "/",
                **kwargs) -> dict:
        return admin_iam.create_policy(
            PolicyName=unique(prefix), Path=path,
            PolicyDocument=document or policy(allow("iam:GetUser")), **kwargs)["Policy"]

    return factory


@pytest.fixture
def make_group(admin_iam):
    """Factory: ``make_group(prefix, path='/', members=(), policies={}, attach=())``
    creates a group named ``<prefix>-<random>``, adds ``members`` (user names),
    puts the inline ``policies`` and attaches the managed policy ARNs ``attach``;
    returns the CreateGroup ``Group``."""

    def factory(prefix: str = "grp", *, path: str = "/", members=(),
                policies: Optional[dict] = None, attach=()) -> dict:
        name = unique(prefix)
        group = admin_iam.create_group(GroupName=name, Path=path)["Group"]
        for member in members:
            admin_iam.add_user_to_group(GroupName=name, UserName=member)
        for policy_name, document in (policies or {}).items():
            admin_iam.put_group_policy(GroupName=name, PolicyName=policy_name,
                                       PolicyDocument=document)
        for arn in attach:
            admin_iam.attach_group_policy(GroupName=name, PolicyArn=arn)
        return group

    return factory


@pytest.fixture(scope="module")
def eleven_policies(admin_iam) -> list:
    """ARNs of eleven customer managed policies, for the attachment quotas."""
    path = unique_path()
    return [admin_iam.create_policy(PolicyName=unique(f"quota{i:02d}"), Path=path,
                                    PolicyDocument=policy(allow("iam:GetUser")))["Policy"]["Arn"]
            for i in range(11)]


@pytest.fixture
def user_with_key(server, make_user):
    """Factory: ``user_with_key(prefix, **make_user args)`` returns
    ``(user, IAM client of that user)``; the user has an access key."""

    def factory(prefix: str = "mpuser", **kwargs):
        user = make_user(prefix, key=True, **kwargs)
        return user, iam_for(server, user.creds)

    return factory


# ---------------------------------------------------------------------------
# CreatePolicy / GetPolicy
# ---------------------------------------------------------------------------


def test_create_policy_returns_the_policy(admin_iam, account):
    name, path = unique("mp"), unique_path()
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "List", "Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]},
        indent=2)
    tags = [{"Key": "Team", "Value": "blue"}, {"Key": "cost-center", "Value": ""}]
    created = admin_iam.create_policy(PolicyName=name, Path=path, PolicyDocument=document,
                                      Description="the e2e policy", Tags=tags)["Policy"]
    assert created["PolicyName"] == name
    assert re.fullmatch(POLICY_ID_RE, created["PolicyId"]), created["PolicyId"]
    assert created["Arn"] == policy_arn(account, name, path)
    assert created["Path"] == path
    assert created["DefaultVersionId"] == "v1"
    assert created["AttachmentCount"] == 0
    assert created["PermissionsBoundaryUsageCount"] == 0
    assert created["IsAttachable"] is True
    assert created["Description"] == "the e2e policy"
    assert created["Tags"] == tags
    assert_recent(created["CreateDate"])
    assert_recent(created["UpdateDate"])

    got = admin_iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    for key in ("PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "AttachmentCount",
                "PermissionsBoundaryUsageCount", "IsAttachable", "Description", "CreateDate"):
        assert got[key] == created[key], key

    version = admin_iam.get_policy_version(PolicyArn=created["Arn"], VersionId="v1")
    assert version["PolicyVersion"]["Document"] == json.loads(document)
    assert version["PolicyVersion"]["VersionId"] == "v1"
    assert version["PolicyVersion"]["IsDefaultVersion"] is True
    assert_recent(version["PolicyVersion"]["CreateDate"])


def test_create_policy_defaults(admin_iam, account):
    name = unique("mp")
    created = admin_iam.create_policy(PolicyName=name,
                                      PolicyDocument=policy(allow("iam:GetUser")))["Policy"]
    assert created["Path"] == "/"
    assert created["Arn"] == policy_arn(account, name)
    assert "Description" not in created
    assert not created.get("Tags")


def test_policy_ids_are_unique(make_policy):
    ids = {make_policy()["PolicyId"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("variant", ["same", "upper", "other-path"])
def test_create_policy_duplicate_name(admin_iam, make_policy, variant):
    original = make_policy()
    name = original["PolicyName"]
    again = name.upper() if variant == "upper" else name
    path = unique_path() if variant == "other-path" else "/"
    expect_client_error(
        lambda: admin_iam.create_policy(PolicyName=again, Path=path,
                                        PolicyDocument=policy(allow("iam:ListUsers"))),
        code="EntityAlreadyExists", status=409,
        message=f"A policy called {again} already exists. Duplicate names are not allowed.")
    # the original is untouched
    got = admin_iam.get_policy(PolicyArn=original["Arn"])["Policy"]
    assert (got["PolicyId"], got["DefaultVersionId"]) == (original["PolicyId"], "v1")
    assert admin_iam.get_policy_version(PolicyArn=original["Arn"], VersionId="v1")[
        "PolicyVersion"]["Document"]["Statement"][0]["Action"] == "iam:GetUser"


def test_policy_size_quota(admin_iam, account):
    name = unique("big")
    expect_client_error(
        lambda: admin_iam.create_policy(PolicyName=name, PolicyDocument=policy_of_size(6145)),
        code="LimitExceeded", status=409, message="Cannot exceed quota for PolicySize: 6144")
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=policy_arn(account, name)),
                        code="NoSuchEntity", status=404)
    created = admin_iam.create_policy(PolicyName=name,
                                      PolicyDocument=policy_of_size(6144))["Policy"]
    # a new version has the same quota
    expect_client_error(
        lambda: admin_iam.create_policy_version(PolicyArn=created["Arn"],
                                                PolicyDocument=policy_of_size(6145)),
        code="LimitExceeded", status=409, message="Cannot exceed quota for PolicySize: 6144")
    assert version_ids(admin_iam, created["Arn"]) == {"v1": True}


def test_policy_size_ignores_whitespace(admin_iam):
    compact = policy_of_size(6000)
    padded = json.dumps(json.loads(compact), indent=60)
    assert len(padded) > 6144
    created = admin_iam.create_policy(PolicyName=unique("padded"),
                                      PolicyDocument=padded)["Policy"]
    got = admin_iam.get_policy_version(PolicyArn=created["Arn"], VersionId="v1")
    assert got["PolicyVersion"]["Document"] == json.loads(compact)


BASE = {"Version": "2012-10-17"}


@pytest.mark.parametrize("document", [
    '{"Version": "2012-10-17", "Statement": [',
    json.dumps({**BASE, "Statement": [{"Effect": "Allow", "Principal": "*",
                                       "Action": "iam:GetUser", "Resource": "*"}]}),
    json.dumps({**BASE, "Statement": [{"Effect": "Perhaps", "Action": "iam:GetUser",
                                       "Resource": "*"}]}),
    json.dumps({**BASE, "Statement": [{"Action": "iam:GetUser", "Resource": "*"}]}),
], ids=["syntax", "principal", "effect", "missing-effect"])
def test_create_policy_malformed(admin_iam, account, document):
    name = unique("bad")
    expect_client_error(lambda: admin_iam.create_policy(PolicyName=name, PolicyDocument=document),
                        code="MalformedPolicyDocument", status=400)
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=policy_arn(account, name)),
                        code="NoSuchEntity", status=404)


def test_create_policy_version_malformed(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    expect_client_error(
        lambda: admin_iam.create_policy_version(
            PolicyArn=arn, SetAsDefault=True,
            PolicyDocument=policy({"Effect": "Allow", "Principal": {"AWS": "*"},
                                   "Action": "iam:GetUser", "Resource": "*"})),
        code="MalformedPolicyDocument", status=400)
    assert version_ids(admin_iam, arn) == {"v1": True}


def test_get_policy_unknown(admin_iam, account):
    arn = policy_arn(account, unique("ghost"))
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=arn),
                        code="NoSuchEntity", status=404, message=f"Policy {arn} was not found.")


def test_get_policy_with_the_wrong_path(admin_iam, account, make_policy):
    path = unique_path()
    created = make_policy(path=path)
    wrong = policy_arn(account, created["PolicyName"])
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=wrong),
                        code="NoSuchEntity", status=404, message=f"Policy {wrong} was not found.")
    assert admin_iam.get_policy(PolicyArn=created["Arn"])["Policy"]["Path"] == path


def test_get_policy_arn_that_is_not_an_arn(admin_iam):
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn="not-an-arn-at-all-xxxxxxx"),
                        code="InvalidInput", status=400,
                        message="ARN not-an-arn-at-all-xxxxxxx is not valid.")


def test_get_policy_arn_that_names_no_policy(admin_iam):
    got = client_error_of(
        lambda: admin_iam.get_policy(PolicyArn="arn:aws:iam::123456789012:notapolicy/x"))
    assert got in {("NoSuchEntity", 404), ("InvalidInput", 400)}, got


# ---------------------------------------------------------------------------
# policy versions
# ---------------------------------------------------------------------------


def test_create_policy_version_set_as_default(admin_iam, make_policy):
    created = make_policy()
    arn = created["Arn"]
    v2_document = policy(allow("iam:ListUsers"))
    v2 = admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=v2_document,
                                         SetAsDefault=True)["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", True)
    assert_recent(v2["CreateDate"])
    got = admin_iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["DefaultVersionId"] == "v2"
    assert got["UpdateDate"] >= created["UpdateDate"]
    assert version_ids(admin_iam, arn) == {"v1": False, "v2": True}
    fetched = admin_iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert fetched["Document"] == json.loads(v2_document)
    assert fetched["IsDefaultVersion"] is True
    assert admin_iam.get_policy_version(PolicyArn=arn, VersionId="v1")[
        "PolicyVersion"]["IsDefaultVersion"] is False


def test_create_policy_version_not_default(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    v2 = admin_iam.create_policy_version(PolicyArn=arn, SetAsDefault=False,
                                         PolicyDocument=LIST_USERS)["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", False)
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    assert version_ids(admin_iam, arn) == {"v1": True, "v2": False}


def test_sixth_version_exceeds_the_limit(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    for i in range(2, 6):
        assert admin_iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=LIST_USERS)["PolicyVersion"]["VersionId"] == f"v{i}"
    expect_client_error(
        lambda: admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_USERS),
        code="LimitExceeded", status=409, message=VERSION_LIMIT)
    assert set(version_ids(admin_iam, arn)) == {"v1", "v2", "v3", "v4", "v5"}
    # making room allows the next version, which gets a new id
    admin_iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert admin_iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=LIST_USERS)["PolicyVersion"]["VersionId"] == "v6"


def test_version_ids_are_not_reused(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_USERS)
    admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES)
    admin_iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    expect_client_error(lambda: admin_iam.get_policy_version(PolicyArn=arn, VersionId="v2"),
                        code="NoSuchEntity", status=404)
    v4 = admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_USERS)
    assert v4["PolicyVersion"]["VersionId"] == "v4"
    assert version_ids(admin_iam, arn) == {"v1": True, "v3": False, "v4": False}


def test_set_default_policy_version(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_USERS)
    admin_iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert version_ids(admin_iam, arn) == {"v1": False, "v2": True}
    admin_iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert version_ids(admin_iam, arn) == {"v1": True, "v2": False}
    expect_client_error(lambda: admin_iam.set_default_policy_version(PolicyArn=arn,
                                                                     VersionId="v7"),
                        code="NoSuchEntity", status=404)
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"


def test_get_policy_version_unknown(admin_iam, account, make_policy):
    arn = make_policy()["Arn"]
    expect_client_error(lambda: admin_iam.get_policy_version(PolicyArn=arn, VersionId="v2"),
                        code="NoSuchEntity", status=404)
    ghost = policy_arn(account, unique("ghost"))
    expect_client_error(lambda: admin_iam.get_policy_version(PolicyArn=ghost, VersionId="v1"),
                        code="NoSuchEntity", status=404)
    expect_client_error(lambda: admin_iam.list_policy_versions(PolicyArn=ghost),
                        code="NoSuchEntity", status=404)


def test_delete_default_version_conflicts(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_USERS,
                                    SetAsDefault=True)
    expect_client_error(lambda: admin_iam.delete_policy_version(PolicyArn=arn, VersionId="v2"),
                        code="DeleteConflict", status=409,
                        message="Cannot delete the default version of a policy.")
    # the non-default one can go
    admin_iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    assert version_ids(admin_iam, arn) == {"v2": True}
    expect_client_error(lambda: admin_iam.delete_policy_version(PolicyArn=arn, VersionId="v1"),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# DeletePolicy
# ---------------------------------------------------------------------------


def test_delete_policy(admin_iam, make_policy):
    created = make_policy()
    admin_iam.delete_policy(PolicyArn=created["Arn"])
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=created["Arn"]),
                        code="NoSuchEntity", status=404,
                        message=f"Policy {created['Arn']} was not found.")
    expect_client_error(lambda: admin_iam.delete_policy(PolicyArn=created["Arn"]),
                        code="NoSuchEntity", status=404)
    # the name is free again, for a new policy
    again = admin_iam.create_policy(PolicyName=created["PolicyName"],
                                    PolicyDocument=LIST_USERS)["Policy"]
    assert again["Arn"] == created["Arn"]
    assert again["PolicyId"] != created["PolicyId"]
    assert again["DefaultVersionId"] == "v1"


def test_delete_policy_with_other_versions_conflicts(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_USERS)
    expect_client_error(lambda: admin_iam.delete_policy(PolicyArn=arn),
                        code="DeleteConflict", status=409)
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["Arn"] == arn
    admin_iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    admin_iam.delete_policy(PolicyArn=arn)
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=arn),
                        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("entity", ["user", "role", "group"])
def test_delete_attached_policy_conflicts(admin_iam, make_policy, make_user, make_role,
                                          make_group, entity):
    arn = make_policy()["Arn"]
    if entity == "user":
        name = make_user().name
        attach = lambda: admin_iam.attach_user_policy(UserName=name, PolicyArn=arn)  # noqa: E731
        detach = lambda: admin_iam.detach_user_policy(UserName=name, PolicyArn=arn)  # noqa: E731
    elif entity == "role":
        name = make_role()["RoleName"]
        attach = lambda: admin_iam.attach_role_policy(RoleName=name, PolicyArn=arn)  # noqa: E731
        detach = lambda: admin_iam.detach_role_policy(RoleName=name, PolicyArn=arn)  # noqa: E731
    else:
        name = make_group()["GroupName"]
        attach = lambda: admin_iam.attach_group_policy(GroupName=name, PolicyArn=arn)  # noqa: E731
        detach = lambda: admin_iam.detach_group_policy(GroupName=name,  # noqa: E731
                                                       PolicyArn=arn)
    attach()
    expect_client_error(lambda: admin_iam.delete_policy(PolicyArn=arn),
                        code="DeleteConflict", status=409,
                        message="Cannot delete a policy attached to entities.")
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    detach()
    admin_iam.delete_policy(PolicyArn=arn)
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=arn),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# ListPolicies
# ---------------------------------------------------------------------------


def test_list_policies_local_scope_and_path_prefix(admin_iam, make_policy):
    path = unique_path()
    inside = {make_policy(path=path)["Arn"], make_policy(path=path + "sub/")["Arn"]}
    outside = make_policy(path=unique_path())["Arn"]
    local = {p["Arn"] for p in every_policy(admin_iam, Scope="Local", PathPrefix=path)}
    assert local == inside
    assert outside in {p["Arn"] for p in every_policy(admin_iam, Scope="Local")}
    assert {p["Arn"] for p in every_policy(admin_iam, PathPrefix=path)} == inside
    # customer managed policies are not in the AWS scope
    assert every_policy(admin_iam, Scope="AWS", PathPrefix=path) == []
    listed = every_policy(admin_iam, Scope="Local", PathPrefix=path + "sub/")
    assert len(listed) == 1
    assert listed[0]["DefaultVersionId"] == "v1" and listed[0]["IsAttachable"] is True


def test_list_policies_aws_scope(admin_iam, make_policy):
    mine = make_policy()["Arn"]
    aws = {p["Arn"]: p for p in every_policy(admin_iam, Scope="AWS")}
    assert ADMIN_ACCESS in aws and READ_ONLY_ACCESS in aws
    assert aws[ADMIN_ACCESS]["PolicyName"] == "AdministratorAccess"
    assert aws[READ_ONLY_ACCESS]["PolicyName"] == "ReadOnlyAccess"
    assert mine not in aws
    assert all(arn.startswith("arn:aws:iam::aws:policy/") for arn in aws)
    local = {p["Arn"] for p in every_policy(admin_iam, Scope="Local")}
    assert mine in local and ADMIN_ACCESS not in local
    everything = {p["Arn"] for p in every_policy(admin_iam)}  # Scope All
    assert {mine, ADMIN_ACCESS, READ_ONLY_ACCESS} <= everything


def test_list_policies_only_attached(admin_iam, make_policy, make_user):
    path = unique_path()
    used, unused = make_policy(path=path)["Arn"], make_policy(path=path)["Arn"]
    admin_iam.attach_user_policy(UserName=make_user().name, PolicyArn=used)
    listed = every_policy(admin_iam, Scope="Local", PathPrefix=path, OnlyAttached=True)
    assert [p["Arn"] for p in listed] == [used]
    assert listed[0]["AttachmentCount"] == 1
    assert {p["Arn"] for p in every_policy(admin_iam, Scope="Local", PathPrefix=path)} == {
        used, unused}


def test_list_policies_pagination(admin_iam, make_policy):
    path = unique_path()
    arns = {make_policy(path=path)["Arn"] for _ in range(3)}
    first = admin_iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=1)
    assert len(first["Policies"]) == 1
    assert first["IsTruncated"] is True and first["Marker"]
    second = admin_iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=1,
                                     Marker=first["Marker"])
    assert len(second["Policies"]) == 1
    assert second["Policies"][0]["Arn"] != first["Policies"][0]["Arn"]
    pages = list(admin_iam.get_paginator("list_policies").paginate(
        Scope="Local", PathPrefix=path, PaginationConfig={"PageSize": 1}))
    assert all(len(page["Policies"]) <= 1 for page in pages)
    listed = [p["Arn"] for page in pages for p in page["Policies"]]
    assert sorted(listed) == sorted(arns)


# ---------------------------------------------------------------------------
# policy tags
# ---------------------------------------------------------------------------


def test_tag_untag_and_list_policy_tags(admin_iam, make_policy):
    arn = make_policy(Tags=[{"Key": "Team", "Value": "blue"}])["Arn"]
    assert tag_dict(admin_iam.list_policy_tags(PolicyArn=arn)["Tags"]) == {"Team": "blue"}
    admin_iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "Team", "Value": "red"},
                                               {"Key": "env", "Value": "test"}])
    assert tag_dict(admin_iam.list_policy_tags(PolicyArn=arn)["Tags"]) == {
        "Team": "red", "env": "test"}
    admin_iam.untag_policy(PolicyArn=arn, TagKeys=["Team"])
    assert tag_dict(admin_iam.list_policy_tags(PolicyArn=arn)["Tags"]) == {"env": "test"}


@pytest.mark.parametrize("operation", ["tag_policy", "untag_policy", "list_policy_tags"])
def test_policy_tags_of_unknown_policy(admin_iam, account, operation):
    arn = policy_arn(account, unique("ghost"))
    kwargs = {"tag_policy": {"Tags": [{"Key": "k", "Value": "v"}]},
              "untag_policy": {"TagKeys": ["k"]}, "list_policy_tags": {}}[operation]
    expect_client_error(lambda: getattr(admin_iam, operation)(PolicyArn=arn, **kwargs),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# AWS managed policies
# ---------------------------------------------------------------------------


def test_get_aws_managed_policy(admin_iam):
    got = admin_iam.get_policy(PolicyArn=ADMIN_ACCESS)["Policy"]
    assert got["PolicyName"] == "AdministratorAccess"
    assert got["Arn"] == ADMIN_ACCESS
    assert got["Path"] == "/"
    assert got["IsAttachable"] is True
    version = admin_iam.get_policy_version(PolicyArn=ADMIN_ACCESS,
                                           VersionId=got["DefaultVersionId"])
    assert version["PolicyVersion"]["Document"] == ADMIN_ACCESS_DOCUMENT
    assert version["PolicyVersion"]["IsDefaultVersion"] is True


def test_aws_managed_policy_cannot_be_modified(admin_iam):
    before = admin_iam.get_policy(PolicyArn=ADMIN_ACCESS)["Policy"]["DefaultVersionId"]
    expect_client_error(
        lambda: admin_iam.create_policy_version(PolicyArn=ADMIN_ACCESS, SetAsDefault=True,
                                                PolicyDocument=LIST_USERS),
        code="UnmodifiableEntity", status=400)
    expect_client_error(lambda: admin_iam.delete_policy(PolicyArn=ADMIN_ACCESS),
                        code="UnmodifiableEntity", status=400)
    got = admin_iam.get_policy(PolicyArn=ADMIN_ACCESS)["Policy"]
    assert got["DefaultVersionId"] == before
    assert admin_iam.get_policy_version(PolicyArn=ADMIN_ACCESS, VersionId=before)[
        "PolicyVersion"]["Document"] == ADMIN_ACCESS_DOCUMENT


def test_attach_aws_managed_policy_to_a_role(admin_iam, make_role):
    path = unique_path()
    role = make_role(path=path)
    admin_iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=ADMIN_ACCESS)
    assert attached(admin_iam.list_attached_role_policies(RoleName=role["RoleName"])) == [
        ("AdministratorAccess", ADMIN_ACCESS)]
    entities = admin_iam.list_entities_for_policy(PolicyArn=ADMIN_ACCESS, EntityFilter="Role",
                                                  PathPrefix=path)
    assert entities["PolicyRoles"] == [{"RoleName": role["RoleName"], "RoleId": role["RoleId"]}]
    admin_iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=ADMIN_ACCESS)
    assert admin_iam.list_attached_role_policies(RoleName=role["RoleName"])[
        "AttachedPolicies"] == []


# ---------------------------------------------------------------------------
# attachments
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ["user", "role", "group"])
def test_attach_list_and_detach(admin_iam, make_policy, make_user, make_role, make_group,
                                entity):
    first, second = make_policy(), make_policy()
    if entity == "user":
        key = {"UserName": make_user().name}
    elif entity == "role":
        key = {"RoleName": make_role()["RoleName"]}
    else:
        key = {"GroupName": make_group()["GroupName"]}
    attach = getattr(admin_iam, f"attach_{entity}_policy")
    detach = getattr(admin_iam, f"detach_{entity}_policy")
    listing = getattr(admin_iam, f"list_attached_{entity}_policies")

    assert listing(**key)["AttachedPolicies"] == []
    attach(PolicyArn=first["Arn"], **key)
    attach(PolicyArn=second["Arn"], **key)
    attach(PolicyArn=first["Arn"], **key)  # again: a no-op
    result = listing(**key)
    assert attached(result) == sorted([(first["PolicyName"], first["Arn"]),
                                       (second["PolicyName"], second["Arn"])])
    assert result["IsTruncated"] is False
    assert admin_iam.get_policy(PolicyArn=first["Arn"])["Policy"]["AttachmentCount"] == 1

    detach(PolicyArn=first["Arn"], **key)
    assert attached(listing(**key)) == [(second["PolicyName"], second["Arn"])]
    assert admin_iam.get_policy(PolicyArn=first["Arn"])["Policy"]["AttachmentCount"] == 0
    # detaching what is not attached
    expect_client_error(lambda: detach(PolicyArn=first["Arn"], **key),
                        code="NoSuchEntity", status=404)
    assert attached(listing(**key)) == [(second["PolicyName"], second["Arn"])]


@pytest.mark.parametrize("entity", ["user", "role", "group"])
def test_attach_unknown_policy(admin_iam, account, make_user, make_role, make_group, entity):
    if entity == "user":
        key = {"UserName": make_user().name}
    elif entity == "role":
        key = {"RoleName": make_role()["RoleName"]}
    else:
        key = {"GroupName": make_group()["GroupName"]}
    arn = policy_arn(account, unique("ghost"))
    expect_client_error(lambda: getattr(admin_iam, f"attach_{entity}_policy")(PolicyArn=arn,
                                                                             **key),
                        code="NoSuchEntity", status=404,
                        message=f"Policy {arn} does not exist or is not attachable.")
    assert getattr(admin_iam, f"list_attached_{entity}_policies")(**key)[
        "AttachedPolicies"] == []


@pytest.mark.parametrize("operation, kwargs, message", [
    ("attach_user_policy", {"UserName": "{name}"}, "The user with name {name} cannot be found."),
    ("attach_role_policy", {"RoleName": "{name}"}, "The role with name {name} cannot be found."),
    ("attach_group_policy", {"GroupName": "{name}"},
     "The group with name {name} cannot be found."),
    ("list_attached_group_policies", {"GroupName": "{name}"},
     "The group with name {name} cannot be found."),
])
def test_attachments_of_unknown_entities(admin_iam, make_policy, operation, kwargs, message):
    name = unique("nobody")
    kwargs = {k: v.format(name=name) for k, v in kwargs.items()}
    if operation.startswith("attach"):
        kwargs["PolicyArn"] = make_policy()["Arn"]
    expect_client_error(lambda: getattr(admin_iam, operation)(**kwargs),
                        code="NoSuchEntity", status=404, message=message.format(name=name))


@pytest.mark.parametrize("entity, quota", [
    ("user", "PoliciesPerUser"), ("role", "PoliciesPerRole"), ("group", "PoliciesPerGroup"),
])
def test_attachment_quota(admin_iam, eleven_policies, make_user, make_role, make_group,
                          entity, quota):
    if entity == "user":
        key = {"UserName": make_user().name}
    elif entity == "role":
        key = {"RoleName": make_role()["RoleName"]}
    else:
        key = {"GroupName": make_group()["GroupName"]}
    attach = getattr(admin_iam, f"attach_{entity}_policy")
    for arn in eleven_policies[:10]:
        attach(PolicyArn=arn, **key)
    attach(PolicyArn=eleven_policies[0], **key)  # re-attaching at the quota is still a no-op
    expect_client_error(lambda: attach(PolicyArn=eleven_policies[10], **key),
                        code="LimitExceeded", status=409,
                        message=f"Cannot exceed quota for {quota}: 10")
    listed = [p["PolicyArn"] for page in admin_iam.get_paginator(
        f"list_attached_{entity}_policies").paginate(**key) for p in page["AttachedPolicies"]]
    assert sorted(listed) == sorted(eleven_policies[:10])


def test_list_attached_policies_path_prefix_and_pagination(admin_iam, make_policy, make_user):
    path = unique_path()
    inside = [make_policy(path=path) for _ in range(3)]
    outside = make_policy()
    user = make_user()
    for p in [*inside, outside]:
        admin_iam.attach_user_policy(UserName=user.name, PolicyArn=p["Arn"])
    filtered = admin_iam.list_attached_user_policies(UserName=user.name, PathPrefix=path)
    assert sorted(p["PolicyArn"] for p in filtered["AttachedPolicies"]) == sorted(
        p["Arn"] for p in inside)

    first = admin_iam.list_attached_user_policies(UserName=user.name, MaxItems=1)
    assert len(first["AttachedPolicies"]) == 1
    assert first["IsTruncated"] is True and first["Marker"]
    pages = list(admin_iam.get_paginator("list_attached_user_policies").paginate(
        UserName=user.name, PaginationConfig={"PageSize": 1}))
    assert all(len(page["AttachedPolicies"]) <= 1 for page in pages)
    listed = [p["PolicyArn"] for page in pages for p in page["AttachedPolicies"]]
    assert sorted(listed) == sorted(p["Arn"] for p in [*inside, outside])


def test_attachment_count_and_list_entities_for_policy(admin_iam, make_policy, make_user,
                                                       make_role, make_group):
    arn = make_policy()["Arn"]
    user, role, group = make_user(), make_role(), make_group()
    admin_iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    admin_iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    admin_iam.attach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3

    entities = admin_iam.list_entities_for_policy(PolicyArn=arn)
    assert entities["PolicyUsers"] == [{"UserName": user.name, "UserId": user.user_id}]
    assert entities["PolicyRoles"] == [{"RoleName": role["RoleName"], "RoleId": role["RoleId"]}]
    assert entities["PolicyGroups"] == [{"GroupName": group["GroupName"],
                                         "GroupId": group["GroupId"]}]
    roles_only = admin_iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert roles_only["PolicyRoles"] == entities["PolicyRoles"]
    assert not roles_only.get("PolicyUsers") and not roles_only.get("PolicyGroups")
    groups_only = admin_iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Group")
    assert groups_only["PolicyGroups"] == entities["PolicyGroups"]
    assert not groups_only.get("PolicyUsers") and not groups_only.get("PolicyRoles")

    admin_iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 2
    assert not admin_iam.list_entities_for_policy(PolicyArn=arn).get("PolicyRoles")


def test_list_entities_for_unknown_policy(admin_iam, account):
    arn = policy_arn(account, unique("ghost"))
    expect_client_error(lambda: admin_iam.list_entities_for_policy(PolicyArn=arn),
                        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("entity", ["user", "role"])
def test_delete_entity_with_attached_policy_conflicts(admin_iam, make_policy, make_user,
                                                      make_role, entity):
    arn = make_policy()["Arn"]
    if entity == "user":
        name = make_user().name
        admin_iam.attach_user_policy(UserName=name, PolicyArn=arn)
        expect_client_error(lambda: admin_iam.delete_user(UserName=name),
                            code="DeleteConflict", status=409, message=DETACH_FIRST)
        assert admin_iam.get_user(UserName=name)["User"]["UserName"] == name
        admin_iam.detach_user_policy(UserName=name, PolicyArn=arn)
        admin_iam.delete_user(UserName=name)
        expect_client_error(lambda: admin_iam.get_user(UserName=name),
                            code="NoSuchEntity", status=404)
    else:
        name = make_role()["RoleName"]
        admin_iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        expect_client_error(lambda: admin_iam.delete_role(RoleName=name),
                            code="DeleteConflict", status=409, message=DETACH_FIRST)
        assert admin_iam.get_role(RoleName=name)["Role"]["RoleName"] == name
        admin_iam.detach_role_policy(RoleName=name, PolicyArn=arn)
        admin_iam.delete_role(RoleName=name)
        expect_client_error(lambda: admin_iam.get_role(RoleName=name),
                            code="NoSuchEntity", status=404)
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0


# ---------------------------------------------------------------------------
# groups
# ---------------------------------------------------------------------------


def test_create_and_get_group(admin_iam, account, make_user):
    name, path = unique("grp"), unique_path()
    group = admin_iam.create_group(GroupName=name, Path=path)["Group"]
    assert group["GroupName"] == name
    assert group["Path"] == path
    assert re.fullmatch(GROUP_ID_RE, group["GroupId"]), group["GroupId"]
    assert group["Arn"] == group_arn(account, name, path)
    assert_recent(group["CreateDate"])

    got = admin_iam.get_group(GroupName=name)
    assert got["Group"] == group
    assert got["Users"] == [] and got["IsTruncated"] is False

    user = make_user()
    admin_iam.add_user_to_group(GroupName=name, UserName=user.name)
    [member] = admin_iam.get_group(GroupName=name)["Users"]
    assert (member["UserName"], member["UserId"], member["Arn"]) == (
        user.name, user.user_id, user.arn)


def test_create_group_default_path(admin_iam, account):
    name = unique("grp")
    group = admin_iam.create_group(GroupName=name)["Group"]
    assert group["Path"] == "/"
    assert group["Arn"] == group_arn(account, name)


@pytest.mark.parametrize("variant", ["same", "upper"])
def test_create_group_duplicate_name(admin_iam, make_group, variant):
    group = make_group()
    again = group["GroupName"] if variant == "same" else group["GroupName"].upper()
    expect_client_error(lambda: admin_iam.create_group(GroupName=again),
                        code="EntityAlreadyExists", status=409,
                        message=f"Group with name {again} already exists.")
    assert admin_iam.get_group(GroupName=group["GroupName"])["Group"]["GroupId"] == (
        group["GroupId"])


def test_get_group_unknown(admin_iam):
    name = unique("nogroup")
    expect_client_error(lambda: admin_iam.get_group(GroupName=name),
                        code="NoSuchEntity", status=404,
                        message=f"The group with name {name} cannot be found.")


def test_list_groups_path_prefix(admin_iam, make_group):
    path = unique_path()
    inside = {make_group(path=path)["GroupName"], make_group(path=path + "sub/")["GroupName"]}
    outside = make_group()["GroupName"]
    listed = {g["GroupName"] for g in admin_iam.list_groups(PathPrefix=path)["Groups"]}
    assert listed == inside
    every = {g["GroupName"] for page in admin_iam.get_paginator("list_groups").paginate()
             for g in page["Groups"]}
    assert inside | {outside} <= every


def test_update_group_name_and_path(admin_iam, account, make_group, make_user, make_policy):
    user = make_user()
    arn = make_policy()["Arn"]
    group = make_group(members=[user.name], attach=[arn])
    new_name, new_path = unique("renamed"), unique_path()
    admin_iam.update_group(GroupName=group["GroupName"], NewGroupName=new_name,
                           NewPath=new_path)
    expect_client_error(lambda: admin_iam.get_group(GroupName=group["GroupName"]),
                        code="NoSuchEntity", status=404)
    got = admin_iam.get_group(GroupName=new_name)
    assert got["Group"]["GroupId"] == group["GroupId"]
    assert got["Group"]["Path"] == new_path
    assert got["Group"]["Arn"] == group_arn(account, new_name, new_path)
    assert [u["UserName"] for u in got["Users"]] == [user.name]
    assert [p["PolicyArn"] for p in admin_iam.list_attached_group_policies(
        GroupName=new_name)["AttachedPolicies"]] == [arn]
    assert [g["GroupName"] for g in admin_iam.list_groups_for_user(
        UserName=user.name)["Groups"]] == [new_name]


def test_update_group_to_a_taken_name(admin_iam, make_group):
    first, second = make_group(), make_group()
    expect_client_error(lambda: admin_iam.update_group(GroupName=first["GroupName"],
                                                       NewGroupName=second["GroupName"]),
                        code="EntityAlreadyExists", status=409)
    assert admin_iam.get_group(GroupName=first["GroupName"])["Group"]["GroupId"] == (
        first["GroupId"])


def test_update_unknown_group(admin_iam):
    name = unique("nogroup")
    expect_client_error(lambda: admin_iam.update_group(GroupName=name, NewPath="/x/"),
                        code="NoSuchEntity", status=404,
                        message=f"The group with name {name} cannot be found.")


def test_delete_group(admin_iam, make_group):
    name = make_group()["GroupName"]
    admin_iam.delete_group(GroupName=name)
    expect_client_error(lambda: admin_iam.get_group(GroupName=name),
                        code="NoSuchEntity", status=404)
    expect_client_error(lambda: admin_iam.delete_group(GroupName=name),
                        code="NoSuchEntity", status=404,
                        message=f"The group with name {name} cannot be found.")


@pytest.mark.parametrize("blocker", ["member", "inline", "attached"])
def test_delete_group_conflicts(admin_iam, make_group, make_user, make_policy, blocker):
    user, arn = make_user(), make_policy()["Arn"]
    if blocker == "member":
        group = make_group(members=[user.name])
        message = REMOVE_USERS_FIRST
        resolve = lambda: admin_iam.remove_user_from_group(  # noqa: E731
            GroupName=group["GroupName"], UserName=user.name)
    elif blocker == "inline":
        group = make_group(policies={"inline": LIST_USERS})
        message = DELETE_POLICIES_FIRST
        resolve = lambda: admin_iam.delete_group_policy(  # noqa: E731
            GroupName=group["GroupName"], PolicyName="inline")
    else:
        group = make_group(attach=[arn])
        message = DETACH_FIRST
        resolve = lambda: admin_iam.detach_group_policy(  # noqa: E731
            GroupName=group["GroupName"], PolicyArn=arn)
    expect_client_error(lambda: admin_iam.delete_group(GroupName=group["GroupName"]),
                        code="DeleteConflict", status=409, message=message)
    assert admin_iam.get_group(GroupName=group["GroupName"])["Group"]["GroupId"] == (
        group["GroupId"])
    resolve()
    admin_iam.delete_group(GroupName=group["GroupName"])
    expect_client_error(lambda: admin_iam.get_group(GroupName=group["GroupName"]),
                        code="NoSuchEntity", status=404)


def test_group_membership(admin_iam, make_group, make_user):
    user, other = make_user(), make_user()
    first, second = make_group(), make_group()
    admin_iam.add_user_to_group(GroupName=first["GroupName"], UserName=user.name)
    admin_iam.add_user_to_group(GroupName=first["GroupName"], UserName=user.name)  # no-op
    admin_iam.add_user_to_group(GroupName=second["GroupName"], UserName=user.name)
    admin_iam.add_user_to_group(GroupName=first["GroupName"], UserName=other.name)

    members = admin_iam.get_group(GroupName=first["GroupName"])["Users"]
    assert sorted(u["UserName"] for u in members) == sorted([user.name, other.name])
    groups = admin_iam.list_groups_for_user(UserName=user.name)
    assert sorted(g["GroupName"] for g in groups["Groups"]) == sorted(
        [first["GroupName"], second["GroupName"]])
    assert groups["IsTruncated"] is False
    by_name = {g["GroupName"]: g for g in groups["Groups"]}
    assert by_name[first["GroupName"]]["GroupId"] == first["GroupId"]
    assert by_name[first["GroupName"]]["Arn"] == first["Arn"]

    admin_iam.remove_user_from_group(GroupName=first["GroupName"], UserName=user.name)
    assert [u["UserName"] for u in admin_iam.get_group(
        GroupName=first["GroupName"])["Users"]] == [other.name]
    assert [g["GroupName"] for g in admin_iam.list_groups_for_user(
        UserName=user.name)["Groups"]] == [second["GroupName"]]


def test_add_user_to_group_unknown_user_or_group(admin_iam, make_group, make_user):
    group, user = make_group(), make_user()
    nobody, nogroup = unique("nobody"), unique("nogroup")
    expect_client_error(
        lambda: admin_iam.add_user_to_group(GroupName=group["GroupName"], UserName=nobody),
        code="NoSuchEntity", status=404, message=f"The user with name {nobody} cannot be found.")
    expect_client_error(
        lambda: admin_iam.add_user_to_group(GroupName=nogroup, UserName=user.name),
        code="NoSuchEntity", status=404,
        message=f"The group with name {nogroup} cannot be found.")
    assert admin_iam.get_group(GroupName=group["GroupName"])["Users"] == []
    assert admin_iam.list_groups_for_user(UserName=user.name)["Groups"] == []


def test_remove_user_from_unknown_group(admin_iam, make_user):
    user, nogroup = make_user(), unique("nogroup")
    expect_client_error(
        lambda: admin_iam.remove_user_from_group(GroupName=nogroup, UserName=user.name),
        code="NoSuchEntity", status=404,
        message=f"The group with name {nogroup} cannot be found.")


def test_groups_per_user_quota(admin_iam, make_group, make_user):
    user = make_user()
    groups = [make_group("quota")["GroupName"] for _ in range(11)]
    for name in groups[:10]:
        admin_iam.add_user_to_group(GroupName=name, UserName=user.name)
    expect_client_error(
        lambda: admin_iam.add_user_to_group(GroupName=groups[10], UserName=user.name),
        code="LimitExceeded", status=409, message="Cannot exceed quota for GroupsPerUser: 10")
    assert admin_iam.get_group(GroupName=groups[10])["Users"] == []
    listed = [g["GroupName"] for page in admin_iam.get_paginator(
        "list_groups_for_user").paginate(UserName=user.name) for g in page["Groups"]]
    assert sorted(listed) == sorted(groups[:10])


def test_delete_user_in_a_group_conflicts(admin_iam, make_group, make_user):
    user = make_user()
    group = make_group(members=[user.name])
    expect_client_error(lambda: admin_iam.delete_user(UserName=user.name),
                        code="DeleteConflict", status=409, message=REMOVE_USERS_FIRST)
    assert admin_iam.get_user(UserName=user.name)["User"]["UserId"] == user.user_id
    admin_iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user.name)
    admin_iam.delete_user(UserName=user.name)
    assert admin_iam.get_group(GroupName=group["GroupName"])["Users"] == []


def test_put_get_list_delete_group_policy(admin_iam, make_group):
    name = make_group()["GroupName"]
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetGroup"], "Resource": "*"}]},
        indent=2)
    admin_iam.put_group_policy(GroupName=name, PolicyName="zeta", PolicyDocument=document)
    admin_iam.put_group_policy(GroupName=name, PolicyName="alpha", PolicyDocument=LIST_ROLES)
    got = admin_iam.get_group_policy(GroupName=name, PolicyName="zeta")
    assert (got["GroupName"], got["PolicyName"]) == (name, "zeta")
    assert got["PolicyDocument"] == json.loads(document)
    assert admin_iam.list_group_policies(GroupName=name)["PolicyNames"] == ["alpha", "zeta"]
    # a put of the same name replaces
    admin_iam.put_group_policy(GroupName=name, PolicyName="zeta", PolicyDocument=LIST_USERS)
    assert admin_iam.get_group_policy(GroupName=name, PolicyName="zeta")["PolicyDocument"] == (
        json.loads(LIST_USERS))
    admin_iam.delete_group_policy(GroupName=name, PolicyName="zeta")
    assert admin_iam.list_group_policies(GroupName=name)["PolicyNames"] == ["alpha"]
    expect_client_error(lambda: admin_iam.get_group_policy(GroupName=name, PolicyName="zeta"),
                        code="NoSuchEntity", status=404,
                        message="The group policy with name zeta cannot be found.")
    expect_client_error(lambda: admin_iam.delete_group_policy(GroupName=name,
                                                              PolicyName="zeta"),
                        code="NoSuchEntity", status=404)


def test_put_group_policy_malformed_and_unknown_group(admin_iam, make_group):
    name = make_group()["GroupName"]
    expect_client_error(
        lambda: admin_iam.put_group_policy(GroupName=name, PolicyName="bad",
                                           PolicyDocument='{"Version": "2012-10-17"'),
        code="MalformedPolicyDocument", status=400)
    assert admin_iam.list_group_policies(GroupName=name)["PolicyNames"] == []
    nogroup = unique("nogroup")
    expect_client_error(
        lambda: admin_iam.put_group_policy(GroupName=nogroup, PolicyName="p",
                                           PolicyDocument=LIST_USERS),
        code="NoSuchEntity", status=404,
        message=f"The group with name {nogroup} cannot be found.")


def test_group_inline_policy_size_limit(admin_iam, make_group):
    name = make_group()["GroupName"]
    limit_message = f"Maximum policy size of 5120 bytes exceeded for group {name}"
    expect_client_error(
        lambda: admin_iam.put_group_policy(GroupName=name, PolicyName="big",
                                           PolicyDocument=policy_of_size(5121)),
        code="LimitExceeded", status=409, message=limit_message)
    admin_iam.put_group_policy(GroupName=name, PolicyName="big",
                               PolicyDocument=policy_of_size(5120))
    # replacing the same policy does not count its old text
    admin_iam.put_group_policy(GroupName=name, PolicyName="big",
                               PolicyDocument=policy_of_size(2560))
    admin_iam.put_group_policy(GroupName=name, PolicyName="second",
                               PolicyDocument=policy_of_size(2560))
    # the aggregate of all inline policies counts
    expect_client_error(
        lambda: admin_iam.put_group_policy(GroupName=name, PolicyName="third",
                                           PolicyDocument=policy_of_size(200)),
        code="LimitExceeded", status=409, message=limit_message)
    assert admin_iam.list_group_policies(GroupName=name)["PolicyNames"] == ["big", "second"]


# ---------------------------------------------------------------------------
# permissions boundaries (API)
# ---------------------------------------------------------------------------


def boundary_of(arn: str) -> dict:
    return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": arn}


def test_user_permissions_boundary(admin_iam, make_policy, make_user):
    arn = make_policy()["Arn"]
    user = make_user()
    assert "PermissionsBoundary" not in admin_iam.get_user(UserName=user.name)["User"]
    admin_iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=arn)
    assert admin_iam.get_user(UserName=user.name)["User"]["PermissionsBoundary"] == (
        boundary_of(arn))
    got = admin_iam.get_policy(PolicyArn=arn)["Policy"]
    assert (got["PermissionsBoundaryUsageCount"], got["AttachmentCount"]) == (1, 0)
    # a boundary is not an attached policy
    assert admin_iam.list_attached_user_policies(UserName=user.name)["AttachedPolicies"] == []
    admin_iam.delete_user_permissions_boundary(UserName=user.name)
    assert "PermissionsBoundary" not in admin_iam.get_user(UserName=user.name)["User"]
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 0


def test_role_permissions_boundary(admin_iam, make_policy, make_role):
    arn, other = make_policy()["Arn"], make_policy()["Arn"]
    name = make_role()["RoleName"]
    assert "PermissionsBoundary" not in admin_iam.get_role(RoleName=name)["Role"]
    admin_iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=arn)
    assert admin_iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"] == boundary_of(arn)
    # a second put replaces the boundary
    admin_iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=other)
    assert admin_iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"] == (
        boundary_of(other))
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 0
    assert admin_iam.get_policy(PolicyArn=other)["Policy"][
        "PermissionsBoundaryUsageCount"] == 1
    admin_iam.delete_role_permissions_boundary(RoleName=name)
    assert "PermissionsBoundary" not in admin_iam.get_role(RoleName=name)["Role"]


def test_create_user_and_role_with_boundary(admin_iam, make_policy):
    arn = make_policy()["Arn"]
    user_name, role_name = unique("bounded"), unique("bounded")
    created_user = admin_iam.create_user(UserName=user_name, PermissionsBoundary=arn)["User"]
    assert created_user["PermissionsBoundary"] == boundary_of(arn)
    assert admin_iam.get_user(UserName=user_name)["User"]["PermissionsBoundary"] == (
        boundary_of(arn))
    created_role = admin_iam.create_role(RoleName=role_name, PermissionsBoundary=arn,
                                         AssumeRolePolicyDocument=trust_policy())["Role"]
    assert created_role["PermissionsBoundary"] == boundary_of(arn)
    assert admin_iam.get_role(RoleName=role_name)["Role"]["PermissionsBoundary"] == (
        boundary_of(arn))
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 2


def test_unknown_boundary(admin_iam, account, make_user, make_role):
    arn = policy_arn(account, unique("ghost"))
    message = f"Scope ARN: {arn} does not exist or is not attachable."
    user, role = make_user(), make_role()
    expect_client_error(lambda: admin_iam.put_user_permissions_boundary(
        UserName=user.name, PermissionsBoundary=arn),
        code="NoSuchEntity", status=404, message=message)
    expect_client_error(lambda: admin_iam.put_role_permissions_boundary(
        RoleName=role["RoleName"], PermissionsBoundary=arn),
        code="NoSuchEntity", status=404, message=message)
    assert "PermissionsBoundary" not in admin_iam.get_user(UserName=user.name)["User"]
    assert "PermissionsBoundary" not in admin_iam.get_role(RoleName=role["RoleName"])["Role"]
    name = unique("bounded")
    expect_client_error(lambda: admin_iam.create_user(UserName=name, PermissionsBoundary=arn),
                        code="NoSuchEntity", status=404, message=message)
    expect_client_error(lambda: admin_iam.get_user(UserName=name),
                        code="NoSuchEntity", status=404)


def test_boundary_policy_cannot_be_deleted(admin_iam, make_policy, make_user, make_role):
    arn = make_policy()["Arn"]
    user, role = make_user(), make_role()
    admin_iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=arn)
    admin_iam.put_role_permissions_boundary(RoleName=role["RoleName"], PermissionsBoundary=arn)
    assert admin_iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 2
    expect_client_error(lambda: admin_iam.delete_policy(PolicyArn=arn),
                        code="DeleteConflict", status=409)
    admin_iam.delete_user_permissions_boundary(UserName=user.name)
    expect_client_error(lambda: admin_iam.delete_policy(PolicyArn=arn),
                        code="DeleteConflict", status=409)
    admin_iam.delete_role_permissions_boundary(RoleName=role["RoleName"])
    admin_iam.delete_policy(PolicyArn=arn)
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=arn),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# authorization: attached policies, groups, versions
# ---------------------------------------------------------------------------


def test_attached_policy_grants_and_detaching_revokes(server, admin_iam, account,
                                                     make_policy, user_with_key):
    user, client = user_with_key()
    arn = make_policy(document=LIST_USERS)["Arn"]
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account)))
    admin_iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    assert admin_iam.list_user_policies(UserName=user.name)["PolicyNames"] == []
    assert user.name in [u["UserName"] for page in client.get_paginator("list_users").paginate()
                         for u in page["Users"]]
    # only what the policy allows
    expect_client_error(lambda: client.create_user(UserName=unique("new")),
                        code="AccessDenied", status=403)
    admin_iam.detach_user_policy(UserName=user.name, PolicyArn=arn)
    error = expect_client_error(
        client.list_users, code="AccessDenied", status=403,
        message=denied(user.arn, "iam:ListUsers", users_resource(account)))
    assert error["Error"]["Message"].startswith(
        f"User: arn:aws:iam::{account}:user/{user.name} is not authorized to perform: "
        f"iam:ListUsers")


def test_explicit_deny_in_an_attached_policy(server, admin_iam, account, make_policy,
                                             user_with_key):
    user, client = user_with_key(policies={"all": policy(allow("iam:*"))})
    assert client.get_user()["User"]["UserName"] == user.name
    client.list_users(MaxItems=1)
    arn = make_policy(document=policy(deny("iam:ListUsers")))["Arn"]
    admin_iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account),
                                       "explicit"))
    assert client.get_user()["User"]["UserName"] == user.name


def test_group_attached_policy_applies_to_members(server, admin_iam, account, make_policy,
                                                  make_group, user_with_key):
    user, client = user_with_key()
    group = make_group(attach=[make_policy(document=LIST_USERS)["Arn"]])
    expect_client_error(client.list_users, code="AccessDenied", status=403)
    admin_iam.add_user_to_group(GroupName=group["GroupName"], UserName=user.name)
    client.list_users(MaxItems=1)
    expect_client_error(lambda: client.list_roles(MaxItems=1), code="AccessDenied", status=403)
    admin_iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user.name)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account)))


def test_group_detach_revokes_from_members(server, admin_iam, account, make_policy,
                                           make_group, user_with_key):
    user, client = user_with_key()
    arn = make_policy(document=LIST_USERS)["Arn"]
    group = make_group(members=[user.name], attach=[arn])
    client.list_users(MaxItems=1)
    admin_iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account)))


def test_group_inline_policy_applies_to_members(server, admin_iam, account, make_group,
                                                user_with_key):
    user, client = user_with_key()
    group = make_group(policies={"roles": LIST_ROLES})
    expect_client_error(client.list_roles, code="AccessDenied", status=403)
    admin_iam.add_user_to_group(GroupName=group["GroupName"], UserName=user.name)
    client.list_roles(MaxItems=1)
    admin_iam.delete_group_policy(GroupName=group["GroupName"], PolicyName="roles")
    expect_client_error(client.list_roles, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListRoles", roles_resource(account)))
    admin_iam.put_group_policy(GroupName=group["GroupName"], PolicyName="roles",
                               PolicyDocument=LIST_ROLES)
    client.list_roles(MaxItems=1)
    admin_iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user.name)
    expect_client_error(client.list_roles, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListRoles", roles_resource(account)))


def test_group_explicit_deny_beats_user_allow(server, admin_iam, account, make_group,
                                              user_with_key):
    user, client = user_with_key(policies={"all": policy(allow("iam:*"))})
    client.list_users(MaxItems=1)
    make_group(members=[user.name], policies={"no": policy(deny("iam:ListUsers"))})
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account),
                                       "explicit"))


def test_new_default_version_takes_effect_at_once(server, admin_iam, account, make_policy,
                                                  user_with_key):
    user, client = user_with_key()
    arn = make_policy(document=LIST_USERS)["Arn"]
    admin_iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    client.list_users(MaxItems=1)
    # a non-default version changes nothing
    admin_iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES,
                                    SetAsDefault=False)
    client.list_users(MaxItems=1)
    expect_client_error(client.list_roles, code="AccessDenied", status=403)
    admin_iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account)))
    client.list_roles(MaxItems=1)
    admin_iam.create_policy_version(PolicyArn=arn, SetAsDefault=True,
                                    PolicyDocument=policy(allow("iam:GetUser")))
    expect_client_error(client.list_roles, code="AccessDenied", status=403)
    assert client.get_user()["User"]["UserName"] == user.name
    admin_iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    client.list_users(MaxItems=1)
    expect_client_error(client.get_user, code="AccessDenied", status=403)


def test_aws_managed_administrator_access(server, admin_iam, account, user_with_key):
    user, client = user_with_key()
    new_name = unique("made")
    expect_client_error(lambda: client.create_user(UserName=new_name),
                        code="AccessDenied", status=403)
    admin_iam.attach_user_policy(UserName=user.name, PolicyArn=ADMIN_ACCESS)
    assert client.create_user(UserName=new_name)["User"]["UserName"] == new_name
    admin_iam.detach_user_policy(UserName=user.name, PolicyArn=ADMIN_ACCESS)
    expect_client_error(lambda: client.delete_user(UserName=new_name),
                        code="AccessDenied", status=403)


def test_aws_managed_read_only_access(server, admin_iam, account, user_with_key):
    user, client = user_with_key()
    admin_iam.attach_user_policy(UserName=user.name, PolicyArn=READ_ONLY_ACCESS)
    assert client.get_user()["User"]["UserName"] == user.name
    client.list_users(MaxItems=1)
    new_name = unique("made")
    expect_client_error(lambda: client.create_user(UserName=new_name),
                        code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:CreateUser",
                                       f"arn:aws:iam::{account}:user/{new_name}"))


def test_managed_policy_actions_are_authorized(server, admin_iam, account, user_with_key):
    user, client = user_with_key(policies={"p": policy(
        allow("iam:CreatePolicy", f"arn:aws:iam::{account}:policy/okay-*"))})
    name = unique("okay")
    created = client.create_policy(PolicyName=name, PolicyDocument=LIST_USERS)["Policy"]
    assert created["Arn"] == policy_arn(account, name)
    other = unique("other")
    expect_client_error(
        lambda: client.create_policy(PolicyName=other, PolicyDocument=LIST_USERS),
        code="AccessDenied", status=403,
        message=denied(user.arn, "iam:CreatePolicy", policy_arn(account, other)))
    expect_client_error(lambda: admin_iam.get_policy(PolicyArn=policy_arn(account, other)),
                        code="NoSuchEntity", status=404)
    # attaching is authorized on the user it attaches to
    expect_client_error(
        lambda: client.attach_user_policy(UserName=user.name, PolicyArn=created["Arn"]),
        code="AccessDenied", status=403,
        message=denied(user.arn, "iam:AttachUserPolicy", user.arn))
    assert admin_iam.list_attached_user_policies(UserName=user.name)["AttachedPolicies"] == []


def test_group_actions_are_authorized(server, admin_iam, account, make_user, user_with_key):
    user, client = user_with_key(policies={"p": policy(
        allow(["iam:CreateGroup", "iam:AddUserToGroup"], f"arn:aws:iam::{account}:group/mine-*"))})
    mine = unique("mine")
    assert client.create_group(GroupName=mine)["Group"]["Arn"] == group_arn(account, mine)
    member = make_user()
    client.add_user_to_group(GroupName=mine, UserName=member.name)
    other = unique("theirs")
    expect_client_error(lambda: client.create_group(GroupName=other),
                        code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:CreateGroup", group_arn(account, other)))
    theirs = admin_iam.create_group(GroupName=other)["Group"]
    expect_client_error(
        lambda: client.add_user_to_group(GroupName=other, UserName=member.name),
        code="AccessDenied", status=403,
        message=denied(user.arn, "iam:AddUserToGroup", theirs["Arn"]))
    assert admin_iam.get_group(GroupName=other)["Users"] == []


# ---------------------------------------------------------------------------
# authorization: permissions boundaries
# ---------------------------------------------------------------------------


def test_boundary_limits_identity_policies(server, admin_iam, account, make_policy,
                                           user_with_key):
    user, client = user_with_key(policies={"all": policy(allow("iam:*"))})
    client.list_users(MaxItems=1)
    boundary = make_policy(document=policy(allow("iam:GetUser")))["Arn"]
    admin_iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=boundary)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account),
                                       "boundary"))
    assert client.get_user()["User"]["UserName"] == user.name  # both allow it
    # a boundary that allows the action lets it through
    admin_iam.create_policy_version(PolicyArn=boundary, SetAsDefault=True,
                                    PolicyDocument=policy(allow(["iam:GetUser",
                                                                 "iam:ListUsers"])))
    client.list_users(MaxItems=1)
    admin_iam.delete_user_permissions_boundary(UserName=user.name)
    client.list_roles(MaxItems=1)


def test_boundary_grants_nothing(server, admin_iam, account, make_policy, user_with_key):
    boundary = make_policy(document=LIST_USERS)["Arn"]
    user, client = user_with_key()
    admin_iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=boundary)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account)))
    admin_iam.attach_user_policy(UserName=user.name, PolicyArn=boundary)  # now also identity
    client.list_users(MaxItems=1)


def test_boundary_limits_group_policies(server, admin_iam, account, make_policy, make_group,
                                        user_with_key):
    user, client = user_with_key()
    make_group(members=[user.name], policies={"all": policy(allow("iam:*"))})
    boundary = make_policy(document=LIST_ROLES)["Arn"]
    admin_iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=boundary)
    client.list_roles(MaxItems=1)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account),
                                       "boundary"))


def test_explicit_deny_in_a_boundary(server, admin_iam, account, make_policy, user_with_key):
    user, client = user_with_key(policies={"all": policy(allow("iam:*"))})
    boundary = make_policy(document=policy(allow("iam:*"), deny("iam:ListUsers")))["Arn"]
    admin_iam.put_user_permissions_boundary(UserName=user.name, PermissionsBoundary=boundary)
    client.list_roles(MaxItems=1)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user.arn, "iam:ListUsers", users_resource(account),
                                       "boundary-deny"))


def test_boundary_given_at_create_user_applies(server, admin_iam, account, make_policy):
    boundary = make_policy(document=LIST_ROLES)["Arn"]
    name = unique("bounded")
    user = admin_iam.create_user(UserName=name, PermissionsBoundary=boundary)["User"]
    admin_iam.put_user_policy(UserName=name, PolicyName="all",
                              PolicyDocument=policy(allow("iam:*")))
    client = iam_for(server, key_creds(admin_iam.create_access_key(UserName=name)["AccessKey"]))
    client.list_roles(MaxItems=1)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(user["Arn"], "iam:ListUsers", users_resource(account),
                                       "boundary"))


# ---------------------------------------------------------------------------
# authorization: roles and session policies
# ---------------------------------------------------------------------------


@pytest.fixture
def role_assumer(make_user) -> NewUser:
    """A user with an access key allowed sts:AssumeRole on every role."""
    return make_user("assumer", key=True, policies={"assume": policy(allow("sts:AssumeRole"))})


def test_role_with_attached_policy(server, admin_iam, account, make_policy, make_role,
                                   role_assumer):
    arn = make_policy(document=LIST_ROLES)["Arn"]
    role = make_role(trust=trust(role_assumer.arn))
    admin_iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    resp = assume(server, role_assumer.creds, role["Arn"])
    me = session_arn(account, role["RoleName"], "sess")
    assert resp["AssumedRoleUser"]["Arn"] == me
    client = iam_for(server, creds_of(resp))
    assert role["RoleName"] in [r["RoleName"] for page in client.get_paginator(
        "list_roles").paginate() for r in page["Roles"]]
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(me, "iam:ListUsers", users_resource(account)))
    # detaching applies to the running session
    admin_iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
    expect_client_error(client.list_roles, code="AccessDenied", status=403,
                        message=denied(me, "iam:ListRoles", roles_resource(account)))


def test_role_with_aws_managed_administrator_access(server, admin_iam, make_role,
                                                    role_assumer):
    role = make_role(trust=trust(role_assumer.arn))
    admin_iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=ADMIN_ACCESS)
    client = iam_for(server, creds_of(assume(server, role_assumer.creds, role["Arn"])))
    name = unique("by-role")
    assert client.create_user(UserName=name)["User"]["UserName"] == name
    assert admin_iam.get_user(UserName=name)["User"]["UserName"] == name


def test_role_boundary_limits_the_session(server, admin_iam, account, make_policy, make_role,
                                          role_assumer):
    boundary = make_policy(document=LIST_ROLES)["Arn"]
    role = make_role(trust=trust(role_assumer.arn), PermissionsBoundary=boundary)
    admin_iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=ADMIN_ACCESS)
    resp = assume(server, role_assumer.creds, role["Arn"])
    client = iam_for(server, creds_of(resp))
    me = resp["AssumedRoleUser"]["Arn"]
    client.list_roles(MaxItems=1)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(me, "iam:ListUsers", users_resource(account),
                                       "boundary"))
    admin_iam.delete_role_permissions_boundary(RoleName=role["RoleName"])
    client.list_users(MaxItems=1)


def test_session_policy_arns_narrow_the_session(server, admin_iam, account, make_policy,
                                                make_role, role_assumer):
    role = make_role(trust=trust(role_assumer.arn),
                     policies={"all": policy(allow("iam:*"))})
    session_policy = make_policy(document=LIST_ROLES)["Arn"]
    resp = assume(server, role_assumer.creds, role["Arn"],
                  PolicyArns=[{"arn": session_policy}])
    client = iam_for(server, creds_of(resp))
    me = resp["AssumedRoleUser"]["Arn"]
    client.list_roles(MaxItems=1)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(me, "iam:ListUsers", users_resource(account), "session"))
    # without session policies the role's policy applies unrestricted
    unrestricted = iam_for(server, creds_of(assume(server, role_assumer.creds, role["Arn"])))
    unrestricted.list_users(MaxItems=1)


def test_session_policy_arns_grant_nothing_beyond_the_role(server, account, make_policy,
                                                           make_role, role_assumer):
    role = make_role(trust=trust(role_assumer.arn), policies={"roles": LIST_ROLES})
    session_policy = make_policy(document=policy(allow("iam:*")))["Arn"]
    resp = assume(server, role_assumer.creds, role["Arn"],
                  PolicyArns=[{"arn": session_policy}])
    client = iam_for(server, creds_of(resp))
    client.list_roles(MaxItems=1)
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(resp["AssumedRoleUser"]["Arn"], "iam:ListUsers",
                                       users_resource(account)))


def test_session_policy_arns_and_inline_session_policy(server, account, make_policy, make_role,
                                                       role_assumer):
    role = make_role(trust=trust(role_assumer.arn), policies={"all": policy(allow("iam:*"))})
    session_policy = make_policy(document=LIST_ROLES)["Arn"]
    resp = assume(server, role_assumer.creds, role["Arn"], PolicyArns=[{"arn": session_policy}],
                  Policy=policy(allow("iam:GetRole")))
    client = iam_for(server, creds_of(resp))
    client.list_roles(MaxItems=1)
    assert client.get_role(RoleName=role["RoleName"])["Role"]["RoleId"] == role["RoleId"]
    expect_client_error(client.list_users, code="AccessDenied", status=403,
                        message=denied(resp["AssumedRoleUser"]["Arn"], "iam:ListUsers",
                                       users_resource(account), "session"))


def test_session_policy_arns_with_an_aws_managed_policy(server, make_role, role_assumer):
    role = make_role(trust=trust(role_assumer.arn), policies={"all": policy(allow("iam:*"))})
    resp = assume(server, role_assumer.creds, role["Arn"],
                  PolicyArns=[{"arn": READ_ONLY_ACCESS}])
    client = iam_for(server, creds_of(resp))
    client.list_users(MaxItems=1)
    expect_client_error(lambda: client.create_user(UserName=unique("nope")),
                        code="AccessDenied", status=403)


def test_session_policy_arns_unknown_policy(server, account, make_role, role_assumer):
    role = make_role(trust=trust(role_assumer.arn))
    arn = policy_arn(account, unique("ghost"))
    expect_client_error(lambda: assume(server, role_assumer.creds, role["Arn"],
                                       PolicyArns=[{"arn": arn}]),
                        code="ValidationError", status=400,
                        contains="does not exist or is not attachable")


def test_session_policy_arns_more_than_ten(server, make_policy, make_role, role_assumer):
    role = make_role(trust=trust(role_assumer.arn))
    arns = [{"arn": make_policy(document=LIST_ROLES)["Arn"]} for _ in range(11)]
    expect_client_error(lambda: assume(server, role_assumer.creds, role["Arn"],
                                       PolicyArns=arns),
                        code="ValidationError", status=400)
    # ten are fine
    resp = assume(server, role_assumer.creds, role["Arn"], PolicyArns=arns[:10])
    assert sts_for(server, creds_of(resp)).get_caller_identity()["Arn"] == (
        resp["AssumedRoleUser"]["Arn"])


def test_federation_token_policy_arns(server, admin, account, make_policy):
    known = make_policy(document=LIST_ROLES)["Arn"]
    name = f"fed-{unique('x')[-10:]}"
    resp = sts_for(server, admin).get_federation_token(Name=name, PolicyArns=[{"arn": known}])
    assert resp["FederatedUser"]["Arn"] == f"arn:aws:sts::{account}:federated-user/{name}"
    assert sts_for(server, creds_of(resp)).get_caller_identity()["Arn"] == (
        resp["FederatedUser"]["Arn"])
    ghost = policy_arn(account, unique("ghost"))
    expect_client_error(
        lambda: sts_for(server, admin).get_federation_token(Name=name,
                                                            PolicyArns=[{"arn": ghost}]),
        code="ValidationError", status=400, contains="does not exist or is not attachable")


# ---------------------------------------------------------------------------
# persistence
# ---------------------------------------------------------------------------


def _state(iam, policy_arn_: str, boundary_arn: str) -> dict:
    """Everything the restart test created, as the API shows it."""
    return {
        "policy": body(iam.get_policy(PolicyArn=policy_arn_)),
        "versions": sorted((v["VersionId"], v["IsDefaultVersion"], v["CreateDate"])
                           for v in iam.list_policy_versions(PolicyArn=policy_arn_)["Versions"]),
        "v1": body(iam.get_policy_version(PolicyArn=policy_arn_, VersionId="v1")),
        "v2": body(iam.get_policy_version(PolicyArn=policy_arn_, VersionId="v2")),
        "tags": iam.list_policy_tags(PolicyArn=policy_arn_)["Tags"],
        "boundary": body(iam.get_policy(PolicyArn=boundary_arn)),
        "entities": body(iam.list_entities_for_policy(PolicyArn=policy_arn_)),
        "group": body(iam.get_group(GroupName="crew")),
        "groups": body(iam.list_groups()),
        "groups_for_user": body(iam.list_groups_for_user(UserName="member")),
        "group_attached": body(iam.list_attached_group_policies(GroupName="crew")),
        "group_inline": body(iam.get_group_policy(GroupName="crew", PolicyName="inline")),
        "user": body(iam.get_user(UserName="member")),
        "role": body(iam.get_role(RoleName="worker")),
        "role_attached": body(iam.list_attached_role_policies(RoleName="worker")),
        "local": sorted(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]),
    }


def test_managed_policies_groups_and_boundaries_survive_a_restart(start_server):
    srv = start_server("managed-restart")
    admin = srv.admin_credentials()
    iam = iam_client(srv, admin)
    account = sts_client(srv, admin).get_caller_identity()["Account"]
    created = iam.create_policy(PolicyName="kept", Path="/persist/",
                                PolicyDocument=LIST_USERS, Description="kept policy",
                                Tags=[{"Key": "Team", "Value": "blue"}])["Policy"]
    arn = created["Arn"]
    assert arn == policy_arn(account, "kept", "/persist/")
    iam.create_policy_version(PolicyArn=arn, SetAsDefault=True,
                              PolicyDocument=policy(allow(["iam:ListUsers", "iam:ListGroups"])))
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES)  # v3, then deleted
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    boundary = iam.create_policy(PolicyName="fence",
                                 PolicyDocument=policy(allow("iam:List*")))["Policy"]["Arn"]
    iam.create_group(GroupName="crew", Path="/persist/")
    iam.create_user(UserName="member", PermissionsBoundary=boundary)
    member_key = key_creds(iam.create_access_key(UserName="member")["AccessKey"])
    iam.add_user_to_group(GroupName="crew", UserName="member")
    iam.attach_group_policy(GroupName="crew", PolicyArn=arn)
    iam.put_group_policy(GroupName="crew", PolicyName="inline",
                         PolicyDocument=policy(allow("iam:GetUser")))
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust_policy())
    iam.attach_role_policy(RoleName="worker", PolicyArn=arn)
    iam.attach_role_policy(RoleName="worker", PolicyArn=ADMIN_ACCESS)
    iam.put_role_permissions_boundary(RoleName="worker", PermissionsBoundary=boundary)
    iam.create_group(GroupName="gone")
    iam.delete_group(GroupName="gone")
    gone_policy = iam.create_policy(PolicyName="gone-policy",
                                    PolicyDocument=LIST_USERS)["Policy"]["Arn"]
    iam.delete_policy(PolicyArn=gone_policy)
    before = _state(iam, arn, boundary)
    assert before["policy"]["Policy"]["AttachmentCount"] == 2
    assert before["boundary"]["Policy"]["PermissionsBoundaryUsageCount"] == 2

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    srv.start()

    iam = iam_client(srv, admin)
    assert _state(iam, arn, boundary) == before
    expect_client_error(lambda: iam.get_group(GroupName="gone"), code="NoSuchEntity", status=404)
    expect_client_error(lambda: iam.get_policy(PolicyArn=gone_policy),
                        code="NoSuchEntity", status=404)
    # the version counter survived: v3 is not reused
    assert iam.create_policy_version(PolicyArn=arn, PolicyDocument=LIST_ROLES)[
        "PolicyVersion"]["VersionId"] == "v4"
    # and the member's permissions still come from the group, within the boundary
    member = iam_client(srv, member_key)
    member.list_users(MaxItems=1)
    member.list_groups(MaxItems=1)
    expect_client_error(member.get_user, code="AccessDenied", status=403,
                        message=denied(f"arn:aws:iam::{account}:user/member", "iam:GetUser",
                                       f"arn:aws:iam::{account}:user/member", "boundary"))


# ---------------------------------------------------------------------------
# aws CLI
# ---------------------------------------------------------------------------


def test_aws_cli_managed_policy_round_trip(server, account, make_role, tmp_path):
    admin_file = admin_credentials_path(server.data_dir)

    def cli(*args):
        return run_aws_cli(server, list(args), credentials_file=admin_file, home=tmp_path)

    name, path = unique("cli"), unique_path()
    document = policy(allow("iam:ListRoles"))
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(document, encoding="utf-8")
    created = cli("iam", "create-policy", "--policy-name", name, "--path", path,
                  "--policy-document", f"file://{policy_file}",
                  "--description", "from the CLI")["Policy"]
    assert created["Arn"] == policy_arn(account, name, path)
    assert created["DefaultVersionId"] == "v1"
    assert re.fullmatch(POLICY_ID_RE, created["PolicyId"])

    version = cli("iam", "get-policy-version", "--policy-arn", created["Arn"],
                  "--version-id", "v1")["PolicyVersion"]
    assert version["Document"] == json.loads(document)

    role = make_role()
    assert cli("iam", "attach-role-policy", "--role-name", role["RoleName"],
               "--policy-arn", created["Arn"]) == {}
    listed = cli("iam", "list-attached-role-policies", "--role-name", role["RoleName"])
    assert listed["AttachedPolicies"] == [{"PolicyName": name, "PolicyArn": created["Arn"]}]
    local = cli("iam", "list-policies", "--scope", "Local", "--path-prefix", path)["Policies"]
    assert [p["Arn"] for p in local] == [created["Arn"]]


def test_aws_cli_groups_and_errors(server, account, make_user, tmp_path):
    admin_file = admin_credentials_path(server.data_dir)

    def cli(*args):
        return run_aws_cli(server, list(args), credentials_file=admin_file, home=tmp_path)

    group, user = unique("cligrp"), make_user()
    created = cli("iam", "create-group", "--group-name", group)["Group"]
    assert created["Arn"] == group_arn(account, group)
    assert cli("iam", "add-user-to-group", "--group-name", group,
               "--user-name", user.name) == {}
    got = cli("iam", "get-group", "--group-name", group)
    assert [u["UserName"] for u in got["Users"]] == [user.name]

    ghost = policy_arn(account, unique("ghost"))
    proc = run_aws_cli_process(server, ["iam", "attach-group-policy", "--group-name", group,
                                        "--policy-arn", ghost],
                               credentials_file=admin_file, home=tmp_path)
    assert proc.returncode == 255, (proc.returncode, proc.stdout, proc.stderr)
    assert ("An error occurred (NoSuchEntity) when calling the AttachGroupPolicy operation: "
            f"Policy {ghost} does not exist or is not attachable.") in proc.stderr, proc.stderr
