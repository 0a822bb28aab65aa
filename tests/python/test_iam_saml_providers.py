"""End-to-end tests of Tessera's IAM SAML provider API.

Covers CreateSAMLProvider, GetSAMLProvider, UpdateSAMLProvider,
DeleteSAMLProvider, ListSAMLProviders, TagSAMLProvider, UntagSAMLProvider and
ListSAMLProviderTags: the ARN, the metadata kept exactly as uploaded,
CreateDate, ValidUntil (the metadata's validUntil or a hundred years),
SAMLProviderUUID, tags (case-insensitive keys, at most 50), the metadata
checks (XML, no DTD, EntityDescriptor entityID, IDPSSODescriptor, a signing
certificate that is base64 DER X.509, at least 1000 characters), names,
duplicates and unknown providers, authorization of a non-admin user,
persistence across a restart (the provider still federates) and the aws CLI
with ``--saml-metadata-document file://``.

Metadata comes from the test SAML IdP of tests/python/saml_idp.py.  The
shared server holds providers of other tests too: listings are checked for
inclusion only.

Run:  TESSERA_BIN=target/debug/tessera python -m pytest tests/python/test_iam_saml_providers.py
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets

import pytest

from saml_idp import KeyPair, TestSamlIdP, xml_time
from tessera_testlib import expect_client_error, run_aws_cli, write_credentials_file
from test_assume_role import session_arn, tags
from test_iam_users import (  # helpers and the fixtures account, admin_iam_unvalidated
    account,  # noqa: F401          and make_user (no tests)
    admin_iam_unvalidated,  # noqa: F401
    allow,
    assert_recent,
    make_user,  # noqa: F401
    policy,
    tag_dict,
    unique,
)
from test_saml import Federation, SamlStage

VALID_UNTIL = dt.datetime(2031, 5, 17, 8, 30, 0, tzinfo=dt.timezone.utc)


def provider_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:saml-provider/{name}"


def create(iam, idp: TestSamlIdP = None, *, name: str = None, **kwargs) -> tuple[str, str]:
    """CreateSAMLProvider with a new IdP's metadata; returns (arn, metadata)."""
    idp = idp or TestSamlIdP()
    metadata = kwargs.pop("metadata", None) or idp.metadata()
    arn = iam.create_saml_provider(Name=name or unique("idp"), SAMLMetadataDocument=metadata,
                                   **kwargs)["SAMLProviderArn"]
    return arn, metadata


def _pad(metadata: str) -> str:
    """Keep a broken document at 1000 characters or more (else it is a ValidationError)."""
    if len(metadata) >= 1000:
        return metadata
    return metadata + "<!--" + "x" * (1000 - len(metadata)) + "-->"


# ---------------------------------------------------------------------------
# create, get, list, update, delete
# ---------------------------------------------------------------------------


def test_create_and_get_saml_provider(admin_iam, account):
    idp = TestSamlIdP()
    name = unique("idp")
    metadata = idp.metadata()
    created = admin_iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata,
                                             Tags=tags(team="blue", env="test"))
    arn = created["SAMLProviderArn"]
    assert arn == provider_arn(account, name)
    assert tag_dict(created["Tags"]) == {"team": "blue", "env": "test"}

    got = admin_iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == metadata
    assert_recent(got["CreateDate"])
    assert got["SAMLProviderUUID"], got
    assert tag_dict(got["Tags"]) == {"team": "blue", "env": "test"}
    # no validUntil in the metadata: a hundred years after CreateDate
    created_at, valid_until = got["CreateDate"], got["ValidUntil"]
    assert valid_until.year - created_at.year == 100, (created_at, valid_until)
    assert abs((valid_until.replace(year=created_at.year) - created_at).total_seconds()) < 2, (
        created_at, valid_until)


def test_valid_until_comes_from_the_metadata(admin_iam):
    idp = TestSamlIdP()
    arn, metadata = create(admin_iam, idp, metadata=idp.metadata(valid_until=VALID_UNTIL))
    assert f'validUntil="{xml_time(VALID_UNTIL)}"' in metadata
    got = admin_iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["ValidUntil"] == VALID_UNTIL
    assert got.get("Tags", []) == []


def test_provider_uuids_differ(admin_iam):
    uuids = {admin_iam.get_saml_provider(SAMLProviderArn=create(admin_iam)[0])["SAMLProviderUUID"]
             for _ in range(2)}
    assert len(uuids) == 2


def test_metadata_is_kept_exactly_as_uploaded(admin_iam):
    idp = TestSamlIdP()
    metadata = ('<?xml version="1.0" encoding="UTF-8"?>\n<!-- exported by the IdP -->\n'
                + idp.metadata(wrap_certs=True).replace("<md:IDPSSODescriptor",
                                                        "\n\t<md:IDPSSODescriptor")
                .replace("Tessera Test IdP", "Tessera Test IdP &amp; «Ünïcode» 日本")
                + "\n\n")
    arn, _ = create(admin_iam, idp, metadata=metadata)
    assert admin_iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == metadata


def test_metadata_with_crlf_line_ends_is_kept_exactly(admin_iam):
    # Metadata exported on Windows (e.g. AD FS) has CRLF line ends; a CR survives the
    # XML response only as a character reference.
    idp = TestSamlIdP()
    metadata = ('<?xml version="1.0" encoding="UTF-8"?>\r\n'
                + idp.metadata(wrap_certs=True).replace("\n", "\r\n") + "\r\n")
    arn, _ = create(admin_iam, idp, metadata=metadata)
    got = admin_iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"]
    assert got == metadata, f"CRs: sent {metadata.count(chr(13))}, got {got.count(chr(13))}"


def test_list_saml_providers(admin_iam):
    validity = {}
    for valid_until in (None, VALID_UNTIL):
        idp = TestSamlIdP()
        arn, _ = create(admin_iam, idp, metadata=idp.metadata(valid_until=valid_until))
        validity[arn] = valid_until
    listed = {p["Arn"]: p for p in admin_iam.list_saml_providers()["SAMLProviderList"]}
    assert set(validity) <= set(listed)
    for arn, valid_until in validity.items():
        entry = listed[arn]
        assert set(entry) == {"Arn", "ValidUntil", "CreateDate"}, entry
        assert_recent(entry["CreateDate"])
        if valid_until is not None:
            assert entry["ValidUntil"] == valid_until
        else:
            assert entry["ValidUntil"].year - entry["CreateDate"].year == 100

    admin_iam.delete_saml_provider(SAMLProviderArn=next(iter(validity)))
    listed = [p["Arn"] for p in admin_iam.list_saml_providers()["SAMLProviderList"]]
    assert next(iter(validity)) not in listed
    assert list(validity)[1] in listed
    assert len(listed) == len(set(listed))


def test_update_replaces_the_metadata(admin_iam):
    idp = TestSamlIdP()
    arn, _ = create(admin_iam, idp)
    before = admin_iam.get_saml_provider(SAMLProviderArn=arn)
    new_metadata = idp.metadata(certs=[KeyPair.generate("new.example.test"), idp.keypair],
                                valid_until=VALID_UNTIL)
    updated = admin_iam.update_saml_provider(SAMLProviderArn=arn,
                                             SAMLMetadataDocument=new_metadata)
    assert updated["SAMLProviderArn"] == arn
    after = admin_iam.get_saml_provider(SAMLProviderArn=arn)
    assert after["SAMLMetadataDocument"] == new_metadata
    assert after["ValidUntil"] == VALID_UNTIL
    assert after["CreateDate"] == before["CreateDate"]
    assert after["SAMLProviderUUID"] == before["SAMLProviderUUID"]


def test_update_with_invalid_metadata_keeps_the_old_one(admin_iam):
    idp = TestSamlIdP()
    arn, metadata = create(admin_iam, idp)
    broken = idp.metadata(certs=["bm90IGEgY2VydGlmaWNhdGU="])
    expect_client_error(lambda: admin_iam.update_saml_provider(
        SAMLProviderArn=arn, SAMLMetadataDocument=broken), code="InvalidInput", status=400)
    assert admin_iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == metadata


def test_delete_saml_provider(admin_iam, account):
    name = unique("idp")
    arn, _ = create(admin_iam, name=name)
    admin_iam.delete_saml_provider(SAMLProviderArn=arn)
    expect_client_error(lambda: admin_iam.get_saml_provider(SAMLProviderArn=arn),
                        code="NoSuchEntity", status=404)
    expect_client_error(lambda: admin_iam.delete_saml_provider(SAMLProviderArn=arn),
                        code="NoSuchEntity", status=404)
    # the name is free again
    again, _ = create(admin_iam, name=name)
    assert again == arn == provider_arn(account, name)


def test_duplicate_provider_name(admin_iam):
    name = unique("idp")
    create(admin_iam, name=name)
    expect_client_error(lambda: create(admin_iam, name=name), code="EntityAlreadyExists",
                        status=409)


@pytest.mark.parametrize("operation, kwargs", [
    ("get_saml_provider", {}),
    ("delete_saml_provider", {}),
    ("update_saml_provider", {"SAMLMetadataDocument": "metadata"}),
    ("tag_saml_provider", {"Tags": tags(team="blue")}),
    ("untag_saml_provider", {"TagKeys": ["team"]}),
    ("list_saml_provider_tags", {}),
])
def test_operations_on_unknown_provider(admin_iam, account, operation, kwargs):
    arn = provider_arn(account, unique("nowhere"))
    if operation == "update_saml_provider":
        kwargs = {"SAMLMetadataDocument": TestSamlIdP().metadata()}
    expect_client_error(lambda: getattr(admin_iam, operation)(SAMLProviderArn=arn, **kwargs),
                        code="NoSuchEntity", status=404)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------


def _without_idpsso(idp: TestSamlIdP) -> str:
    doc = idp.metadata()
    doc = re.sub(r"<md:IDPSSODescriptor.*?</md:IDPSSODescriptor>", "", doc, flags=re.S)
    return _pad(doc)


def _broken_metadata(kind: str) -> str:
    idp = TestSamlIdP()
    good = idp.metadata()
    if kind == "not-xml":
        return "this is not XML " * 80
    if kind == "truncated":
        return good[:-40]
    if kind == "dtd":
        return '<!DOCTYPE md:EntityDescriptor [<!ENTITY x "y">]>\n' + good
    if kind == "no-entity-id":
        return re.sub(r' entityID="[^"]*"', "", good, count=1)
    if kind == "not-entity-descriptor":
        return good.replace("md:EntityDescriptor", "md:EntitiesDescriptor")
    if kind == "no-idpsso":
        return _without_idpsso(idp)
    if kind == "no-key-descriptor":
        return _pad(re.sub(r"<md:KeyDescriptor.*?</md:KeyDescriptor>", "", good, flags=re.S))
    if kind == "encryption-key-only":
        return idp.metadata(key_use="encryption")
    if kind == "cert-not-base64":
        return idp.metadata(certs=["this is *not* base64!"])
    if kind == "cert-not-x509":
        return idp.metadata(certs=[base64.b64encode(b"\x30\x03\x02\x01\x01" * 40).decode()])
    raise ValueError(kind)


@pytest.mark.parametrize("kind", [
    "not-xml", "truncated", "dtd", "no-entity-id", "not-entity-descriptor", "no-idpsso",
    "no-key-descriptor", "encryption-key-only", "cert-not-base64", "cert-not-x509",
])
def test_invalid_metadata(admin_iam, kind):
    metadata = _broken_metadata(kind)
    assert len(metadata) >= 1000, len(metadata)
    name = unique("idp")
    expect_client_error(lambda: admin_iam.create_saml_provider(
        Name=name, SAMLMetadataDocument=metadata), code="InvalidInput", status=400)
    names = [p["Arn"].rsplit("/", 1)[1]
             for p in admin_iam.list_saml_providers()["SAMLProviderList"]]
    assert name not in names


def test_metadata_shorter_than_1000_characters(admin_iam_unvalidated):
    idp = TestSamlIdP()
    cert = idp.keypair.cert_b64
    short = (f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
             f'entityID="{idp.entity_id}"><md:IDPSSODescriptor protocolSupportEnumeration='
             f'"urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing">'
             f'<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>'
             f"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
             "</md:KeyDescriptor></md:IDPSSODescriptor></md:EntityDescriptor>")
    # a 2048-bit certificate alone is longer than 1000 characters in base64: cut it down
    # to a metadata document that is still well-formed, just too short
    short = short.replace(cert, cert[:200])
    assert len(short) < 1000
    expect_client_error(lambda: admin_iam_unvalidated.create_saml_provider(
        Name=unique("idp"), SAMLMetadataDocument=short), code="ValidationError", status=400)


@pytest.mark.parametrize("name", ["", "has space", "slash/name", "x" * 129, "colon:name"],
                         ids=["empty", "space", "slash", "129-chars", "colon"])
def test_invalid_provider_name(admin_iam_unvalidated, name):
    expect_client_error(lambda: admin_iam_unvalidated.create_saml_provider(
        Name=name, SAMLMetadataDocument=TestSamlIdP().metadata()),
        code="ValidationError", status=400)


def test_provider_name_limits(admin_iam, account):
    one = secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ")  # upper case: other tests use lower
    name_128 = ("Idp_1.2-" + unique("x")).ljust(128, "z")
    for name in (one, name_128):
        arn, _ = create(admin_iam, name=name)
        assert arn == provider_arn(account, name)
        admin_iam.delete_saml_provider(SAMLProviderArn=arn)


# ---------------------------------------------------------------------------
# tags
# ---------------------------------------------------------------------------


def test_tag_untag_and_list_saml_provider_tags(admin_iam):
    arn, _ = create(admin_iam, Tags=[{"Key": "Team", "Value": "a"},
                                     {"Key": "Env", "Value": "prod"}])

    def listed():
        return tag_dict(admin_iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"])

    assert listed() == {"Team": "a", "Env": "prod"}
    admin_iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "team", "Value": "b"},
                                                           {"Key": "Owner", "Value": "me"}])
    expected = {"Env": "prod", "team": "b", "Owner": "me"}  # 'Team' replaced, new case kept
    assert listed() == expected
    assert tag_dict(admin_iam.get_saml_provider(SAMLProviderArn=arn)["Tags"]) == expected

    # removal is case-insensitive; an absent key is a no-op
    admin_iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["ENV", "no-such-key"])
    assert listed() == {"team": "b", "Owner": "me"}
    admin_iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["TEAM", "owner"])
    assert listed() == {}


def test_saml_provider_tags_beyond_50(admin_iam):
    arn, _ = create(admin_iam, Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
    expect_client_error(lambda: admin_iam.tag_saml_provider(
        SAMLProviderArn=arn, Tags=[{"Key": "one-more", "Value": "x"}]),
        code="LimitExceeded", status=409)
    # replacing an existing key (in another case) keeps the count at 50
    admin_iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "K07", "Value": "new"}])
    current = tag_dict(admin_iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"])
    assert len(current) == 50 and current["K07"] == "new" and "k07" not in current


# ---------------------------------------------------------------------------
# authorization, persistence, aws CLI
# ---------------------------------------------------------------------------


def test_saml_provider_actions_need_permission(server, admin_iam, account, make_user):
    user = make_user("saml-admin", key=True)
    iam = user.iam(server)
    metadata = TestSamlIdP().metadata()
    expect_client_error(lambda: iam.create_saml_provider(
        Name=unique("idp"), SAMLMetadataDocument=metadata), code="AccessDenied", status=403)

    admin_iam.put_user_policy(UserName=user.name, PolicyName="saml", PolicyDocument=policy(
        allow(["iam:CreateSAMLProvider", "iam:GetSAMLProvider"],
              f"arn:aws:iam::{account}:saml-provider/*")))
    name = unique("idp")
    arn = iam.create_saml_provider(Name=name, SAMLMetadataDocument=metadata)["SAMLProviderArn"]
    assert arn == provider_arn(account, name)
    assert iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == metadata


def test_saml_providers_survive_a_restart(start_server):
    srv = start_server("saml-restart")
    stage = SamlStage(srv)
    idp = TestSamlIdP()
    arn = stage.register(idp, metadata=idp.metadata(valid_until=VALID_UNTIL),
                         Tags=tags(team="blue"))
    fed = Federation(stage, idp, arn, stage.role(arn))
    fed.assume()
    before = stage.iam.get_saml_provider(SAMLProviderArn=arn)

    assert srv.stop() == 0, "tessera should exit 0 on SIGTERM"
    srv.start()

    stage = SamlStage(srv)
    after = stage.iam.get_saml_provider(SAMLProviderArn=arn)
    for field in ("SAMLMetadataDocument", "CreateDate", "ValidUntil", "SAMLProviderUUID", "Tags"):
        assert after[field] == before[field], field
    assert arn in [p["Arn"] for p in stage.iam.list_saml_providers()["SAMLProviderList"]]
    fed = Federation(stage, idp, arn, fed.role)
    resp = fed.assume(fed.signed(session_name="after-restart"))
    assert resp["AssumedRoleUser"]["Arn"] == session_arn(stage.account, fed.role["RoleName"],
                                                         "after-restart")


def test_aws_cli_create_saml_provider(server, admin, admin_iam, account, tmp_path):
    idp = TestSamlIdP()
    metadata = idp.metadata()
    doc = tmp_path / "metadata.xml"
    doc.write_text(metadata, encoding="utf-8")
    credentials = write_credentials_file(tmp_path / "credentials", admin)
    name = unique("idp")
    out = run_aws_cli(server, ["iam", "create-saml-provider", "--name", name,
                               "--saml-metadata-document", f"file://{doc}",
                               "--tags", "Key=team,Value=cli"],
                      credentials_file=credentials, home=tmp_path)
    arn = provider_arn(account, name)
    assert out["SAMLProviderArn"] == arn
    assert out["Tags"] == [{"Key": "team", "Value": "cli"}]
    got = run_aws_cli(server, ["iam", "get-saml-provider", "--saml-provider-arn", arn],
                      credentials_file=credentials, home=tmp_path)
    assert got["SAMLMetadataDocument"] == metadata
    listed = run_aws_cli(server, ["iam", "list-saml-providers"], credentials_file=credentials,
                         home=tmp_path)
    assert arn in [p["Arn"] for p in listed["SAMLProviderList"]]
    run_aws_cli(server, ["iam", "delete-saml-provider", "--saml-provider-arn", arn],
                credentials_file=credentials, home=tmp_path)
    expect_client_error(lambda: admin_iam.get_saml_provider(SAMLProviderArn=arn),
                        code="NoSuchEntity", status=404)
