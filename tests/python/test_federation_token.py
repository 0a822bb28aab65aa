"""End-to-end tests of Tessera's STS GetFederationToken (spec STS-API.md §3.9, §2.11, §3.0.4).

Covers the response (credentials, federated user, default and explicit
durations, PackedPolicySize), parameter validation (Name, DurationSeconds,
Policy, PolicyArns, Tags), authorization of the caller (sts:GetFederationToken
on the federated-user ARN, sts:TagSession for tags, no session credentials),
what the federated session may do (GetCallerIdentity only; no other STS call,
no IAM call), the end of the session when the federating user is deleted, and
the aws CLI.

Not covered: a root caller (1-hour cap), since the server hands out no root
keys; the session's permissions on other services (Tessera serves only STS
and IAM, and a federated session may call neither beyond GetCallerIdentity).

The tests share the session server and keep out of each other's way with
unique user, role and federated-user names.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python
"""

from __future__ import annotations

import re
import uuid

import pytest

from tessera_testlib import (
    Creds,
    assert_expires_in,
    expect_client_error,
    run_aws_cli,
    write_credentials_file,
)
from test_assume_role import (  # helpers (no tests)
    ASIA_RE,
    SECRET_RE,
    TOKEN_RE,
    creds_of,
    iam_for,
    sts_for,
    tags,
    trust,
)
from test_iam_roles import make_role  # noqa: F401  (the fixture; no tests)
from test_iam_users import (  # the fixtures account and make_user (no tests)
    INVALID_TOKEN,
    NewUser,
    account,  # noqa: F401
    allow,
    deny,
    make_user,  # noqa: F401
    policy,
    policy_of_size,
)

SESSION_CREDENTIALS = "Cannot call GetFederationToken with session credentials"
SESSION_TOKEN_FROM_SESSION = "Cannot call GetSessionToken with session credentials"
DEFAULT_DURATION = 43200


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def fed_name(prefix: str = "fed") -> str:
    """A federated-user name of at most 32 characters no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def federated_arn(account: str, name: str) -> str:
    return f"arn:aws:sts::{account}:federated-user/{name}"


def federate(server, creds: Creds, name: str, *, unvalidated: bool = False, **kwargs) -> dict:
    return sts_for(server, creds, unvalidated=unvalidated).get_federation_token(
        Name=name, **kwargs)


def not_authorized(caller: str, action: str, resource: str, reason: str = "") -> str:
    reason = reason or f"because no identity-based policy allows the {action} action"
    return f"User: {caller} is not authorized to perform: {action} on resource: {resource} {reason}"


def allow_federation(account: str, name: str = "*", *extra_actions: str):
    """An identity policy allowing sts:GetFederationToken (+ ``extra_actions``) on the
    federated user ``name`` (default: any)."""
    return policy(allow(["sts:GetFederationToken", *extra_actions],
                        federated_arn(account, name)))


@pytest.fixture
def federator(make_user, account) -> NewUser:
    """A user with an access key allowed sts:GetFederationToken on any federated user."""
    return make_user("federator", key=True, policies={"fed": allow_federation(account)})


def assert_federation_response(resp: dict, account: str, name: str, duration: int) -> None:
    credentials = resp["Credentials"]
    assert set(credentials) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert re.fullmatch(ASIA_RE, credentials["AccessKeyId"]), credentials["AccessKeyId"]
    assert re.fullmatch(SECRET_RE, credentials["SecretAccessKey"])
    token = credentials["SessionToken"]
    assert re.fullmatch(TOKEN_RE, token), token[:100]
    assert len(token.encode()) <= 4096, f"SessionToken is {len(token.encode())} bytes"
    assert_expires_in(credentials["Expiration"], duration, tolerance=60)
    assert resp["FederatedUser"] == {"FederatedUserId": f"{account}:{name}",
                                     "Arn": federated_arn(account, name)}


# ---------------------------------------------------------------------------
# the response and the session's identity
# ---------------------------------------------------------------------------


def test_admin_federation_token_response_and_caller_identity(server, admin, account):
    name = fed_name("Mixed.Case")
    resp = federate(server, admin, name)
    assert_federation_response(resp, account, name, DEFAULT_DURATION)
    assert "PackedPolicySize" not in resp

    me = sts_for(server, creds_of(resp)).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (
        federated_arn(account, name), f"{account}:{name}", account)


def test_user_allowed_on_its_federated_user(server, make_user, account):
    name = fed_name()
    user = make_user("federator", key=True, policies={"fed": allow_federation(account, name)})
    resp = federate(server, user.creds, name)
    assert_federation_response(resp, account, name, DEFAULT_DURATION)
    assert "PackedPolicySize" not in resp
    assert sts_for(server, creds_of(resp)).get_caller_identity()["Arn"] == (
        federated_arn(account, name))

    # the permission is for that federated user only
    other = fed_name()
    expect_client_error(
        lambda: federate(server, user.creds, other), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "sts:GetFederationToken",
                               federated_arn(account, other)))


def test_sessions_with_the_same_name_are_distinct(server, account, federator):
    name = fed_name()
    first, second = federate(server, federator.creds, name), federate(server, federator.creds, name)
    assert first["Credentials"]["AccessKeyId"] != second["Credentials"]["AccessKeyId"]
    for resp in (first, second):
        assert sts_for(server, creds_of(resp)).get_caller_identity()["Arn"] == (
            federated_arn(account, name))


@pytest.mark.parametrize("name", ["ab", "x" * 32, "a_b+c=d,e.f@g-h"],
                         ids=["2-chars", "32-chars", "all-symbols"])
def test_name_limits_accepted(server, admin, account, name):
    resp = federate(server, admin, name)
    assert resp["FederatedUser"]["Arn"] == federated_arn(account, name)


@pytest.mark.parametrize("duration", [900, 129600])
def test_duration_within_limits(server, account, federator, duration):
    name = fed_name()
    resp = federate(server, federator.creds, name, DurationSeconds=duration)
    assert_federation_response(resp, account, name, duration)


def test_admin_duration_within_limits(server, admin):
    for duration in (900, 129600):
        resp = federate(server, admin, fed_name(), DurationSeconds=duration)
        assert_expires_in(resp["Credentials"]["Expiration"], duration, tolerance=60)


def test_packed_policy_size_with_policy_or_tags(server, admin, make_user, account):
    with_policy = federate(server, admin, fed_name(), Policy=policy(allow("iam:GetUser")))
    assert 0 <= with_policy["PackedPolicySize"] <= 100
    with_tags = federate(server, admin, fed_name(), Tags=tags(team="blue"))
    assert 0 <= with_tags["PackedPolicySize"] <= 100
    both = federate(server, admin, fed_name(), Policy=policy(allow("iam:GetUser")),
                    Tags=tags(team="blue", project="apollo"))
    assert 0 <= both["PackedPolicySize"] <= 100

    user = make_user("tagger", key=True, policies={
        "fed": allow_federation(account, "*", "sts:TagSession")})
    resp = federate(server, user.creds, fed_name(), Tags=tags(team="blue"))
    assert 0 <= resp["PackedPolicySize"] <= 100
    assert "PackedPolicySize" not in federate(server, user.creds, fed_name())


def test_policy_of_2048_characters_is_accepted(server, admin):
    resp = federate(server, admin, fed_name(), Policy=policy_of_size(2048))
    assert 0 <= resp["PackedPolicySize"] <= 100


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "a", "a" * 33, "a b", "a/b"],
                         ids=["missing", "1-char", "33-chars", "space", "slash"])
def test_invalid_name(server, admin, name):
    client = sts_for(server, admin, unvalidated=True)
    kwargs = {} if name is None else {"Name": name}
    expect_client_error(lambda: client.get_federation_token(**kwargs),
                        code="ValidationError", status=400)


@pytest.mark.parametrize("duration", [899, 129601])
def test_duration_outside_the_range(server, admin, federator, duration):
    for creds in (admin, federator.creds):
        expect_client_error(
            lambda: federate(server, creds, fed_name(), DurationSeconds=duration,
                             unvalidated=True),
            code="ValidationError", status=400)


def test_policy_over_2048_characters(server, admin):
    expect_client_error(
        lambda: federate(server, admin, fed_name(), Policy=policy_of_size(2049),
                         unvalidated=True),
        code="ValidationError", status=400)


@pytest.mark.parametrize("document", [
    '{"Version": "2012-10-17", "Statement": [',
    policy({"Effect": "Allow", "Principal": "*", "Action": "iam:GetUser", "Resource": "*"}),
    policy({"Effect": "Perhaps", "Action": "iam:GetUser", "Resource": "*"}),
    '"not an object"',
], ids=["syntax", "principal", "effect", "not-an-object"])
def test_malformed_policy(server, admin, document):
    expect_client_error(lambda: federate(server, admin, fed_name(), Policy=document),
                        code="MalformedPolicyDocument", status=400)


def test_policy_arns_do_not_exist(server, admin, account):
    for policy_arn in (f"arn:aws:iam::{account}:policy/{fed_name('managed')}",
                       "arn:aws:iam::aws:policy/NoSuchAwsManagedPolicy"):
        expect_client_error(
            lambda: federate(server, admin, fed_name(), PolicyArns=[{"arn": policy_arn}]),
            code="ValidationError", status=400,
            message=f"Policy {policy_arn} does not exist or is not attachable.")


@pytest.mark.parametrize("session_tags", [
    [{"Key": "Team", "Value": "a"}, {"Key": "tEAM", "Value": "b"}],
    [{"Key": "aws:team", "Value": "a"}],
    [{"Key": "AWS:team", "Value": "a"}],
    [{"Key": f"k{i:02d}", "Value": "v"} for i in range(51)],
], ids=["duplicate-keys", "aws-prefix", "AWS-prefix", "51-tags"])
def test_invalid_tags(server, admin, session_tags):
    expect_client_error(
        lambda: federate(server, admin, fed_name(), Tags=session_tags, unvalidated=True),
        code="ValidationError", status=400)


def test_fifty_tags_are_accepted(server, admin):
    many = [{"Key": f"k{i:02d}", "Value": "v"} for i in range(49)]
    many.append({"Key": "K" * 128, "Value": "V" * 256})
    resp = federate(server, admin, fed_name(), Tags=many)
    assert 0 <= resp["PackedPolicySize"] <= 100


# ---------------------------------------------------------------------------
# authorization of the caller
# ---------------------------------------------------------------------------


def test_user_without_permission_is_denied(server, make_user, account):
    user = make_user("plain", key=True)
    name = fed_name()
    expect_client_error(
        lambda: federate(server, user.creds, name), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "sts:GetFederationToken",
                               federated_arn(account, name)))


def test_explicit_deny_wins(server, make_user, account):
    name = fed_name()
    user = make_user("denied", key=True, policies={
        "fed": allow_federation(account),
        "deny": policy(deny("sts:GetFederationToken", federated_arn(account, name)))})
    expect_client_error(
        lambda: federate(server, user.creds, name), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "sts:GetFederationToken",
                               federated_arn(account, name),
                               "with an explicit deny in an identity-based policy"))
    federate(server, user.creds, fed_name())


def test_tags_require_tag_session(server, account, federator):
    name = fed_name()
    expect_client_error(
        lambda: federate(server, federator.creds, name, Tags=tags(team="blue")),
        code="AccessDenied", status=403,
        message=not_authorized(federator.arn, "sts:TagSession", federated_arn(account, name)))
    # without tags the same request succeeds
    assert "PackedPolicySize" not in federate(server, federator.creds, name)


def test_get_session_token_credentials_cannot_federate(server, admin, federator):
    for creds in (admin, federator.creds):
        user_session = Creds.from_sts(
            sts_for(server, creds).get_session_token(DurationSeconds=900)["Credentials"])
        expect_client_error(lambda: federate(server, user_session, fed_name()),
                            code="AccessDenied", status=403, message=SESSION_CREDENTIALS)


def test_role_session_cannot_federate(server, account, federator, make_role):
    role = make_role(trust=trust(federator.arn),
                     policies={"fed": allow_federation(account, "*", "sts:TagSession")})
    session = creds_of(sts_for(server, federator.creds).assume_role(
        RoleArn=role["Arn"], RoleSessionName="sess"))
    expect_client_error(lambda: federate(server, session, fed_name()),
                        code="AccessDenied", status=403, message=SESSION_CREDENTIALS)


# ---------------------------------------------------------------------------
# what the federated session may do
# ---------------------------------------------------------------------------


@pytest.fixture
def admin_federated(server, admin, account):
    """A federated session of the admin whose session policy allows everything."""
    name = fed_name()
    resp = federate(server, admin, name, Policy=policy(allow(["sts:*", "iam:*"])))
    return name, creds_of(resp)


def test_federated_session_other_sts_calls_are_denied(server, account, admin_federated,
                                                      make_role):
    name, session = admin_federated
    client = sts_for(server, session)
    me = client.get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (
        federated_arn(account, name), f"{account}:{name}", account)

    expect_client_error(client.get_session_token, code="AccessDenied", status=403,
                        message=SESSION_TOKEN_FROM_SESSION)
    expect_client_error(lambda: client.get_federation_token(Name=fed_name()),
                        code="AccessDenied", status=403, message=SESSION_CREDENTIALS)
    expect_client_error(lambda: client.get_access_key_info(AccessKeyId=session.access_key),
                        code="AccessDenied", status=403)
    role = make_role(trust=trust(f"arn:aws:iam::{account}:root"))
    expect_client_error(
        lambda: client.assume_role(RoleArn=role["Arn"], RoleSessionName="chained"),
        code="AccessDenied", status=403)


def test_federated_session_cannot_call_iam(server, admin_iam, admin_federated):
    _, session = admin_federated
    client = iam_for(server, session)
    admin_name = admin_iam.get_user()["User"]["UserName"]
    expect_client_error(lambda: client.get_user(UserName=admin_name),
                        code="AccessDenied", status=403)
    expect_client_error(client.list_users, code="AccessDenied", status=403)
    expect_client_error(lambda: client.list_access_keys(UserName=admin_name),
                        code="AccessDenied", status=403)


def test_federated_session_get_user_without_name_is_denied(server, admin_federated):
    # Spec IAM-ADMIN-SUBSET §2.2 / STS-API §2.11: federated-user sessions are always
    # AccessDenied, a hard restriction applied before anything else.
    _, session = admin_federated
    expect_client_error(iam_for(server, session).get_user, code="AccessDenied", status=403)


def test_user_federated_session_cannot_call_iam(server, make_user, account):
    user = make_user("federator", key=True, policies={
        "fed": allow_federation(account), "iam": policy(allow("iam:*"))})
    session = creds_of(federate(server, user.creds, fed_name(),
                                Policy=policy(allow("iam:*"))))
    # the user itself may
    assert iam_for(server, user.creds).get_user(UserName=user.name)["User"]["Arn"] == user.arn
    expect_client_error(lambda: iam_for(server, session).get_user(UserName=user.name),
                        code="AccessDenied", status=403)


# ---------------------------------------------------------------------------
# the federating user's deletion
# ---------------------------------------------------------------------------


def test_deleting_the_federating_user_ends_its_sessions(server, admin_iam, account, federator):
    name = fed_name()
    session = creds_of(federate(server, federator.creds, name))
    client = sts_for(server, session)
    assert client.get_caller_identity()["Arn"] == federated_arn(account, name)

    admin_iam.delete_access_key(UserName=federator.name,
                                AccessKeyId=federator.creds.access_key)
    admin_iam.delete_user_policy(UserName=federator.name, PolicyName="fed")
    admin_iam.delete_user(UserName=federator.name)
    expect_client_error(client.get_caller_identity, code="InvalidClientTokenId", status=403,
                        message=INVALID_TOKEN)

    # a new user of the same name does not revive the session
    admin_iam.create_user(UserName=federator.name)
    expect_client_error(client.get_caller_identity, code="InvalidClientTokenId", status=403,
                        message=INVALID_TOKEN)


# ---------------------------------------------------------------------------
# aws CLI
# ---------------------------------------------------------------------------


def test_aws_cli_get_federation_token(server, account, federator, tmp_path):
    name = fed_name("cli")
    user_file = write_credentials_file(tmp_path / "user-credentials", federator.creds)
    out = run_aws_cli(server, ["sts", "get-federation-token", "--name", name,
                               "--policy", policy(allow("iam:GetUser")),
                               "--duration-seconds", "900"],
                      credentials_file=user_file, home=tmp_path)
    assert set(out) == {"Credentials", "FederatedUser", "PackedPolicySize"}
    assert out["FederatedUser"] == {"FederatedUserId": f"{account}:{name}",
                                    "Arn": federated_arn(account, name)}
    assert isinstance(out["PackedPolicySize"], int) and 0 <= out["PackedPolicySize"] <= 100
    credentials = out["Credentials"]
    assert set(credentials) == {"AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert re.fullmatch(ASIA_RE, credentials["AccessKeyId"])
    assert re.fullmatch(SECRET_RE, credentials["SecretAccessKey"])

    session_file = write_credentials_file(tmp_path / "session-credentials",
                                          Creds.from_sts(credentials))
    me = run_aws_cli(server, ["sts", "get-caller-identity"], credentials_file=session_file,
                     home=tmp_path)
    assert me == {"UserId": f"{account}:{name}", "Account": account,
                  "Arn": federated_arn(account, name)}
