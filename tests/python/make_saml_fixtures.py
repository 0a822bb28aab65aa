#!/usr/bin/env python3
"""Write the known-answer inputs of the Rust unit tests of Tessera's XML-DSig verifier.

Run once by hand, from the repository root, with the test virtualenv (needs
lxml, signxml and the ``xmlsec1`` command):

    .venv/bin/python tests/python/make_saml_fixtures.py [--out DIR]

DIR defaults to ``crates/saml/tests/data``.  It gets:

* ``idp-cert.pem``: the certificate of the test IdP's signing key;
* ``other-cert.pem``: the certificate of a different key;
* ``*.xml``: SAML responses, signed or tampered with or wrapped (XSW);
* ``manifest.json``: one entry per XML file: ``{file, cert: "idp"|"other",
  expect_valid, signed: "assertion"|"response"|"both"|"none", signer, note}``.

``cert`` names the certificate to verify the file with (the provider's
metadata certificate).  ``expect_valid`` is whether Tessera may take claims
from the file.  For every file but the XSW ones (and the one whose Reference
points at another element, which is valid XML-DSig but not a valid SAML
signature), it is what two independent verifiers, xmlsec1 and signxml,
both say when they check every signature of the document against ``cert``;
the script stops if they disagree.  The wrapped files (and
``reference-other-id.xml``) are ``expect_valid: false``: Tessera must refuse
to take claims from them, whatever a naive verifier says; each note records
what the two oracles said.

The keys are new at every run, so every file changes; run it again only to
add or change fixtures, and commit the whole directory.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))

import saml_idp  # noqa: E402
from saml_idp import (  # noqa: E402
    DS_NS,
    KeyPair,
    TestSamlIdP,
    q,
    verify_with_signxml,
    verify_with_xmlsec1,
    xsw,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "crates" / "saml" / "tests" / "data"

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SamlRole"
EVIL_ROLE = f"arn:aws:iam::{ACCOUNT}:role/AdminRole"
PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/TestIdP"
ISSUER = "https://idp.example.test/saml"
T0 = "2025-01-01T00:00:00Z"
T_AUTHN = "2024-12-31T23:59:55Z"
T_BEFORE = "2024-12-31T23:59:00Z"
T_AFTER = "2025-01-01T00:05:00Z"
MAX_SIZE = 20_000


def base(n: int, **knobs) -> dict:
    """Response knobs with fixed ids and times (the verifier tests ignore time)."""
    values = dict(response_id=f"_response-{n:02d}", assertion_id=f"_assertion-{n:02d}",
                  issue_instant=T0, authn_instant=T_AUTHN, not_before=T_BEFORE,
                  not_on_or_after=T_AFTER, subject_not_on_or_after=T_AFTER,
                  name_id="alice@example.test", session_name="alice",
                  role_pairs=[(ROLE, PROVIDER)])
    values.update(knobs)
    return values


def strip_inherited_namespaces(signature_xml: str) -> str:
    """lxml writes every in-scope namespace on a serialized subelement; keep only ds."""
    head, rest = signature_xml.split(">", 1)
    head = re.sub(r'\s+xmlns:(?!ds=)[A-Za-z0-9_.-]+="[^"]*"', "", head)
    return head + ">" + rest


def splice(original: str, signed: str, what: str) -> str:
    """``original`` as written, with the signature of ``signed`` inserted as text
    after the Issuer of the signed element (so character references, ``>``,
    CDATA and comments of the input stay exactly as authored)."""
    root = saml_idp.parse(signed)
    if what == "assertion":
        parent = root.find(f".//{q(saml_idp.SAML_NS, 'Assertion')}")
        start = original.index("<saml:Assertion")
    elif what == "response":
        parent, start = root, 0
    else:
        raise ValueError(what)
    signature = parent.find(q(DS_NS, "Signature"))
    text = strip_inherited_namespaces(etree.tostring(signature, encoding="unicode",
                                                     with_tail=False))
    end = original.index("</saml:Issuer>", start) + len("</saml:Issuer>")
    return original[:end] + text + original[end:]


def flip_base64(value: str, byte: int = 7) -> str:
    raw = bytearray(base64.b64decode("".join(value.split())))
    raw[byte] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def replace_element_text(xml: str, local: str, transform) -> str:
    """Apply ``transform`` to the text of the first ``ds:<local>`` element (string level)."""
    pattern = re.compile(rf"(<ds:{local}>)(.*?)(</ds:{local}>)", re.S)
    match = pattern.search(xml)
    assert match, f"no ds:{local}"
    return xml[:match.start(2)] + transform(match.group(2)) + xml[match.end(2):]


def build(idp: TestSamlIdP, other: KeyPair) -> list[dict]:
    """Every fixture: {file, xml, cert, signed, signer, note, oracle} where oracle
    is True (oracles must agree on that verdict) or None (XSW-like: record only)."""
    fixtures = []

    def add(name, xml, *, signed, signer, note, cert="idp", valid=None, expect=None):
        """``valid``: the verdict both oracles must give; ``expect``: Tessera's
        verdict when it differs from the oracles' (wrapping attacks)."""
        fixtures.append(dict(file=name, xml=xml, cert=cert, signed=signed, signer=signer,
                             note=note, valid=valid, expect=expect))

    n = iter(range(1, 100))

    # -- valid signatures: signers, algorithms, placement --------------------
    for signer, algorithm, what in [
        ("signxml", "rsa-sha256", "assertion"),
        ("signxml", "rsa-sha256", "response"),
        ("signxml", "rsa-sha256", "both"),
        ("signxml", "rsa-sha1", "assertion"),
        ("xmlsec1", "rsa-sha256", "assertion"),
        ("xmlsec1", "rsa-sha256", "both"),
        ("xmlsec1", "rsa-sha1", "response"),
    ]:
        xml = idp.sign(idp.response(**base(next(n))), what=what, signer=signer,
                       algorithm=algorithm)
        add(f"{signer}-{algorithm}-{what}.xml", xml, signed=what, signer=signer, valid=True,
            note=f"{algorithm}, exclusive C14N, enveloped; xs/xsi declared on the Response root "
                 "and used in AttributeValue xsi:type=\"xs:string\"")

    # -- c14n edge cases inside the signed assertion ---------------------------
    def edge(name, signer, note, prefixes=None, **knobs):
        original = idp.response(**base(next(n), **knobs))
        signed = idp.sign(original, what="assertion", signer=signer,
                          inclusive_prefixes=prefixes)
        add(name, splice(original, signed, "assertion"), signed="assertion", signer=signer,
            valid=True, note=note)

    edge("c14n-prefixlist-xs.xml", "xmlsec1",
         "reference transform has ec:InclusiveNamespaces PrefixList=\"xs\": xmlns:xs (declared on "
         "the Response root, used only inside xsi:type values) is rendered on the Assertion",
         prefixes=["xs"])
    edge("c14n-prefixlist-xs-signxml.xml", "signxml",
         "as c14n-prefixlist-xs.xml, signed by signxml", prefixes=["xs"])
    edge("c14n-no-prefixlist.xml", "signxml",
         "no PrefixList: xmlns:xs is not visibly used, so exclusive C14N leaves it out; "
         "xmlns:xsi is rendered on each AttributeValue (xsi:type)",
         value_type="xs:string",
         attributes={"urn:oid:2.5.4.42": ["Alice"], "urn:oid:2.5.4.4": ["Liddell"]})
    special = "amp& lt< gt> quot\" apos' tab\t nl\n cr\r end"
    edge("c14n-attribute-escapes.xml", "xmlsec1",
         "FriendlyName attribute and AttributeValue text hold & < > \" ' TAB LF CR written as "
         "entity/character references (C14N: &amp; &lt; > &quot; ' &#x9; &#xA; &#xD; in "
         "attributes, &amp; &lt; &gt; &#xD; in text)",
         raw_attribute_xml=(
             '<saml:Attribute Name="urn:example:special" FriendlyName="amp&amp; lt&lt; gt&gt; '
             'quot&quot; apos&apos; tab&#9; nl&#10; cr&#13; end">'
             '<saml:AttributeValue xsi:type="xs:string">amp&amp; lt&lt; gt&gt; quot&quot; '
             "apos&apos; tab&#9; nl&#10; cr&#13; end</saml:AttributeValue></saml:Attribute>"))
    assert special  # documents what the references above stand for
    edge("c14n-text-references.xml", "signxml",
         "text with &amp; &lt; a literal > and &#13; (C14N writes &amp; &lt; &gt; &#xD;)",
         raw_attribute_xml=(
             '<saml:Attribute Name="urn:example:text"><saml:AttributeValue xsi:type="xs:string">'
             "Q&amp;A &lt;tag> line1&#13;\nline2</saml:AttributeValue></saml:Attribute>"))
    edge("c14n-cdata.xml", "xmlsec1",
         "an AttributeValue with a CDATA section (C14N replaces it by its escaped text)",
         raw_attribute_xml=(
             '<saml:Attribute Name="urn:example:cdata"><saml:AttributeValue xsi:type="xs:string">'
             "before <![CDATA[<b>bold</b> & \"raw\"]]> after</saml:AttributeValue>"
             "</saml:Attribute>"))
    edge("c14n-comment.xml", "signxml",
         "comments inside the assertion (after Issuer and inside an AttributeValue); "
         "exclusive C14N without comments drops them",
         assertion_comment=" generated by the test IdP ",
         raw_attribute_xml=(
             '<saml:Attribute Name="urn:example:commented"><saml:AttributeValue '
             'xsi:type="xs:string">visible<!-- hidden -->text</saml:AttributeValue>'
             "</saml:Attribute>"))
    edge("c14n-utf8.xml", "xmlsec1",
         "non-ASCII UTF-8 text in NameID and attribute values (é, 日本)",
         name_id="élodie@例え.example", session_name="elodie",
         attributes={"urn:oid:2.5.4.3": ["Élodie Dupré"], "urn:example:city": ["日本 東京"]})
    edge("c14n-default-namespace.xml", "signxml",
         "an Advice holding an element in a default namespace (xmlns=\"urn:example:custom\") "
         "with a child that undeclares it (xmlns=\"\")",
         advice_xml=('<Extra xmlns="urn:example:custom" kind="demo"><Item>one</Item>'
                     '<plain xmlns="">no namespace</plain></Extra>'))
    edge("c14n-attribute-order.xml", "xmlsec1",
         "attributes from two namespaces whose prefix order differs from their URI order "
         "(C14N sorts by namespace URI, then local name; unqualified first)",
         raw_attribute_xml=(
             '<saml:Attribute xmlns:zz="http://a.example/ns" xmlns:aa="http://b.example/ns" '
             'aa:first="b-ns" zz:second="a-ns" Name="urn:example:ordered" '
             'FriendlyName="ordered"><saml:AttributeValue xsi:type="xs:string">x'
             "</saml:AttributeValue></saml:Attribute>"))
    edge("c14n-empty-elements.xml", "signxml",
         "empty elements written <x/> (C14N writes <x></x>): an empty AttributeValue and an "
         "empty element in the Advice",
         advice_xml='<Empty xmlns="urn:example:custom"/>',
         raw_attribute_xml=('<saml:Attribute Name="urn:example:empty">'
                            '<saml:AttributeValue/></saml:Attribute>'))

    # pretty-printed: whitespace text nodes are part of the digest
    pretty_root = saml_idp.parse(idp.response(**base(next(n))))
    etree.indent(pretty_root, space="  ")
    pretty = idp.sign(saml_idp.serialize(pretty_root), what="both", signer="xmlsec1")
    add("pretty-printed-both.xml", pretty, signed="both", signer="xmlsec1", valid=True,
        note="indented document (whitespace text nodes inside the signed elements), "
             "assertion and response signed")

    # a comment added inside NameID after signing: still valid (C14N drops comments), but a
    # relying party must read the whole text, not the part before the comment
    original = idp.response(**base(next(n), name_id="alice@example.test.evil.example"))
    signed = idp.sign(original, what="assertion", signer="signxml")
    commented = signed.replace(">alice@example.test.evil.example<",
                               ">alice@example.test<!---->.evil.example<")
    assert commented != signed
    add("comment-in-nameid-after-signing.xml", commented, signed="assertion", signer="signxml",
        valid=True, note="a comment inserted into NameID after signing leaves the signature "
                         "valid; the NameID is \"alice@example.test.evil.example\" "
                         "(CVE-2017-11427 pattern: never truncate at the comment)")

    # -- invalid -----------------------------------------------------------------
    good = idp.sign(idp.response(**base(next(n))), what="assertion", signer="signxml")
    tampered = good.replace(">alice<", ">mallory<")
    assert tampered != good
    add("tampered-attribute.xml", tampered, signed="assertion", signer="signxml", valid=False,
        note="RoleSessionName value changed from alice to mallory after signing")
    tampered = good.replace(">alice@example.test<", ">admin@example.test<")
    assert tampered != good
    add("tampered-nameid.xml", tampered, signed="assertion", signer="signxml", valid=False,
        note="NameID changed after signing")
    add("wrong-cert.xml", good, cert="other", signed="assertion", signer="signxml", valid=False,
        note="a valid signature by the IdP key, verified with other-cert.pem (a key not in "
             "the metadata)")
    add("signed-by-other-key.xml",
        idp.sign(idp.response(**base(next(n))), what="assertion", signer="xmlsec1", key=other),
        signed="assertion", signer="xmlsec1", valid=False,
        note="signed by the other key, whose certificate is in KeyInfo; verified with "
             "idp-cert.pem: KeyInfo must not be trusted")
    add("signature-value-bitflip.xml", replace_element_text(good, "SignatureValue", flip_base64),
        signed="assertion", signer="signxml", valid=False,
        note="one bit of SignatureValue flipped")
    add("digest-bitflip.xml",
        resign_signed_info(replace_element_text(good, "DigestValue", flip_base64), idp.keypair),
        signed="assertion", signer="signxml", valid=False,
        note="one bit of DigestValue flipped and SignedInfo signed again: the signature over "
             "SignedInfo is valid, the digest of the assertion does not match")
    knobs = base(next(n))
    signed = idp.sign(idp.response(**knobs), what="assertion", signer="signxml")
    dangling = signed.replace('URI="#' + knobs['assertion_id'] + '"', 'URI="#_no-such-id"')
    assert dangling != signed
    add("reference-missing-id.xml", resign_signed_info(dangling, idp.keypair),
        signed="assertion", signer="signxml", valid=False,
        note="the assertion's Reference URI changed to #_no-such-id, an ID no element has, "
             "and SignedInfo signed again")
    knobs = base(next(n))
    add("reference-other-id.xml",
        idp.sign(idp.response(**knobs), what="assertion", signer="signxml",
                 reference_id=knobs["response_id"]),
        signed="assertion", signer="signxml", expect=False,
        note="a signature placed in the Assertion whose Reference is #<Response ID> (valid "
             "XML-DSig, enveloped, over the whole Response) but not the SAML placement: "
             "SAML core 5.4.2 wants the Reference to name the element that contains the "
             "signature; the Response itself has no signature")
    add("unsigned.xml", idp.response(**base(next(n))), signed="none", signer="none",
        valid=False, note="no signature at all")

    # -- XML signature wrapping ----------------------------------------------------
    evil = {"name_id": "admin@example.test", "role_pairs": [(EVIL_ROLE, PROVIDER)],
            "session_name": "admin"}
    for variant in range(1, 9):
        what = "response" if variant <= 2 else "assertion"
        signed = idp.sign(idp.response(**base(next(n))), what=what, signer="signxml")
        doc = xsw(signed, variant, evil)
        summary = saml_idp.xsw.__doc__.split(f"XSW{variant}", 1)[1].split("\n    XSW", 1)[0]
        summary = " ".join(summary.split())
        add(f"xsw{variant}.xml", doc, signed=what, signer="signxml", expect=False,
            note=f"XSW{variant}: {summary} Forged claims: NameID admin@example.test, Role "
                 f"{EVIL_ROLE}")
    return fixtures


def resign_signed_info(xml: str, keypair: KeyPair) -> str:
    """Sign the (edited) SignedInfo of the document's only signature again
    (exclusive C14N, RSA PKCS#1 v1.5 with SHA-256)."""
    root = saml_idp.parse(xml)
    signatures = list(root.iter(q(DS_NS, "Signature")))
    assert len(signatures) == 1
    signature = signatures[0]
    info = signature.find(q(DS_NS, "SignedInfo"))
    method = info.find(q(DS_NS, "SignatureMethod")).get("Algorithm")
    assert method == saml_idp.ALGORITHMS["rsa-sha256"][0], method
    c14n = etree.tostring(info, method="c14n", exclusive=True, with_comments=False)
    value = keypair.key.sign(c14n, padding.PKCS1v15(), hashes.SHA256())
    signature.find(q(DS_NS, "SignatureValue")).text = base64.b64encode(value).decode()
    return saml_idp.serialize(root)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    idp = TestSamlIdP(entity_id=ISSUER)
    other = KeyPair.generate("other.example.test")
    certs = {"idp": idp.keypair, "other": other}
    fixtures = build(idp, other)

    manifest = []
    problems = []
    for fx in fixtures:
        data = fx["xml"].encode("utf-8")
        assert len(data) < MAX_SIZE, f"{fx['file']} is {len(data)} bytes"
        cert = certs[fx["cert"]]
        by_xmlsec1, xmlsec1_errors = verify_with_xmlsec1(data, cert, detail=True)
        by_signxml, signxml_errors = verify_with_signxml(data, cert, detail=True)
        if fx["valid"] is not None:
            if not (by_xmlsec1 == by_signxml == fx["valid"]):
                problems.append(f"{fx['file']}: want {fx['valid']}, xmlsec1 {by_xmlsec1} "
                                f"{xmlsec1_errors}, signxml {by_signxml} {signxml_errors}")
            expect_valid = fx["valid"]
            note = fx["note"]
        else:
            expect_valid = fx["expect"]
            verdict = {True: "valid", False: "invalid"}
            note = (f"{fx['note']}. Oracles (every signature checked naively): xmlsec1 "
                    f"{verdict[by_xmlsec1]}"
                    + (f" ({xmlsec1_errors[0]})" if xmlsec1_errors and xmlsec1_errors[0] else "")
                    + f"; signxml {verdict[by_signxml]}"
                    + (f" ({signxml_errors[0]})" if signxml_errors and signxml_errors[0] else ""))
        (out / fx["file"]).write_bytes(data)
        manifest.append({"file": fx["file"], "cert": fx["cert"], "expect_valid": expect_valid,
                         "signed": fx["signed"], "signer": fx["signer"], "note": note})
    if problems:
        print("the oracles disagree with the intended verdicts:\n  " + "\n  ".join(problems),
              file=sys.stderr)
        return 1
    (out / "idp-cert.pem").write_bytes(idp.keypair.cert_pem)
    (out / "other-cert.pem").write_bytes(other.cert_pem)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    print(f"wrote {len(manifest)} documents, manifest.json and two certificates to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
