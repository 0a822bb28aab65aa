"""End-to-end tests of Tessera's STS AssumeRole (spec STS-API.md §3.0.2–3.0.10, §3.1).

Covers the response (credentials, assumed-role user, PackedPolicySize,
SourceIdentity), durations and MaxSessionDuration, the role session's
identity and permissions (role inline policies ∩ session policy, live policy
edits, role deletion), the trust-policy algorithm (direct and account-level
trust, explicit denies, unknown and malformed role ARNs), trust-policy
conditions, session tags and source identity, role chaining (also from
GetSessionToken credentials) and the aws CLI (assume-role, and a profile with
role_arn + source_profile).

Not covered: a root caller ("Roles may not be assumed by root accounts."),
since the server hands out no root keys.

The tests share the session server and keep out of each other's way with
unique user and role names.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tessera_testlib import (
    DEFAULT_REGION,
    NO_RETRIES,
    Creds,
    assert_expires_in,
    aws_cli_path,
    expect_client_error,
    run_aws_cli,
    write_credentials_file,
)
from test_iam_roles import (  # the fixture make_role (no tests)
    ROLE_ID_RE,
    make_role,  # noqa: F401
    role_arn,
)
from test_iam_users import (  # the fixtures account and make_user (no tests)
    INVALID_TOKEN,
    NewUser,
    account,  # noqa: F401
    allow,
    deny,
    make_user,  # noqa: F401
    policy,
    unique,
    unique_path,
)

ASIA_RE = r"ASIA[A-Z2-7]{16}"
SECRET_RE = r"[A-Za-z0-9+/]{40}"
TOKEN_RE = r"[A-Za-z0-9+/=]+"
NOT_VALIDATED = Config(parameter_validation=False)
CHAINING_LIMIT = ("The requested DurationSeconds exceeds the 1 hour session limit for roles "
                  "assumed by role chaining.")
MAX_SESSION_LIMIT = ("The requested DurationSeconds exceeds the MaxSessionDuration set for "
                     "this role.")


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _boto_session() -> boto3.session.Session:
    # Created on first use (after conftest has isolated the AWS environment) and
    # shared: a client built from a warm session takes milliseconds, one built
    # from a new session (as tessera_testlib's helpers do) tens of them, and
    # these tests build a client for almost every set of credentials they mint.
    return boto3.session.Session()


def client_for(service: str, server, creds: Creds, *, unvalidated: bool = False):
    """A never-retrying boto3 client like tessera_testlib's sts_client/iam_client."""
    config = NO_RETRIES.merge(NOT_VALIDATED) if unvalidated else NO_RETRIES
    return _boto_session().client(
        service, endpoint_url=server.endpoint, region_name=DEFAULT_REGION,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token, config=config)


def sts_for(server, creds: Creds, *, unvalidated: bool = False):
    return client_for("sts", server, creds, unvalidated=unvalidated)


def iam_for(server, creds: Creds):
    return client_for("iam", server, creds)


def caller_arn(server, creds: Creds) -> str:
    return sts_for(server, creds).get_caller_identity()["Arn"]


def trust(principal, actions=("sts:AssumeRole",), *extra_statements, **statement) -> str:
    """A trust policy: one Allow of ``actions`` for ``{"AWS": principal}`` (a string or
    a list), plus ``extra_statements``; ``statement`` adds members (e.g. Condition)."""
    first = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": list(actions),
             **statement}
    return policy(first, *extra_statements)


def assume(server, creds: Creds, arn: str, session: str = "sess", *,
           unvalidated: bool = False, **kwargs) -> dict:
    return sts_for(server, creds, unvalidated=unvalidated).assume_role(
        RoleArn=arn, RoleSessionName=session, **kwargs)


def creds_of(response: dict) -> Creds:
    return Creds.from_sts(response["Credentials"])


def session_arn(account: str, role_name: str, session: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}"


def not_authorized_to_assume(caller: str, arn: str) -> str:
    return f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {arn}"


NO_IDENTITY_ALLOW = " because no identity-based policy allows the sts:AssumeRole action"
IDENTITY_DENY = " with an explicit deny in an identity-based policy"
TRUST_DENY = " with an explicit deny in a resource-based policy"


def expect_assume_denied(server, creds: Creds, caller: str, arn: str, *, reason: str = "",
                         **kwargs) -> dict:
    """AssumeRole fails with AccessDenied 403 and exactly the not-authorized message
    for ``caller``, followed by ``reason``."""
    return expect_client_error(
        lambda: assume(server, creds, arn, **kwargs), code="AccessDenied", status=403,
        message=not_authorized_to_assume(caller, arn) + reason)


def tags(**pairs: str) -> list:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


@pytest.fixture
def assumer(make_user) -> NewUser:
    """A user with an access key and no identity policy."""
    return make_user("assumer", key=True)


@pytest.fixture
def direct_role(make_role, assumer):
    """Factory: a role whose trust policy names ``assumer`` directly for ``actions``
    (default sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity)."""

    def factory(prefix: str = "role", *,
                actions=("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"),
                **kwargs) -> dict:
        return make_role(prefix, trust=trust(assumer.arn, actions), **kwargs)

    return factory


# ---------------------------------------------------------------------------
# the response and the session's identity
# ---------------------------------------------------------------------------


def test_assume_role_response_and_caller_identity(server, account, assumer, make_role):
    path = unique_path()
    role = make_role(path=path, trust=trust(assumer.arn))
    assert role["Arn"] == role_arn(account, role["RoleName"], path)
    resp = assume(server, assumer.creds, role["Arn"], "my-session")

    credentials = resp["Credentials"]
    assert re.fullmatch(ASIA_RE, credentials["AccessKeyId"]), credentials["AccessKeyId"]
    assert re.fullmatch(SECRET_RE, credentials["SecretAccessKey"])
    token = credentials["SessionToken"]
    assert re.fullmatch(TOKEN_RE, token), token[:100]
    assert len(token.encode()) <= 4096, f"SessionToken is {len(token.encode())} bytes"
    assert_expires_in(credentials["Expiration"], 3600, tolerance=60)

    assert re.fullmatch(ROLE_ID_RE, role["RoleId"])
    expected_arn = session_arn(account, role["RoleName"], "my-session")  # no role path
    assert resp["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:my-session",
                                       "Arn": expected_arn}
    assert "PackedPolicySize" not in resp
    assert "SourceIdentity" not in resp

    me = sts_for(server, creds_of(resp)).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (
        expected_arn, f"{role['RoleId']}:my-session", account)


def test_session_name_case_is_preserved_and_sessions_are_distinct(server, account, assumer,
                                                                 make_role):
    role = make_role(trust=trust(assumer.arn))
    first = assume(server, assumer.creds, role["Arn"], "Mixed.Case@Name")
    second = assume(server, assumer.creds, role["Arn"], "Mixed.Case@Name")
    assert first["AssumedRoleUser"]["Arn"] == session_arn(account, role["RoleName"],
                                                          "Mixed.Case@Name")
    assert first["Credentials"]["AccessKeyId"] != second["Credentials"]["AccessKeyId"]
    for resp in (first, second):
        assert caller_arn(server, creds_of(resp)) == resp["AssumedRoleUser"]["Arn"]


def test_packed_policy_size_and_source_identity_in_the_response(server, assumer,
                                                               direct_role):
    arn = direct_role()["Arn"]
    with_policy = assume(server, assumer.creds, arn,
                         Policy=policy(allow("iam:GetRole")))
    assert 0 <= with_policy["PackedPolicySize"] <= 100
    with_tags = assume(server, assumer.creds, arn, Tags=tags(team="blue"))
    assert 0 <= with_tags["PackedPolicySize"] <= 100
    with_source = assume(server, assumer.creds, arn, SourceIdentity="alice@example")
    assert with_source["SourceIdentity"] == "alice@example"
    assert "PackedPolicySize" not in with_source


# ---------------------------------------------------------------------------
# durations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("max_session, duration", [
    (None, 900), (None, 3600), (7200, 7200), (43200, 43200),
])
def test_duration_within_limits(server, assumer, make_role, max_session, duration):
    kwargs = {"MaxSessionDuration": max_session} if max_session else {}
    role = make_role(trust=trust(assumer.arn), **kwargs)
    resp = assume(server, assumer.creds, role["Arn"], DurationSeconds=duration)
    assert_expires_in(resp["Credentials"]["Expiration"], duration, tolerance=60)


@pytest.mark.parametrize("max_session, duration", [(None, 3601), (7200, 7201)])
def test_duration_above_max_session_duration(server, assumer, make_role, max_session,
                                             duration):
    kwargs = {"MaxSessionDuration": max_session} if max_session else {}
    role = make_role(trust=trust(assumer.arn), **kwargs)
    expect_client_error(
        lambda: assume(server, assumer.creds, role["Arn"], DurationSeconds=duration),
        code="ValidationError", status=400, message=MAX_SESSION_LIMIT)


@pytest.mark.parametrize("duration", [899, 43201])
def test_duration_outside_the_model_range(server, assumer, make_role, duration):
    role = make_role(trust=trust(assumer.arn), MaxSessionDuration=43200)
    expect_client_error(
        lambda: assume(server, assumer.creds, role["Arn"], DurationSeconds=duration,
                       unvalidated=True),
        code="ValidationError", status=400, contains="durationSeconds")


# ---------------------------------------------------------------------------
# parameters that the server rejects
# ---------------------------------------------------------------------------


def test_policy_arns_do_not_exist(server, account, assumer, direct_role):
    arn = direct_role()["Arn"]
    policy_arn = f"arn:aws:iam::{account}:policy/{unique('managed')}"
    expect_client_error(
        lambda: assume(server, assumer.creds, arn, PolicyArns=[{"arn": policy_arn}]),
        code="ValidationError", status=400,
        message=f"Policy {policy_arn} does not exist or is not attachable.")
    aws_managed = "arn:aws:iam::aws:policy/NoSuchAwsManagedPolicy"
    expect_client_error(
        lambda: assume(server, assumer.creds, arn, PolicyArns=[{"arn": aws_managed}]),
        code="ValidationError", status=400,
        message=f"Policy {aws_managed} does not exist or is not attachable.")


def test_more_than_ten_policy_arns(server, account, assumer, direct_role):
    arn = direct_role()["Arn"]
    arns = [{"arn": f"arn:aws:iam::{account}:policy/p{i:02d}"} for i in range(11)]
    expect_client_error(lambda: assume(server, assumer.creds, arn, PolicyArns=arns),
                        code="ValidationError", status=400)


def test_mfa_without_devices_fails(server, account, assumer, direct_role):
    arn = direct_role()["Arn"]
    expect_client_error(
        lambda: assume(server, assumer.creds, arn,
                       SerialNumber=f"arn:aws:iam::{account}:mfa/{assumer.name}",
                       TokenCode="123456"),
        code="AccessDenied", status=403, contains="MultiFactorAuthentication failed")


def test_provided_contexts_are_rejected(server, assumer, direct_role):
    arn = direct_role()["Arn"]
    contexts = [{"ProviderArn": "arn:aws:iam::aws:contextProvider/IdentityCenter",
                 "ContextAssertion": "an-opaque-assertion"}]
    expect_client_error(lambda: assume(server, assumer.creds, arn, ProvidedContexts=contexts),
                        code="ValidationError", status=400)


@pytest.mark.parametrize("document", [
    '{"Version": "2012-10-17", "Statement": [',
    policy({"Effect": "Allow", "Principal": "*", "Action": "iam:GetRole", "Resource": "*"}),
    policy({"Effect": "Perhaps", "Action": "iam:GetRole", "Resource": "*"}),
], ids=["syntax", "principal", "effect"])
def test_malformed_session_policy(server, assumer, direct_role, document):
    arn = direct_role()["Arn"]
    expect_client_error(lambda: assume(server, assumer.creds, arn, Policy=document),
                        code="MalformedPolicyDocument", status=400)


# ---------------------------------------------------------------------------
# what the role session may do
# ---------------------------------------------------------------------------

READ_ROLES = policy(allow(["iam:GetRole", "iam:ListRoles"]))


def session_not_authorized(session: str, action: str) -> str:
    return f"User: {session} is not authorized to perform: {action} on resource: "


def test_session_policy_intersects_role_policy(server, assumer, direct_role):
    role = direct_role(policies={"read": READ_ROLES})
    resp = assume(server, assumer.creds, role["Arn"], Policy=policy(allow("iam:GetRole")))
    client = iam_for(server, creds_of(resp))
    assert client.get_role(RoleName=role["RoleName"])["Role"]["RoleId"] == role["RoleId"]
    error = expect_client_error(
        client.list_roles, code="AccessDenied", status=403,
        startswith=session_not_authorized(resp["AssumedRoleUser"]["Arn"], "iam:ListRoles"))
    assert error["Error"]["Message"].endswith(
        "because no session policy allows the iam:ListRoles action"), error["Error"]["Message"]

    # without a session policy the role's policies apply unrestricted
    unrestricted = iam_for(server, creds_of(assume(server, assumer.creds, role["Arn"])))
    assert role["RoleName"] in [
        r["RoleName"] for page in unrestricted.get_paginator("list_roles").paginate() for r in page["Roles"]]


def test_session_policy_explicit_deny(server, assumer, direct_role):
    role = direct_role(policies={"read": READ_ROLES})
    resp = assume(server, assumer.creds, role["Arn"],
                  Policy=policy(allow("iam:*"), deny("iam:ListRoles")))
    client = iam_for(server, creds_of(resp))
    assert client.get_role(RoleName=role["RoleName"])["Role"]["Arn"] == role["Arn"]
    error = expect_client_error(client.list_roles, code="AccessDenied", status=403)
    assert error["Error"]["Message"].endswith("with an explicit deny in a session policy"), (
        error["Error"]["Message"])


def test_session_policy_grants_nothing_beyond_the_role(server, assumer, direct_role):
    role = direct_role(policies={"get": policy(allow("iam:GetRole"))})
    resp = assume(server, assumer.creds, role["Arn"], Policy=policy(allow("iam:*")))
    client = iam_for(server, creds_of(resp))
    assert client.get_role(RoleName=role["RoleName"])["Role"]["Arn"] == role["Arn"]
    error = expect_client_error(
        client.list_roles, code="AccessDenied", status=403,
        startswith=session_not_authorized(resp["AssumedRoleUser"]["Arn"], "iam:ListRoles"))
    assert error["Error"]["Message"].endswith(
        "because no identity-based policy allows the iam:ListRoles action"), (
        error["Error"]["Message"])


def test_role_policy_edits_apply_to_existing_sessions(server, admin_iam, assumer, direct_role):
    role = direct_role(policies={"get": policy(allow("iam:GetRole"))})
    name = role["RoleName"]
    client = iam_for(server, creds_of(assume(server, assumer.creds, role["Arn"])))
    assert client.get_role(RoleName=name)["Role"]["RoleName"] == name
    expect_client_error(client.list_roles, code="AccessDenied", status=403)

    admin_iam.put_role_policy(RoleName=name, PolicyName="list",
                              PolicyDocument=policy(allow("iam:ListRoles")))
    assert name in [
        r["RoleName"] for page in client.get_paginator("list_roles").paginate() for r in page["Roles"]]
    admin_iam.delete_role_policy(RoleName=name, PolicyName="get")
    expect_client_error(lambda: client.get_role(RoleName=name),
                        code="AccessDenied", status=403)


def test_role_without_policies_grants_nothing(server, assumer, direct_role):
    role = direct_role()
    resp = assume(server, assumer.creds, role["Arn"])
    expect_client_error(
        lambda: iam_for(server, creds_of(resp)).get_role(RoleName=role["RoleName"]),
        code="AccessDenied", status=403,
        message=(f"{session_not_authorized(resp['AssumedRoleUser']['Arn'], 'iam:GetRole')}"
                 f"{role['Arn']} because no identity-based policy allows the iam:GetRole "
                 f"action"))


def test_deleting_the_role_ends_its_sessions(server, admin_iam, assumer, direct_role):
    role = direct_role()
    session = creds_of(assume(server, assumer.creds, role["Arn"]))
    assert caller_arn(server, session).endswith(f"/{role['RoleName']}/sess")

    admin_iam.delete_role(RoleName=role["RoleName"])
    expect_client_error(sts_for(server, session).get_caller_identity,
                        code="InvalidClientTokenId", status=403, message=INVALID_TOKEN)
    # a new role of the same name does not revive the old session
    admin_iam.create_role(RoleName=role["RoleName"], AssumeRolePolicyDocument=trust(assumer.arn))
    expect_client_error(sts_for(server, session).get_caller_identity,
                        code="InvalidClientTokenId", status=403, message=INVALID_TOKEN)


def test_role_session_cannot_call_get_session_token(server, assumer, direct_role):
    session = creds_of(assume(server, assumer.creds, direct_role()["Arn"]))
    expect_client_error(lambda: sts_for(server, session).get_session_token(),
                        code="AccessDenied", status=403,
                        message="Cannot call GetSessionToken with session credentials")


# ---------------------------------------------------------------------------
# the trust-policy algorithm
# ---------------------------------------------------------------------------


def test_direct_trust_needs_no_identity_policy(server, admin_iam, account, assumer, make_role):
    role = make_role(trust=trust(assumer.arn))
    assert admin_iam.list_user_policies(UserName=assumer.name)["PolicyNames"] == []
    resp = assume(server, assumer.creds, role["Arn"])
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(account, role["RoleName"], "sess")


@pytest.mark.parametrize("form", ["account-id", "root-arn", "star"])
def test_account_trust_needs_an_identity_policy(server, admin_iam, account, assumer, make_role,
                                                form):
    principal = {"account-id": account, "root-arn": f"arn:aws:iam::{account}:root",
                 "star": "*"}[form]
    role = make_role(trust=trust(principal))
    other = make_role(trust=trust(principal))
    expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"],
                         reason=NO_IDENTITY_ALLOW)

    # an identity policy for another role does not help
    admin_iam.put_user_policy(UserName=assumer.name, PolicyName="other",
                              PolicyDocument=policy(allow("sts:AssumeRole", other["Arn"])))
    expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"],
                         reason=NO_IDENTITY_ALLOW)
    assert assume(server, assumer.creds, other["Arn"])["AssumedRoleUser"]["Arn"] == (
        session_arn(account, other["RoleName"], "sess"))

    admin_iam.put_user_policy(UserName=assumer.name, PolicyName="this",
                              PolicyDocument=policy(allow("sts:AssumeRole", role["Arn"])))
    assert assume(server, assumer.creds, role["Arn"])["AssumedRoleUser"]["Arn"] == (
        session_arn(account, role["RoleName"], "sess"))


def test_trust_that_does_not_name_the_caller(server, assumer, make_user, make_role):
    someone_else = make_user("other")
    role = make_role(trust=trust(someone_else.arn))
    expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"])


def test_identity_policy_alone_is_not_enough(server, make_user, make_role):
    user = make_user("assumer", key=True, policies={"p": policy(allow("sts:AssumeRole"))})
    role = make_role(trust=trust(make_user("other").arn))
    expect_assume_denied(server, user.creds, user.arn, role["Arn"])


@pytest.mark.parametrize("which", ["same-account", "other-account"])
def test_unknown_role_looks_like_a_denial(server, account, assumer, which):
    owner = account if which == "same-account" else "111122223333"
    arn = role_arn(owner, unique("ghost"))
    expect_assume_denied(server, assumer.creds, assumer.arn, arn)


def test_role_arn_with_the_wrong_path(server, account, assumer, make_role):
    path = unique_path()
    role = make_role(path=path, trust=trust(assumer.arn))
    name = role["RoleName"]
    for wrong in (role_arn(account, name), role_arn(account, name, unique_path()),
                  role_arn(account, name, path + "sub/")):
        expect_assume_denied(server, assumer.creds, assumer.arn, wrong)
    assert assume(server, assumer.creds, role["Arn"])["AssumedRoleUser"]["Arn"] == (
        session_arn(account, name, "sess"))


@pytest.mark.parametrize("arn", [
    "arn:aws:iam::123:role",
    "arn:aws:iam::{account}:user/{assumer}",
    "arn:aws:iam::{account}:role",
], ids=["short-arn", "user-arn", "no-role-name"])
def test_role_arn_naming_no_role(server, account, assumer, arn):
    # An ARN that names no role of ours is answered like an unknown role: AccessDenied.
    arn = arn.format(account=account, assumer=assumer.name)
    expect_assume_denied(server, assumer.creds, assumer.arn, arn, unvalidated=True)


def test_role_arn_that_is_not_an_arn(server, assumer):
    # A string that is not an ARN at all is a ValidationError (spec §3.1 error table).
    client = sts_for(server, assumer.creds)
    expect_client_error(
        lambda: client.assume_role(RoleArn="this-is-not-an-arn-at-all", RoleSessionName="s1"),
        code="ValidationError", status=400,
        message="this-is-not-an-arn-at-all is not a valid role ARN.")


def test_explicit_deny_in_the_trust_policy_wins(server, account, assumer, make_role):
    role = make_role(trust=trust(
        [assumer.arn, account], ("sts:AssumeRole",),
        {"Effect": "Deny", "Principal": {"AWS": assumer.arn}, "Action": "sts:AssumeRole"}))
    expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"], reason=TRUST_DENY)


def test_identity_explicit_deny_wins_over_direct_trust(server, admin_iam, assumer, make_role):
    role = make_role(trust=trust(assumer.arn))
    admin_iam.put_user_policy(UserName=assumer.name, PolicyName="no-roles",
                              PolicyDocument=policy(deny("sts:AssumeRole", role["Arn"])))
    expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"], reason=IDENTITY_DENY)
    admin_iam.delete_user_policy(UserName=assumer.name, PolicyName="no-roles")
    assume(server, assumer.creds, role["Arn"])


# ---------------------------------------------------------------------------
# conditions in trust policies
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("external_id, allowed", [
    (None, False), ("wrong-id", False), ("Ext-Id:42", False), ("ext-id:42", True),
], ids=["missing", "wrong", "other-case", "right"])
def test_external_id_condition(server, assumer, make_role, external_id, allowed):
    role = make_role(trust=trust(assumer.arn,
                                 Condition={"StringEquals": {"sts:ExternalId": "ext-id:42"}}))
    kwargs = {"ExternalId": external_id} if external_id else {}
    if allowed:
        assume(server, assumer.creds, role["Arn"], **kwargs)
    else:
        expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"], **kwargs)


def test_role_session_name_must_be_the_user_name(server, account, assumer, make_role):
    role = make_role(trust=trust(
        assumer.arn, Condition={"StringEquals": {"sts:RoleSessionName": "${aws:username}"}}))
    resp = assume(server, assumer.creds, role["Arn"], assumer.name)
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(account, role["RoleName"],
                                                         assumer.name)
    expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"], session="someone")
    expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"],
                         session=assumer.name.upper())


@pytest.mark.parametrize("request_tags, allowed", [
    ({"project": "apollo"}, True),
    ({"project": "apollo", "cost": "42"}, True),
    ({"project": "gemini"}, False),
    ({"project": "apollo", "owner": "me"}, False),
    (None, False),
], ids=["match", "match-two-keys", "wrong-value", "extra-key", "no-tags"])
def test_request_tag_conditions(server, assumer, make_role, request_tags, allowed):
    role = make_role(trust=trust(assumer.arn, ("sts:AssumeRole", "sts:TagSession"), Condition={
        "StringEquals": {"aws:RequestTag/project": "apollo"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["project", "cost"]}}))
    kwargs = {"Tags": tags(**request_tags)} if request_tags else {}
    if allowed:
        assert "PackedPolicySize" in assume(server, assumer.creds, role["Arn"], **kwargs)
    else:
        expect_client_error(lambda: assume(server, assumer.creds, role["Arn"], **kwargs),
                            code="AccessDenied", status=403)


def test_principal_tag_condition_uses_the_user_tags(server, admin_iam, make_user, make_role):
    user = make_user("tagged", key=True, tags=tags(team="red"))
    role = make_role(trust=trust(
        user.arn, Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))
    expect_assume_denied(server, user.creds, user.arn, role["Arn"])
    admin_iam.tag_user(UserName=user.name, Tags=tags(team="blue"))
    assume(server, user.creds, role["Arn"])
    admin_iam.untag_user(UserName=user.name, TagKeys=["team"])
    expect_assume_denied(server, user.creds, user.arn, role["Arn"])


@pytest.mark.parametrize("cidr, allowed", [("127.0.0.0/8", True), ("10.0.0.0/8", False)])
def test_source_ip_condition(server, assumer, make_role, cidr, allowed):
    role = make_role(trust=trust(assumer.arn, Condition={"IpAddress": {"aws:SourceIp": cidr}}))
    if allowed:
        assume(server, assumer.creds, role["Arn"])
    else:
        expect_assume_denied(server, assumer.creds, assumer.arn, role["Arn"])


def test_principal_arn_condition(server, make_user, make_role):
    alice, bob = make_user("alice", key=True), make_user("bob", key=True)
    role = make_role(trust=trust([alice.arn, bob.arn],
                                 Condition={"ArnEquals": {"aws:PrincipalArn": alice.arn}}))
    assume(server, alice.creds, role["Arn"])
    expect_assume_denied(server, bob.creds, bob.arn, role["Arn"])


# ---------------------------------------------------------------------------
# session tags and source identity
# ---------------------------------------------------------------------------


def test_tags_require_tag_session(server, assumer, direct_role):
    role = direct_role(actions=("sts:AssumeRole",))
    assume(server, assumer.creds, role["Arn"])
    expect_client_error(
        lambda: assume(server, assumer.creds, role["Arn"], Tags=tags(team="blue")),
        code="AccessDenied", status=403, contains="sts:TagSession")
    expect_client_error(
        lambda: assume(server, assumer.creds, role["Arn"], Tags=tags(team="blue"),
                       TransitiveTagKeys=["team"]),
        code="AccessDenied", status=403, contains="sts:TagSession")


def test_source_identity_requires_set_source_identity(server, assumer, direct_role):
    role = direct_role(actions=("sts:AssumeRole", "sts:TagSession"))
    expect_client_error(
        lambda: assume(server, assumer.creds, role["Arn"], SourceIdentity="alice"),
        code="AccessDenied", status=403, contains="sts:SetSourceIdentity")


def test_fifty_tags_are_accepted(server, assumer, direct_role):
    arn = direct_role()["Arn"]
    many = [{"Key": f"k{i:02d}", "Value": "v"} for i in range(49)]
    many.append({"Key": "K" * 128, "Value": "V" * 256})
    resp = assume(server, assumer.creds, arn, Tags=many, TransitiveTagKeys=["k00", "K" * 128])
    assert 0 <= resp["PackedPolicySize"] <= 100


@pytest.mark.parametrize("kwargs", [
    {"Tags": [{"Key": f"k{i:02d}", "Value": "v"} for i in range(51)]},
    {"Tags": [{"Key": "k" * 129, "Value": "v"}]},
    {"Tags": [{"Key": "Team", "Value": "a"}, {"Key": "tEAM", "Value": "b"}]},
    {"Tags": [{"Key": "aws:team", "Value": "a"}]},
    {"Tags": [{"Key": "AWS:team", "Value": "a"}]},
    {"Tags": [{"Key": "team", "Value": "a"}], "TransitiveTagKeys": ["project"]},
], ids=["51-tags", "key-129", "duplicate-keys", "aws-prefix", "AWS-prefix",
        "transitive-not-a-tag"])
def test_invalid_session_tags(server, assumer, direct_role, kwargs):
    arn = direct_role()["Arn"]
    expect_client_error(lambda: assume(server, assumer.creds, arn, unvalidated=True, **kwargs),
                        code="ValidationError", status=400)


def test_session_tags_are_principal_tags_of_the_session(server, assumer, direct_role):
    role = direct_role(policies={"team-blue": policy(allow(
        "iam:GetRole", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))})
    name = role["RoleName"]

    def get_role(session_tags):
        kwargs = {"Tags": session_tags} if session_tags else {}
        client = iam_for(server, creds_of(assume(server, assumer.creds, role["Arn"],
                                                    **kwargs)))
        return lambda: client.get_role(RoleName=name)

    assert get_role(tags(team="blue"))()["Role"]["RoleName"] == name
    assert get_role(tags(Team="blue"))()["Role"]["RoleName"] == name  # key case-insensitive
    for session_tags in (tags(team="red"), tags(other="blue"), None):
        expect_client_error(get_role(session_tags), code="AccessDenied", status=403)


def test_session_tags_override_role_tags(server, assumer, direct_role):
    role = direct_role(Tags=tags(team="blue"), policies={"team-blue": policy(allow(
        "iam:GetRole", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}))})
    name = role["RoleName"]
    plain = iam_for(server, creds_of(assume(server, assumer.creds, role["Arn"])))
    assert plain.get_role(RoleName=name)["Role"]["RoleName"] == name
    overridden = iam_for(server, creds_of(
        assume(server, assumer.creds, role["Arn"], Tags=tags(TEAM="red"))))
    expect_client_error(lambda: overridden.get_role(RoleName=name),
                        code="AccessDenied", status=403)


# ---------------------------------------------------------------------------
# role chaining
# ---------------------------------------------------------------------------


def test_role_chaining(server, account, assumer, make_role):
    first = make_role("first", trust=trust(assumer.arn))
    second = make_role("second", trust=trust(
        first["Arn"], Condition={"ArnEquals": {"aws:PrincipalArn": first["Arn"]}}),
        MaxSessionDuration=43200)
    session = creds_of(assume(server, assumer.creds, first["Arn"], "one"))

    chained = assume(server, session, second["Arn"], "two")
    assert_expires_in(chained["Credentials"]["Expiration"], 3600, tolerance=60)
    expected = session_arn(account, second["RoleName"], "two")
    assert chained["AssumedRoleUser"] == {"AssumedRoleId": f"{second['RoleId']}:two",
                                          "Arn": expected}
    assert caller_arn(server, creds_of(chained)) == expected

    again = assume(server, session, second["Arn"], DurationSeconds=3600)
    assert_expires_in(again["Credentials"]["Expiration"], 3600, tolerance=60)
    expect_client_error(lambda: assume(server, session, second["Arn"], DurationSeconds=3601),
                        code="ValidationError", status=400, message=CHAINING_LIMIT)

    # the first role's session is not a principal of a role that trusts only the user
    expect_assume_denied(server, session, session_arn(account, first["RoleName"], "one"),
                         first["Arn"])


def test_get_session_token_credentials_chain(server, account, assumer, make_role):
    role = make_role(trust=trust(assumer.arn), MaxSessionDuration=43200)
    user_session = Creds.from_sts(sts_for(server, assumer.creds).get_session_token(
        DurationSeconds=7200)["Credentials"])
    resp = assume(server, user_session, role["Arn"])
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(account, role["RoleName"], "sess")
    assert_expires_in(resp["Credentials"]["Expiration"], 3600, tolerance=60)
    expect_client_error(
        lambda: assume(server, user_session, role["Arn"], DurationSeconds=3601),
        code="ValidationError", status=400, message=CHAINING_LIMIT)
    # long-term keys are not chaining
    resp = assume(server, assumer.creds, role["Arn"], DurationSeconds=7200)
    assert_expires_in(resp["Credentials"]["Expiration"], 7200, tolerance=60)


def test_transitive_tags_are_inherited(server, account, assumer, make_role):
    first = make_role("first", trust=trust(assumer.arn, ("sts:AssumeRole", "sts:TagSession")))
    chained_actions = ("sts:AssumeRole", "sts:TagSession")
    second = make_role("second", trust=trust(
        first["Arn"], chained_actions,
        Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}}), policies={
        "team": policy(allow("iam:GetRole", Condition={
            "StringEquals": {"aws:PrincipalTag/team": "blue"}})),
        "project": policy(allow("iam:ListRoles", Condition={
            "StringEquals": {"aws:PrincipalTag/project": "apollo"}}))})
    red_only = make_role("red", trust=trust(
        first["Arn"], chained_actions,
        Condition={"StringEquals": {"aws:PrincipalTag/team": "red"}}))

    resp = assume(server, assumer.creds, first["Arn"], "one",
                  Tags=tags(team="blue", project="apollo"), TransitiveTagKeys=["team"])
    session = creds_of(resp)

    chained = assume(server, session, second["Arn"], "two")
    assert "PackedPolicySize" in chained  # the inherited transitive tag
    client = iam_for(server, creds_of(chained))
    assert client.get_role(RoleName=second["RoleName"])["Role"]["Arn"] == second["Arn"]
    # 'project' was not transitive
    expect_client_error(client.list_roles, code="AccessDenied", status=403)

    expect_assume_denied(server, session, resp["AssumedRoleUser"]["Arn"], red_only["Arn"])
    expect_client_error(
        lambda: assume(server, session, second["Arn"], Tags=tags(team="green")),
        code="ValidationError", status=400)
    # a non-transitive key of the parent may be set again
    assume(server, session, second["Arn"], Tags=tags(project="gemini"))


def test_source_identity_is_inherited_and_immutable(server, assumer, make_role):
    actions = ("sts:AssumeRole", "sts:SetSourceIdentity")
    first = make_role("first", trust=trust(assumer.arn, actions))
    second = make_role("second", trust=trust(first["Arn"], actions))
    without = make_role("nosrc", trust=trust(first["Arn"], ("sts:AssumeRole",)))

    resp = assume(server, assumer.creds, first["Arn"], "one", SourceIdentity="alice")
    assert resp["SourceIdentity"] == "alice"
    session = creds_of(resp)

    chained = assume(server, session, second["Arn"], "two")
    assert chained["SourceIdentity"] == "alice"
    assert assume(server, session, second["Arn"], SourceIdentity="alice")["SourceIdentity"] == (
        "alice")
    expect_client_error(
        lambda: assume(server, session, second["Arn"], SourceIdentity="bob"),
        code="AccessDenied", status=403)
    # every role down the chain must allow sts:SetSourceIdentity
    expect_client_error(lambda: assume(server, session, without["Arn"]),
                        code="AccessDenied", status=403, contains="sts:SetSourceIdentity")


# ---------------------------------------------------------------------------
# aws CLI
# ---------------------------------------------------------------------------


def test_aws_cli_assume_role(server, account, assumer, make_role, tmp_path):
    role = make_role(trust=trust(assumer.arn))
    user_file = write_credentials_file(tmp_path / "user-credentials", assumer.creds)
    out = run_aws_cli(server, ["sts", "assume-role", "--role-arn", role["Arn"],
                               "--role-session-name", "cli-session",
                               "--duration-seconds", "900"],
                      credentials_file=user_file, home=tmp_path)
    expected = session_arn(account, role["RoleName"], "cli-session")
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{role['RoleId']}:cli-session",
                                      "Arn": expected}
    credentials = out["Credentials"]
    assert re.fullmatch(ASIA_RE, credentials["AccessKeyId"])
    assert set(credentials) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}

    session_file = write_credentials_file(tmp_path / "session-credentials",
                                          Creds.from_sts(credentials))
    me = run_aws_cli(server, ["sts", "get-caller-identity"], credentials_file=session_file,
                     home=tmp_path)
    assert me == {"UserId": f"{role['RoleId']}:cli-session", "Account": account,
                  "Arn": expected}


def run_aws_cli_with_config(args, *, config_file: Path, credentials_file: Path,
                            home: Path) -> dict:
    """Run ``aws <args> --output json`` with the given config and credentials files and
    no --endpoint-url (the profile must supply it); parse stdout."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AWS_")}
    env.update({
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_PAGER": "",
    })
    cmd = [str(aws_cli_path()), *args, "--output", "json",
           "--cli-connect-timeout", "5", "--cli-read-timeout", "30"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"{shlex.join(cmd)} exited {proc.returncode}\n"
        f"config:\n{config_file.read_text()}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return json.loads(proc.stdout)


def test_aws_cli_profile_with_role_arn_and_source_profile(server, account, assumer, make_role,
                                                         tmp_path):
    # aws CLI v1 (botocore >= 1.31) honours endpoint_url in a profile, also for the
    # STS client that its assume-role credential provider creates; --endpoint-url
    # on the command line would only reach the command's own client.
    role = make_role(trust=trust(assumer.arn))
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text(
        "[source]\n"
        f"aws_access_key_id = {assumer.creds.access_key}\n"
        f"aws_secret_access_key = {assumer.creds.secret_key}\n", encoding="utf-8")
    config_file = tmp_path / "config"
    config_file.write_text(
        "[profile assumed]\n"
        f"role_arn = {role['Arn']}\n"
        "source_profile = source\n"
        "role_session_name = profile-session\n"
        f"region = {DEFAULT_REGION}\n"
        f"endpoint_url = {server.endpoint}\n", encoding="utf-8")
    home = tmp_path / "home"  # holds the CLI's assume-role cache
    home.mkdir()
    me = run_aws_cli_with_config(["sts", "get-caller-identity", "--profile", "assumed"],
                                 config_file=config_file, credentials_file=credentials_file,
                                 home=home)
    assert me == {"UserId": f"{role['RoleId']}:profile-session", "Account": account,
                  "Arn": session_arn(account, role["RoleName"], "profile-session")}
