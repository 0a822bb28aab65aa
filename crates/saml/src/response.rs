//! A `samlp:Response`: its shape checked, its signature verified, and the claims read from
//! the one assertion the signature covers.
//!
//! Signature-wrapping attacks (XSW1–XSW8) all rely on the verifier checking one element and
//! the application reading another. Here the document must hold exactly one `Assertion`,
//! directly inside the root `Response`; every `ID` is unique; a signature may only sit directly
//! in the `Response` or in that `Assertion`, and its reference must be to the element it sits
//! in. The claims are then read from that same node of the same tree.

use crate::SamlError;
use crate::dom::{Document, NodeId};
use crate::dsig::{DSIG_NS, verify_enveloped};
use crate::metadata::{SigningKey, parse_instant};
use std::collections::HashSet;
use time::OffsetDateTime;

/// The SAML 2.0 protocol namespace.
const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// The SAML 2.0 assertion namespace.
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// The subject's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameId {
    /// The name.
    pub value: String,
    /// `@Format`, when given.
    pub format: Option<String>,
}

/// A bearer `SubjectConfirmationData`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// `@Recipient`: the URL the assertion was addressed to.
    pub recipient: Option<String>,
    /// `@NotBefore`.
    pub not_before: Option<OffsetDateTime>,
    /// `@NotOnOrAfter`.
    pub not_on_or_after: Option<OffsetDateTime>,
}

/// The claims of a response whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The assertion's `ID` (single-use records are keyed by it).
    pub id: String,
    /// The assertion's `Issuer`.
    pub issuer: String,
    /// The response's `Issuer`, when given.
    pub response_issuer: Option<String>,
    /// The response's `Destination`, when given.
    pub destination: Option<String>,
    /// `Subject/NameID`.
    pub name_id: Option<NameId>,
    /// The bearer subject confirmations.
    pub confirmations: Vec<Confirmation>,
    /// `Conditions/@NotBefore`.
    pub not_before: Option<OffsetDateTime>,
    /// `Conditions/@NotOnOrAfter`.
    pub not_on_or_after: Option<OffsetDateTime>,
    /// One list of audiences per `AudienceRestriction`.
    pub audience_restrictions: Vec<Vec<String>>,
    /// `AuthnStatement/@SessionNotOnOrAfter`.
    pub session_not_on_or_after: Option<OffsetDateTime>,
    /// Attributes by `@Name`, with their values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
}

impl Assertion {
    /// The values of an attribute (names are case-sensitive), joined over repeated
    /// `Attribute` elements of that name.
    pub fn attribute(&self, name: &str) -> Vec<&str> {
        self.attributes
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.iter().map(String::as_str))
            .collect()
    }
}

fn malformed(why: impl Into<String>) -> SamlError {
    SamlError::Malformed(why.into())
}

/// Decodes the `SAMLAssertion` parameter: standard base64, whitespace tolerated, UTF-8.
pub fn decode(parameter: &str) -> Result<String, SamlError> {
    let bytes = crate::decode_base64(parameter)
        .ok_or_else(|| malformed("The SAML assertion is not valid base64."))?;
    String::from_utf8(bytes).map_err(|_| malformed("The SAML response is not UTF-8."))
}

fn instant(doc: &Document, id: NodeId, attr: &str) -> Result<Option<OffsetDateTime>, SamlError> {
    match doc.element(id).and_then(|e| e.attr(attr)) {
        None => Ok(None),
        Some(v) => parse_instant(v)
            .map(Some)
            .ok_or_else(|| malformed(format!("{attr} '{v}' is not a valid dateTime"))),
    }
}

fn signature_of(doc: &Document, element: NodeId) -> Result<Option<NodeId>, SamlError> {
    let mut found = doc.children_named(element, DSIG_NS, "Signature");
    let first = found.next().map(|(id, _)| id);
    if found.next().is_some() {
        return Err(SamlError::Signature(
            "an element carries two signatures".to_owned(),
        ));
    }
    Ok(first)
}

/// Parses and verifies a response against the provider's keys, and reads its claims.
pub fn verify(xml: &str, keys: &[SigningKey]) -> Result<Assertion, SamlError> {
    let doc = Document::parse(xml).map_err(|e| malformed(format!("Invalid SAML response: {e}")))?;
    let root = doc.root();
    let response = doc
        .element(root)
        .filter(|e| e.is(PROTOCOL_NS, "Response"))
        .ok_or_else(|| malformed("The document is not a SAML 2.0 Response."))?;
    if response.attr("Version") != Some("2.0") {
        return Err(malformed("The response is not SAML version 2.0."));
    }
    let status = doc
        .only_child(root, PROTOCOL_NS, "Status")
        .and_then(|(s, _)| doc.only_child(s, PROTOCOL_NS, "StatusCode"))
        .and_then(|(_, code)| code.attr("Value"))
        .ok_or_else(|| malformed("The response has no status code."))?;
    if status != SUCCESS {
        return Err(SamlError::Rejected(format!(
            "The identity provider reported {status}."
        )));
    }
    if doc
        .elements()
        .any(|(_, e)| e.is(ASSERTION_NS, "EncryptedAssertion"))
    {
        return Err(SamlError::Encrypted);
    }
    let assertions: Vec<NodeId> = doc
        .elements()
        .filter(|(_, e)| e.is(ASSERTION_NS, "Assertion"))
        .map(|(id, _)| id)
        .collect();
    let assertion = match assertions.as_slice() {
        [only] if doc.element(*only).and_then(|e| e.parent) == Some(root) => *only,
        _ => {
            return Err(malformed(
                "A SAML response must hold exactly one assertion, directly inside the Response.",
            ));
        }
    };
    let mut ids = HashSet::new();
    for (_, e) in doc.elements() {
        if let Some(id) = e.attr("ID")
            && !ids.insert(id)
        {
            return Err(malformed(format!("The ID '{id}' appears twice.")));
        }
    }
    for (sig, e) in doc.elements().filter(|(_, e)| e.is(DSIG_NS, "Signature")) {
        if e.parent != Some(root) && e.parent != Some(assertion) {
            return Err(SamlError::Signature(format!(
                "a signature sits outside the Response and Assertion elements ({sig:?})"
            )));
        }
    }
    let mut verified = false;
    for element in [root, assertion] {
        if let Some(sig) = signature_of(&doc, element)? {
            let id = doc
                .element(element)
                .and_then(|e| e.attr("ID"))
                .filter(|id| !id.is_empty())
                .ok_or_else(|| SamlError::Signature("the signed element has no ID".to_owned()))?;
            verify_enveloped(&doc, element, id, sig, keys)
                .map_err(|e| SamlError::Signature(e.0))?;
            verified = true;
        }
    }
    if !verified {
        return Err(SamlError::Signature(
            "neither the Response nor its Assertion is signed".to_owned(),
        ));
    }
    read_claims(&doc, root, assertion)
}

fn read_claims(doc: &Document, root: NodeId, assertion: NodeId) -> Result<Assertion, SamlError> {
    let text_of = |parent: NodeId, local: &str| {
        doc.only_child(parent, ASSERTION_NS, local)
            .map(|(id, _)| doc.text(id).trim().to_owned())
    };
    let element = doc
        .element(assertion)
        .ok_or_else(|| malformed("The assertion vanished."))?;
    if element.attr("Version") != Some("2.0") {
        return Err(malformed("The assertion is not SAML version 2.0."));
    }
    let id = element.attr("ID").unwrap_or_default().to_owned();
    if id.is_empty() {
        return Err(malformed("The assertion has no ID."));
    }
    let issuer = text_of(assertion, "Issuer")
        .filter(|i| !i.is_empty())
        .ok_or_else(|| malformed("The assertion has no Issuer."))?;
    let response_issuer = text_of(root, "Issuer");
    let destination = doc
        .element(root)
        .and_then(|r| r.attr("Destination"))
        .map(str::to_owned);

    let mut name_id = None;
    let mut confirmations = Vec::new();
    if let Some((subject, _)) = doc.only_child(assertion, ASSERTION_NS, "Subject") {
        if let Some((n, e)) = doc.only_child(subject, ASSERTION_NS, "NameID") {
            let value = doc.text(n).trim().to_owned();
            if !value.is_empty() {
                name_id = Some(NameId {
                    value,
                    format: e.attr("Format").map(str::to_owned),
                });
            }
        }
        for (c, e) in doc.children_named(subject, ASSERTION_NS, "SubjectConfirmation") {
            if e.attr("Method") != Some(BEARER) {
                continue;
            }
            let data = doc.only_child(c, ASSERTION_NS, "SubjectConfirmationData");
            confirmations.push(match data {
                Some((d, de)) => Confirmation {
                    recipient: de.attr("Recipient").map(str::to_owned),
                    not_before: instant(doc, d, "NotBefore")?,
                    not_on_or_after: instant(doc, d, "NotOnOrAfter")?,
                },
                None => Confirmation {
                    recipient: None,
                    not_before: None,
                    not_on_or_after: None,
                },
            });
        }
    }

    let mut not_before = None;
    let mut not_on_or_after = None;
    let mut audience_restrictions = Vec::new();
    let mut conditions = doc.children_named(assertion, ASSERTION_NS, "Conditions");
    if let Some((c, _)) = conditions.next() {
        not_before = instant(doc, c, "NotBefore")?;
        not_on_or_after = instant(doc, c, "NotOnOrAfter")?;
        for (r, _) in doc.children_named(c, ASSERTION_NS, "AudienceRestriction") {
            audience_restrictions.push(
                doc.children_named(r, ASSERTION_NS, "Audience")
                    .map(|(a, _)| doc.text(a).trim().to_owned())
                    .collect(),
            );
        }
    }
    if conditions.next().is_some() {
        return Err(malformed("The assertion has two Conditions elements."));
    }

    let session_not_on_or_after = match doc
        .children_named(assertion, ASSERTION_NS, "AuthnStatement")
        .next()
    {
        Some((s, _)) => instant(doc, s, "SessionNotOnOrAfter")?,
        None => None,
    };
    let mut attributes = Vec::new();
    for (statement, _) in doc.children_named(assertion, ASSERTION_NS, "AttributeStatement") {
        for (a, e) in doc.children_named(statement, ASSERTION_NS, "Attribute") {
            let name = e.attr("Name").unwrap_or_default().to_owned();
            let values = doc
                .children_named(a, ASSERTION_NS, "AttributeValue")
                .map(|(v, _)| doc.text(v).trim().to_owned())
                .collect();
            attributes.push((name, values));
        }
    }
    Ok(Assertion {
        id,
        issuer,
        response_issuer,
        destination,
        name_id,
        confirmations,
        not_before,
        not_on_or_after,
        audience_restrictions,
        session_not_on_or_after,
        attributes,
    })
}
