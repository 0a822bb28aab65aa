"""A test SAML 2.0 identity provider for Tessera's AssumeRoleWithSAML tests.

``TestSamlIdP`` has an RSA-2048 key with a self-signed X.509 certificate
(``KeyPair``) and an entity id ``https://idp-<random>.example.test/saml``.
It writes what an IdP hands to IAM and to a browser:

* ``metadata()``: SAML 2.0 metadata (``md:EntityDescriptor`` with an
  ``md:IDPSSODescriptor`` listing one signing ``md:KeyDescriptor`` per
  certificate), padded past IAM's 1000-character minimum;
* ``response()``: an unsigned ``samlp:Response`` with one assertion, every
  part of it a keyword knob (issuers, ids, times, status, NameID,
  SubjectConfirmationData, Conditions, audiences, AuthnStatement, attributes,
  and the AWS attributes Role, RoleSessionName, SessionDuration,
  SourceIdentity, PrincipalTag:*, TransitiveTagKeys);
* ``sign()``: an enveloped XML signature (exclusive C14N, RSA-SHA256 or
  RSA-SHA1) over the assertion, the response or both, made by signxml or by
  the xmlsec1 command, placed right after the signed element's Issuer as the
  SAML schema wants, with the certificate in KeyInfo.

``verify_with_xmlsec1`` and ``verify_with_signxml`` are two independent
oracles that check every signature of a response (the one of the Response
and the one of each Assertion) against a given certificate.  They are
"naive" verifiers: they check that each signature's reference resolves and
digests correctly, not that the claims a relying party reads are the signed
ones; ``xsw()`` builds the eight classic XML signature wrapping attacks
(XSW1-XSW8, Somorovsky et al., "On Breaking SAML: Be Whoever You Want to
Be", 2012, as implemented by SAML Raider) that exploit exactly that gap.

Needs lxml and signxml (tests/python/requirements.txt) and, for the xmlsec1
signer and oracle, the ``xmlsec1`` command (Debian package ``xmlsec1``).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    SignatureReference,
    XMLSigner,
    XMLVerifier,
    methods,
)

# ---------------------------------------------------------------------------
# names
# ---------------------------------------------------------------------------

SAMLP_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
XS_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XENC_NS = "http://www.w3.org/2001/04/xmlenc#"

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
ALGORITHMS = {  # name -> (SignatureMethod URI, DigestMethod URI)
    "rsa-sha256": ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                   "http://www.w3.org/2001/04/xmlenc#sha256"),
    "rsa-sha1": ("http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                 "http://www.w3.org/2000/09/xmldsig#sha1"),
}

AWS_SAML = "https://signin.aws.amazon.com/saml"  # default Recipient, Audience, Destination
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
STATUS_PREFIX = "urn:oasis:names:tc:SAML:2.0:status:"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_PREFIX = "urn:oasis:names:tc:SAML:2.0:nameid-format:"
PERSISTENT = NAMEID_PREFIX + "persistent"
TRANSIENT = NAMEID_PREFIX + "transient"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
ATTRNAME_URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

AWS_ATTR = "https://aws.amazon.com/SAML/Attributes/"
ROLE_ATTR = AWS_ATTR + "Role"
SESSION_NAME_ATTR = AWS_ATTR + "RoleSessionName"
SESSION_DURATION_ATTR = AWS_ATTR + "SessionDuration"
SOURCE_IDENTITY_ATTR = AWS_ATTR + "SourceIdentity"
PRINCIPAL_TAG_ATTR = AWS_ATTR + "PrincipalTag:"
TRANSITIVE_TAG_KEYS_ATTR = AWS_ATTR + "TransitiveTagKeys"
EDUPERSON_AFFILIATION_ATTR = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"

_DEFAULT = object()  # "compute the usual value" (None means "leave it out")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          remove_blank_text=False, strip_cdata=False)


def b64(xml: Union[str, bytes]) -> str:
    """Standard base64 of the UTF-8 bytes of ``xml`` (the SAMLAssertion parameter)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return base64.b64encode(data).decode("ascii")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def xml_time(when: Union[dt.datetime, str, int, float]) -> str:
    """xs:dateTime in UTC with ``Z``; a number is seconds from now, a string is kept."""
    if isinstance(when, str):
        return when
    if isinstance(when, (int, float)):
        when = utcnow() + dt.timedelta(seconds=when)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_or_none(value, default_offset: Optional[float]) -> Optional[str]:
    if value is _DEFAULT:
        return None if default_offset is None else xml_time(default_offset)
    return None if value is None else xml_time(value)


def new_id(prefix: str = "_") -> str:
    """An xs:ID (NCName: must not start with a digit)."""
    return f"{prefix}{secrets.token_hex(16)}"


def _attr(value: str) -> str:
    """An XML attribute value, quoted, with tab/newline/CR as character references."""
    return quoteattr(value, {"\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})


def _text(value: str) -> str:
    return escape(value, {"\r": "&#13;"})


# ---------------------------------------------------------------------------
# keys and certificates
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """An RSA private key and a self-signed certificate for its public key."""
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @classmethod
    def generate(cls, common_name: str = "tessera-test-idp", bits: int = 2048) -> "KeyPair":
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tessera tests")])
        now = utcnow()
        cert = (x509.CertificateBuilder()
                .subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=3650))
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def cert_b64(self) -> str:
        """Base64 of the certificate's DER (as in ds:X509Certificate)."""
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


def _cert_of(value) -> x509.Certificate:
    if isinstance(value, KeyPair):
        return value.cert
    if isinstance(value, x509.Certificate):
        return value
    if isinstance(value, (str, bytes)):
        return x509.load_pem_x509_certificate(value.encode() if isinstance(value, str) else value)
    raise TypeError(f"not a certificate: {value!r}")


def _pem(value) -> bytes:
    return _cert_of(value).public_bytes(serialization.Encoding.PEM)


# ---------------------------------------------------------------------------
# the identity provider
# ---------------------------------------------------------------------------


class TestSamlIdP:
    """A SAML IdP: a signing key pair and an entity id (see the module docstring)."""

    __test__ = False  # not a pytest test class

    def __init__(self, entity_id: Optional[str] = None, keypair: Optional[KeyPair] = None):
        self.entity_id = entity_id or f"https://idp-{secrets.token_hex(6)}.example.test/saml"
        self.keypair = keypair or KeyPair.generate(self.host)

    @property
    def host(self) -> str:
        return self.entity_id.split("://", 1)[-1].split("/", 1)[0]

    # -- metadata ---------------------------------------------------------
    def metadata(self, certs: Optional[Sequence] = None, valid_until=None,
                 extra_padding: bool = True, *, entity_id: Optional[str] = None,
                 key_use: Optional[str] = "signing", wrap_certs: bool = False) -> str:
        """SAML 2.0 metadata of this IdP.

        ``certs``: the certificates of the KeyDescriptors (KeyPair,
        x509.Certificate, or a string written verbatim into X509Certificate);
        default: this IdP's own.  ``valid_until``: the EntityDescriptor's
        validUntil (datetime, xs:dateTime string or seconds from now; default
        none).  ``key_use``: the KeyDescriptors' ``use`` (None: no attribute).
        ``wrap_certs``: base64 in lines of 64 characters, as many IdPs write it.
        """
        if certs is None:
            certs = [self.keypair]
        entity = entity_id or self.entity_id
        base = f"https://{self.host}"
        descriptors = []
        for cert in certs:
            text = cert if isinstance(cert, str) else base64.b64encode(
                _cert_of(cert).public_bytes(serialization.Encoding.DER)).decode()
            if wrap_certs and not isinstance(cert, str):
                text = "\n" + "\n".join(text[i:i + 64] for i in range(0, len(text), 64)) + "\n"
            use = f" use={_attr(key_use)}" if key_use is not None else ""
            descriptors.append(
                f"<md:KeyDescriptor{use}><ds:KeyInfo><ds:X509Data>"
                f"<ds:X509Certificate>{text}</ds:X509Certificate>"
                f"</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>")
        formats = [PERSISTENT, TRANSIENT, EMAIL, UNSPECIFIED] if extra_padding else [PERSISTENT]
        valid = f" validUntil={_attr(xml_time(valid_until))}" if valid_until is not None else ""
        parts = [
            f'<md:EntityDescriptor xmlns:md="{MD_NS}" xmlns:ds="{DS_NS}" '
            f"entityID={_attr(entity)}{valid}>",
            f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
            f'protocolSupportEnumeration="{SAMLP_NS}">',
            *descriptors,
            f'<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            f'Location="{base}/saml/slo"/>',
            *(f"<md:NameIDFormat>{f}</md:NameIDFormat>" for f in formats),
            f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            f'Location="{base}/saml/sso"/>',
            f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="{base}/saml/sso"/>',
            "</md:IDPSSODescriptor>",
        ]
        if extra_padding:
            parts += [
                "<md:Organization>",
                '<md:OrganizationName xml:lang="en">Tessera Test Identity Provider'
                "</md:OrganizationName>",
                '<md:OrganizationDisplayName xml:lang="en">Tessera Test IdP'
                "</md:OrganizationDisplayName>",
                f'<md:OrganizationURL xml:lang="en">{base}/</md:OrganizationURL>',
                "</md:Organization>",
                '<md:ContactPerson contactType="technical">',
                "<md:GivenName>Test</md:GivenName><md:SurName>Operator</md:SurName>",
                f"<md:EmailAddress>mailto:saml-admin@{self.host}</md:EmailAddress>",
                "</md:ContactPerson>",
                '<md:ContactPerson contactType="support">',
                "<md:Company>Tessera tests</md:Company>",
                f"<md:EmailAddress>mailto:support@{self.host}</md:EmailAddress>",
                "</md:ContactPerson>",
            ]
        parts.append("</md:EntityDescriptor>")
        doc = "\n".join(parts)
        if extra_padding and len(doc) < 1000:
            doc = doc.replace("</md:EntityDescriptor>", "<!-- " + "padding " * (
                (1000 - len(doc)) // 8 + 1) + "-->\n</md:EntityDescriptor>")
        return doc

    # -- responses --------------------------------------------------------
    def response(self, *,
                 issuer: Optional[str] = None,
                 response_issuer=_DEFAULT,
                 assertion_issuer=_DEFAULT,
                 response_id: Optional[str] = None,
                 assertion_id: Optional[str] = None,
                 issue_instant=_DEFAULT,
                 destination=_DEFAULT,
                 status: str = STATUS_SUCCESS,
                 status_message: Optional[str] = None,
                 name_id: Optional[str] = "user@example.test",
                 name_id_format: Optional[str] = PERSISTENT,
                 subject_confirmation: bool = True,
                 confirmation_method: str = BEARER,
                 recipient: Optional[str] = AWS_SAML,
                 subject_not_on_or_after=_DEFAULT,
                 conditions: bool = True,
                 not_before=_DEFAULT,
                 not_on_or_after=_DEFAULT,
                 audiences: Optional[Sequence[str]] = (AWS_SAML,),
                 authn_statement: bool = True,
                 authn_instant=_DEFAULT,
                 session_not_on_or_after=None,
                 advice_xml: Optional[str] = None,
                 role_pairs: Optional[Sequence[tuple]] = None,
                 provider_first: bool = False,
                 session_name: Optional[str] = "saml-session",
                 session_duration: Union[int, str, None] = None,
                 source_identity: Optional[str] = None,
                 principal_tags: Optional[Mapping[str, str]] = None,
                 transitive_tag_keys: Optional[Sequence[str]] = None,
                 attributes: Optional[Mapping[str, Sequence[str]]] = None,
                 value_type: Optional[str] = "xs:string",
                 raw_attribute_xml: str = "",
                 assertion_comment: Optional[str] = None,
                 encrypted: bool = False) -> str:
        """An unsigned ``samlp:Response`` (a string) with one ``saml:Assertion``.

        Times take a datetime, an xs:dateTime string or seconds from now;
        None leaves the attribute out.  Defaults: IssueInstant now, NotBefore
        now-60s, Conditions and SubjectConfirmationData NotOnOrAfter now+300s.
        ``issuer`` (default: the entity id) is the Issuer of both the Response
        and the Assertion unless ``response_issuer``/``assertion_issuer`` say
        otherwise (None: no Issuer element).  ``name_id=None``: no NameID;
        ``name_id_format=None``: no Format.  ``recipient=None``: no Recipient.
        ``audiences=None`` or empty: no AudienceRestriction.  ``destination``
        (the Response's Destination) defaults to the recipient (None: no
        Destination attribute).  ``status``: a
        full status URN or its last part ("Responder").

        Attributes: ``attributes`` maps a Name to its values (written as
        ``saml:AttributeValue xsi:type="xs:string"``, unless ``value_type`` says
        otherwise); ``role_pairs=[(role_arn, provider_arn)]`` is the Role
        attribute ("<role>,<provider>", or provider first with
        ``provider_first``); ``session_name`` (None: no attribute),
        ``session_duration``, ``source_identity``, ``principal_tags`` and
        ``transitive_tag_keys`` are the other AWS attributes.
        ``raw_attribute_xml`` is appended verbatim inside the AttributeStatement,
        ``advice_xml`` verbatim inside a ``saml:Advice``, ``assertion_comment``
        as a comment after the assertion's Issuer.  ``encrypted=True`` replaces
        the assertion with a ``saml:EncryptedAssertion`` (dummy cipher data).
        """
        issuer = issuer if issuer is not None else self.entity_id
        r_issuer = issuer if response_issuer is _DEFAULT else response_issuer
        a_issuer = issuer if assertion_issuer is _DEFAULT else assertion_issuer
        if destination is _DEFAULT:
            destination = recipient
        response_id = response_id or new_id()
        assertion_id = assertion_id or new_id()
        instant = _time_or_none(issue_instant, 0) or xml_time(0)
        if not status.startswith("urn:"):
            status = STATUS_PREFIX + status

        attrs: list[tuple[str, list[str]]] = []
        if role_pairs:
            attrs.append((ROLE_ATTR, [f"{p},{r}" if provider_first else f"{r},{p}"
                                      for r, p in role_pairs]))
        if session_name is not None:
            attrs.append((SESSION_NAME_ATTR, [session_name]))
        if session_duration is not None:
            attrs.append((SESSION_DURATION_ATTR, [str(session_duration)]))
        if source_identity is not None:
            attrs.append((SOURCE_IDENTITY_ATTR, [source_identity]))
        for key, value in (principal_tags or {}).items():
            attrs.append((PRINCIPAL_TAG_ATTR + key, [value]))
        if transitive_tag_keys:
            attrs.append((TRANSITIVE_TAG_KEYS_ATTR, list(transitive_tag_keys)))
        for name, values in (attributes or {}).items():
            attrs.append((name, [values] if isinstance(values, str) else list(values)))

        out = [f'<samlp:Response xmlns:samlp="{SAMLP_NS}" xmlns:saml="{SAML_NS}" '
               f'xmlns:xs="{XS_NS}" xmlns:xsi="{XSI_NS}" ID={_attr(response_id)} '
               f'Version="2.0" IssueInstant="{instant}"'
               + (f" Destination={_attr(destination)}" if destination is not None else "")
               + ">"]
        if r_issuer is not None:
            out.append(f"<saml:Issuer>{_text(r_issuer)}</saml:Issuer>")
        out.append(f"<samlp:Status><samlp:StatusCode Value={_attr(status)}/>"
                   + (f"<samlp:StatusMessage>{_text(status_message)}</samlp:StatusMessage>"
                      if status_message is not None else "")
                   + "</samlp:Status>")
        if encrypted:
            out.append(
                f'<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="{XENC_NS}" '
                f'Type="{XENC_NS}Element"><xenc:EncryptionMethod '
                f'Algorithm="{XENC_NS}aes256-cbc"/><xenc:CipherData><xenc:CipherValue>'
                f"{base64.b64encode(secrets.token_bytes(96)).decode()}"
                "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>"
                "</saml:EncryptedAssertion></samlp:Response>")
            return "".join(out)

        out.append(f'<saml:Assertion ID={_attr(assertion_id)} IssueInstant="{instant}" '
                   'Version="2.0">')
        if a_issuer is not None:
            out.append(f"<saml:Issuer>{_text(a_issuer)}</saml:Issuer>")
        if assertion_comment is not None:
            out.append(f"<!--{assertion_comment}-->")
        out.append("<saml:Subject>")
        if name_id is not None:
            fmt = f" Format={_attr(name_id_format)}" if name_id_format is not None else ""
            out.append(f"<saml:NameID{fmt}>{_text(name_id)}</saml:NameID>")
        if subject_confirmation:
            data = ""
            sc_until = _time_or_none(subject_not_on_or_after, 300)
            if sc_until is not None:
                data += f' NotOnOrAfter="{sc_until}"'
            if recipient is not None:
                data += f" Recipient={_attr(recipient)}"
            out.append(f"<saml:SubjectConfirmation Method={_attr(confirmation_method)}>"
                       f"<saml:SubjectConfirmationData{data}/></saml:SubjectConfirmation>")
        out.append("</saml:Subject>")
        if conditions:
            cond = ""
            nb = _time_or_none(not_before, -60)
            na = _time_or_none(not_on_or_after, 300)
            if nb is not None:
                cond += f' NotBefore="{nb}"'
            if na is not None:
                cond += f' NotOnOrAfter="{na}"'
            out.append(f"<saml:Conditions{cond}>")
            if audiences:
                out.append("<saml:AudienceRestriction>"
                           + "".join(f"<saml:Audience>{_text(a)}</saml:Audience>"
                                     for a in audiences)
                           + "</saml:AudienceRestriction>")
            out.append("</saml:Conditions>")
        if advice_xml is not None:
            out.append(f"<saml:Advice>{advice_xml}</saml:Advice>")
        if authn_statement:
            authn = _time_or_none(authn_instant, -5)
            extra = ""
            if session_not_on_or_after is not None:
                extra = f' SessionNotOnOrAfter="{xml_time(session_not_on_or_after)}"'
            out.append(f'<saml:AuthnStatement AuthnInstant="{authn}" '
                       f'SessionIndex="{new_id("_session-")}"{extra}><saml:AuthnContext>'
                       f"<saml:AuthnContextClassRef>{PASSWORD_PROTECTED}"
                       "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>")
        if attrs or raw_attribute_xml:
            out.append("<saml:AttributeStatement>")
            vtype = f" xsi:type={_attr(value_type)}" if value_type is not None else ""
            for name, values in attrs:
                out.append(f"<saml:Attribute Name={_attr(name)} NameFormat=\"{ATTRNAME_URI}\">"
                           + "".join(f"<saml:AttributeValue{vtype}>{_text(v)}"
                                     "</saml:AttributeValue>" for v in values)
                           + "</saml:Attribute>")
            out.append(raw_attribute_xml)
            out.append("</saml:AttributeStatement>")
        out.append("</saml:Assertion></samlp:Response>")
        return "".join(out)

    # -- signing ----------------------------------------------------------
    def sign(self, xml: str, what: str = "assertion", signer: str = "signxml",
             algorithm: str = "rsa-sha256", key=None, cert=None,
             inclusive_prefixes: Optional[Sequence[str]] = None,
             reference_id: Optional[str] = None) -> str:
        """Sign ``xml`` (a samlp:Response) and return the signed document.

        ``what``: "assertion" (the first Assertion), "response" or "both"
        (assertion first, then the response over it).  ``signer``: "signxml"
        or "xmlsec1".  ``algorithm``: "rsa-sha256" or "rsa-sha1" (signature and
        digest).  ``key``: a KeyPair or an RSA private key (default: this
        IdP's); ``cert``: the certificate written into KeyInfo (default: the
        KeyPair's, or this IdP's).  ``inclusive_prefixes``: an
        ``ec:InclusiveNamespaces PrefixList`` on the reference's exclusive C14N
        transform (e.g. ``["xs"]``).  ``reference_id``: sign the element with
        this ID instead of the one the signature is put in (a broken signature
        placement, for negative tests).
        """
        return sign(xml, what=what, signer=signer, algorithm=algorithm,
                    key=key if key is not None else self.keypair,
                    cert=cert, inclusive_prefixes=inclusive_prefixes,
                    reference_id=reference_id)

    def signed(self, what: str = "assertion", signer: str = "signxml",
               algorithm: str = "rsa-sha256", key=None, cert=None, **knobs) -> str:
        """``sign(response(**knobs), ...)``."""
        return self.sign(self.response(**knobs), what=what, signer=signer,
                         algorithm=algorithm, key=key, cert=cert)

    def signed_b64(self, **kwargs) -> str:
        return b64(self.signed(**kwargs))


# ---------------------------------------------------------------------------
# XML helpers
# ---------------------------------------------------------------------------


def parse(xml: Union[str, bytes]) -> etree._Element:
    """Parse without resolving entities or touching the network."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return etree.fromstring(data, _PARSER)


def serialize(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode")


def q(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


def _first_assertion(root: etree._Element) -> etree._Element:
    found = root.find(f".//{q(SAML_NS, 'Assertion')}")
    if found is None:
        raise ValueError("the document has no saml:Assertion")
    return found


def _target(root: etree._Element, what: str) -> etree._Element:
    if what == "response":
        if root.tag != q(SAMLP_NS, "Response"):
            raise ValueError(f"root is {root.tag}, not samlp:Response")
        return root
    if what == "assertion":
        return _first_assertion(root)
    raise ValueError(f"unknown signing target {what!r}")


def _insert_signature(element: etree._Element, signature: etree._Element) -> None:
    """Put ``signature`` where the SAML schema wants it: right after the element's Issuer."""
    issuer = element.find(q(SAML_NS, "Issuer"))
    if issuer is not None:
        issuer.addnext(signature)
        signature.tail = issuer.tail  # the same whitespace after it as after the Issuer
    else:
        element.insert(0, signature)


def direct_signature(element: etree._Element) -> Optional[etree._Element]:
    """The ds:Signature child of ``element``, if any."""
    return element.find(q(DS_NS, "Signature"))


def _private_key(key) -> rsa.RSAPrivateKey:
    if isinstance(key, KeyPair):
        return key.key
    if isinstance(key, (str, bytes)):
        return serialization.load_pem_private_key(key.encode() if isinstance(key, str) else key,
                                                  password=None)
    return key


# ---------------------------------------------------------------------------
# signing
# ---------------------------------------------------------------------------


class _Signer(XMLSigner):
    """signxml's XMLSigner, with RSA-SHA1 allowed (SAML IdPs still use it)."""

    def check_deprecated_methods(self):
        pass


def sign(xml: str, *, what: str = "assertion", signer: str = "signxml",
         algorithm: str = "rsa-sha256", key, cert=None,
         inclusive_prefixes: Optional[Sequence[str]] = None,
         reference_id: Optional[str] = None) -> str:
    """See ``TestSamlIdP.sign``."""
    if what == "both":
        once = sign(xml, what="assertion", signer=signer, algorithm=algorithm, key=key,
                    cert=cert, inclusive_prefixes=inclusive_prefixes)
        return sign(once, what="response", signer=signer, algorithm=algorithm, key=key,
                    cert=cert, inclusive_prefixes=inclusive_prefixes)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}")
    if cert is None:
        if not isinstance(key, KeyPair):
            raise ValueError("cert is required when key is not a KeyPair")
        cert = key.cert
    cert = _cert_of(cert)
    if signer == "signxml":
        return _sign_signxml(xml, what, _private_key(key), cert, algorithm, inclusive_prefixes,
                             reference_id)
    if signer == "xmlsec1":
        return _sign_xmlsec1(xml, what, _private_key(key), cert, algorithm, inclusive_prefixes,
                             reference_id)
    raise ValueError(f"unknown signer {signer!r}")


def _sign_signxml(xml, what, key, cert, algorithm, prefixes, reference_id=None) -> str:
    root = parse(xml)
    element = _target(root, what)
    ref_id = reference_id or element.get("ID")
    placeholder = etree.Element(q(DS_NS, "Signature"), nsmap={"ds": DS_NS}, Id="placeholder")
    _insert_signature(element, placeholder)
    sig_uri, digest_uri = ALGORITHMS[algorithm]
    signer = _Signer(method=methods.enveloped, signature_algorithm=SignatureMethod(sig_uri),
                     digest_algorithm=DigestAlgorithm(digest_uri),
                     c14n_algorithm=CanonicalizationMethod(EXC_C14N))
    if prefixes:
        # signxml digests with the reference's PrefixList but, for enveloped
        # signatures, does not write it into the Transform; add it before the
        # SignedInfo is canonicalized and signed.
        def add_prefix_list(sig_root, signing_settings):
            for transform in sig_root.iter(q(DS_NS, "Transform")):
                if transform.get("Algorithm") == EXC_C14N:
                    etree.SubElement(transform, q(EC_NS, "InclusiveNamespaces"),
                                     nsmap={"ec": EC_NS}, PrefixList=" ".join(prefixes))
        signer.signature_annotators.insert(0, add_prefix_list)
    reference = SignatureReference(URI=f"#{ref_id}",
                                   inclusive_ns_prefixes=list(prefixes) if prefixes else None)
    signed = signer.sign(root, key=key, cert=[cert], reference_uri=[reference], id_attribute="ID")
    return serialize(signed)


def _signature_template(ref_id: str, algorithm: str,
                        prefixes: Optional[Sequence[str]]) -> etree._Element:
    sig_uri, digest_uri = ALGORITHMS[algorithm]
    ds = lambda local: q(DS_NS, local)  # noqa: E731
    sig = etree.Element(ds("Signature"), nsmap={"ds": DS_NS})
    info = etree.SubElement(sig, ds("SignedInfo"))
    etree.SubElement(info, ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    etree.SubElement(info, ds("SignatureMethod"), Algorithm=sig_uri)
    ref = etree.SubElement(info, ds("Reference"), URI=f"#{ref_id}")
    transforms = etree.SubElement(ref, ds("Transforms"))
    etree.SubElement(transforms, ds("Transform"), Algorithm=ENVELOPED)
    c14n = etree.SubElement(transforms, ds("Transform"), Algorithm=EXC_C14N)
    if prefixes:
        etree.SubElement(c14n, q(EC_NS, "InclusiveNamespaces"), nsmap={"ec": EC_NS},
                         PrefixList=" ".join(prefixes))
    etree.SubElement(ref, ds("DigestMethod"), Algorithm=digest_uri)
    etree.SubElement(ref, ds("DigestValue"))
    etree.SubElement(sig, ds("SignatureValue"))
    key_info = etree.SubElement(sig, ds("KeyInfo"))
    etree.SubElement(key_info, ds("X509Data"))
    return sig


ID_ATTR_ARGS = ["--id-attr:ID", f"{SAML_NS}:Assertion", "--id-attr:ID", f"{SAMLP_NS}:Response"]
_UNSIGNED_TEMPLATE = ("//*[local-name()='Signature' and namespace-uri()='" + DS_NS + "']"
                      "[*[local-name()='SignatureValue' and normalize-space(.)='']]")


def xmlsec1_path() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        raise RuntimeError("the xmlsec1 command is not installed (Debian package xmlsec1)")
    return path


def _sign_xmlsec1(xml, what, key, cert, algorithm, prefixes, reference_id=None) -> str:
    root = parse(xml)
    element = _target(root, what)
    _insert_signature(element, _signature_template(reference_id or element.get("ID"),
                                                   algorithm, prefixes))
    with tempfile.TemporaryDirectory(prefix="saml-xmlsec1-") as tmp:
        tmp = Path(tmp)
        (tmp / "key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
        (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp / "in.xml").write_bytes(etree.tostring(root, encoding="utf-8", xml_declaration=True))
        cmd = [xmlsec1_path(), "--sign", "--privkey-pem", f"{tmp / 'key.pem'},{tmp / 'cert.pem'}",
               *ID_ATTR_ARGS, "--node-xpath", _UNSIGNED_TEMPLATE,
               "--output", str(tmp / "out.xml"), str(tmp / "in.xml")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"xmlsec1 --sign failed ({proc.returncode}): {proc.stderr}")
        out = (tmp / "out.xml").read_bytes()
    # xmlsec1 keeps the document as it was and fills in the template; drop the
    # XML declaration it writes so every signer's output looks alike.
    return serialize(parse(out))


# ---------------------------------------------------------------------------
# oracles
# ---------------------------------------------------------------------------


def saml_signatures(root: etree._Element) -> list[int]:
    """Document-order indexes (among all ds:Signature elements) of the signatures
    that are children of a samlp:Response or a saml:Assertion."""
    indexes = []
    for i, sig in enumerate(root.iter(q(DS_NS, "Signature"))):
        parent = sig.getparent()
        if parent is not None and parent.tag in (q(SAMLP_NS, "Response"), q(SAML_NS, "Assertion")):
            indexes.append(i)
    return indexes


def verify_with_xmlsec1(xml: Union[str, bytes], cert_pem, *, detail: bool = False):
    """True if the document has at least one SAML signature and xmlsec1 verifies
    each of them with the key of ``cert_pem`` (the certificates in KeyInfo are
    ignored).  With ``detail=True``: ``(ok, [per-signature error or None])``."""
    root = parse(xml)
    indexes = saml_signatures(root)
    errors = []
    with tempfile.TemporaryDirectory(prefix="saml-xmlsec1-") as tmp:
        tmp = Path(tmp)
        (tmp / "cert.pem").write_bytes(_pem(cert_pem))
        (tmp / "doc.xml").write_bytes(xml.encode("utf-8") if isinstance(xml, str) else xml)
        for index in indexes:
            xpath = (f"(//*[local-name()='Signature' and namespace-uri()='{DS_NS}'])"
                     f"[{index + 1}]")
            cmd = [xmlsec1_path(), "--verify", "--enabled-reference-uris", "empty,same-doc",
                   "--enabled-key-data", "raw-x509-cert",
                   "--pubkey-cert-pem", str(tmp / "cert.pem"), *ID_ATTR_ARGS,
                   "--node-xpath", xpath, str(tmp / "doc.xml")]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            errors.append(None if proc.returncode == 0 else _last_lines(proc.stderr))
    ok = bool(indexes) and all(e is None for e in errors)
    return (ok, errors) if detail else ok


def _last_lines(text: str, n: int = 2) -> str:
    """The first ``n`` error lines of xmlsec1's stderr."""
    lines = [line.strip() for line in text.splitlines() if "rror" in line]
    return " | ".join(lines[:n]) if lines else (text.strip() or "(no output)")


class _Verifier(XMLVerifier):
    """signxml's XMLVerifier pointed at the n-th ds:Signature of the document."""

    def __init__(self, index: int):
        super().__init__()
        self._index = index

    def _get_signature(self, root):
        signatures = list(root.iter(q(DS_NS, "Signature")))
        return signatures[self._index]


_ALL_ALGORITHMS = SignatureConfiguration(
    signature_methods=frozenset(SignatureMethod), digest_algorithms=frozenset(DigestAlgorithm),
    expect_references=1)


def verify_with_signxml(xml: Union[str, bytes], cert_pem, *, detail: bool = False):
    """Like ``verify_with_xmlsec1``, with signxml's XMLVerifier (ID attribute
    ``ID``, SHA-1 allowed, the given certificate instead of KeyInfo's)."""
    root = parse(xml)
    indexes = saml_signatures(root)
    cert = _cert_of(cert_pem)
    errors = []
    for index in indexes:
        try:
            _Verifier(index).verify(root, x509_cert=cert, id_attribute="ID",
                                    expect_config=_ALL_ALGORITHMS)
            errors.append(None)
        except Exception as exc:  # signxml raises several exception types
            errors.append(f"{type(exc).__name__}: {exc}")
    ok = bool(indexes) and all(e is None for e in errors)
    return (ok, errors) if detail else ok


# ---------------------------------------------------------------------------
# XML signature wrapping (XSW1-XSW8)
# ---------------------------------------------------------------------------


def _set_attribute_values(element: etree._Element, name: str, values: Iterable[str]) -> None:
    statement = element.find(f".//{q(SAML_NS, 'AttributeStatement')}")
    if statement is None:
        statement = etree.SubElement(element, q(SAML_NS, "AttributeStatement"))
    attribute = statement.find(f"{q(SAML_NS, 'Attribute')}[@Name='{name}']")
    if attribute is None:
        attribute = etree.SubElement(statement, q(SAML_NS, "Attribute"), Name=name,
                                     NameFormat=ATTRNAME_URI)
    for old in list(attribute):
        attribute.remove(old)
    for value in values:
        node = etree.SubElement(attribute, q(SAML_NS, "AttributeValue"))
        node.set(q(XSI_NS, "type"), "xs:string")
        node.text = value


def apply_evil(element: etree._Element, evil: Mapping) -> None:
    """Put the attacker's claims into ``element`` (an Assertion or a Response).

    Knobs: ``name_id``, ``role_pairs`` [(role, provider)], ``session_name``,
    ``attributes`` {name: [values]}.
    """
    for name_id in element.iter(q(SAML_NS, "NameID")):
        if "name_id" in evil:
            name_id.text = evil["name_id"]
    if "role_pairs" in evil:
        _set_attribute_values(element, ROLE_ATTR, [f"{r},{p}" for r, p in evil["role_pairs"]])
    if "session_name" in evil:
        _set_attribute_values(element, SESSION_NAME_ATTR, [evil["session_name"]])
    for name, values in evil.get("attributes", {}).items():
        _set_attribute_values(element, name, values)


DEFAULT_EVIL = {"name_id": "attacker@evil.example", "session_name": "evil-session"}


def xsw(signed_response_xml: str, variant: int, evil: Optional[Mapping] = None) -> str:
    """One of the eight classic XML signature wrapping attacks on a signed response.

    In each, a forged element with the attacker's claims (``evil``: see
    ``apply_evil``; default: another NameID and session name) sits where a
    relying party that reads "the Response" or "the first Assertion" finds
    it, while an unchanged copy of the signed element is kept elsewhere, so
    a naive verifier that looks up the referenced ID and checks its digest
    and the signature still succeeds.  Variants 1-2 need a signed Response,
    3-8 a signed Assertion (as SAML Raider applies them).

    XSW1  The root Response becomes the forged one (new ID, attacker claims,
          still holding the original Signature); an unsigned copy of the
          original Response is appended *inside* that ds:Signature.
    XSW2  As XSW1, but the copy of the original Response is inserted as a
          sibling *before* the ds:Signature (a "detached" signature).
    XSW3  A forged, unsigned Assertion (new ID) is inserted in the Response
          *before* the signed Assertion, which stays in place.
    XSW4  A forged, unsigned Assertion (new ID) is appended to the Response
          and the signed Assertion is moved *inside* it (as its last child).
    XSW5  The Assertion in place becomes the forged one (new ID, attacker
          claims, still holding the original Signature); an unsigned copy of
          the original Assertion is appended at the end of the Response.
    XSW6  As XSW5, but the copy of the original Assertion goes *inside* the
          forged Assertion's ds:Signature.
    XSW7  A samlp:Extensions element is inserted in the Response (before
          Status, where the schema allows it) holding a forged, unsigned copy
          of the Assertion with the *same* ID; the signed Assertion stays in
          place (a verifier that resolves the ID to the last registration and
          an application that reads the first Assertion disagree).
    XSW8  The Assertion in place becomes the forged one (same ID, attacker
          claims, still holding the Signature); an unsigned copy of the
          original goes into a ds:Object appended to that ds:Signature.
    """
    evil = {**DEFAULT_EVIL, **(evil or {})}
    root = parse(signed_response_xml)
    response_tag, assertion_tag = q(SAMLP_NS, "Response"), q(SAML_NS, "Assertion")
    if variant in (1, 2):
        if root.tag != response_tag or direct_signature(root) is None:
            raise ValueError(f"XSW{variant} needs a signed Response")
        original = copy.deepcopy(root)
        original.remove(direct_signature(original))
        signature = direct_signature(root)
        apply_evil(root, evil)
        root.set("ID", new_id("_evil-response-"))
        if variant == 1:
            signature.append(original)
        else:
            signature.addprevious(original)
        return serialize(root)

    if variant not in range(3, 9):
        raise ValueError(f"no XSW variant {variant}")
    assertion = _first_assertion(root)
    signature = direct_signature(assertion)
    if signature is None:
        raise ValueError(f"XSW{variant} needs a signed Assertion")
    unsigned = copy.deepcopy(assertion)
    unsigned.remove(direct_signature(unsigned))

    if variant in (3, 4, 7):
        forged = unsigned  # an unsigned clone carries the attacker's claims
        apply_evil(forged, evil)
        if variant == 3:
            forged.set("ID", new_id("_evil-assertion-"))
            assertion.addprevious(forged)
        elif variant == 4:
            forged.set("ID", new_id("_evil-assertion-"))
            root.append(forged)
            forged.append(assertion)  # moves the signed assertion inside the forged one
        else:
            extensions = etree.Element(q(SAMLP_NS, "Extensions"))
            status = root.find(q(SAMLP_NS, "Status"))
            (status if status is not None else assertion).addprevious(extensions)
            extensions.append(forged)
        return serialize(root)

    # 5, 6, 8: the assertion in place (with the Signature) becomes the forged one
    apply_evil(assertion, evil)
    if variant == 5:
        assertion.set("ID", new_id("_evil-assertion-"))
        root.append(unsigned)
    elif variant == 6:
        assertion.set("ID", new_id("_evil-assertion-"))
        signature.append(unsigned)
    else:
        obj = etree.SubElement(signature, q(DS_NS, "Object"))
        obj.append(unsigned)
    return serialize(root)
