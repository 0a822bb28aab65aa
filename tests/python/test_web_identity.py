"""End-to-end tests of Tessera's web-identity federation: the IAM OpenID Connect
provider actions and STS AssumeRoleWithWebIdentity.

Covers the IAM OIDC provider API (create/get/list/delete, client ids,
thumbprints, tags, validation, persistence), AssumeRoleWithWebIdentity with
RS256/ES256/ES384 tokens from a test IdP (tests/python/oidc_idp.py) served
over HTTPS from a test CA that the server trusts through
TESSERA_OIDC_CA_BUNDLE, the response and the session it opens, audiences
(aud string or array, azp), DurationSeconds, source identity and session
tags from the token's claims, trust-policy conditions on ``<provider>:sub``
and ``<provider>:aud``, every token check with its exact error, JWKS caching
(refetch on an unknown kid after TESSERA_OIDC_REFRESH_INTERVAL_SECS, no
stampede), an unreachable or untrusted IdP, plain-HTTP issuers under
TESSERA_OIDC_INSECURE_HTTP, the aws CLI and botocore's web-identity
credential provider (the IRSA convention: AWS_WEB_IDENTITY_TOKEN_FILE,
AWS_ROLE_ARN, AWS_ENDPOINT_URL_STS).

Servers: the IAM API tests use the session's shared server; the STS tests
use module-scoped servers started with the environment they need (a CA
bundle, a refresh interval, the insecure-HTTP flag).  Tests keep out of
each other's way with unique role names and, where an IdP's state matters
(rotation, counters, outages), an IdP of their own.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python/test_web_identity.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import os
import re
import secrets
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

import boto3
import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from oidc_idp import SigningKey, TestCA, TestIdP, b64url_decode, replace_payload
from tessera_testlib import (
    DEFAULT_REGION,
    FORM_CONTENT_TYPE,
    NO_RETRIES,
    Creds,
    TesseraServer,
    assert_expires_in,
    assert_raw_error,
    aws_cli_path,
    expect_client_error,
    form,
    http_request,
    utcnow,
)
from test_assume_role import (  # helpers (no tests)
    ASIA_RE,
    MAX_SESSION_LIMIT,
    SECRET_RE,
    TOKEN_RE,
    session_arn,
    tags,
)
from test_iam_users import (  # helpers and the fixtures account, admin_iam_unvalidated
    account,  # noqa: F401          and make_user (no tests)
    admin_iam_unvalidated,  # noqa: F401
    allow,
    assert_recent,
    make_user,  # noqa: F401
    not_authorized,
    policy,
    tag_dict,
    unique,
)

CLIENT_ID = "tessera-test"  # the default aud of TestIdP.claims()
OTHER_CLIENT = "tessera-other"
THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
OTHER_THUMBPRINT = "0123456789abcdef0123456789abcdef01234567"

WEB = "sts:AssumeRoleWithWebIdentity"
ALL_ACTIONS = (WEB, "sts:TagSession", "sts:SetSourceIdentity")
TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"

NOT_A_JWT = ("The ID Token provided is not a valid JWT. "
             "(You may see this error if you sent an Access Token)")
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
UNSUPPORTED_ALGORITHM = "Unsupported signing algorithm"
NO_VERIFICATION_KEY = "Couldn't retrieve verification key from your identity provider"
BAD_SIGNATURE = "The ID Token signature is invalid"
INCORRECT_AUDIENCE = "Incorrect token audience"
INVALID_TAGS = "Invalid session tags in the ID Token"
EXPIRED = "Token expired: current date/time "
NOT_YET_VALID = "Token not yet valid"
ISSUED_IN_FUTURE = "Token issued in the future"
TOO_OLD = "Token too old"

UNSIGNED_CONFIG = Config(signature_version=UNSIGNED)
NOT_VALIDATED = Config(parameter_validation=False)


def no_provider(issuer: str) -> str:
    return f"No OpenIDConnect provider found in your account for {issuer}"


# ---------------------------------------------------------------------------
# clients and a server wrapper
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _boto_session() -> boto3.session.Session:
    # Created on first use (after conftest has isolated the AWS environment) and
    # shared: clients from a warm session are cheap to build.
    return boto3.session.Session()


def client(service: str, server: TesseraServer, creds: Optional[Creds] = None, *,
           unvalidated: bool = False):
    """A never-retrying boto3 client; without ``creds`` it sends unsigned requests."""
    config = NO_RETRIES
    if creds is None:
        config = config.merge(UNSIGNED_CONFIG)
    if unvalidated:
        config = config.merge(NOT_VALIDATED)
    keys = {}
    if creds is not None:
        keys = {"aws_access_key_id": creds.access_key, "aws_secret_access_key": creds.secret_key,
                "aws_session_token": creds.token}
    return _boto_session().client(service, endpoint_url=server.endpoint,
                                  region_name=DEFAULT_REGION, config=config, **keys)


def creds_of(response: dict) -> Creds:
    return Creds.from_sts(response["Credentials"])


def web_trust(provider_arn: str, actions=(WEB,), condition: Optional[dict] = None) -> str:
    """A trust policy allowing ``actions`` to the federated principal ``provider_arn``."""
    statement = {"Effect": "Allow", "Principal": {"Federated": provider_arn},
                 "Action": actions[0] if len(actions) == 1 else list(actions)}
    if condition:
        statement["Condition"] = condition
    return policy(statement)


class Stage:
    """A running Tessera server, its admin's clients and web-identity helpers."""

    def __init__(self, server: TesseraServer):
        self.server = server
        self.admin = server.admin_credentials()
        self.iam = client("iam", server, self.admin)
        self.account = client("sts", server, self.admin).get_caller_identity()["Account"]
        self.anonymous = client("sts", server)
        self.anonymous_unvalidated = client("sts", server, unvalidated=True)

    def register(self, idp: TestIdP, client_ids=(CLIENT_ID, OTHER_CLIENT),
                 thumbprints=None, url: Optional[str] = None) -> str:
        """CreateOpenIDConnectProvider for ``idp``; returns the provider ARN."""
        if thumbprints is None:
            thumbprints = [idp.ca.thumbprint if idp.ca is not None else THUMBPRINT]
        arn = self.iam.create_open_id_connect_provider(
            Url=url or idp.issuer, ClientIDList=list(client_ids),
            ThumbprintList=list(thumbprints))["OpenIDConnectProviderArn"]
        assert arn == idp.provider_arn(self.account)
        return arn

    def role(self, provider_arn: str, *, actions=(WEB,), condition: Optional[dict] = None,
             policies: Optional[dict] = None, prefix: str = "web", **kwargs) -> dict:
        """A role trusting ``provider_arn`` (CreateRole ``Role``); ``policies`` are
        inline role policies."""
        name = unique(prefix)
        role = self.iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=web_trust(provider_arn, actions, condition),
            **kwargs)["Role"]
        for policy_name, document in (policies or {}).items():
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name,
                                     PolicyDocument=document)
        return role

    def assume(self, token: str, role_arn: str, session: str = "web-session", *,
               unvalidated: bool = False, **kwargs) -> dict:
        sts = self.anonymous_unvalidated if unvalidated else self.anonymous
        return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName=session,
                                                 WebIdentityToken=token, **kwargs)

    def expect(self, token: str, role_arn: str, *, code: str, status: int = 400,
               message: Optional[str] = None, startswith: Optional[str] = None,
               unvalidated: bool = False, **kwargs) -> dict:
        return expect_client_error(
            lambda: self.assume(token, role_arn, unvalidated=unvalidated, **kwargs),
            code=code, status=status, message=message, startswith=startswith)

    def expect_denied(self, token: str, role_arn: str, **kwargs) -> dict:
        return self.expect(token, role_arn, code="AccessDenied", status=403,
                           message=NOT_AUTHORIZED, **kwargs)

    def caller(self, creds: Creds) -> dict:
        return client("sts", self.server, creds).get_caller_identity()

    def iam_as(self, creds: Creds):
        return client("iam", self.server, creds)


@dataclasses.dataclass
class Federation:
    """An IdP registered on a stage, with a role trusting it for ALL_ACTIONS."""
    stage: Stage
    idp: TestIdP
    provider_arn: str
    role: dict

    @property
    def role_arn(self) -> str:
        return self.role["Arn"]

    def assume(self, token: Optional[str] = None, session: str = "web-session",
               **kwargs) -> dict:
        return self.stage.assume(token or self.idp.mint(), self.role_arn, session, **kwargs)

    def expect(self, token: str, **kwargs) -> dict:
        return self.stage.expect(token, self.role_arn, **kwargs)


def start_tessera(tessera_bin, tmp_path_factory, name: str, env: dict) -> TesseraServer:
    base = tmp_path_factory.mktemp(name)
    data_dir = base / "data"
    data_dir.mkdir()
    srv = TesseraServer(tessera_bin, data_dir, base / "server.log", env_extra=env)
    return srv.start()


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> TestCA:
    """The test CA that signs every HTTPS IdP's certificate in this module."""
    return TestCA(tmp_path_factory.mktemp("oidc-ca"))


def _stage(tessera_bin, tmp_path_factory, name: str, env: dict):
    srv = start_tessera(tessera_bin, tmp_path_factory, name, env)
    try:
        yield Stage(srv)
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def trusting(tessera_bin, tmp_path_factory, ca):
    """A server that trusts the test CA (default JWKS refresh interval)."""
    yield from _stage(tessera_bin, tmp_path_factory, "oidc-trusting",
                      {"TESSERA_OIDC_CA_BUNDLE": str(ca.pem_path)})


@pytest.fixture(scope="module")
def quick_refresh(tessera_bin, tmp_path_factory, ca):
    """A server that may refetch an IdP's JWKS one second after the last fetch."""
    yield from _stage(tessera_bin, tmp_path_factory, "oidc-refresh-1s",
                      {"TESSERA_OIDC_CA_BUNDLE": str(ca.pem_path),
                       "TESSERA_OIDC_REFRESH_INTERVAL_SECS": "1"})


@pytest.fixture(scope="module")
def slow_refresh(tessera_bin, tmp_path_factory, ca):
    """A server that refetches an IdP's JWKS at most every 30 seconds."""
    yield from _stage(tessera_bin, tmp_path_factory, "oidc-refresh-30s",
                      {"TESSERA_OIDC_CA_BUNDLE": str(ca.pem_path),
                       "TESSERA_OIDC_REFRESH_INTERVAL_SECS": "30"})


@pytest.fixture(scope="module")
def insecure(tessera_bin, tmp_path_factory):
    """A server started with the development flag that allows http:// issuers."""
    yield from _stage(tessera_bin, tmp_path_factory, "oidc-insecure-http",
                      {"TESSERA_OIDC_INSECURE_HTTP": "true"})


@pytest.fixture(scope="module")
def shared(server) -> Stage:
    """The session's shared server: no CA bundle, no development flag."""
    return Stage(server)


@pytest.fixture(scope="module")
def main_idp(ca):
    """An HTTPS IdP with an RS256, an ES256 and an ES384 key (in that order)."""
    idp = TestIdP(ca=ca, algorithms=("RS256", "ES256", "ES384"))
    yield idp
    idp.close()


@pytest.fixture(scope="module")
def fed(trusting, main_idp) -> Federation:
    """main_idp registered on the trusting server (client ids CLIENT_ID and
    OTHER_CLIENT) and a role that trusts it for AssumeRoleWithWebIdentity,
    TagSession and SetSourceIdentity."""
    arn = trusting.register(main_idp)
    return Federation(trusting, main_idp, arn, trusting.role(arn, actions=ALL_ACTIONS))


@pytest.fixture
def make_idp(ca):
    """Factory: ``make_idp(https=True, **TestIdP kwargs)``; closed at teardown."""
    idps = []

    def factory(https: bool = True, **kwargs) -> TestIdP:
        idp = TestIdP(ca=ca if https else None, **kwargs)
        idps.append(idp)
        return idp

    yield factory
    for idp in idps:
        idp.close()


@pytest.fixture
def make_fed(make_idp):
    """Factory: ``make_fed(stage, https=True, actions=ALL_ACTIONS, thumbprints=None,
    **TestIdP kwargs)``: a Federation with an IdP of its own (``thumbprints`` as for
    Stage.register: by default the test CA's)."""

    def factory(stage: Stage, *, https: bool = True, actions=ALL_ACTIONS, thumbprints=None,
                **kwargs) -> Federation:
        idp = make_idp(https, **kwargs)
        arn = stage.register(idp, thumbprints=thumbprints)
        return Federation(stage, idp, arn, stage.role(arn, actions=actions))

    return factory


def oidc_url(path: str = "") -> str:
    """A unique https provider Url (never fetched by the IAM API tests)."""
    return f"https://{unique('oidc')}.example.com{path}"


def provider_arn_for(account: str, url: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{url.split('://', 1)[1]}"


# ---------------------------------------------------------------------------
# IAM OpenID Connect provider API
# ---------------------------------------------------------------------------


def test_create_and_get_oidc_provider(admin_iam, account):
    url = oidc_url()
    created = admin_iam.create_open_id_connect_provider(
        Url=url, ClientIDList=[CLIENT_ID, OTHER_CLIENT], ThumbprintList=[THUMBPRINT],
        Tags=tags(team="blue", env="test"))
    arn = created["OpenIDConnectProviderArn"]
    assert arn == provider_arn_for(account, url)
    assert tag_dict(created["Tags"]) == {"team": "blue", "env": "test"}

    got = admin_iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == url.removeprefix("https://")  # IAM shows the Url without its scheme
    assert sorted(got["ClientIDList"]) == sorted([CLIENT_ID, OTHER_CLIENT])
    assert got["ThumbprintList"] == [THUMBPRINT]
    assert_recent(got["CreateDate"])
    assert tag_dict(got["Tags"]) == {"team": "blue", "env": "test"}


def test_create_oidc_provider_with_a_path(admin_iam, account):
    # Issuers such as Keycloak realms have a path; it is part of the provider's name.
    url = oidc_url("/realms/test")
    arn = admin_iam.create_open_id_connect_provider(
        Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])["OpenIDConnectProviderArn"]
    assert arn == provider_arn_for(account, url)
    assert arn.endswith(".example.com/realms/test")
    got = admin_iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == url.removeprefix("https://")
    assert got.get("Tags", []) == []


def test_list_oidc_providers(admin_iam):
    arns = [admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"] for _ in range(2)]
    listed = [p["Arn"] for p in admin_iam.list_open_id_connect_providers()[
        "OpenIDConnectProviderList"]]
    assert set(arns) <= set(listed)
    assert len(listed) == len(set(listed))

    admin_iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arns[0])
    listed = [p["Arn"] for p in admin_iam.list_open_id_connect_providers()[
        "OpenIDConnectProviderList"]]
    assert arns[0] not in listed and arns[1] in listed


def test_add_and_remove_client_ids(admin_iam):
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"]

    def client_ids():
        return sorted(admin_iam.get_open_id_connect_provider(
            OpenIDConnectProviderArn=arn)["ClientIDList"])

    admin_iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                        ClientID=OTHER_CLIENT)
    assert client_ids() == sorted([CLIENT_ID, OTHER_CLIENT])
    # adding a client id that is already there changes nothing and is no error
    admin_iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                        ClientID=OTHER_CLIENT)
    assert client_ids() == sorted([CLIENT_ID, OTHER_CLIENT])

    admin_iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                             ClientID=CLIENT_ID)
    assert client_ids() == [OTHER_CLIENT]
    # removing a client id that is not there is a no-op
    admin_iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                             ClientID="never-added")
    assert client_ids() == [OTHER_CLIENT]


def test_update_thumbprint_replaces_the_list(admin_iam):
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"]
    admin_iam.update_open_id_connect_provider_thumbprint(
        OpenIDConnectProviderArn=arn, ThumbprintList=[OTHER_THUMBPRINT, "a" * 40])
    got = admin_iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert sorted(got["ThumbprintList"]) == sorted([OTHER_THUMBPRINT, "a" * 40])
    assert got["ClientIDList"] == [CLIENT_ID]


def test_tag_untag_and_list_oidc_provider_tags(admin_iam):
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT],
        Tags=tags(team="blue"))["OpenIDConnectProviderArn"]

    def listed():
        return tag_dict(admin_iam.list_open_id_connect_provider_tags(
            OpenIDConnectProviderArn=arn)["Tags"])

    assert listed() == {"team": "blue"}
    admin_iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                           Tags=tags(team="red", cost="42"))
    assert listed() == {"team": "red", "cost": "42"}
    admin_iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                             TagKeys=["team", "absent"])
    assert listed() == {"cost": "42"}
    got = admin_iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert tag_dict(got["Tags"]) == {"cost": "42"}


def test_delete_oidc_provider(admin_iam):
    url = oidc_url()
    arn = admin_iam.create_open_id_connect_provider(
        Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"]
    admin_iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    expect_client_error(lambda: admin_iam.get_open_id_connect_provider(
        OpenIDConnectProviderArn=arn), code="NoSuchEntity", status=404)
    expect_client_error(lambda: admin_iam.delete_open_id_connect_provider(
        OpenIDConnectProviderArn=arn), code="NoSuchEntity", status=404)
    # the Url is free again
    again = admin_iam.create_open_id_connect_provider(
        Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])
    assert again["OpenIDConnectProviderArn"] == arn


def test_duplicate_provider_url(admin_iam):
    url = oidc_url()
    admin_iam.create_open_id_connect_provider(Url=url, ClientIDList=[CLIENT_ID],
                                              ThumbprintList=[THUMBPRINT])
    expect_client_error(
        lambda: admin_iam.create_open_id_connect_provider(
            Url=url, ClientIDList=[OTHER_CLIENT], ThumbprintList=[OTHER_THUMBPRINT]),
        code="EntityAlreadyExists", status=409)


@pytest.mark.parametrize("operation, kwargs", [
    ("get_open_id_connect_provider", {}),
    ("delete_open_id_connect_provider", {}),
    ("add_client_id_to_open_id_connect_provider", {"ClientID": CLIENT_ID}),
    ("remove_client_id_from_open_id_connect_provider", {"ClientID": CLIENT_ID}),
    ("update_open_id_connect_provider_thumbprint", {"ThumbprintList": [THUMBPRINT]}),
    ("tag_open_id_connect_provider", {"Tags": tags(team="blue")}),
    ("untag_open_id_connect_provider", {"TagKeys": ["team"]}),
    ("list_open_id_connect_provider_tags", {}),
])
def test_operations_on_unknown_provider(admin_iam, account, operation, kwargs):
    arn = provider_arn_for(account, oidc_url())
    expect_client_error(
        lambda: getattr(admin_iam, operation)(OpenIDConnectProviderArn=arn, **kwargs),
        code="NoSuchEntity", status=404)


@pytest.mark.parametrize("url", [
    "http://{host}",
    "ftp://{host}",
    "{host}",
    "HTTP://{host}/realms/x",
], ids=["http", "ftp", "no-scheme", "upper-case-http"])
def test_provider_url_must_be_https(admin_iam, url):
    url = url.format(host=f"{unique('oidc')}.example.com")
    expect_client_error(
        lambda: admin_iam.create_open_id_connect_provider(
            Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT]),
        code="InvalidInput", status=400)


@pytest.mark.parametrize("suffix", ["/?a=b", "?a=b", "/#fragment", "#fragment"])
def test_provider_url_with_query_or_fragment(admin_iam, suffix):
    url = oidc_url() + suffix
    expect_client_error(
        lambda: admin_iam.create_open_id_connect_provider(
            Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT]),
        code="InvalidInput", status=400)


@pytest.mark.parametrize("thumbprint", ["a" * 39, "a" * 41, ""], ids=["39", "41", "empty"])
def test_thumbprint_of_the_wrong_length(admin_iam, admin_iam_unvalidated, thumbprint):
    # The model constrains a thumbprint to exactly 40 characters.
    expect_client_error(
        lambda: admin_iam_unvalidated.create_open_id_connect_provider(
            Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[thumbprint]),
        code="ValidationError", status=400)
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"]
    expect_client_error(
        lambda: admin_iam_unvalidated.update_open_id_connect_provider_thumbprint(
            OpenIDConnectProviderArn=arn, ThumbprintList=[thumbprint]),
        code="ValidationError", status=400)


@pytest.mark.parametrize("thumbprint", ["g" * 40, "9e99a48a9960b14926bb7f3b02e22da2b0ab728-",
                                        "9e99a48a9960b14926bb7f3b02e22da2b0ab72 0"],
                         ids=["g", "dash", "space"])
def test_thumbprint_that_is_not_hex(admin_iam, thumbprint):
    expect_client_error(
        lambda: admin_iam.create_open_id_connect_provider(
            Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[thumbprint]),
        code="InvalidInput", status=400)
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"]
    expect_client_error(
        lambda: admin_iam.update_open_id_connect_provider_thumbprint(
            OpenIDConnectProviderArn=arn, ThumbprintList=[thumbprint]),
        code="InvalidInput", status=400)


def test_at_most_five_thumbprints(admin_iam):
    five = [f"{i:040x}" for i in range(1, 6)]
    six = five + [THUMBPRINT]
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=five)[
        "OpenIDConnectProviderArn"]
    expect_client_error(
        lambda: admin_iam.create_open_id_connect_provider(
            Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=six),
        code="LimitExceeded", status=409)
    expect_client_error(
        lambda: admin_iam.update_open_id_connect_provider_thumbprint(
            OpenIDConnectProviderArn=arn, ThumbprintList=six),
        code="LimitExceeded", status=409)
    assert sorted(admin_iam.get_open_id_connect_provider(
        OpenIDConnectProviderArn=arn)["ThumbprintList"]) == sorted(five)


def test_at_most_one_hundred_client_ids(admin_iam):
    hundred = [f"client-{i:03d}" for i in range(100)]
    expect_client_error(
        lambda: admin_iam.create_open_id_connect_provider(
            Url=oidc_url(), ClientIDList=hundred + ["client-100"], ThumbprintList=[THUMBPRINT]),
        code="LimitExceeded", status=409)
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=hundred, ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"]
    expect_client_error(
        lambda: admin_iam.add_client_id_to_open_id_connect_provider(
            OpenIDConnectProviderArn=arn, ClientID="client-100"),
        code="LimitExceeded", status=409)
    # re-adding one of the hundred is still the idempotent no-op
    admin_iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn,
                                                        ClientID="client-007")
    assert len(admin_iam.get_open_id_connect_provider(
        OpenIDConnectProviderArn=arn)["ClientIDList"]) == 100


def test_oidc_provider_actions_need_permission(server, admin_iam, account, make_user):
    user = make_user("oidc-admin", key=True)
    arn = admin_iam.create_open_id_connect_provider(
        Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"]
    iam = user.iam(server)
    expect_client_error(
        lambda: iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn),
        code="AccessDenied", status=403,
        message=not_authorized(user.arn, "iam:GetOpenIDConnectProvider", arn))
    expect_client_error(
        lambda: iam.create_open_id_connect_provider(
            Url=oidc_url(), ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT]),
        code="AccessDenied", status=403,
        startswith=(f"User: {user.arn} is not authorized to perform: "
                    f"iam:CreateOpenIDConnectProvider"))

    admin_iam.put_user_policy(UserName=user.name, PolicyName="oidc", PolicyDocument=policy(
        allow(["iam:GetOpenIDConnectProvider", "iam:CreateOpenIDConnectProvider"],
              f"arn:aws:iam::{account}:oidc-provider/*")))
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == [
        CLIENT_ID]
    url = oidc_url()
    assert iam.create_open_id_connect_provider(
        Url=url, ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT])[
        "OpenIDConnectProviderArn"] == provider_arn_for(account, url)


def test_providers_survive_a_restart(start_server, ca, make_idp):
    srv = start_server("oidc-restart", env_extra={"TESSERA_OIDC_CA_BUNDLE": str(ca.pem_path)})
    stage = Stage(srv)
    idp = make_idp()
    arn = stage.register(idp, client_ids=[CLIENT_ID])
    stage.iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=tags(team="blue"))
    role = stage.role(arn)
    stage.assume(idp.mint(), role["Arn"])
    before = stage.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    srv.start()

    stage = Stage(srv)
    after = stage.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    for field in ("Url", "ClientIDList", "ThumbprintList", "CreateDate", "Tags"):
        assert after[field] == before[field], field
    resp = stage.assume(idp.mint(), role["Arn"], "after-restart")
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(stage.account, role["RoleName"],
                                                         "after-restart")


# ---------------------------------------------------------------------------
# AssumeRoleWithWebIdentity: the response and the session
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES384"])
def test_valid_token_opens_a_role_session(fed, alg):
    idp, stage = fed.idp, fed.stage
    token = idp.mint(idp.claims(sub=f"subject-{alg}"), kid=idp.key_for(alg).kid)
    resp = fed.assume(token, "my-web-session")

    credentials = resp["Credentials"]
    assert re.fullmatch(ASIA_RE, credentials["AccessKeyId"]), credentials["AccessKeyId"]
    assert re.fullmatch(SECRET_RE, credentials["SecretAccessKey"])
    assert re.fullmatch(TOKEN_RE, credentials["SessionToken"])
    assert_expires_in(credentials["Expiration"], 3600, tolerance=60)

    expected_arn = session_arn(stage.account, fed.role["RoleName"], "my-web-session")
    assert resp["AssumedRoleUser"] == {
        "AssumedRoleId": f"{fed.role['RoleId']}:my-web-session", "Arn": expected_arn}
    assert resp["SubjectFromWebIdentityToken"] == f"subject-{alg}"
    assert resp["Audience"] == CLIENT_ID
    assert resp["Provider"] == fed.provider_arn
    assert "SourceIdentity" not in resp
    assert "PackedPolicySize" not in resp

    me = stage.caller(creds_of(resp))
    assert (me["Arn"], me["UserId"], me["Account"]) == (
        expected_arn, f"{fed.role['RoleId']}:my-web-session", stage.account)


def test_default_boto3_client_does_not_sign(fed):
    # botocore models AssumeRoleWithWebIdentity as unauthenticated: a client with
    # no credentials at all (and no UNSIGNED config) sends it without a signature.
    sent = []
    sts = boto3.session.Session().client("sts", endpoint_url=fed.stage.server.endpoint,
                                         region_name=DEFAULT_REGION, config=NO_RETRIES)
    sts.meta.events.register("before-send.sts.AssumeRoleWithWebIdentity",
                             lambda request, **_: sent.append(dict(request.headers)))
    resp = sts.assume_role_with_web_identity(RoleArn=fed.role_arn, RoleSessionName="plain",
                                             WebIdentityToken=fed.idp.mint())
    assert len(sent) == 1 and "Authorization" not in sent[0], sent
    assert resp["AssumedRoleUser"]["Arn"].endswith(f"/{fed.role['RoleName']}/plain")


def test_audience_as_an_array(fed):
    idp = fed.idp
    resp = fed.assume(idp.mint(idp.claims(aud=[OTHER_CLIENT])))
    assert resp["Audience"] == OTHER_CLIENT


def test_azp_matches_when_aud_does_not(fed):
    # Some IdPs put the client id in azp and another audience in aud.
    idp = fed.idp
    resp = fed.assume(idp.mint(idp.claims(aud="https://some-api.example", azp=CLIENT_ID)))
    assert resp["Audience"] == CLIENT_ID
    assert resp["SubjectFromWebIdentityToken"] == "user-1"


def test_issuer_with_a_path(trusting, make_idp):
    # Keycloak-style issuer https://host:port/realms/test: discovery lives under the
    # path, and the provider's name (ARN, condition keys) includes it.
    idp = make_idp(path="/realms/test")
    arn = trusting.register(idp)
    assert arn == f"arn:aws:iam::{trusting.account}:oidc-provider/127.0.0.1:{idp.port}/realms/test"
    role = trusting.role(arn, condition={"StringEquals": {
        f"{idp.host_path}:sub": "alice", f"{idp.host_path}:aud": CLIENT_ID}})
    resp = trusting.assume(idp.mint(idp.claims(sub="alice")), role["Arn"])
    assert resp["Provider"] == arn
    trusting.expect_denied(idp.mint(idp.claims(sub="bob")), role["Arn"])
    assert idp.discovery_fetches >= 1 and idp.jwks_fetches >= 1
    assert set(idp.requests) <= {"/realms/test/.well-known/openid-configuration",
                                 "/realms/test/keys"}, idp.requests


@pytest.mark.parametrize("max_session, duration", [
    (None, None), (None, 900), (None, 3600), (7200, 7200), (43200, 43200),
])
def test_duration_within_limits(fed, max_session, duration):
    stage = fed.stage
    role = stage.role(fed.provider_arn, **({"MaxSessionDuration": max_session}
                                           if max_session else {}))
    kwargs = {"DurationSeconds": duration} if duration else {}
    resp = stage.assume(fed.idp.mint(), role["Arn"], **kwargs)
    assert_expires_in(resp["Credentials"]["Expiration"], duration or 3600, tolerance=60)


@pytest.mark.parametrize("max_session, duration", [(None, 3601), (7200, 7201)])
def test_duration_above_max_session_duration(fed, max_session, duration):
    stage = fed.stage
    role = stage.role(fed.provider_arn, **({"MaxSessionDuration": max_session}
                                           if max_session else {}))
    stage.expect(fed.idp.mint(), role["Arn"], code="ValidationError",
                 message=MAX_SESSION_LIMIT, DurationSeconds=duration)


@pytest.mark.parametrize("duration", [899, 43201])
def test_duration_outside_the_model_range(fed, duration):
    role = fed.stage.role(fed.provider_arn, MaxSessionDuration=43200)
    error = fed.stage.expect(fed.idp.mint(), role["Arn"], code="ValidationError",
                             unvalidated=True, DurationSeconds=duration)
    assert "durationSeconds" in error["Error"]["Message"], error["Error"]["Message"]


def test_source_identity_claim(fed):
    idp, stage = fed.idp, fed.stage
    token = idp.mint(idp.claims(**{SOURCE_IDENTITY_CLAIM: "alice@example"}))
    resp = fed.assume(token)
    assert resp["SourceIdentity"] == "alice@example"
    assert "PackedPolicySize" not in resp

    # the trust policy must also allow sts:SetSourceIdentity
    plain = stage.role(fed.provider_arn, actions=(WEB, "sts:TagSession"))
    stage.expect_denied(token, plain["Arn"])
    stage.assume(idp.mint(), plain["Arn"])


def team_token(idp: TestIdP, team: str, transitive=("team",), **claims) -> str:
    return idp.mint(idp.claims(**{TAGS_CLAIM: {"principal_tags": {"team": [team]},
                                               "transitive_tag_keys": list(transitive)}},
                               **claims))


def test_session_tags_claim_requires_tag_session(fed):
    stage = fed.stage
    role = stage.role(fed.provider_arn, actions=(WEB, "sts:SetSourceIdentity"))
    stage.expect_denied(team_token(fed.idp, "blue"), role["Arn"])
    stage.assume(fed.idp.mint(), role["Arn"])  # without the claim the role is fine


def test_session_tags_claim_sets_principal_tags(fed):
    # The token's principal_tags are the session's aws:PrincipalTag/* keys, as a role
    # policy with a condition on aws:PrincipalTag/team shows.
    stage = fed.stage
    role = stage.role(fed.provider_arn, actions=ALL_ACTIONS, policies={
        "team-blue": policy(allow("iam:GetRole", Condition={
            "StringEquals": {"aws:PrincipalTag/team": "blue"}}))})
    name = role["RoleName"]

    blue = stage.assume(team_token(fed.idp, "blue"), role["Arn"])
    assert 0 <= blue["PackedPolicySize"] <= 100
    assert stage.iam_as(creds_of(blue)).get_role(RoleName=name)["Role"]["Arn"] == role["Arn"]

    for token in (team_token(fed.idp, "red"), fed.idp.mint()):
        session = creds_of(stage.assume(token, role["Arn"]))
        expect_client_error(lambda: stage.iam_as(session).get_role(RoleName=name),
                            code="AccessDenied", status=403)


def test_transitive_tags_from_the_token_pass_down_a_role_chain(fed):
    stage = fed.stage
    first = stage.role(fed.provider_arn, actions=ALL_ACTIONS)
    second_trust = policy({"Effect": "Allow", "Principal": {"AWS": first["Arn"]},
                           "Action": ["sts:AssumeRole", "sts:TagSession"],
                           "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}})
    second_name = unique("chained")
    second = stage.iam.create_role(RoleName=second_name,
                                   AssumeRolePolicyDocument=second_trust)["Role"]
    stage.iam.put_role_policy(RoleName=second_name, PolicyName="team-blue", PolicyDocument=policy(
        allow("iam:GetRole", Condition={"StringEquals": {"aws:PrincipalTag/team": "blue"}})))

    blue = creds_of(stage.assume(team_token(fed.idp, "blue"), first["Arn"], "one"))
    chained = client("sts", stage.server, blue).assume_role(RoleArn=second["Arn"],
                                                            RoleSessionName="two")
    assert chained["AssumedRoleUser"]["Arn"] == session_arn(stage.account, second_name, "two")
    # the chained session inherited the transitive tag team=blue
    chained_iam = stage.iam_as(creds_of(chained))
    assert chained_iam.get_role(RoleName=second_name)["Role"]["Arn"] == second["Arn"]

    red = creds_of(stage.assume(team_token(fed.idp, "red"), first["Arn"], "one"))
    expect_client_error(
        lambda: client("sts", stage.server, red).assume_role(RoleArn=second["Arn"],
                                                             RoleSessionName="two"),
        code="AccessDenied", status=403)


def test_fifty_session_tags_at_the_size_limits_are_accepted(fed):
    idp = fed.idp
    principal_tags = {f"k{i:02d}": ["v"] for i in range(49)}
    principal_tags["K" * 128] = ["V" * 256]
    resp = fed.assume(idp.mint(idp.claims(**{TAGS_CLAIM: {"principal_tags": principal_tags}})))
    assert 0 <= resp["PackedPolicySize"] <= 100


@pytest.mark.parametrize("principal_tags", [
    {f"k{i:02d}": ["v"] for i in range(51)},
    {"k" * 129: ["v"]},
    {"team": ["v" * 257]},
], ids=["51-tags", "key-129", "value-257"])
def test_invalid_session_tags_claim(fed, principal_tags):
    idp = fed.idp
    token = idp.mint(idp.claims(**{TAGS_CLAIM: {"principal_tags": principal_tags}}))
    fed.expect(token, code="InvalidIdentityToken", startswith=INVALID_TAGS)


# ---------------------------------------------------------------------------
# trust-policy conditions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("operator, pattern", [
    ("StringEquals", "system:serviceaccount:apps:web"),
    ("StringLike", "system:serviceaccount:apps:*"),
])
def test_sub_condition(fed, operator, pattern):
    idp, stage = fed.idp, fed.stage
    role = stage.role(fed.provider_arn, condition={
        operator: {f"{idp.host_path}:sub": pattern}})
    resp = stage.assume(idp.mint(idp.claims(sub="system:serviceaccount:apps:web")), role["Arn"])
    assert resp["SubjectFromWebIdentityToken"] == "system:serviceaccount:apps:web"
    stage.expect_denied(idp.mint(idp.claims(sub="system:serviceaccount:other:web")),
                        role["Arn"])


def test_aud_condition(fed):
    idp, stage = fed.idp, fed.stage
    role = stage.role(fed.provider_arn, condition={
        "StringEquals": {f"{idp.host_path}:aud": CLIENT_ID}})
    assert stage.assume(idp.mint(), role["Arn"])["Audience"] == CLIENT_ID
    # OTHER_CLIENT is registered with the provider, but the role wants CLIENT_ID
    stage.expect_denied(idp.mint(idp.claims(aud=OTHER_CLIENT)), role["Arn"])


def test_role_trusting_another_provider(fed, trusting, make_idp):
    other = make_idp()
    other_arn = trusting.register(other)
    role = trusting.role(other_arn)
    trusting.expect_denied(fed.idp.mint(), role["Arn"])
    trusting.assume(other.mint(), role["Arn"])


def test_role_that_does_not_exist(fed):
    ghost = f"arn:aws:iam::{fed.stage.account}:role/{unique('ghost')}"
    fed.stage.expect_denied(fed.idp.mint(), ghost)


def test_client_id_changes_apply_at_once(fed):
    idp, stage = fed.idp, fed.stage
    late = unique("late-client")
    token = idp.mint(idp.claims(aud=late))
    fed.expect(token, code="InvalidIdentityToken", message=INCORRECT_AUDIENCE)
    stage.iam.add_client_id_to_open_id_connect_provider(
        OpenIDConnectProviderArn=fed.provider_arn, ClientID=late)
    try:
        assert fed.assume(token)["Audience"] == late
    finally:
        stage.iam.remove_client_id_from_open_id_connect_provider(
            OpenIDConnectProviderArn=fed.provider_arn, ClientID=late)
    fed.expect(token, code="InvalidIdentityToken", message=INCORRECT_AUDIENCE)


# ---------------------------------------------------------------------------
# token checks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["abc.def", "this is not a token at all", "a.b.c",
                                   "eyJhbGciOiJSUzI1NiJ9.e30"],
                         ids=["two-parts", "text", "three-junk-parts", "header-and-payload"])
def test_not_a_jwt(fed, token):
    fed.expect(token, code="InvalidIdentityToken", message=NOT_A_JWT)


def test_alg_none(fed):
    fed.expect(fed.idp.mint_unsigned(), code="InvalidIdentityToken",
               startswith=UNSUPPORTED_ALGORITHM)


def test_hmac_with_the_public_key_as_secret(fed):
    # Algorithm confusion: HS256 keyed with the RSA public key's PEM must not verify.
    idp = fed.idp
    rsa_kid = idp.key_for("RS256").kid
    token = idp.mint_hmac(idp.public_pem(rsa_kid), kid=rsa_kid)
    fed.expect(token, code="InvalidIdentityToken", startswith=UNSUPPORTED_ALGORITHM)


def test_expired_token(fed):
    now = int(time.time())
    token = fed.idp.mint(fed.idp.claims(iat=now - 1200, exp=now - 600))
    fed.expect(token, code="ExpiredTokenException", startswith=EXPIRED)


def test_token_not_yet_valid(fed):
    now = int(time.time())
    fed.expect(fed.idp.mint(fed.idp.claims(nbf=now + 600)), code="InvalidIdentityToken",
               startswith=NOT_YET_VALID)


def test_token_issued_in_the_future(fed):
    now = int(time.time())
    fed.expect(fed.idp.mint(fed.idp.claims(iat=now + 600, exp=now + 3600)),
               code="InvalidIdentityToken", startswith=ISSUED_IN_FUTURE)


def test_token_issued_more_than_a_day_ago(fed):
    now = int(time.time())
    token = fed.idp.mint(fed.idp.claims(iat=now - 25 * 3600, exp=now + 3600))
    fed.expect(token, code="ExpiredTokenException", startswith=TOO_OLD)


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "aud"])
def test_missing_required_claim(fed, claim):
    fed.expect(fed.idp.mint(fed.idp.claims(**{claim: None})), code="InvalidIdentityToken",
               message=f"Missing a required claim: {claim}")


def test_issuer_without_a_provider(fed):
    iss = "https://127.0.0.1:1/nowhere"
    fed.expect(fed.idp.mint(fed.idp.claims(iss=iss)), code="InvalidIdentityToken",
               message=no_provider(iss))


@pytest.mark.parametrize("aud", ["someone-else", ["someone-else", "another"]],
                         ids=["string", "array"])
def test_wrong_audience(fed, aud):
    fed.expect(fed.idp.mint(fed.idp.claims(aud=aud)), code="InvalidIdentityToken",
               message=INCORRECT_AUDIENCE)


def test_payload_altered_after_signing(fed):
    idp = fed.idp
    token = idp.mint(idp.claims(sub="alice"))
    forged = replace_payload(token, idp.claims(sub="admin"))
    fed.expect(forged, code="InvalidIdentityToken", startswith=BAD_SIGNATURE)


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_signed_by_a_key_outside_the_jwks(fed, alg):
    # A key the IdP never published, presented under the kid of a published key.
    intruder = SigningKey.generate(alg)
    token = fed.idp.mint(key=intruder, kid=fed.idp.key_for(alg).kid)
    fed.expect(token, code="InvalidIdentityToken", startswith=BAD_SIGNATURE)


def test_kid_of_an_ec_key_with_alg_rs256(fed):
    idp = fed.idp
    token = idp.mint(key=idp.key_for("RS256"), kid=idp.key_for("ES256").kid)
    assert json.loads(b64url_decode(token.split(".")[0]))["alg"] == "RS256"
    fed.expect(token, code="InvalidIdentityToken", startswith=NO_VERIFICATION_KEY)


def test_unknown_kid(fed):
    token = fed.idp.mint(key=SigningKey.generate("RS256", kid=unique("never-published")))
    fed.expect(token, code="InvalidIdentityToken", startswith=NO_VERIFICATION_KEY)


def test_token_longer_than_20000_characters(fed):
    idp = fed.idp
    token = idp.mint(idp.claims(padding="x" * 20_500))
    assert len(token) > 20_000
    fed.expect(token, code="ValidationError", startswith="1 validation error detected",
               unvalidated=True)


def test_provider_id_is_rejected(fed):
    # ProviderId names an OAuth 2.0 provider (www.amazon.com, graph.facebook.com);
    # Tessera only federates OpenID Connect ID tokens.
    fed.expect(fed.idp.mint(), code="InvalidIdentityToken", ProviderId="www.amazon.com")


def test_deleted_provider(trusting, make_fed):
    fed = make_fed(trusting)
    fed.assume()
    trusting.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=fed.provider_arn)
    fed.expect(fed.idp.mint(), code="InvalidIdentityToken", message=no_provider(fed.idp.issuer))


# ---------------------------------------------------------------------------
# JWKS fetching and caching
# ---------------------------------------------------------------------------


def test_rotated_key_is_fetched_after_the_refresh_interval(quick_refresh, make_fed):
    fed = make_fed(quick_refresh)
    idp = fed.idp
    kid_a = idp.default_kid
    old_token = idp.mint(kid=kid_a)
    fed.assume(old_token)
    fed.assume(old_token)  # presented again: the server remembers its verified signature
    assert idp.jwks_fetches >= 1

    kid_b = idp.rotate()
    assert kid_b != kid_a and idp.published_kids[0] == kid_b
    time.sleep(1.5)  # > TESSERA_OIDC_REFRESH_INTERVAL_SECS
    before = idp.jwks_fetches
    resp = fed.assume(idp.mint(kid=kid_b))
    assert resp["SubjectFromWebIdentityToken"] == "user-1"
    assert idp.jwks_fetches == before + 1, (
        f"the server fetched the JWKS {idp.jwks_fetches - before} times for the new kid")
    # The remembered signature of a token counts only while its key is published: once the
    # IdP has dropped key A, the same, still unexpired token is refused.
    fed.expect(old_token, code="InvalidIdentityToken", startswith=NO_VERIFICATION_KEY)


@pytest.mark.parametrize("cache_control, refetched", [("max-age=1", True),
                                                       ("max-age=3600", False)])
def test_jwks_cache_control(quick_refresh, make_fed, cache_control, refetched):
    # The server keeps an IdP's keys as long as the JWKS's Cache-Control max-age says
    # (never shorter than the refresh interval, here 1 s): a known kid needs no fetch
    # until then, and one fetch after.
    fed = make_fed(quick_refresh)
    fed.idp.cache_control = cache_control
    fed.assume()
    time.sleep(1.5)
    before = fed.idp.jwks_fetches
    fed.assume()
    fed.assume()
    assert fed.idp.jwks_fetches - before == (1 if refetched else 0)


def raw_web_identity(server: TesseraServer, token: str, role_arn: str, session: str = "raw"):
    body = form("AssumeRoleWithWebIdentity", RoleArn=role_arn, RoleSessionName=session,
                WebIdentityToken=token)
    return http_request(server.host, "POST", "/", headers={"Content-Type": FORM_CONTENT_TYPE},
                        body=body.encode())


def test_unknown_kids_do_not_stampede_the_idp(slow_refresh, make_fed):
    fed = make_fed(slow_refresh)
    idp = fed.idp
    fed.assume()
    before = idp.jwks_fetches
    intruder = SigningKey.generate("RS256")
    tokens = [idp.mint(key=intruder, kid=f"unknown-{i}-{secrets.token_hex(4)}")
              for i in range(20)]
    barrier = threading.Barrier(len(tokens))
    results: list = [None] * len(tokens)

    def call(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = raw_web_identity(slow_refresh.server, tokens[i], fed.role_arn)
        except Exception as exc:  # reported below
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for result in results:
        assert not isinstance(result, Exception) and result is not None, result
        assert_raw_error(result, status=400, code="InvalidIdentityToken",
                         startswith=NO_VERIFICATION_KEY)
    assert idp.jwks_fetches - before <= 1, (
        f"20 concurrent unknown kids made {idp.jwks_fetches - before} JWKS fetches")
    # the known key still works
    fed.assume()


def test_cached_keys_outlive_an_idp_outage(trusting, make_fed):
    fed = make_fed(trusting)
    fed.idp.cache_control = "max-age=3600"
    fed.assume()
    fed.idp.down = True
    before = fed.idp.requests[:]
    fed.assume(session="during-outage")
    assert fed.idp.requests == before, (
        f"the server went back to the IdP although its keys were cached: "
        f"{fed.idp.requests[len(before):]}")


def test_idp_refusing_connections(trusting, make_fed):
    # A provider whose keys were never fetched, and an IdP that is gone.
    fed = make_fed(trusting)
    token = fed.idp.mint()
    assert fed.idp.jwks_fetches == 0, "registering the provider fetched its keys already"
    fed.idp.close()
    fed.expect(token, code="IDPCommunicationError")


def test_idp_answering_503(trusting, make_fed):
    fed = make_fed(trusting)
    assert fed.idp.jwks_fetches == 0, "registering the provider fetched its keys already"
    fed.idp.down = True
    fed.expect(fed.idp.mint(), code="IDPCommunicationError")
    assert fed.idp.requests, "the server never asked the IdP"


def test_idp_with_an_untrusted_certificate(shared, make_fed):
    # The shared server has no TESSERA_OIDC_CA_BUNDLE: the test CA is unknown to it and
    # the provider's thumbprint is not the CA's.  A TLS verification failure is a
    # failure to communicate with the IdP.
    fed = make_fed(shared, thumbprints=[THUMBPRINT])
    fed.expect(fed.idp.mint(), code="IDPCommunicationError")
    deadline = time.monotonic() + 5  # the IdP's thread notes the failed handshake
    while fed.idp.tls_failures == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fed.idp.tls_failures >= 1, "the server never tried to reach the IdP"
    assert fed.idp.requests == [], fed.idp.requests


def test_thumbprint_of_the_ca_stands_in_for_the_ca_bundle(shared, make_fed, ca):
    # As in IAM, a provider's thumbprint (SHA-1 of the top certificate of the chain
    # the IdP presents: here the test CA) makes that certificate a trust anchor for
    # this provider; the server needs no CA bundle then.
    fed = make_fed(shared, thumbprints=[OTHER_THUMBPRINT, ca.thumbprint])
    resp = fed.assume()
    assert resp["Provider"] == fed.provider_arn
    assert fed.idp.tls_failures == 0


# ---------------------------------------------------------------------------
# plain-HTTP issuers (development flag)
# ---------------------------------------------------------------------------


def test_http_issuer_with_the_insecure_flag(insecure, make_idp):
    idp = make_idp(https=False, algorithms=("ES256",))
    assert idp.issuer.startswith("http://127.0.0.1:")
    arn = insecure.register(idp)
    assert arn == f"arn:aws:iam::{insecure.account}:oidc-provider/127.0.0.1:{idp.port}"
    got = insecure.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == idp.host_path
    role = insecure.role(arn, condition={"StringEquals": {f"{idp.host_path}:sub": "dev"}})
    resp = insecure.assume(idp.mint(idp.claims(sub="dev")), role["Arn"], "dev-session")
    assert resp["Provider"] == arn
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(insecure.account, role["RoleName"],
                                                         "dev-session")
    assert insecure.caller(creds_of(resp))["Arn"] == resp["AssumedRoleUser"]["Arn"]


def test_http_issuer_without_the_insecure_flag(shared, make_idp):
    idp = make_idp(https=False)
    expect_client_error(
        lambda: shared.iam.create_open_id_connect_provider(
            Url=idp.issuer, ClientIDList=[CLIENT_ID], ThumbprintList=[THUMBPRINT]),
        code="InvalidInput", status=400)


# ---------------------------------------------------------------------------
# aws CLI
# ---------------------------------------------------------------------------


def cli_env(home: Path, **extra: str) -> dict:
    """The environment for the aws CLI: no AWS_* variable of ours, no config files."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("AWS_")}
    env.update({"HOME": str(home), "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""})
    env.update(extra)
    return env


def run_cli(args, env: dict) -> subprocess.CompletedProcess:
    cmd = [str(aws_cli_path()), *args, "--output", "json",
           "--cli-connect-timeout", "5", "--cli-read-timeout", "30"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def test_aws_cli_assume_role_with_web_identity(fed, tmp_path):
    # The CLI needs no credentials for this call: it does not sign it.
    stage = fed.stage
    token = fed.idp.mint(fed.idp.claims(sub="cli-subject"))
    proc = run_cli(["sts", "assume-role-with-web-identity",
                    "--endpoint-url", stage.server.endpoint, "--region", DEFAULT_REGION,
                    "--role-arn", fed.role_arn, "--role-session-name", "cli-web",
                    "--web-identity-token", token], cli_env(tmp_path))
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    out = json.loads(proc.stdout)
    expected = session_arn(stage.account, fed.role["RoleName"], "cli-web")
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{fed.role['RoleId']}:cli-web",
                                      "Arn": expected}
    assert out["SubjectFromWebIdentityToken"] == "cli-subject"
    assert out["Audience"] == CLIENT_ID
    assert out["Provider"] == fed.provider_arn
    assert set(out["Credentials"]) == {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                       "Expiration"}
    assert stage.caller(Creds.from_sts(out["Credentials"]))["Arn"] == expected


def test_aws_cli_reports_a_token_error(fed, tmp_path):
    proc = run_cli(["sts", "assume-role-with-web-identity",
                    "--endpoint-url", fed.stage.server.endpoint, "--region", DEFAULT_REGION,
                    "--role-arn", fed.role_arn, "--role-session-name", "cli-web",
                    "--web-identity-token", "abc.def"], cli_env(tmp_path))
    assert proc.returncode == 255, (proc.returncode, proc.stdout, proc.stderr)
    assert ("An error occurred (InvalidIdentityToken) when calling the "
            f"AssumeRoleWithWebIdentity operation: {NOT_A_JWT}") in proc.stderr, proc.stderr


def test_aws_cli_profile_with_web_identity_token_file(fed, tmp_path):
    # A profile with role_arn + web_identity_token_file; endpoint_url in the profile
    # also reaches the STS client of the CLI's web-identity credential provider.
    token_file = tmp_path / "token"
    token_file.write_text(fed.idp.mint(), encoding="utf-8")
    config = tmp_path / "config"
    config.write_text(
        "[profile web]\n"
        f"role_arn = {fed.role_arn}\n"
        f"web_identity_token_file = {token_file}\n"
        "role_session_name = cli-profile\n"
        f"region = {DEFAULT_REGION}\n"
        f"endpoint_url = {fed.stage.server.endpoint}\n", encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    proc = run_cli(["sts", "get-caller-identity", "--profile", "web"],
                   cli_env(home, AWS_CONFIG_FILE=str(config)))
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    assert json.loads(proc.stdout) == {
        "UserId": f"{fed.role['RoleId']}:cli-profile", "Account": fed.stage.account,
        "Arn": session_arn(fed.stage.account, fed.role["RoleName"], "cli-profile")}


# ---------------------------------------------------------------------------
# boto3's web-identity credential provider (the IRSA convention)
# ---------------------------------------------------------------------------


@pytest.fixture
def irsa(fed, monkeypatch, tmp_path):
    """The IRSA environment for a role that trusts service accounts of namespace
    'apps': returns (role, token file)."""
    idp = fed.idp
    role = fed.stage.role(fed.provider_arn, condition={
        "StringLike": {f"{idp.host_path}:sub": "system:serviceaccount:apps:*"},
        "StringEquals": {f"{idp.host_path}:aud": CLIENT_ID}})
    token_file = tmp_path / "token"
    token_file.write_text(idp.mint(idp.claims(sub="system:serviceaccount:apps:web")),
                          encoding="utf-8")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", role["Arn"])
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "irsa-session")
    monkeypatch.setenv("AWS_REGION", DEFAULT_REGION)
    # botocore 1.44 reads its region from AWS_DEFAULT_REGION only (AWS_REGION is
    # ignored); the web-identity call itself needs none, but signing the
    # GetCallerIdentity that follows does.
    monkeypatch.setenv("AWS_DEFAULT_REGION", DEFAULT_REGION)
    return role, token_file


@pytest.mark.parametrize("endpoint_from", ["AWS_ENDPOINT_URL_STS", "config-services"])
def test_boto3_web_identity_provider(fed, irsa, monkeypatch, tmp_path, endpoint_from):
    # botocore's web-identity provider builds its own STS client; that client
    # honours AWS_ENDPOINT_URL_STS and a config file's services section.
    role, _ = irsa
    endpoint = fed.stage.server.endpoint
    if endpoint_from == "AWS_ENDPOINT_URL_STS":
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", endpoint)
    else:
        config = tmp_path / "config"
        config.write_text("[default]\nservices = tessera\n\n"
                          f"[services tessera]\nsts =\n  endpoint_url = {endpoint}\n",
                          encoding="utf-8")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    session = boto3.Session()
    me = session.client("sts", endpoint_url=endpoint).get_caller_identity()
    assert me["Arn"] == session_arn(fed.stage.account, role["RoleName"], "irsa-session")
    assert session.get_credentials().method == "assume-role-with-web-identity"


def force_refresh(botocore_session) -> None:
    """Make botocore fetch new web-identity credentials at the next request.

    botocore caches the AssumeRoleWithWebIdentity response (the provider's
    ``cache``) and refreshes only within 15 minutes of expiry; it has no public
    way to force a refresh, so this empties the cache and backdates the
    credentials' expiry (a private attribute).
    """
    resolver = botocore_session.get_component("credential_provider")
    provider = resolver.get_provider("assume-role-with-web-identity")
    provider.cache.clear()
    credentials = botocore_session.get_credentials()
    if not hasattr(credentials, "_expiry_time"):
        pytest.fail("botocore's RefreshableCredentials has no _expiry_time any more; "
                    "force_refresh needs updating")
    credentials._expiry_time = utcnow() - dt.timedelta(seconds=1)


def test_boto3_rereads_the_token_file(fed, irsa, monkeypatch):
    role, token_file = irsa
    idp, stage = fed.idp, fed.stage
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stage.server.endpoint)
    botocore_session = botocore.session.get_session()
    session = boto3.Session(botocore_session=botocore_session)
    sts = session.client("sts", endpoint_url=stage.server.endpoint)
    expected = session_arn(stage.account, role["RoleName"], "irsa-session")
    assert sts.get_caller_identity()["Arn"] == expected
    first_key = botocore_session.get_credentials().get_frozen_credentials().access_key

    # another service account of the namespace: allowed, and new credentials
    token_file.write_text(idp.mint(idp.claims(sub="system:serviceaccount:apps:worker")),
                          encoding="utf-8")
    force_refresh(botocore_session)
    assert sts.get_caller_identity()["Arn"] == expected
    second_key = botocore_session.get_credentials().get_frozen_credentials().access_key
    assert second_key != first_key

    # a service account of another namespace: the role's sub condition refuses it,
    # which shows that the file was read again
    token_file.write_text(idp.mint(idp.claims(sub="system:serviceaccount:kube-system:x")),
                          encoding="utf-8")
    force_refresh(botocore_session)
    expect_client_error(sts.get_caller_identity, code="AccessDenied", status=403,
                        message=NOT_AUTHORIZED)
