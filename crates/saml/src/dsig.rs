//! XML-DSig verification of an enveloped signature over one element, as SAML uses it.
//!
//! Only the shape SAML identity providers produce is accepted: one `Reference` whose URI is
//! `#` + the ID of the element the signature sits in, the enveloped-signature transform
//! followed by exclusive C14N, exclusive C14N of `SignedInfo`, SHA-1/256/512 digests, and
//! RSA PKCS#1 v1.5 signatures. Anything else (other transforms, XPath, `Object`, several
//! references) is refused rather than interpreted, because every extra feature of XML-DSig
//! is a way to make the verified bytes differ from the element the claims are read from.
//! The key comes from the provider's metadata, never from the signature's `KeyInfo`.

use crate::c14n::exclusive;
use crate::dom::{Document, NodeId};
use crate::metadata::SigningKey;
use aws_lc_rs::{digest, signature};
use subtle::ConstantTimeEq;

/// The XML-DSig namespace.
pub(crate) const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Why a signature did not verify. The detail is for logs; clients see one message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct DsigError(pub String);

fn refuse(why: impl Into<String>) -> DsigError {
    DsigError(why.into())
}

fn b64(text: &str) -> Result<Vec<u8>, DsigError> {
    crate::decode_base64(text).ok_or_else(|| refuse("a digest or signature value is not base64"))
}

/// The `PrefixList` of an `ec:InclusiveNamespaces` child of a C14N method element.
fn inclusive_prefixes(doc: &Document, method: NodeId) -> Result<Vec<String>, DsigError> {
    let mut prefixes = Vec::new();
    for (_, child) in doc.child_elements(method) {
        if !child.is(EXC_C14N, "InclusiveNamespaces") {
            return Err(refuse(format!(
                "unexpected <{}> in a transform",
                child.qname()
            )));
        }
        let list = child.attr("PrefixList").unwrap_or_default();
        prefixes.extend(list.split_ascii_whitespace().map(str::to_owned));
    }
    Ok(prefixes)
}

fn algorithm(doc: &Document, id: NodeId) -> &str {
    doc.element(id)
        .and_then(|e| e.attr("Algorithm"))
        .unwrap_or_default()
}

fn only(doc: &Document, parent: NodeId, local: &str) -> Result<NodeId, DsigError> {
    doc.only_child(parent, DSIG_NS, local)
        .map(|(id, _)| id)
        .ok_or_else(|| refuse(format!("the signature needs exactly one {local}")))
}

/// Verifies `signature` (a `ds:Signature` child of `signed`) over `signed`, whose `ID` is
/// `id`, with any of `keys`.
pub(crate) fn verify_enveloped(
    doc: &Document,
    signed: NodeId,
    id: &str,
    signature_node: NodeId,
    keys: &[SigningKey],
) -> Result<(), DsigError> {
    for (_, child) in doc.child_elements(signature_node) {
        let known = ["SignedInfo", "SignatureValue", "KeyInfo"]
            .iter()
            .any(|l| child.is(DSIG_NS, l));
        if !known {
            return Err(refuse(format!(
                "unexpected <{}> in the signature",
                child.qname()
            )));
        }
    }
    let signed_info = only(doc, signature_node, "SignedInfo")?;
    let c14n_method = only(doc, signed_info, "CanonicalizationMethod")?;
    if algorithm(doc, c14n_method) != EXC_C14N {
        return Err(refuse("SignedInfo must use exclusive C14N"));
    }
    let signed_info_prefixes = inclusive_prefixes(doc, c14n_method)?;
    let signature_method = only(doc, signed_info, "SignatureMethod")?;
    let verification: &dyn signature::VerificationAlgorithm = match algorithm(doc, signature_method)
    {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => {
            &signature::RSA_PKCS1_2048_8192_SHA256
        }
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => {
            &signature::RSA_PKCS1_2048_8192_SHA512
        }
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => {
            &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        other => {
            return Err(refuse(format!(
                "signature algorithm '{other}' is not accepted"
            )));
        }
    };
    for (_, child) in doc.child_elements(signed_info) {
        let known = ["CanonicalizationMethod", "SignatureMethod", "Reference"]
            .iter()
            .any(|l| child.is(DSIG_NS, l));
        if !known {
            return Err(refuse(format!(
                "unexpected <{}> in SignedInfo",
                child.qname()
            )));
        }
    }
    let reference = only(doc, signed_info, "Reference")?;
    let uri = doc
        .element(reference)
        .and_then(|r| r.attr("URI"))
        .unwrap_or_default();
    if uri.strip_prefix('#') != Some(id) {
        return Err(refuse(format!(
            "the reference '{uri}' is not to the signed element '#{id}'"
        )));
    }
    let transforms = only(doc, reference, "Transforms")?;
    let steps: Vec<NodeId> = doc.child_elements(transforms).map(|(t, _)| t).collect();
    let [enveloped, c14n] = steps.as_slice() else {
        return Err(refuse(
            "the reference must have exactly the enveloped-signature and exclusive C14N transforms",
        ));
    };
    let all_transforms = doc.children_named(transforms, DSIG_NS, "Transform").count() == 2;
    if !all_transforms
        || algorithm(doc, *enveloped) != ENVELOPED
        || algorithm(doc, *c14n) != EXC_C14N
        || doc.child_elements(*enveloped).next().is_some()
    {
        return Err(refuse(
            "the reference must have exactly the enveloped-signature and exclusive C14N transforms",
        ));
    }
    let reference_prefixes = inclusive_prefixes(doc, *c14n)?;
    let digest_method = only(doc, reference, "DigestMethod")?;
    let digest_algorithm = match algorithm(doc, digest_method) {
        "http://www.w3.org/2001/04/xmlenc#sha256" => &digest::SHA256,
        "http://www.w3.org/2001/04/xmlenc#sha512" => &digest::SHA512,
        "http://www.w3.org/2000/09/xmldsig#sha1" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        other => {
            return Err(refuse(format!(
                "digest algorithm '{other}' is not accepted"
            )));
        }
    };
    for (_, child) in doc.child_elements(reference) {
        let known = ["Transforms", "DigestMethod", "DigestValue"]
            .iter()
            .any(|l| child.is(DSIG_NS, l));
        if !known {
            return Err(refuse(format!(
                "unexpected <{}> in Reference",
                child.qname()
            )));
        }
    }
    let expected_digest = b64(&doc.text(only(doc, reference, "DigestValue")?))?;
    let signature_value = b64(&doc.text(only(doc, signature_node, "SignatureValue")?))?;

    let canonical = exclusive(doc, signed, Some(signature_node), &reference_prefixes);
    let actual = digest::digest(digest_algorithm, &canonical);
    if !bool::from(actual.as_ref().ct_eq(&expected_digest)) {
        return Err(refuse("the digest of the signed element does not match"));
    }
    let signed_info_bytes = exclusive(doc, signed_info, None, &signed_info_prefixes);
    let verified = keys.iter().any(|key| {
        signature::UnparsedPublicKey::new(verification, key.rsa_public_key())
            .verify(&signed_info_bytes, &signature_value)
            .is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(refuse(
            "the signature does not verify with any certificate of the provider",
        ))
    }
}
