"""End-to-end tests of Tessera's IAM admin API (Query API, Version 2010-05-08).

Covers users (create/get/list/delete, paths, pagination), user tags, access
keys (quota, status, immediate use against STS), inline user policies
(validation, size limit, URL-encoded output), authorization of IAM actions by
the caller's identity policies, session credentials, persistence across a
restart and the aws CLI.

Most tests share the session server and keep out of each other's way with
unique user names (and, where a listing is checked, a unique path).

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import time
import uuid
from typing import Optional
from urllib.parse import unquote

import pytest
from botocore import UNSIGNED
from botocore.config import Config

from tessera_testlib import (
    IAM_NS,
    IAM_VERSION,
    Creds,
    admin_credentials_path,
    assert_raw_error,
    expect_client_error,
    form,
    iam_client,
    random_akia,
    random_secret,
    run_aws_cli,
    run_aws_cli_process,
    send,
    signed_request,
    sts_client,
    utcnow,
    write_credentials_file,
)

USER_ID_RE = r"AIDA[A-Z0-9]{17}"
INVALID_TOKEN = "The security token included in the request is invalid."
NOT_VALIDATED = Config(parameter_validation=False)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def unique(prefix: str = "e2e") -> str:
    """A user/policy name no other test uses (lower case: listings sort by name)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_path() -> str:
    return f"/{unique('p')}/"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def policy_of_size(size: int) -> str:
    """A valid identity policy of exactly ``size`` characters, none of them whitespace."""
    base = policy(allow("iam:GetUser", Sid="S"))
    base = json.dumps(json.loads(base), separators=(",", ":"))
    pad = size - len(base)
    assert pad >= 0, f"{size} is below the minimum of {len(base)}"
    doc = base.replace('"Sid":"S"', '"Sid":"S' + "A" * pad + '"')
    assert len(doc) == size and not any(c.isspace() for c in doc)
    return doc


def user_arn(account: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:user{path}{name}"


def tag_dict(tags) -> dict:
    return {t["Key"]: t["Value"] for t in tags}


def assert_recent(when: dt.datetime, slack: float = 300) -> None:
    assert when.tzinfo is not None, f"naive timestamp {when!r}"
    age = (utcnow() - when).total_seconds()
    assert -slack < age < slack, f"timestamp {when.isoformat()} is {age:.0f}s from now"


def caller_arn(server, creds: Creds) -> str:
    return sts_client(server, creds).get_caller_identity()["Arn"]


def expect_invalid_token(server, creds: Creds) -> None:
    expect_client_error(sts_client(server, creds).get_caller_identity,
                        code="InvalidClientTokenId", status=403, message=INVALID_TOKEN)


def key_creds(access_key: dict) -> Creds:
    """Creds from the ``AccessKey`` member of a CreateAccessKey response."""
    return Creds(access_key["AccessKeyId"], access_key["SecretAccessKey"])


def not_authorized(caller: str, action: str, resource: str, explicit: bool = False) -> str:
    reason = ("with an explicit deny in an identity-based policy" if explicit
              else f"because no identity-based policy allows the {action} action")
    return (f"User: {caller} is not authorized to perform: {action} on resource: "
            f"{resource} {reason}")


@dataclasses.dataclass
class NewUser:
    name: str
    path: str
    arn: str
    user_id: str
    creds: Optional[Creds] = None

    def iam(self, server, **kwargs):
        assert self.creds is not None, f"{self.name} has no access key"
        return iam_client(server, self.creds, **kwargs)

    def sts(self, server, **kwargs):
        assert self.creds is not None, f"{self.name} has no access key"
        return sts_client(server, self.creds, **kwargs)


@pytest.fixture
def make_user(admin_iam):
    """Factory: ``make_user(prefix, path='/', key=False, policies={}, tags=None)``
    creates a user named ``<prefix>-<random>`` on the shared server (as admin),
    optionally with an access key, inline policies ``{policy name: document}``
    (a document may be a function of the user name) and tags."""

    def factory(prefix: str = "e2e", *, path: str = "/", key: bool = False,
                policies: Optional[dict] = None, tags: Optional[list] = None) -> NewUser:
        name = unique(prefix)
        kwargs = {"UserName": name, "Path": path}
        if tags:
            kwargs["Tags"] = tags
        user = admin_iam.create_user(**kwargs)["User"]
        for policy_name, document in (policies or {}).items():
            if callable(document):  # a policy that names its user
                document = document(name)
            admin_iam.put_user_policy(UserName=name, PolicyName=policy_name,
                                      PolicyDocument=document)
        creds = None
        if key:
            creds = key_creds(admin_iam.create_access_key(UserName=name)["AccessKey"])
        return NewUser(name, path, user["Arn"], user["UserId"], creds)

    return factory


@pytest.fixture(scope="module")
def account(identity) -> str:
    return identity["Account"]


@pytest.fixture
def admin_iam_unvalidated(server, admin):
    """Admin IAM client with botocore's client-side parameter validation off."""
    return iam_client(server, admin, config=NOT_VALIDATED)


def iam_form(action: str, **params: str) -> str:
    return form(action, version=IAM_VERSION, **params)


# ---------------------------------------------------------------------------
# CreateUser
# ---------------------------------------------------------------------------


def test_create_user_returns_the_user(admin_iam, account):
    name, path = unique(), unique_path()
    tags = [{"Key": "Team", "Value": "blue"}, {"Key": "cost-center", "Value": ""}]
    user = admin_iam.create_user(UserName=name, Path=path, Tags=tags)["User"]
    assert user["Path"] == path
    assert user["UserName"] == name
    assert re.fullmatch(USER_ID_RE, user["UserId"]), user["UserId"]
    assert user["Arn"] == user_arn(account, name, path)
    assert_recent(user["CreateDate"])
    assert user["Tags"] == tags

    got = admin_iam.get_user(UserName=name)["User"]
    assert got == user


def test_create_user_default_path_and_no_tags(admin_iam, account):
    name = unique()
    user = admin_iam.create_user(UserName=name)["User"]
    assert user["Path"] == "/"
    assert user["Arn"] == user_arn(account, name)
    assert user.get("Tags", []) == []


def test_create_user_ids_are_unique(make_user):
    first, second = make_user(), make_user()
    assert first.user_id != second.user_id


def test_create_user_name_of_64_characters(admin_iam, account):
    name = unique("x")
    name += "a" * (64 - len(name))
    assert len(name) == 64
    assert admin_iam.create_user(UserName=name)["User"]["Arn"] == user_arn(account, name)


@pytest.mark.parametrize("variant", ["same", "upper", "capitalized"])
def test_create_user_duplicate_name(admin_iam, variant):
    name = unique()
    admin_iam.create_user(UserName=name)
    again = {"same": name, "upper": name.upper(), "capitalized": name.capitalize()}[variant]
    expect_client_error(lambda: admin_iam.create_user(UserName=again),
                        code="EntityAlreadyExists", status=409,
                        message=f"User with name {again} already exists.")
    # the original is untouched and no second user appeared
    assert admin_iam.get_user(UserName=name)["User"]["UserName"] == name


@pytest.mark.parametrize("name, constraint", [
    ("a b", "Member must satisfy regular expression pattern: [\\w+=,.@-]+"),
    ("a/b", "Member must satisfy regular expression pattern: [\\w+=,.@-]+"),
    ("a" * 65, "Member must have length less than or equal to 64"),
], ids=["space", "slash", "65-chars"])
def test_create_user_invalid_name(admin_iam_unvalidated, name, constraint):
    expect_client_error(
        lambda: admin_iam_unvalidated.create_user(UserName=name),
        code="ValidationError", status=400,
        message=f"1 validation error detected: Value '{name}' at 'userName' failed to "
                f"satisfy constraint: {constraint}")


@pytest.mark.parametrize("path", ["team", "/team", "team/", "/te am/"])
def test_create_user_invalid_path(admin_iam, path):
    name = unique()
    expect_client_error(lambda: admin_iam.create_user(UserName=name, Path=path),
                        code="ValidationError", status=400,
                        contains=(f"Value '{path}' at 'path'",
                                  "Member must satisfy regular expression pattern"))
    expect_client_error(lambda: admin_iam.get_user(UserName=name),
                        code="NoSuchEntity", status=404)


def test_create_user_duplicate_tag_keys_differing_in_case(admin_iam):
    name = unique()
    tags = [{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]
    expect_client_error(
        lambda: admin_iam.create_user(UserName=name, Tags=tags),
        code="InvalidInput", status=400,
        message="Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    expect_client_error(lambda: admin_iam.get_user(UserName=name),
                        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("key", ["aws:team", "AWS:Team"])
def test_create_user_reserved_tag_prefix(admin_iam, key):
    name = unique()
    expect_client_error(
        lambda: admin_iam.create_user(UserName=name, Tags=[{"Key": key, "Value": "x"}]),
        code="InvalidInput", status=400, contains=key)
    expect_client_error(lambda: admin_iam.get_user(UserName=name),
                        code="NoSuchEntity", status=404)


def test_create_user_with_50_tags(admin_iam):
    tags = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(50)]
    user = admin_iam.create_user(UserName=unique(), Tags=tags)["User"]
    assert tag_dict(user["Tags"]) == tag_dict(tags)


def test_create_user_with_51_tags(admin_iam):
    # botocore does not enforce the model's maximum of 50 list items, so this
    # reaches the server, which rejects it as a model violation.
    name = unique()
    tags = [{"Key": f"k{i:02d}", "Value": str(i)} for i in range(51)]
    expect_client_error(lambda: admin_iam.create_user(UserName=name, Tags=tags),
                        code="ValidationError", status=400,
                        contains=("'tags'", "Member must have length less than or equal to 50"))
    expect_client_error(lambda: admin_iam.get_user(UserName=name),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# GetUser
# ---------------------------------------------------------------------------


def test_get_user_without_name_is_the_caller(admin_iam, identity):
    user = admin_iam.get_user()["User"]
    assert user["UserName"] == "admin"
    assert user["Path"] == "/"
    assert user["Arn"] == identity["Arn"]
    assert user["UserId"] == identity["UserId"]
    assert_recent(user["CreateDate"], slack=24 * 3600)


def test_get_user_unknown(admin_iam):
    name = unique("nobody")
    expect_client_error(lambda: admin_iam.get_user(UserName=name),
                        code="NoSuchEntity", status=404,
                        message=f"The user with name {name} cannot be found.")


def test_get_user_name_is_case_insensitive(admin_iam, make_user):
    user = make_user()
    got = admin_iam.get_user(UserName=user.name.upper())["User"]
    assert (got["UserName"], got["UserId"]) == (user.name, user.user_id)


def test_get_user_raw_response_envelope(server, admin, identity):
    resp = send(signed_request(server, admin, body=iam_form("GetUser"), service="iam"))
    assert resp.status == 200, resp.body[:500]
    root = resp.xml()
    ns = {"i": IAM_NS}
    assert root.tag == f"{{{IAM_NS}}}GetUserResponse", root.tag
    assert root.findtext("i:GetUserResult/i:User/i:Arn", namespaces=ns) == identity["Arn"]
    rid = root.findtext("i:ResponseMetadata/i:RequestId", namespaces=ns)
    assert rid and resp.header("x-amzn-RequestId") == rid


# ---------------------------------------------------------------------------
# ListUsers
# ---------------------------------------------------------------------------


@pytest.fixture
def listed_users(admin_iam):
    """Four users under a fresh path: three directly in it, one in ``sub/``."""
    path = unique_path()
    stem = unique("l")
    names = [f"{stem}-{n}" for n in ("carol", "alice", "dave", "bob")]
    for name in names[:3]:
        admin_iam.create_user(UserName=name, Path=path)
    admin_iam.create_user(UserName=names[3], Path=path + "sub/")
    return path, sorted(names)


def names_of(response: dict) -> list:
    return [u["UserName"] for u in response["Users"]]


def test_list_users_sorted_and_filtered_by_path_prefix(admin_iam, listed_users, account):
    path, names = listed_users
    resp = admin_iam.list_users(PathPrefix=path)
    assert names_of(resp) == names
    assert resp["IsTruncated"] is False and "Marker" not in resp
    for user in resp["Users"]:
        expected_path = path + "sub/" if user["UserName"].endswith("-bob") else path
        assert user["Path"] == expected_path
        assert user["Arn"] == user_arn(account, user["UserName"], expected_path)

    assert names_of(admin_iam.list_users(PathPrefix=path + "sub/")) == [
        n for n in names if n.endswith("-bob")]
    assert names_of(admin_iam.list_users(PathPrefix=path + "nothing/")) == []


def test_list_users_without_prefix_lists_everyone_sorted(admin_iam, listed_users):
    _, names = listed_users
    everyone = [u["UserName"] for page in admin_iam.get_paginator("list_users").paginate()
                for u in page["Users"]]
    assert "admin" in everyone
    assert set(names) <= set(everyone)
    assert everyone == sorted(everyone)
    assert len(everyone) == len(set(everyone))


def test_list_users_max_items_and_marker(admin_iam, listed_users):
    path, names = listed_users
    first = admin_iam.list_users(PathPrefix=path, MaxItems=1)
    assert names_of(first) == names[:1]
    assert first["IsTruncated"] is True and first["Marker"]

    seen = names_of(first)
    marker = first["Marker"]
    while True:
        page = admin_iam.list_users(PathPrefix=path, MaxItems=1, Marker=marker)
        assert len(page["Users"]) == 1
        seen += names_of(page)
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
        assert len(seen) < 10, "pagination does not end"
    assert seen == names


def test_list_users_paginator(admin_iam, listed_users):
    path, names = listed_users
    pages = list(admin_iam.get_paginator("list_users").paginate(
        PathPrefix=path, PaginationConfig={"PageSize": 1}))
    assert len(pages) == len(names)
    assert [n for p in pages for n in names_of(p)] == names


def test_list_users_bogus_marker(admin_iam):
    expect_client_error(lambda: admin_iam.list_users(Marker="!!not-a-marker!!"),
                        code="InvalidInput", status=400)


@pytest.mark.parametrize("max_items, constraint", [
    (0, "Member must have value greater than or equal to 1"),
    (1001, "Member must have value less than or equal to 1000"),
])
def test_list_users_max_items_out_of_range(admin_iam_unvalidated, max_items, constraint):
    expect_client_error(
        lambda: admin_iam_unvalidated.list_users(MaxItems=max_items),
        code="ValidationError", status=400,
        message=f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to "
                f"satisfy constraint: {constraint}")


def test_list_users_path_prefix_without_slash(admin_iam):
    expect_client_error(lambda: admin_iam.list_users(PathPrefix="team"),
                        code="ValidationError", status=400, contains="'pathPrefix'")


# ---------------------------------------------------------------------------
# tags
# ---------------------------------------------------------------------------


def test_tag_untag_and_list_user_tags(admin_iam, make_user):
    user = make_user(tags=[{"Key": "Team", "Value": "a"}, {"Key": "Env", "Value": "prod"}])
    admin_iam.tag_user(UserName=user.name, Tags=[{"Key": "team", "Value": "b"},
                                                  {"Key": "Owner", "Value": "me"}])
    expected = {"Env": "prod", "team": "b", "Owner": "me"}  # 'Team' replaced, new case kept
    listed = admin_iam.list_user_tags(UserName=user.name)
    assert tag_dict(listed["Tags"]) == expected
    assert len(listed["Tags"]) == 3
    assert listed["IsTruncated"] is False
    assert tag_dict(admin_iam.get_user(UserName=user.name)["User"]["Tags"]) == expected

    # removal is case-insensitive; an absent key is a no-op
    admin_iam.untag_user(UserName=user.name, TagKeys=["ENV", "no-such-key"])
    expected = {"team": "b", "Owner": "me"}
    assert tag_dict(admin_iam.list_user_tags(UserName=user.name)["Tags"]) == expected
    assert tag_dict(admin_iam.get_user(UserName=user.name)["User"]["Tags"]) == expected

    admin_iam.untag_user(UserName=user.name, TagKeys=["TEAM", "owner"])
    assert admin_iam.list_user_tags(UserName=user.name)["Tags"] == []
    assert admin_iam.get_user(UserName=user.name)["User"].get("Tags", []) == []


def test_list_user_tags_pagination(admin_iam, make_user):
    tags = [{"Key": f"k{i}", "Value": str(i)} for i in range(5)]
    user = make_user(tags=tags)
    pages = list(admin_iam.get_paginator("list_user_tags").paginate(
        UserName=user.name, PaginationConfig={"PageSize": 2}))
    assert [len(p["Tags"]) for p in pages] == [2, 2, 1]
    collected = [t for p in pages for t in p["Tags"]]
    assert tag_dict(collected) == tag_dict(tags) and len(collected) == 5


def test_tag_user_beyond_50_tags(admin_iam, make_user):
    user = make_user(tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
    expect_client_error(
        lambda: admin_iam.tag_user(UserName=user.name, Tags=[{"Key": "one-more", "Value": "x"}]),
        code="LimitExceeded", status=409, contains="50")
    # replacing an existing key (in another case) keeps the count at 50
    admin_iam.tag_user(UserName=user.name, Tags=[{"Key": "K07", "Value": "new"}])
    tags = tag_dict(admin_iam.list_user_tags(UserName=user.name)["Tags"])
    assert len(tags) == 50 and tags["K07"] == "new" and "k07" not in tags


@pytest.mark.parametrize("tags, code", [
    ([{"Key": "aws:x", "Value": "1"}], "InvalidInput"),
    ([{"Key": "Dup", "Value": "1"}, {"Key": "dUP", "Value": "2"}], "InvalidInput"),
], ids=["reserved-prefix", "duplicate-keys"])
def test_tag_user_invalid_tags(admin_iam, make_user, tags, code):
    user = make_user(tags=[{"Key": "keep", "Value": "me"}])
    expect_client_error(lambda: admin_iam.tag_user(UserName=user.name, Tags=tags),
                        code=code, status=400)
    assert tag_dict(admin_iam.list_user_tags(UserName=user.name)["Tags"]) == {"keep": "me"}


@pytest.mark.parametrize("operation", ["tag_user", "untag_user", "list_user_tags"])
def test_tag_operations_on_unknown_user(admin_iam, operation):
    name = unique("nobody")
    kwargs = {"tag_user": {"Tags": [{"Key": "a", "Value": "b"}]},
              "untag_user": {"TagKeys": ["a"]}, "list_user_tags": {}}[operation]
    expect_client_error(lambda: getattr(admin_iam, operation)(UserName=name, **kwargs),
                        code="NoSuchEntity", status=404,
                        message=f"The user with name {name} cannot be found.")


# ---------------------------------------------------------------------------
# access keys
# ---------------------------------------------------------------------------


def test_create_access_key_works_at_once_against_sts(server, admin_iam, make_user, account):
    path = unique_path()
    user = make_user(path=path)
    key = admin_iam.create_access_key(UserName=user.name)["AccessKey"]
    assert key["UserName"] == user.name
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", key["AccessKeyId"]), key
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    assert_recent(key["CreateDate"])

    resp = sts_client(server, key_creds(key)).get_caller_identity()
    assert resp["Arn"] == user_arn(account, user.name, path)
    assert resp["UserId"] == user.user_id
    assert resp["Account"] == account


def test_list_access_keys_never_shows_the_secret(admin_iam, make_user):
    user = make_user()
    created = [admin_iam.create_access_key(UserName=user.name)["AccessKey"] for _ in range(2)]
    listed = admin_iam.list_access_keys(UserName=user.name)
    assert listed["IsTruncated"] is False
    metadata = listed["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in metadata) == sorted(
        k["AccessKeyId"] for k in created)
    for k in metadata:
        assert k["UserName"] == user.name and k["Status"] == "Active"
        assert "SecretAccessKey" not in k
    assert "SecretAccessKey" not in json.dumps(listed, default=str)


def test_list_access_keys_pagination_yields_every_key(admin_iam, make_user):
    """Paging one key at a time returns both keys whatever their creation order.

    The keys are made a second apart until the later one has the smaller id,
    so that creation order and id order disagree (at most a few tries).
    """
    user = make_user()
    first = admin_iam.create_access_key(UserName=user.name)["AccessKey"]["AccessKeyId"]
    for _ in range(20):
        time.sleep(1.05)
        second = admin_iam.create_access_key(UserName=user.name)["AccessKey"]["AccessKeyId"]
        if second < first:
            break
        # Keep the larger id as the older key: the next new key is then ever more likely to
        # sort before it (regression: looping on a small first id never got there).
        admin_iam.delete_access_key(UserName=user.name, AccessKeyId=first)
        first = second
    assert second < first, "could not make creation order and id order disagree"
    listed = admin_iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted([first, second])
    pages = list(admin_iam.get_paginator("list_access_keys").paginate(
        UserName=user.name, PaginationConfig={"PageSize": 1}))
    summary = [([k["AccessKeyId"] for k in p["AccessKeyMetadata"]], p.get("Marker"))
               for p in pages]
    ids = [k["AccessKeyId"] for p in pages for k in p["AccessKeyMetadata"]]
    assert sorted(ids) == sorted([first, second]), (
        f"created {first} then {second}; unpaged listing "
        f"{[k['AccessKeyId'] for k in listed]}; pages (ids, marker): {summary}")


def test_third_access_key_exceeds_quota(admin_iam, make_user):
    user = make_user()
    for _ in range(2):
        admin_iam.create_access_key(UserName=user.name)
    expect_client_error(lambda: admin_iam.create_access_key(UserName=user.name),
                        code="LimitExceeded", status=409,
                        message="Cannot exceed quota for AccessKeysPerUser: 2")
    assert len(admin_iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]) == 2


def test_update_access_key_status(server, admin_iam, make_user):
    user = make_user(key=True)
    kid = user.creds.access_key

    admin_iam.update_access_key(UserName=user.name, AccessKeyId=kid, Status="Inactive")
    [meta] = admin_iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
    assert meta["Status"] == "Inactive"
    expect_invalid_token(server, user.creds)
    expect_client_error(user.iam(server).get_user, code="InvalidClientTokenId", status=403)

    admin_iam.update_access_key(UserName=user.name, AccessKeyId=kid, Status="Active")
    [meta] = admin_iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"]
    assert meta["Status"] == "Active"
    assert caller_arn(server, user.creds) == user.arn


def test_deactivating_a_key_suspends_its_sessions(server, admin_iam, make_user):
    user = make_user(key=True)
    kid = user.creds.access_key
    session = Creds.from_sts(user.sts(server).get_session_token(
        DurationSeconds=900)["Credentials"])
    assert caller_arn(server, session) == user.arn
    admin_iam.update_access_key(UserName=user.name, AccessKeyId=kid, Status="Inactive")
    expect_invalid_token(server, session)
    admin_iam.update_access_key(UserName=user.name, AccessKeyId=kid, Status="Active")
    assert caller_arn(server, session) == user.arn


def test_update_access_key_invalid_status(admin_iam_unvalidated, make_user):
    user = make_user(key=True)
    expect_client_error(
        lambda: admin_iam_unvalidated.update_access_key(
            UserName=user.name, AccessKeyId=user.creds.access_key, Status="Expired"),
        code="ValidationError", status=400,
        contains=("'status'", "Member must satisfy enum value set: [Active, Inactive]"))


def test_delete_access_key(server, admin_iam, make_user):
    user = make_user(key=True)
    assert caller_arn(server, user.creds) == user.arn
    admin_iam.delete_access_key(UserName=user.name, AccessKeyId=user.creds.access_key)
    assert admin_iam.list_access_keys(UserName=user.name)["AccessKeyMetadata"] == []
    expect_invalid_token(server, user.creds)
    expect_client_error(
        lambda: admin_iam.delete_access_key(UserName=user.name,
                                            AccessKeyId=user.creds.access_key),
        code="NoSuchEntity", status=404,
        message=f"The Access Key with id {user.creds.access_key} cannot be found.")


@pytest.mark.parametrize("operation", ["delete_access_key", "update_access_key"])
def test_access_key_of_another_user_is_not_found(server, admin_iam, make_user, operation):
    owner, other = make_user(key=True), make_user(key=True)
    kwargs = {"Status": "Inactive"} if operation == "update_access_key" else {}
    key_id = owner.creds.access_key
    expect_client_error(
        lambda: getattr(admin_iam, operation)(UserName=other.name, AccessKeyId=key_id, **kwargs),
        code="NoSuchEntity", status=404,
        message=f"The Access Key with id {key_id} cannot be found.")
    # nothing happened to the owner's key
    [meta] = admin_iam.list_access_keys(UserName=owner.name)["AccessKeyMetadata"]
    assert meta["Status"] == "Active"
    assert caller_arn(server, owner.creds) == owner.arn


@pytest.mark.parametrize("operation", ["delete_access_key", "update_access_key"])
def test_unknown_access_key(admin_iam, make_user, operation):
    user = make_user()
    key_id = random_akia()
    kwargs = {"Status": "Active"} if operation == "update_access_key" else {}
    expect_client_error(
        lambda: getattr(admin_iam, operation)(UserName=user.name, AccessKeyId=key_id, **kwargs),
        code="NoSuchEntity", status=404,
        message=f"The Access Key with id {key_id} cannot be found.")


@pytest.mark.parametrize("operation", ["create_access_key", "list_access_keys"])
def test_access_keys_of_unknown_user(admin_iam, operation):
    name = unique("nobody")
    expect_client_error(lambda: getattr(admin_iam, operation)(UserName=name),
                        code="NoSuchEntity", status=404,
                        message=f"The user with name {name} cannot be found.")


def test_access_key_actions_without_user_name_apply_to_the_caller(server, make_user, account):
    def own(action):
        return allow(action, user_arn(account, "${aws:username}"))

    user = make_user("self", key=True, policies={"keys": policy(
        own("iam:CreateAccessKey"), own("iam:ListAccessKeys"),
        own("iam:UpdateAccessKey"), own("iam:DeleteAccessKey"))})
    client = user.iam(server)

    new = client.create_access_key()["AccessKey"]
    assert new["UserName"] == user.name
    assert caller_arn(server, key_creds(new)) == user.arn
    listed = client.list_access_keys()["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted(
        [user.creds.access_key, new["AccessKeyId"]])
    client.update_access_key(AccessKeyId=new["AccessKeyId"], Status="Inactive")
    expect_invalid_token(server, key_creds(new))
    client.delete_access_key(AccessKeyId=new["AccessKeyId"])
    assert [k["AccessKeyId"] for k in client.list_access_keys()["AccessKeyMetadata"]] == [
        user.creds.access_key]


# ---------------------------------------------------------------------------
# inline user policies
# ---------------------------------------------------------------------------


def test_put_get_list_user_policy(server, admin, admin_iam, make_user):
    user = make_user()
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadSelf", "Effect": "Allow", "Action": ["iam:GetUser", "iam:ListUserTags"],
         "Resource": "arn:aws:iam::*:user/${aws:username}"}]}, indent=2)
    admin_iam.put_user_policy(UserName=user.name, PolicyName="read-self",
                              PolicyDocument=document)

    got = admin_iam.get_user_policy(UserName=user.name, PolicyName="read-self")
    assert got["UserName"] == user.name and got["PolicyName"] == "read-self"
    assert got["PolicyDocument"] == json.loads(document)  # boto3 URL-decodes and parses it

    body = iam_form("GetUserPolicy", UserName=user.name, PolicyName="read-self")
    resp = send(signed_request(server, admin, body=body, service="iam"))
    assert resp.status == 200, resp.body[:500]
    raw = resp.xml().findtext(
        "i:GetUserPolicyResult/i:PolicyDocument", namespaces={"i": IAM_NS})
    assert raw is not None and raw.startswith("%7B"), raw
    assert unquote(raw) == document

    assert admin_iam.list_user_policies(UserName=user.name)["PolicyNames"] == ["read-self"]


def test_put_user_policy_replaces_a_policy_of_the_same_name(admin_iam, make_user):
    user = make_user(policies={"p": policy(allow("iam:GetUser"))})
    admin_iam.put_user_policy(UserName=user.name, PolicyName="p",
                              PolicyDocument=policy(allow("iam:ListUsers")))
    got = admin_iam.get_user_policy(UserName=user.name, PolicyName="p")["PolicyDocument"]
    assert got["Statement"][0]["Action"] == "iam:ListUsers"
    assert admin_iam.list_user_policies(UserName=user.name)["PolicyNames"] == ["p"]


def test_list_user_policies_sorted_and_paginated(admin_iam, make_user):
    names = ["zeta", "alpha", "Mid", "beta"]
    user = make_user(policies={n: policy(allow("iam:GetUser")) for n in names})
    listed = admin_iam.list_user_policies(UserName=user.name)
    assert listed["PolicyNames"] == sorted(names) and listed["IsTruncated"] is False
    pages = list(admin_iam.get_paginator("list_user_policies").paginate(
        UserName=user.name, PaginationConfig={"PageSize": 1}))
    assert [n for p in pages for n in p["PolicyNames"]] == sorted(names)


BASE = {"Version": "2012-10-17"}


@pytest.mark.parametrize("document, message", [
    ('{"Version": "2012-10-17", "Statement": [', "Syntax errors in policy."),
    (json.dumps({**BASE, "Statement": [{"Action": "iam:GetUser", "Resource": "*"}]}),
     "Missing required field Effect"),
    (json.dumps({**BASE, "Statement": [{"Effect": "Allow", "Principal": "*",
                                        "Action": "iam:GetUser", "Resource": "*"}]}),
     "Policy document should not specify a principal."),
    (json.dumps({**BASE, "Statement": [{"Effect": "Allow", "Action": "GetUser",
                                        "Resource": "*"}]}),
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
], ids=["malformed-json", "missing-effect", "principal", "action-without-vendor"])
def test_put_user_policy_malformed(admin_iam, make_user, document, message):
    user = make_user()
    expect_client_error(
        lambda: admin_iam.put_user_policy(UserName=user.name, PolicyName="bad",
                                          PolicyDocument=document),
        code="MalformedPolicyDocument", status=400, message=message)
    assert admin_iam.list_user_policies(UserName=user.name)["PolicyNames"] == []


def test_inline_policy_size_limit(admin_iam, make_user):
    user = make_user()
    limit_message = f"Maximum policy size of 2048 bytes exceeded for user {user.name}"

    expect_client_error(
        lambda: admin_iam.put_user_policy(UserName=user.name, PolicyName="big",
                                          PolicyDocument=policy_of_size(2049)),
        code="LimitExceeded", status=409, message=limit_message)
    admin_iam.put_user_policy(UserName=user.name, PolicyName="big",
                              PolicyDocument=policy_of_size(2048))
    # replacing the same policy does not count its old text
    admin_iam.put_user_policy(UserName=user.name, PolicyName="big",
                              PolicyDocument=policy_of_size(1024))
    admin_iam.put_user_policy(UserName=user.name, PolicyName="second",
                              PolicyDocument=policy_of_size(1024))
    # the aggregate of all inline policies counts
    expect_client_error(
        lambda: admin_iam.put_user_policy(UserName=user.name, PolicyName="third",
                                          PolicyDocument=policy_of_size(200)),
        code="LimitExceeded", status=409, message=limit_message)
    assert admin_iam.list_user_policies(UserName=user.name)["PolicyNames"] == ["big", "second"]


def test_inline_policy_size_ignores_whitespace(admin_iam, make_user):
    user = make_user()
    compact = policy_of_size(2000)
    padded = json.dumps(json.loads(compact), indent=40)  # > 2048 bytes, 2000 non-blank
    assert len(padded) > 2048
    admin_iam.put_user_policy(UserName=user.name, PolicyName="padded", PolicyDocument=padded)
    got = admin_iam.get_user_policy(UserName=user.name, PolicyName="padded")
    assert got["PolicyDocument"] == json.loads(compact)


@pytest.mark.parametrize("operation", ["get_user_policy", "delete_user_policy"])
def test_unknown_user_policy(admin_iam, make_user, operation):
    user = make_user(policies={"exists": policy(allow("iam:GetUser"))})
    expect_client_error(
        lambda: getattr(admin_iam, operation)(UserName=user.name, PolicyName="absent"),
        code="NoSuchEntity", status=404,
        message="The user policy with name absent cannot be found.")


def test_delete_user_policy(admin_iam, make_user):
    user = make_user(policies={"a": policy(allow("iam:GetUser")),
                               "b": policy(allow("iam:ListUsers"))})
    admin_iam.delete_user_policy(UserName=user.name, PolicyName="a")
    assert admin_iam.list_user_policies(UserName=user.name)["PolicyNames"] == ["b"]
    expect_client_error(
        lambda: admin_iam.get_user_policy(UserName=user.name, PolicyName="a"),
        code="NoSuchEntity", status=404,
        message="The user policy with name a cannot be found.")


@pytest.mark.parametrize("operation", ["put_user_policy", "get_user_policy",
                                       "delete_user_policy", "list_user_policies"])
def test_user_policy_operations_on_unknown_user(admin_iam, operation):
    name = unique("nobody")
    kwargs = {"put_user_policy": {"PolicyName": "p", "PolicyDocument": policy(allow("iam:*"))},
              "get_user_policy": {"PolicyName": "p"},
              "delete_user_policy": {"PolicyName": "p"},
              "list_user_policies": {}}[operation]
    expect_client_error(lambda: getattr(admin_iam, operation)(UserName=name, **kwargs),
                        code="NoSuchEntity", status=404,
                        message=f"The user with name {name} cannot be found.")


# ---------------------------------------------------------------------------
# DeleteUser
# ---------------------------------------------------------------------------


def test_delete_user_conflicts_then_succeeds(admin_iam, make_user):
    user = make_user(key=True, policies={"p": policy(allow("iam:GetUser"))},
                     tags=[{"Key": "k", "Value": "v"}])
    expect_client_error(lambda: admin_iam.delete_user(UserName=user.name),
                        code="DeleteConflict", status=409,
                        message="Cannot delete entity, must delete access keys first.")
    admin_iam.delete_access_key(UserName=user.name, AccessKeyId=user.creds.access_key)
    expect_client_error(lambda: admin_iam.delete_user(UserName=user.name),
                        code="DeleteConflict", status=409,
                        message="Cannot delete entity, must delete policies first.")
    admin_iam.delete_user_policy(UserName=user.name, PolicyName="p")

    admin_iam.delete_user(UserName=user.name)  # tags do not block deletion

    expect_client_error(lambda: admin_iam.get_user(UserName=user.name),
                        code="NoSuchEntity", status=404,
                        message=f"The user with name {user.name} cannot be found.")
    assert user.name not in names_of(admin_iam.list_users(PathPrefix=user.path, MaxItems=1000))
    expect_client_error(lambda: admin_iam.delete_user(UserName=user.name),
                        code="NoSuchEntity", status=404)


def test_delete_user_with_inline_policy_only(admin_iam, make_user):
    user = make_user(policies={"p": policy(allow("iam:GetUser"))})
    expect_client_error(lambda: admin_iam.delete_user(UserName=user.name),
                        code="DeleteConflict", status=409,
                        message="Cannot delete entity, must delete policies first.")


def test_recreated_user_is_a_new_entity(admin_iam, make_user):
    user = make_user(tags=[{"Key": "old", "Value": "tag"}])
    admin_iam.delete_user(UserName=user.name)
    again = admin_iam.create_user(UserName=user.name)["User"]
    assert again["UserId"] != user.user_id
    assert again.get("Tags", []) == []
    assert admin_iam.list_user_tags(UserName=user.name)["Tags"] == []


def test_deleted_user_loses_its_sessions(server, admin_iam, make_user):
    user = make_user(key=True)
    session = Creds.from_sts(user.sts(server).get_session_token(
        DurationSeconds=3600)["Credentials"])
    assert caller_arn(server, session) == user.arn

    # deleting the access key that minted the session ends it at once (issue #4: a session
    # dies with the long-term key it came from)
    admin_iam.delete_access_key(UserName=user.name, AccessKeyId=user.creds.access_key)
    expect_invalid_token(server, session)

    admin_iam.delete_user(UserName=user.name)
    expect_invalid_token(server, session)

    # a new user of the same name is not the old session's principal
    admin_iam.create_user(UserName=user.name, Path=user.path)
    expect_invalid_token(server, session)
    expect_invalid_token(server, user.creds)


# ---------------------------------------------------------------------------
# authorization
# ---------------------------------------------------------------------------


@pytest.fixture
def make_user_with_policy(server, make_user):
    """Factory: a user with an access key and one inline policy ``policy_for(name)``;
    returns ``(user, iam client of the user)``."""

    def factory(policy_for, prefix: str = "e2e"):
        user = make_user(prefix, key=True, policies={"p": policy_for})
        return user, user.iam(server)

    return factory


@pytest.fixture
def limited_user(make_user_with_policy, account):
    """A user 'limited-…' allowed only iam:GetUser on its own ARN."""
    return make_user_with_policy(
        lambda name: policy(allow("iam:GetUser", user_arn(account, name))), prefix="limited")


def test_limited_user_can_only_get_itself(server, admin_iam, account, limited_user):
    user, client = limited_user
    assert client.get_user(UserName=user.name)["User"]["Arn"] == user.arn
    assert client.get_user()["User"]["UserId"] == user.user_id

    new_name = unique("new")
    expect_client_error(
        lambda: client.create_user(UserName=new_name), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:CreateUser", user_arn(account, new_name)))
    expect_client_error(lambda: admin_iam.get_user(UserName=new_name),
                        code="NoSuchEntity", status=404)

    expect_client_error(
        lambda: client.get_user(UserName="admin"), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:GetUser", user_arn(account, "admin")))
    # authorization comes before the existence check
    ghost = unique("ghost")
    expect_client_error(
        lambda: client.get_user(UserName=ghost), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:GetUser", user_arn(account, ghost)))
    expect_client_error(client.list_users, code="AccessDenied", status=403)
    expect_client_error(lambda: client.create_access_key(UserName=user.name),
                        code="AccessDenied", status=403)
    expect_client_error(
        lambda: client.put_user_policy(UserName=user.name, PolicyName="escalate",
                                       PolicyDocument=policy(allow("*"))),
        code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:PutUserPolicy", user.arn))


def test_explicit_deny(server, account, make_user_with_policy):
    user, client = make_user_with_policy(lambda name: policy(
        allow("iam:*"), deny("iam:CreateUser")))
    new_name = unique("new")
    expect_client_error(
        lambda: client.create_user(UserName=new_name), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:CreateUser", user_arn(account, new_name),
                               explicit=True))
    # the Allow still covers everything else
    assert client.get_user(UserName="admin")["User"]["UserName"] == "admin"


def test_condition_with_policy_variables(server, account, make_user, make_user_with_policy):
    user, client = make_user_with_policy(lambda name: policy(allow(
        "iam:GetUser", user_arn(account, "${aws:username}"),
        Condition={"StringEquals": {"aws:username": "${aws:username}"}})))
    other = make_user()
    assert client.get_user()["User"]["UserName"] == user.name
    assert client.get_user(UserName=user.name)["User"]["UserName"] == user.name
    for name in (other.name, "admin"):
        expect_client_error(
            lambda: client.get_user(UserName=name), code="AccessDenied", status=403,
            message=not_authorized(user.arn, "iam:GetUser", user_arn(account, name)))


def test_condition_that_does_not_hold_denies(server, account, make_user_with_policy):
    user, client = make_user_with_policy(lambda name: policy(allow(
        "iam:GetUser", "*", Condition={"StringEquals": {"aws:username": "someone-else"}})))
    expect_client_error(
        client.get_user, code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:GetUser", user.arn))


def test_create_user_resource_includes_the_path(server, account, make_user_with_policy,
                                                admin_iam):
    path = unique_path()
    user, client = make_user_with_policy(lambda name: policy(
        allow("iam:CreateUser", f"arn:aws:iam::{account}:user{path}*")))
    inside = unique("in")
    created = client.create_user(UserName=inside, Path=path)["User"]
    assert created["Arn"] == user_arn(account, inside, path)
    outside = unique("out")
    expect_client_error(
        lambda: client.create_user(UserName=outside), code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:CreateUser", user_arn(account, outside)))


def test_policy_changes_take_effect_at_once(server, admin_iam, account, limited_user):
    user, client = limited_user
    new_name = unique("new")
    expect_client_error(lambda: client.create_user(UserName=new_name),
                        code="AccessDenied", status=403)
    admin_iam.put_user_policy(UserName=user.name, PolicyName="create",
                              PolicyDocument=policy(allow("iam:CreateUser")))
    client.create_user(UserName=new_name)
    admin_iam.delete_user_policy(UserName=user.name, PolicyName="create")
    expect_client_error(lambda: client.create_user(UserName=unique("new")),
                        code="AccessDenied", status=403)


def test_get_access_key_info_needs_permission(server, account, limited_user):
    user, _ = limited_user
    sts = user.sts(server)
    assert sts.get_caller_identity()["Arn"] == user.arn  # needs no permission
    expect_client_error(lambda: sts.get_access_key_info(AccessKeyId=user.creds.access_key),
                        code="AccessDenied", status=403,
                        contains=(f"User: {user.arn} is not authorized to perform: "
                                  f"sts:GetAccessKeyInfo",
                                  "because no identity-based policy allows the "
                                  "sts:GetAccessKeyInfo action"))


def test_user_without_policies_is_denied_everything(server, account, make_user):
    user = make_user(key=True)
    client = user.iam(server)
    expect_client_error(
        client.get_user, code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:GetUser", user.arn))
    expect_client_error(client.list_users, code="AccessDenied", status=403)


# ---------------------------------------------------------------------------
# session credentials
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["get_user", "list_users", "create_user",
                                       "list_access_keys"])
def test_session_credentials_without_mfa_cannot_call_iam(server, admin_iam, session_creds,
                                                        operation):
    kwargs = {"get_user": {}, "list_users": {}, "create_user": {"UserName": unique("session")},
              "list_access_keys": {"UserName": "admin"}}[operation]
    client = iam_client(server, session_creds)
    expect_client_error(lambda: getattr(client, operation)(**kwargs),
                        code="AccessDenied", status=403)
    if operation == "create_user":
        expect_client_error(lambda: admin_iam.get_user(UserName=kwargs["UserName"]),
                            code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# protocol
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("operation, kwargs", [
    ("create_login_profile", {"UserName": "admin", "Password": "Secret-Passw0rd!"}),
    ("create_instance_profile", {"InstanceProfileName": "p"}),
    ("list_server_certificates", {}),
])
def test_unimplemented_actions(admin_iam, operation, kwargs):
    action = admin_iam.meta.method_to_api_mapping[operation]
    expect_client_error(lambda: getattr(admin_iam, operation)(**kwargs),
                        code="InvalidAction", status=400,
                        message=f"Could not find operation {action} for version 2010-05-08")


def test_iam_request_scoped_to_sts(server, admin):
    request = signed_request(server, admin, body=iam_form("GetUser"), service="sts")
    assert_raw_error(send(request), status=403, code="SignatureDoesNotMatch",
                     contains="Credential should be scoped to correct service: 'iam'",
                     namespace=IAM_NS)


def test_unsigned_iam_request(server):
    client = iam_client(server, None, config=Config(signature_version=UNSIGNED))
    expect_client_error(client.list_users, code="MissingAuthenticationToken", status=403)


def test_missing_required_parameter(server, admin):
    resp = send(signed_request(server, admin, body=iam_form("DeleteUser"), service="iam"))
    assert_raw_error(resp, status=400, code="ValidationError", namespace=IAM_NS,
                     message="1 validation error detected: Value null at 'userName' failed "
                             "to satisfy constraint: Member must not be null")


def test_unknown_access_key_on_iam(server):
    client = iam_client(server, Creds(random_akia(), random_secret()))
    expect_client_error(client.get_user, code="InvalidClientTokenId", status=403,
                        message=INVALID_TOKEN)


# ---------------------------------------------------------------------------
# persistence
# ---------------------------------------------------------------------------


def test_iam_writes_survive_a_restart(start_server):
    srv = start_server("iam-restart")
    admin = srv.admin_credentials()
    iam = iam_client(srv, admin)
    path = "/persist/"
    user = iam.create_user(UserName="keeper", Path=path,
                           Tags=[{"Key": "Team", "Value": "blue"}])["User"]
    active = key_creds(iam.create_access_key(UserName="keeper")["AccessKey"])
    inactive = key_creds(iam.create_access_key(UserName="keeper")["AccessKey"])
    iam.update_access_key(UserName="keeper", AccessKeyId=inactive.access_key, Status="Inactive")
    document = policy(allow("iam:GetUser", user["Arn"]))
    iam.put_user_policy(UserName="keeper", PolicyName="self", PolicyDocument=document)
    iam.create_user(UserName="gone")
    iam.delete_user(UserName="gone")

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    srv.start()

    iam = iam_client(srv, admin)
    assert iam.get_user(UserName="keeper")["User"] == user
    assert caller_arn(srv, active) == user["Arn"]
    assert iam_client(srv, active).get_user()["User"]["UserId"] == user["UserId"]
    expect_invalid_token(srv, inactive)
    statuses = {k["AccessKeyId"]: k["Status"]
                for k in iam.list_access_keys(UserName="keeper")["AccessKeyMetadata"]}
    assert statuses == {active.access_key: "Active", inactive.access_key: "Inactive"}
    assert iam.get_user_policy(UserName="keeper", PolicyName="self")["PolicyDocument"] == (
        json.loads(document))
    expect_client_error(lambda: iam.get_user(UserName="gone"), code="NoSuchEntity", status=404)
    assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == ["admin", "keeper"]


# ---------------------------------------------------------------------------
# aws CLI
# ---------------------------------------------------------------------------


def test_aws_cli_round_trip(server, account, tmp_path):
    admin_file = admin_credentials_path(server.data_dir)

    def cli(*args, credentials_file=admin_file):
        return run_aws_cli(server, list(args), credentials_file=credentials_file, home=tmp_path)

    name = unique("cli")
    created = cli("iam", "create-user", "--user-name", name, "--path", "/cli/")["User"]
    assert created["Arn"] == user_arn(account, name, "/cli/")

    listed = cli("iam", "list-users", "--path-prefix", "/cli/")["Users"]
    assert name in [u["UserName"] for u in listed]

    key = cli("iam", "create-access-key", "--user-name", name)["AccessKey"]
    assert key["Status"] == "Active" and len(key["SecretAccessKey"]) == 40

    document = policy(allow("iam:GetUser", user_arn(account, name, "/cli/")))
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(document, encoding="utf-8")
    cli("iam", "put-user-policy", "--user-name", name, "--policy-name", "self",
        "--policy-document", f"file://{policy_file}")
    got = cli("iam", "get-user-policy", "--user-name", name, "--policy-name", "self")
    assert got["PolicyName"] == "self"
    assert got["PolicyDocument"] == json.loads(document)

    user_file = write_credentials_file(tmp_path / "user-credentials", key_creds(key))
    me = cli("sts", "get-caller-identity", credentials_file=user_file)
    assert me["Arn"] == created["Arn"]
    assert cli("iam", "get-user", credentials_file=user_file)["User"]["UserName"] == name


def test_aws_cli_error_output(server, tmp_path):
    name = unique("nobody")
    proc = run_aws_cli_process(server, ["iam", "get-user", "--user-name", name],
                               credentials_file=admin_credentials_path(server.data_dir),
                               home=tmp_path)
    # aws CLI v1 exits 255 on a service error (v2 would exit 254)
    assert proc.returncode == 255, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert ("An error occurred (NoSuchEntity) when calling the GetUser operation: "
            f"The user with name {name} cannot be found.") in proc.stderr, proc.stderr


# ---------------------------------------------------------------------------
# UpdateUser
# ---------------------------------------------------------------------------


def test_update_user_renames_and_moves_keeping_the_id_and_keys(server, admin_iam, make_user,
                                                               account):
    user = make_user("renamed", key=True)
    new_name = unique("renamed-to")
    admin_iam.update_user(UserName=user.name, NewUserName=new_name, NewPath="/moved/")
    got = admin_iam.get_user(UserName=new_name)["User"]
    assert got["UserId"] == user.user_id
    assert got["Arn"] == f"arn:aws:iam::{account}:user/moved/{new_name}"
    assert got["Path"] == "/moved/"
    expect_client_error(lambda: admin_iam.get_user(UserName=user.name),
                        code="NoSuchEntity", status=404)
    # The access key follows the user.
    assert user.sts(server).get_caller_identity()["Arn"] == got["Arn"]


def test_update_user_path_only(admin_iam, make_user):
    user = make_user("mover")
    admin_iam.update_user(UserName=user.name, NewPath="/team/")
    got = admin_iam.get_user(UserName=user.name)["User"]
    assert (got["UserName"], got["Path"]) == (user.name, "/team/")


def test_update_user_to_a_taken_name(admin_iam, make_user):
    first, second = make_user("taken-a"), make_user("taken-b")
    expect_client_error(
        lambda: admin_iam.update_user(UserName=first.name, NewUserName=second.name.upper()),
        code="EntityAlreadyExists", status=409,
        message=f"User with name {second.name.upper()} already exists.")
    # Changing only the case of one's own name is allowed.
    admin_iam.update_user(UserName=first.name, NewUserName=first.name.upper())
    assert admin_iam.get_user(UserName=first.name)["User"]["UserName"] == first.name.upper()


def test_update_user_errors(admin_iam, admin_iam_unvalidated, make_user):
    expect_client_error(lambda: admin_iam.update_user(UserName=unique("nobody"), NewPath="/x/"),
                        code="NoSuchEntity", status=404)
    user = make_user("bad-rename")
    expect_client_error(
        lambda: admin_iam_unvalidated.update_user(UserName=user.name, NewUserName="a b"),
        code="ValidationError", status=400, contains="newUserName")
    expect_client_error(
        lambda: admin_iam_unvalidated.update_user(UserName=user.name, NewPath="nope"),
        code="ValidationError", status=400, contains="newPath")


def test_update_user_is_authorized(server, make_user, account):
    actor = make_user("updater", key=True)
    target = make_user("update-target")
    expect_client_error(
        lambda: actor.iam(server).update_user(UserName=target.name, NewPath="/x/"),
        code="AccessDenied", status=403,
        message=not_authorized(actor.arn, "iam:UpdateUser",
                               f"arn:aws:iam::{account}:user/{target.name}"))
