"""End-to-end tests of Tessera's SAML federation: STS AssumeRoleWithSAML.

Responses come from a test SAML IdP (tests/python/saml_idp.py) registered as
an IAM SAML provider with its metadata.  Covers the response and the session
it opens (Subject, SubjectType, Issuer, Audience, NameQualifier, credentials
that work), signatures by two signers (signxml and xmlsec1) with RSA-SHA256
and RSA-SHA1 over the assertion, the response or both, the Role attribute
(pairs in either order, several pairs), RoleSessionName and SessionDuration
attributes, DurationSeconds and SessionNotOnOrAfter, session policies,
source identity and session tags (PrincipalTag, TransitiveTagKeys through a
role chain), trust-policy conditions on the saml:* keys and
aws:FederatedProvider, every check of the response with its error (base64,
XML, DTDs and entities, size, signature, tampering, the eight signature
wrapping attacks XSW1-XSW8, issuer, audience, recipient, times with the
clock-skew allowance, status, NameID, replay, encrypted assertions,
expired metadata), certificate rollover and entity-id changes through
UpdateSAMLProvider, the TESSERA_SAML_AUDIENCES / TESSERA_SAML_RECIPIENTS /
TESSERA_SAML_CLOCK_SKEW_SECS settings, and the aws CLI.

Servers: most tests use the session's shared server, each with providers and
roles of its own (unique names); the configuration tests use a module-scoped
server started with the SAML environment variables.  Every successful call
uses a fresh response (a new assertion ID): the server refuses a replayed one.

The IAM SAML provider API itself is tested in test_iam_saml_providers.py.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python/test_saml.py
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from typing import Optional

import boto3
import pytest

import saml_idp
from saml_idp import (
    AWS_SAML,
    EDUPERSON_AFFILIATION_ATTR,
    EMAIL,
    PERSISTENT,
    TRANSIENT,
    UNSPECIFIED,
    KeyPair,
    TestSamlIdP,
    b64,
    xsw,
)
from tessera_testlib import (
    DEFAULT_REGION,
    NO_RETRIES,
    Creds,
    assert_expires_in,
    expect_client_error,
)
from test_assume_role import (  # helpers (no tests)
    ASIA_RE,
    SECRET_RE,
    TOKEN_RE,
    session_arn,
)
from test_iam_users import (  # helpers and the fixture account (no tests)
    account,  # noqa: F401
    allow,
    policy,
    unique,
)
from test_web_identity import (  # helpers (no tests)
    Stage,
    cli_env,
    client,
    creds_of,
    run_cli,
    start_tessera,
)

SAML = "sts:AssumeRoleWithSAML"
ALL_ACTIONS = (SAML, "sts:TagSession", "sts:SetSourceIdentity")
AUD_CONDITION = {"StringEquals": {"SAML:aud": AWS_SAML}}
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithSAML"
REGIONAL_SAML = f"https://{DEFAULT_REGION}.signin.aws.amazon.com/saml"
OTHER_ACCOUNT = "999999999999"
_UNSET = object()


def name_qualifier(issuer: str, account_id: str, provider_name: str) -> str:
    """Base64(SHA1(issuer + account id + "/" + provider name)), as STS computes it."""
    data = f"{issuer}{account_id}/{provider_name}".encode("utf-8")
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def saml_trust(provider_arn: str, actions=(SAML,), condition=_UNSET) -> str:
    """A trust policy allowing ``actions`` to the SAML provider ``provider_arn``;
    by default with the usual condition SAML:aud = https://signin.aws.amazon.com/saml."""
    if condition is _UNSET:
        condition = AUD_CONDITION
    statement = {"Effect": "Allow", "Principal": {"Federated": provider_arn},
                 "Action": list(actions)}
    if condition:
        statement["Condition"] = condition
    return policy(statement)


# ---------------------------------------------------------------------------
# a server wrapper and a registered IdP
# ---------------------------------------------------------------------------


class SamlStage(Stage):
    """A running Tessera server, its admin's clients (from the web-identity ``Stage``) and SAML
    helpers; ``register`` registers a SAML IdP instead of an OIDC one."""

    def register(self, idp: TestSamlIdP, metadata: Optional[str] = None,
                 name: Optional[str] = None, **kwargs) -> str:
        """CreateSAMLProvider for ``idp`` (its metadata unless given); returns the ARN."""
        name = name or unique("idp")
        arn = self.iam.create_saml_provider(
            Name=name, SAMLMetadataDocument=metadata or idp.metadata(),
            **kwargs)["SAMLProviderArn"]
        assert arn == f"arn:aws:iam::{self.account}:saml-provider/{name}"
        return arn

    def role(self, provider_arn: str, *, actions=(SAML,), condition=_UNSET,
             policies: Optional[dict] = None, prefix: str = "saml", **kwargs) -> dict:
        """A role trusting ``provider_arn`` (CreateRole ``Role``); ``policies`` are
        inline role policies."""
        name = unique(prefix)
        role = self.iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=saml_trust(provider_arn, actions, condition),
            **kwargs)["Role"]
        for policy_name, document in (policies or {}).items():
            self.iam.put_role_policy(RoleName=name, PolicyName=policy_name,
                                     PolicyDocument=document)
        return role

    def assume(self, assertion: str, role_arn: str, principal_arn: str, *,
               unvalidated: bool = False, **kwargs) -> dict:
        sts = self.anonymous_unvalidated if unvalidated else self.anonymous
        return sts.assume_role_with_saml(RoleArn=role_arn, PrincipalArn=principal_arn,
                                         SAMLAssertion=assertion, **kwargs)

    def expect(self, assertion: str, role_arn: str, principal_arn: str, *, code: str,
               status: int = 400, message: Optional[str] = None, **kwargs) -> dict:
        return expect_client_error(
            lambda: self.assume(assertion, role_arn, principal_arn, **kwargs),
            code=code, status=status, message=message)

    def caller(self, creds: Creds) -> dict:
        return client("sts", self.server, creds).get_caller_identity()

    def iam_as(self, creds: Creds):
        return client("iam", self.server, creds)


@dataclasses.dataclass
class Federation:
    """An IdP registered on a stage, with a role that trusts it."""
    stage: SamlStage
    idp: TestSamlIdP
    provider_arn: str
    role: dict

    @property
    def role_arn(self) -> str:
        return self.role["Arn"]

    @property
    def provider_name(self) -> str:
        return self.provider_arn.split("/", 1)[1]

    def response(self, role_arn: Optional[str] = None, **knobs) -> str:
        """An unsigned response whose Role attribute names (role, this provider)."""
        knobs.setdefault("role_pairs", [(role_arn or self.role_arn, self.provider_arn)])
        return self.idp.response(**knobs)

    def signed(self, what: str = "assertion", signer: str = "signxml",
               algorithm: str = "rsa-sha256", key=None, role_arn: Optional[str] = None,
               **knobs) -> str:
        """A signed response (base64, the SAMLAssertion parameter)."""
        return b64(self.idp.sign(self.response(role_arn, **knobs), what=what, signer=signer,
                                 algorithm=algorithm, key=key))

    def assume(self, assertion: Optional[str] = None, role_arn: Optional[str] = None,
               **kwargs) -> dict:
        role_arn = role_arn or self.role_arn
        return self.stage.assume(assertion or self.signed(role_arn=role_arn), role_arn,
                                 self.provider_arn, **kwargs)

    def expect(self, assertion: str, *, code: str, status: int = 400,
               message: Optional[str] = None, role_arn: Optional[str] = None,
               **kwargs) -> dict:
        return self.stage.expect(assertion, role_arn or self.role_arn, self.provider_arn,
                                 code=code, status=status, message=message, **kwargs)

    def expect_invalid(self, assertion: str, **kwargs) -> dict:
        return self.expect(assertion, code="InvalidIdentityToken", status=400, **kwargs)

    def expect_denied(self, assertion: str, **kwargs) -> dict:
        return self.expect(assertion, code="AccessDenied", status=403, message=NOT_AUTHORIZED,
                           **kwargs)


def federate(stage: SamlStage, *, actions=ALL_ACTIONS, condition=_UNSET,
             idp: Optional[TestSamlIdP] = None, **role_kwargs) -> Federation:
    idp = idp or TestSamlIdP()
    arn = stage.register(idp)
    return Federation(stage, idp, arn,
                      stage.role(arn, actions=actions, condition=condition, **role_kwargs))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage(server) -> SamlStage:
    """The session's shared server."""
    return SamlStage(server)


@pytest.fixture(scope="module")
def fed(stage) -> Federation:
    """An IdP registered on the shared server and a role that trusts it for
    AssumeRoleWithSAML, TagSession and SetSourceIdentity (SAML:aud condition)."""
    return federate(stage)


@pytest.fixture(scope="module")
def evil_role(stage, fed) -> dict:
    """Another role trusting fed's provider: the one the forged claims ask for."""
    return stage.role(fed.provider_arn, actions=ALL_ACTIONS, prefix="saml-evil")


CUSTOM_AUDIENCE = "https://sts.example.test/saml"
CUSTOM_RECIPIENTS = "https://sso.example.test/{region}/acs/{idp-id},https://sso.example.test/plain"


@pytest.fixture(scope="module")
def configured(tessera_bin, tmp_path_factory):
    """A server with its own audiences, recipients and a 30 s clock skew."""
    srv = start_tessera(tessera_bin, tmp_path_factory, "saml-configured", {
        "TESSERA_SAML_AUDIENCES": CUSTOM_AUDIENCE,
        "TESSERA_SAML_RECIPIENTS": CUSTOM_RECIPIENTS,
        "TESSERA_SAML_CLOCK_SKEW_SECS": "30"})
    try:
        yield SamlStage(srv)
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def configured_fed(configured) -> Federation:
    """An IdP on the configured server and a role trusting it (no SAML:aud condition)."""
    return federate(configured, condition=None)


# ---------------------------------------------------------------------------
# the response and the session
# ---------------------------------------------------------------------------


def test_name_qualifier_known_answer():
    # the helper the tests compare NameQualifier with (STS-API.md §3.2)
    assert name_qualifier("https://example.com/saml", "123456789012",
                          "MySAMLIdP") == "1uAJanUnBc2XeUkHURMht+xam2c="


def test_signed_response_opens_a_role_session(fed):
    stage, idp = fed.stage, fed.idp
    resp = fed.assume(fed.signed(name_id="alice@example.test", session_name="alice-session"))

    credentials = resp["Credentials"]
    assert re.fullmatch(ASIA_RE, credentials["AccessKeyId"]), credentials["AccessKeyId"]
    assert re.fullmatch(SECRET_RE, credentials["SecretAccessKey"])
    assert re.fullmatch(TOKEN_RE, credentials["SessionToken"])
    assert_expires_in(credentials["Expiration"], 3600, tolerance=60)

    expected_arn = session_arn(stage.account, fed.role["RoleName"], "alice-session")
    assert resp["AssumedRoleUser"] == {
        "AssumedRoleId": f"{fed.role['RoleId']}:alice-session", "Arn": expected_arn}
    assert resp["Subject"] == "alice@example.test"
    assert resp["SubjectType"] == "persistent"
    assert resp["Issuer"] == idp.entity_id
    assert resp["Audience"] == AWS_SAML
    assert resp["NameQualifier"] == name_qualifier(idp.entity_id, stage.account,
                                                   fed.provider_name)
    assert "SourceIdentity" not in resp
    assert "PackedPolicySize" not in resp

    me = stage.caller(creds_of(resp))
    assert (me["Arn"], me["UserId"], me["Account"]) == (
        expected_arn, f"{fed.role['RoleId']}:alice-session", stage.account)


@pytest.mark.parametrize("signer", ["signxml", "xmlsec1"])
@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha1"])
@pytest.mark.parametrize("what", ["assertion", "response", "both"])
def test_signers_algorithms_and_placements(fed, signer, algorithm, what):
    session = f"{what}-{algorithm}-{signer}"
    resp = fed.assume(fed.signed(what=what, signer=signer, algorithm=algorithm,
                                 session_name=session))
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(fed.stage.account,
                                                         fed.role["RoleName"], session)


def test_default_boto3_client_does_not_sign(fed):
    # botocore models AssumeRoleWithSAML as unauthenticated: a client with no
    # credentials at all sends it without a signature.
    sent = []
    sts = boto3.session.Session().client("sts", endpoint_url=fed.stage.server.endpoint,
                                         region_name=DEFAULT_REGION, config=NO_RETRIES)
    sts.meta.events.register("before-send.sts.AssumeRoleWithSAML",
                             lambda request, **_: sent.append(dict(request.headers)))
    resp = sts.assume_role_with_saml(RoleArn=fed.role_arn, PrincipalArn=fed.provider_arn,
                                     SAMLAssertion=fed.signed(session_name="plain"))
    assert len(sent) == 1 and "Authorization" not in sent[0], sent
    assert resp["AssumedRoleUser"]["Arn"].endswith(f"/{fed.role['RoleName']}/plain")


@pytest.mark.parametrize("name_format, subject_type", [
    (PERSISTENT, "persistent"),
    (TRANSIENT, "transient"),
    (EMAIL, EMAIL),
    (UNSPECIFIED, UNSPECIFIED),
], ids=["persistent", "transient", "email-1.1", "unspecified-1.1"])
def test_subject_type(fed, name_format, subject_type):
    resp = fed.assume(fed.signed(name_id="someone", name_id_format=name_format))
    assert (resp["Subject"], resp["SubjectType"]) == ("someone", subject_type)


def test_role_attribute_with_several_pairs(fed, evil_role):
    other_provider = f"arn:aws:iam::{fed.stage.account}:saml-provider/{unique('absent')}"
    assertion = fed.signed(role_pairs=[(evil_role["Arn"], other_provider),
                                       (fed.role_arn, fed.provider_arn),
                                       (evil_role["Arn"], fed.provider_arn)],
                           session_name="multi")
    resp = fed.assume(assertion)
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(fed.stage.account,
                                                         fed.role["RoleName"], "multi")


def test_role_attribute_with_the_provider_first(fed):
    resp = fed.assume(fed.signed(provider_first=True, session_name="provider-first"))
    assert resp["AssumedRoleUser"]["Arn"].endswith(f"/{fed.role['RoleName']}/provider-first")


def test_role_attribute_without_the_requested_pair(fed, evil_role):
    # The assertion names evil_role only; asking for fed.role is refused.
    fed.expect_denied(fed.signed(role_arn=evil_role["Arn"]))


def test_role_attribute_missing(fed):
    fed.expect_denied(fed.signed(role_pairs=[]))


def test_role_pair_naming_another_provider(fed, stage):
    other = stage.register(TestSamlIdP())
    fed.expect_denied(fed.signed(role_pairs=[(fed.role_arn, other)]))


# ---------------------------------------------------------------------------
# durations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("duration, attribute, max_session, expected", [
    (None, None, None, 3600),
    (900, None, None, 900),
    (None, 1800, None, 1800),
    (None, 7200, 7200, 3600),
    (7200, 1800, 7200, 1800),
    (7200, 43200, 7200, 7200),
    (43200, None, 43200, 43200),
], ids=["default", "duration-900", "attribute-1800", "attribute-above-default",
        "attribute-below-duration", "duration-below-attribute", "duration-43200"])
def test_session_duration(fed, duration, attribute, max_session, expected):
    role = fed.stage.role(fed.provider_arn, **(
        {"MaxSessionDuration": max_session} if max_session else {}))
    kwargs = {"DurationSeconds": duration} if duration else {}
    resp = fed.assume(fed.signed(role_arn=role["Arn"], session_duration=attribute),
                      role_arn=role["Arn"], **kwargs)
    assert_expires_in(resp["Credentials"]["Expiration"], expected, tolerance=60)


def test_session_not_on_or_after_caps_the_expiration(fed):
    resp = fed.assume(fed.signed(session_not_on_or_after=1800), DurationSeconds=3600)
    assert_expires_in(resp["Credentials"]["Expiration"], 1800, tolerance=30)


@pytest.mark.parametrize("attribute", [None, 900], ids=["no-attribute", "attribute-900"])
def test_duration_above_max_session_duration(fed, attribute):
    # refused even when the assertion would cut the session shorter
    fed.expect(fed.signed(session_duration=attribute), code="ValidationError",
               DurationSeconds=3601)


@pytest.mark.parametrize("value", ["abc", "899", "43201", "3600.5"])
def test_invalid_session_duration_attribute(fed, value):
    fed.expect_invalid(fed.signed(session_duration=value))


# ---------------------------------------------------------------------------
# RoleSessionName, SourceIdentity, session tags, session policies
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "a", "x" * 65, "has space", "semi;colon"],
                         ids=["missing", "1-char", "65-chars", "space", "semicolon"])
def test_invalid_role_session_name_attribute(fed, name):
    fed.expect_invalid(fed.signed(session_name=name))


@pytest.mark.parametrize("name", ["ab", "A_z0+=,.@-" + "x" * 54], ids=["2-chars", "64-chars"])
def test_role_session_name_limits(fed, name):
    resp = fed.assume(fed.signed(session_name=name))
    assert resp["AssumedRoleUser"]["AssumedRoleId"] == f"{fed.role['RoleId']}:{name}"


def test_source_identity_attribute(fed, stage):
    resp = fed.assume(fed.signed(source_identity="alice@example"))
    assert resp["SourceIdentity"] == "alice@example"
    assert "PackedPolicySize" not in resp

    # the trust policy must also allow sts:SetSourceIdentity
    plain = stage.role(fed.provider_arn, actions=(SAML, "sts:TagSession"))
    fed.expect_denied(fed.signed(role_arn=plain["Arn"], source_identity="alice@example"),
                      role_arn=plain["Arn"])
    fed.assume(role_arn=plain["Arn"])


def test_principal_tags_require_tag_session(fed, stage):
    role = stage.role(fed.provider_arn, actions=(SAML, "sts:SetSourceIdentity"))
    fed.expect_denied(fed.signed(role_arn=role["Arn"], principal_tags={"team": "blue"}),
                      role_arn=role["Arn"])
    fed.assume(role_arn=role["Arn"])  # without the attribute the role is fine


def test_principal_tags_become_session_tags(fed, stage):
    role = stage.role(fed.provider_arn, actions=ALL_ACTIONS, policies={
        "team-blue": policy(allow("iam:GetRole", Condition={
            "StringEquals": {"aws:PrincipalTag/team": "blue"}}))})
    name = role["RoleName"]

    blue = fed.assume(fed.signed(role_arn=role["Arn"], principal_tags={"team": "blue"}),
                      role_arn=role["Arn"])
    assert 0 <= blue["PackedPolicySize"] <= 100
    assert stage.iam_as(creds_of(blue)).get_role(RoleName=name)["Role"]["Arn"] == role["Arn"]

    red = creds_of(fed.assume(fed.signed(role_arn=role["Arn"], principal_tags={"team": "red"}),
                              role_arn=role["Arn"]))
    expect_client_error(lambda: stage.iam_as(red).get_role(RoleName=name),
                        code="AccessDenied", status=403)


def test_request_tag_condition_in_the_trust_policy(fed, stage):
    role = stage.role(fed.provider_arn, actions=(SAML, "sts:TagSession"), condition={
        "StringEquals": {"aws:RequestTag/team": "blue", "SAML:aud": AWS_SAML}})
    fed.assume(fed.signed(role_arn=role["Arn"], principal_tags={"team": "blue"}),
               role_arn=role["Arn"])
    fed.expect_denied(fed.signed(role_arn=role["Arn"], principal_tags={"team": "red"}),
                      role_arn=role["Arn"])


@pytest.mark.parametrize("transitive", [True, False], ids=["transitive", "not-transitive"])
def test_transitive_tags_pass_down_a_role_chain(fed, stage, transitive):
    # SAML session (team=blue) -> second role -> third role, whose trust policy wants
    # aws:PrincipalTag/team = blue: the second session has it only if it was transitive.
    first = stage.role(fed.provider_arn, actions=ALL_ACTIONS)

    def chained_role(trusted_arn: str) -> dict:
        name = unique("saml-chain")
        return stage.iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy({
            "Effect": "Allow", "Principal": {"AWS": trusted_arn},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}}}))["Role"]

    second = chained_role(first["Arn"])
    third = chained_role(second["Arn"])
    saml_session = creds_of(fed.assume(
        fed.signed(role_arn=first["Arn"], principal_tags={"team": "blue", "env": "test"},
                   transitive_tag_keys=["team"] if transitive else None),
        role_arn=first["Arn"]))
    hop = creds_of(client("sts", stage.server, saml_session).assume_role(
        RoleArn=second["Arn"], RoleSessionName="hop"))
    if transitive:
        last = client("sts", stage.server, hop).assume_role(RoleArn=third["Arn"],
                                                           RoleSessionName="last")
        assert last["AssumedRoleUser"]["Arn"] == session_arn(stage.account, third["RoleName"],
                                                             "last")
    else:
        expect_client_error(
            lambda: client("sts", stage.server, hop).assume_role(RoleArn=third["Arn"],
                                                                 RoleSessionName="last"),
            code="AccessDenied", status=403)


def test_session_policy_limits_the_session(fed, stage):
    role = stage.role(fed.provider_arn, policies={"read": policy(allow(["iam:GetRole",
                                                                        "iam:ListRoles"]))})
    name = role["RoleName"]
    full = creds_of(fed.assume(fed.signed(role_arn=role["Arn"]), role_arn=role["Arn"]))
    assert stage.iam_as(full).get_role(RoleName=name)["Role"]["RoleName"] == name

    limited = fed.assume(fed.signed(role_arn=role["Arn"]), role_arn=role["Arn"],
                         Policy=policy(allow("iam:ListRoles")))
    assert 0 <= limited["PackedPolicySize"] <= 100
    iam = stage.iam_as(creds_of(limited))
    expect_client_error(lambda: iam.get_role(RoleName=name), code="AccessDenied", status=403)
    iam.list_roles(MaxItems=1)


def test_managed_session_policy_limits_the_session(fed, stage):
    role = stage.role(fed.provider_arn, policies={"read": policy(allow(["iam:GetRole",
                                                                        "iam:ListRoles"]))})
    managed = stage.iam.create_policy(PolicyName=unique("saml-session"),
                                      PolicyDocument=policy(allow("iam:ListRoles")))["Policy"]
    limited = creds_of(fed.assume(fed.signed(role_arn=role["Arn"]), role_arn=role["Arn"],
                                  PolicyArns=[{"arn": managed["Arn"]}]))
    iam = stage.iam_as(limited)
    expect_client_error(lambda: iam.get_role(RoleName=role["RoleName"]),
                        code="AccessDenied", status=403)
    iam.list_roles(MaxItems=1)


# ---------------------------------------------------------------------------
# trust-policy conditions
# ---------------------------------------------------------------------------


def _condition_role(fed: Federation, condition: dict) -> str:
    return fed.stage.role(fed.provider_arn, condition=condition)["Arn"]


def test_saml_sub_condition(fed):
    role = _condition_role(fed, {"StringEquals": {"saml:sub": "alice@example.test"}})
    fed.assume(fed.signed(role_arn=role, name_id="alice@example.test"), role_arn=role)
    fed.expect_denied(fed.signed(role_arn=role, name_id="bob@example.test"), role_arn=role)


def test_saml_sub_type_condition(fed):
    role = _condition_role(fed, {"StringEquals": {"saml:sub_type": "persistent"}})
    fed.assume(fed.signed(role_arn=role, name_id_format=PERSISTENT), role_arn=role)
    fed.expect_denied(fed.signed(role_arn=role, name_id_format=TRANSIENT), role_arn=role)


def test_saml_iss_condition(fed):
    good = _condition_role(fed, {"StringEquals": {"saml:iss": fed.idp.entity_id}})
    fed.assume(fed.signed(role_arn=good), role_arn=good)
    bad = _condition_role(fed, {"StringEquals": {"saml:iss": "https://other.example.test/saml"}})
    fed.expect_denied(fed.signed(role_arn=bad), role_arn=bad)


def test_saml_aud_condition_is_the_recipient(fed):
    # The role of fed wants SAML:aud = https://signin.aws.amazon.com/saml; the
    # regional recipient is accepted by the server but fails that condition.
    fed.expect_denied(fed.signed(recipient=REGIONAL_SAML))
    role = _condition_role(fed, {"StringEquals": {"saml:aud": REGIONAL_SAML}})
    resp = fed.assume(fed.signed(role_arn=role, recipient=REGIONAL_SAML), role_arn=role)
    assert resp["Audience"] == REGIONAL_SAML


def test_saml_namequalifier_condition(fed):
    qualifier = name_qualifier(fed.idp.entity_id, fed.stage.account, fed.provider_name)
    good = _condition_role(fed, {"StringEquals": {"saml:namequalifier": qualifier}})
    assert fed.assume(fed.signed(role_arn=good), role_arn=good)["NameQualifier"] == qualifier
    other = name_qualifier(fed.idp.entity_id, fed.stage.account, "SomeOtherProvider")
    bad = _condition_role(fed, {"StringEquals": {"saml:namequalifier": other}})
    fed.expect_denied(fed.signed(role_arn=bad), role_arn=bad)


def test_saml_edupersonaffiliation_condition(fed):
    role = _condition_role(fed, {"ForAnyValue:StringEquals": {
        "saml:edupersonaffiliation": "staff"}})
    fed.assume(fed.signed(role_arn=role, attributes={
        EDUPERSON_AFFILIATION_ATTR: ["member", "staff"]}), role_arn=role)
    fed.expect_denied(fed.signed(role_arn=role, attributes={
        EDUPERSON_AFFILIATION_ATTR: ["member", "student"]}), role_arn=role)
    fed.expect_denied(fed.signed(role_arn=role), role_arn=role)


def test_federated_provider_condition(fed):
    good = _condition_role(fed, {"StringEquals": {"aws:FederatedProvider": fed.provider_arn}})
    fed.assume(fed.signed(role_arn=good), role_arn=good)
    other = f"arn:aws:iam::{fed.stage.account}:saml-provider/{unique('other')}"
    bad = _condition_role(fed, {"StringEquals": {"aws:FederatedProvider": other}})
    fed.expect_denied(fed.signed(role_arn=bad), role_arn=bad)


def test_role_trusting_another_provider(fed, stage):
    other = stage.register(TestSamlIdP())
    role = stage.role(other)
    fed.expect_denied(fed.signed(role_arn=role["Arn"]), role_arn=role["Arn"])


def test_trust_policy_without_the_saml_action(fed, stage):
    role = stage.role(fed.provider_arn, actions=("sts:AssumeRoleWithWebIdentity",))
    fed.expect_denied(fed.signed(role_arn=role["Arn"]), role_arn=role["Arn"])


def test_role_that_does_not_exist(fed):
    ghost = f"arn:aws:iam::{fed.stage.account}:role/{unique('ghost')}"
    fed.expect_denied(fed.signed(role_arn=ghost), role_arn=ghost)


def test_role_in_another_account(fed):
    foreign = f"arn:aws:iam::{OTHER_ACCOUNT}:role/{unique('foreign')}"
    fed.expect_denied(fed.signed(role_arn=foreign), role_arn=foreign)


# ---------------------------------------------------------------------------
# checks of the response
# ---------------------------------------------------------------------------


def _signed_xml(fed: Federation, **knobs) -> str:
    return fed.idp.sign(fed.response(**knobs))


@pytest.mark.parametrize("assertion", [
    "not base64 at all!",
    b64("this is not XML"),
    b64("<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>"),
], ids=["not-base64", "not-xml", "truncated-xml"])
def test_not_a_saml_response(fed, assertion):
    fed.expect_invalid(assertion)


@pytest.mark.parametrize("root", ["assertion", "authn-request"])
def test_signed_document_that_is_not_a_response(fed, root):
    signed = saml_idp.parse(_signed_xml(fed))
    if root == "assertion":
        doc = saml_idp.serialize(signed.find(f"{{{saml_idp.SAML_NS}}}Assertion"))
    else:
        doc = saml_idp.serialize(signed).replace("samlp:Response", "samlp:AuthnRequest")
    fed.expect_invalid(b64(doc))


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    "<!DOCTYPE samlp:Response>",
], ids=["external-entity", "doctype-only"])
def test_dtd_is_refused(fed, doctype):
    # The signature is intact (nothing in the signed assertion refers to the DTD).
    fed.expect_invalid(b64(doctype + _signed_xml(fed)))


def test_external_entity_is_not_resolved(fed):
    xml = _signed_xml(fed).replace("<samlp:StatusCode ", "<samlp:StatusMessage>&xxe;"
                                   "</samlp:StatusMessage><samlp:StatusCode ", 1)
    doctype = '<!DOCTYPE samlp:Response [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
    fed.expect_invalid(b64(doctype + xml))


def test_billion_laughs(fed):
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">'
        for i in range(1, 10)]
    doctype = "<!DOCTYPE samlp:Response [" + "".join(entities) + "]>"
    # the reference sits outside the signed assertion, in the Response's Status
    xml = _signed_xml(fed).replace("</samlp:Status>",
                                   "<samlp:StatusMessage>&lol9;</samlp:StatusMessage>"
                                   "</samlp:Status>", 1)
    fed.expect_invalid(b64(doctype + xml))


def _padded_assertion(fed: Federation, target_b64_length: int) -> str:
    """A signed response whose base64 is exactly ``target_b64_length`` characters."""
    want_bytes = target_b64_length // 4 * 3
    pad = 1000
    for _ in range(5):
        xml = _signed_xml(fed, attributes={"urn:example:padding": ["p" * pad]})
        size = len(xml.encode("utf-8"))
        if size == want_bytes:
            break
        pad += want_bytes - size
    encoded = b64(xml)
    assert len(encoded) == target_b64_length, len(encoded)
    return encoded


def test_assertion_of_100000_characters(fed):
    resp = fed.assume(_padded_assertion(fed, 100_000))
    assert resp["Subject"] == "user@example.test"


def test_assertion_longer_than_100000_characters(fed):
    fed.expect(_padded_assertion(fed, 100_004), code="ValidationError", unvalidated=True)


def test_unsigned_response(fed):
    fed.expect_invalid(b64(fed.response()))


def test_signed_with_a_key_not_in_the_metadata(fed):
    intruder = KeyPair.generate("intruder.example.test")
    fed.expect_invalid(fed.signed(key=intruder))


def test_signed_with_a_key_not_in_the_metadata_but_presenting_the_idp_certificate(fed):
    # KeyInfo carries the IdP's (trusted) certificate, the signature is by another key
    intruder = KeyPair.generate("intruder.example.test")
    xml = fed.idp.sign(fed.response(), key=intruder.key, cert=fed.idp.keypair.cert)
    fed.expect_invalid(b64(xml))


@pytest.mark.parametrize("what", ["assertion", "response", "both"])
def test_attribute_tampered_after_signing(fed, evil_role, what):
    xml = fed.idp.sign(fed.response(), what=what)
    forged = xml.replace(f">{fed.role_arn},", f">{evil_role['Arn']},")
    assert forged != xml
    fed.expect_invalid(b64(forged), role_arn=evil_role["Arn"])


def test_name_id_tampered_after_signing(fed):
    xml = _signed_xml(fed, name_id="alice@example.test")
    forged = xml.replace(">alice@example.test<", ">admin@example.test<")
    assert forged != xml
    fed.expect_invalid(b64(forged))


def test_signature_value_bit_flipped(fed):
    xml = _signed_xml(fed)
    match = re.search(r"<ds:SignatureValue>(.*?)</ds:SignatureValue>", xml, re.S)
    raw = bytearray(base64.b64decode("".join(match.group(1).split())))
    raw[10] ^= 0x04
    forged = xml[:match.start(1)] + base64.b64encode(bytes(raw)).decode() + xml[match.end(1):]
    fed.expect_invalid(b64(forged))


@pytest.mark.parametrize("variant", range(1, 9), ids=[f"XSW{i}" for i in range(1, 9)])
def test_signature_wrapping(fed, evil_role, variant):
    what = "response" if variant <= 2 else "assertion"
    signed = fed.idp.sign(fed.response(name_id="alice@example.test"), what=what)
    forged = xsw(signed, variant, {"name_id": "admin@example.test",
                                   "role_pairs": [(evil_role["Arn"], fed.provider_arn)],
                                   "session_name": "evil-session"})
    fed.expect_invalid(b64(forged), role_arn=evil_role["Arn"])


@pytest.mark.parametrize("signer", ["signxml", "xmlsec1"])
def test_assertion_signature_referencing_the_response(fed, signer):
    # Valid XML-DSig (enveloped, over the whole Response), but SAML wants the
    # Reference of an assertion's signature to name that assertion; the Response
    # itself carries no signature.
    response = fed.response()
    response_id = saml_idp.parse(response).get("ID")
    xml = fed.idp.sign(response, what="assertion", signer=signer, reference_id=response_id)
    assert saml_idp.verify_with_xmlsec1(xml, fed.idp.keypair)  # the naive verdict
    fed.expect_invalid(b64(xml))


def test_comment_inside_the_name_id(fed):
    # A comment added inside NameID after signing leaves the signature valid
    # (exclusive C14N drops comments); the Subject is the whole text, never the
    # part before the comment (CVE-2017-11427).
    xml = _signed_xml(fed, name_id="alice@example.test.evil.example")
    commented = xml.replace(">alice@example.test.evil.example<",
                            ">alice@example.test<!---->.evil.example<")
    assert commented != xml
    resp = fed.assume(b64(commented))
    assert resp["Subject"] == "alice@example.test.evil.example"


@pytest.mark.parametrize("signer", ["signxml", "xmlsec1"])
def test_canonicalization_edge_cases(fed, signer):
    # Non-ASCII text, namespaces declared on the Response root and used in the
    # assertion (xs only inside attribute values, listed in the PrefixList),
    # character references, CDATA, a comment and a default namespace.
    xml = fed.idp.sign(fed.response(
        name_id="élodie@例え.example", session_name="elodie",
        assertion_comment=" signed below ",
        advice_xml=('<Extra xmlns="urn:example:custom"><Item a="1"/>'
                    '<plain xmlns="">x</plain></Extra>'),
        raw_attribute_xml=(
            '<saml:Attribute Name="urn:example:special" FriendlyName="tab&#9;nl&#10;cr&#13;&amp;">'
            '<saml:AttributeValue xsi:type="xs:string">Q&amp;A &lt;tag> cr&#13; '
            "<![CDATA[<raw> & ]]>日本</saml:AttributeValue></saml:Attribute>")),
        what="assertion", signer=signer, inclusive_prefixes=["xs"])
    assert saml_idp.verify_with_signxml(xml, fed.idp.keypair)
    resp = fed.assume(b64(xml))
    assert (resp["Subject"], resp["AssumedRoleUser"]["Arn"].rsplit("/", 1)[1]) == (
        "élodie@例え.example", "elodie")


@pytest.mark.parametrize("knobs", [
    {"issuer": "https://other-idp.example.test/saml"},
    {"assertion_issuer": "https://other-idp.example.test/saml"},
], ids=["both-issuers", "assertion-issuer"])
def test_issuer_is_not_the_providers_entity_id(fed, knobs):
    fed.expect_invalid(fed.signed(**knobs))


@pytest.mark.parametrize("audiences", [
    [AWS_SAML],
    [REGIONAL_SAML],
    ["https://eu-central-2.signin.aws.amazon.com/saml"],
    ["urn:amazon:webservices"],
    ["https://sp.example.test/other", AWS_SAML],
], ids=["global", "regional", "other-region", "urn", "one-of-two"])
def test_accepted_audiences(fed, audiences):
    resp = fed.assume(fed.signed(audiences=audiences))
    assert resp["Audience"] == AWS_SAML  # Audience is the Recipient, not the Audience element


@pytest.mark.parametrize("audiences", [
    None,
    ["https://sp.example.test/saml"],
    ["https://us-east-1.evil.signin.aws.amazon.com/saml"],
    ["https://signin.aws.amazon.com/saml/extra"],
], ids=["missing", "other", "two-labels-for-region", "suffix"])
def test_refused_audiences(fed, audiences):
    fed.expect_invalid(fed.signed(audiences=audiences))


@pytest.mark.parametrize("recipient", [
    AWS_SAML,
    REGIONAL_SAML,
    "https://signin.aws.amazon.com/static/saml",
    f"https://{DEFAULT_REGION}.signin.aws.amazon.com/static/saml",
    "acs",
], ids=["global", "regional", "static", "regional-static", "acs-uuid"])
def test_accepted_recipients(fed, stage, recipient):
    if recipient == "acs":
        uuid = stage.iam.get_saml_provider(SAMLProviderArn=fed.provider_arn)["SAMLProviderUUID"]
        recipient = f"https://signin.aws.amazon.com/saml/acs/{uuid}"
    role = stage.role(fed.provider_arn, condition=None)
    resp = fed.assume(fed.signed(role_arn=role["Arn"], recipient=recipient),
                      role_arn=role["Arn"])
    assert resp["Audience"] == recipient


@pytest.mark.parametrize("knobs", [
    {"recipient": None},
    {"subject_confirmation": False},
    {"recipient": "https://sp.example.test/saml"},
    {"recipient": "https://signin.aws.amazon.com/saml/acs/00000000-0000-0000-0000-000000000000"},
    {"subject_not_on_or_after": None},
], ids=["no-recipient", "no-subject-confirmation", "other-recipient", "acs-of-another-provider",
        "no-not-on-or-after"])
def test_refused_subject_confirmations(fed, stage, knobs):
    role = stage.role(fed.provider_arn, condition=None)
    fed.expect_invalid(fed.signed(role_arn=role["Arn"], **knobs), role_arn=role["Arn"])


@pytest.mark.parametrize("knob", ["not_on_or_after", "subject_not_on_or_after"])
def test_expired_assertion(fed, knob):
    fed.expect(fed.signed(**{knob: -400}), code="ExpiredTokenException", status=400)


@pytest.mark.parametrize("knob", ["not_on_or_after", "subject_not_on_or_after"])
def test_expiry_within_the_clock_skew(fed, knob):
    fed.assume(fed.signed(**{knob: -200}))


def test_assertion_not_yet_valid(fed):
    fed.expect(fed.signed(not_before=400), code="IDPRejectedClaim", status=403)


def test_not_before_within_the_clock_skew(fed):
    fed.assume(fed.signed(not_before=200))


@pytest.mark.parametrize("status", ["Responder", "AuthnFailed"])
def test_status_other_than_success(fed, status):
    fed.expect(fed.signed(what="both", status=status), code="IDPRejectedClaim", status=403)


def test_name_id_missing(fed):
    fed.expect(fed.signed(name_id=None), code="AccessDenied", status=403)


def test_replayed_assertion(fed):
    assertion = fed.signed()
    fed.assume(assertion)
    fed.expect_invalid(assertion)


def test_encrypted_assertion(fed):
    xml = fed.idp.sign(fed.idp.response(encrypted=True), what="response")
    fed.expect_invalid(b64(xml))


def test_principal_arn_naming_no_provider(fed):
    ghost = f"arn:aws:iam::{fed.stage.account}:saml-provider/{unique('ghost')}"
    assertion = fed.signed(role_pairs=[(fed.role_arn, ghost)])
    expect_client_error(lambda: fed.stage.assume(assertion, fed.role_arn, ghost),
                        code="InvalidIdentityToken", status=400)


def test_principal_arn_that_is_not_an_arn(fed):
    not_an_arn = "saml-provider/" + unique("not-an-arn")
    assertion = fed.signed()
    expect_client_error(lambda: fed.stage.assume(assertion, fed.role_arn, not_an_arn),
                        code="InvalidIdentityToken", status=400)


def test_deleted_provider(stage):
    fed = federate(stage)
    fed.assume()
    stage.iam.delete_saml_provider(SAMLProviderArn=fed.provider_arn)
    fed.expect_invalid(fed.signed())


def test_provider_metadata_past_its_valid_until(stage):
    idp = TestSamlIdP()
    arn = stage.register(idp, metadata=idp.metadata(valid_until=-86400))
    fed = Federation(stage, idp, arn, stage.role(arn))
    fed.expect_invalid(fed.signed())


def test_metadata_key_descriptor_without_use(stage):
    # A KeyDescriptor without "use" holds a key for signing (and encryption).
    idp = TestSamlIdP()
    arn = stage.register(idp, metadata=idp.metadata(key_use=None))
    fed = Federation(stage, idp, arn, stage.role(arn))
    fed.assume()


def test_metadata_with_line_wrapped_certificate(stage):
    idp = TestSamlIdP()
    arn = stage.register(idp, metadata=idp.metadata(wrap_certs=True))
    fed = Federation(stage, idp, arn, stage.role(arn))
    fed.assume()


def test_metadata_key_for_encryption_only_does_not_sign(stage):
    # two KeyDescriptors: the IdP's key for signing, another one for encryption only;
    # a response signed by the encryption key is refused
    idp = TestSamlIdP()
    enc = KeyPair.generate("enc.example.test")
    signing = idp.metadata()
    encryption = idp.metadata(certs=[enc], key_use="encryption")
    descriptor = re.search(r"<md:KeyDescriptor.*?</md:KeyDescriptor>", encryption, re.S).group(0)
    metadata = signing.replace("</md:KeyDescriptor>", "</md:KeyDescriptor>" + descriptor, 1)
    arn = stage.register(idp, metadata=metadata)
    fed = Federation(stage, idp, arn, stage.role(arn))
    fed.assume()
    fed.expect_invalid(fed.signed(key=enc))


# ---------------------------------------------------------------------------
# certificate rollover and entity-id changes
# ---------------------------------------------------------------------------


def test_certificate_rollover(stage):
    old = KeyPair.generate("old.example.test")
    new = KeyPair.generate("new.example.test")
    idp = TestSamlIdP(keypair=old)
    arn = stage.register(idp, metadata=idp.metadata(certs=[old, new]))
    fed = Federation(stage, idp, arn, stage.role(arn))
    fed.assume(fed.signed(key=old))
    fed.assume(fed.signed(key=new))

    updated = stage.iam.update_saml_provider(SAMLProviderArn=arn,
                                             SAMLMetadataDocument=idp.metadata(certs=[new]))
    assert updated["SAMLProviderArn"] == arn
    fed.expect_invalid(fed.signed(key=old))
    fed.assume(fed.signed(key=new))


def test_update_changes_the_entity_id(stage):
    idp = TestSamlIdP()
    arn = stage.register(idp)
    fed = Federation(stage, idp, arn, stage.role(arn))
    old_issuer = idp.entity_id
    fed.assume()

    new_issuer = f"https://idp-{unique('moved')}.example.test/saml"
    stage.iam.update_saml_provider(SAMLProviderArn=arn,
                                   SAMLMetadataDocument=idp.metadata(entity_id=new_issuer))
    fed.expect_invalid(fed.signed(issuer=old_issuer))
    resp = fed.assume(fed.signed(issuer=new_issuer))
    assert resp["Issuer"] == new_issuer
    assert resp["NameQualifier"] == name_qualifier(new_issuer, stage.account, fed.provider_name)


# ---------------------------------------------------------------------------
# configuration: audiences, recipients, clock skew
# ---------------------------------------------------------------------------


def test_configured_audience_replaces_the_defaults(configured_fed):
    fed = configured_fed
    recipient = "https://sso.example.test/plain"
    resp = fed.assume(fed.signed(audiences=[CUSTOM_AUDIENCE], recipient=recipient))
    assert resp["Audience"] == recipient
    fed.expect_invalid(fed.signed(audiences=[AWS_SAML], recipient=recipient))


def test_configured_recipient_with_region_and_idp_id(configured_fed):
    fed = configured_fed
    uuid = fed.stage.iam.get_saml_provider(SAMLProviderArn=fed.provider_arn)["SAMLProviderUUID"]
    recipient = f"https://sso.example.test/eu-west-1/acs/{uuid}"
    resp = fed.assume(fed.signed(audiences=[CUSTOM_AUDIENCE], recipient=recipient))
    assert resp["Audience"] == recipient
    for refused in [AWS_SAML,  # a default, no longer configured
                    f"https://sso.example.test/eu.west/1/acs/{uuid}",
                    "https://sso.example.test/eu-west-1/acs/00000000-0000-0000-0000-000000000000"]:
        fed.expect_invalid(fed.signed(audiences=[CUSTOM_AUDIENCE], recipient=refused))


def test_configured_clock_skew(configured_fed):
    fed = configured_fed
    knobs = {"audiences": [CUSTOM_AUDIENCE], "recipient": "https://sso.example.test/plain"}
    fed.assume(fed.signed(not_on_or_after=-10, **knobs))
    fed.expect(fed.signed(not_on_or_after=-90, **knobs), code="ExpiredTokenException")
    fed.assume(fed.signed(not_before=10, **knobs))
    fed.expect(fed.signed(not_before=90, **knobs), code="IDPRejectedClaim", status=403)


# ---------------------------------------------------------------------------
# aws CLI
# ---------------------------------------------------------------------------


def test_aws_cli_assume_role_with_saml(fed, tmp_path):
    # The CLI needs no credentials for this call: it does not sign it.
    stage = fed.stage
    assertion = fed.signed(name_id="cli-subject", session_name="cli-saml", what="both",
                           signer="xmlsec1")
    proc = run_cli(["sts", "assume-role-with-saml", "--endpoint-url", stage.server.endpoint,
                    "--region", DEFAULT_REGION, "--role-arn", fed.role_arn,
                    "--principal-arn", fed.provider_arn, "--saml-assertion", assertion],
                   cli_env(tmp_path))
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    out = json.loads(proc.stdout)
    expected = session_arn(stage.account, fed.role["RoleName"], "cli-saml")
    assert out["AssumedRoleUser"] == {"AssumedRoleId": f"{fed.role['RoleId']}:cli-saml",
                                      "Arn": expected}
    assert (out["Subject"], out["SubjectType"], out["Issuer"], out["Audience"]) == (
        "cli-subject", "persistent", fed.idp.entity_id, AWS_SAML)
    assert set(out["Credentials"]) == {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                       "Expiration"}
    assert stage.caller(Creds.from_sts(out["Credentials"]))["Arn"] == expected


def test_aws_cli_reports_an_assertion_error(fed, tmp_path):
    proc = run_cli(["sts", "assume-role-with-saml", "--endpoint-url", fed.stage.server.endpoint,
                    "--region", DEFAULT_REGION, "--role-arn", fed.role_arn,
                    "--principal-arn", fed.provider_arn,
                    "--saml-assertion", b64(fed.response())], cli_env(tmp_path))
    assert proc.returncode == 255, (proc.returncode, proc.stdout, proc.stderr)
    assert ("An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithSAML "
            "operation") in proc.stderr, proc.stderr
