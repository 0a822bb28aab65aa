//! SAML 2.0 identity-provider metadata, as uploaded to `CreateSAMLProvider`: the entity id
//! that responses must name as their issuer, the metadata's expiry, and the signing keys
//! (several while the provider rolls its certificate over).

use crate::dom::{Document, NodeId};
use crate::dsig::DSIG_NS;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::der::Decode;
use x509_cert::der::oid::ObjectIdentifier;

/// The SAML metadata namespace.
const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// `rsaEncryption`, the only key type SAML signatures are accepted with.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Why metadata was refused (IAM answers `InvalidInput`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct MetadataError(pub String);

fn invalid(why: impl Into<String>) -> MetadataError {
    MetadataError(why.into())
}

/// An RSA public key from a certificate of the provider's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// DER `RSAPublicKey` (PKCS #1).
    rsa_public_key: Vec<u8>,
}

impl SigningKey {
    /// Reads the RSA key of a DER X.509 certificate.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, MetadataError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| invalid(format!("a signing certificate is not valid X.509: {e}")))?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(invalid("signing certificates must hold RSA keys"));
        }
        let key = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| invalid("a signing certificate's key is malformed"))?;
        Ok(Self {
            rsa_public_key: key.to_vec(),
        })
    }

    /// The key in the form signature verification takes.
    pub(crate) fn rsa_public_key(&self) -> &[u8] {
        &self.rsa_public_key
    }
}

/// What Tessera keeps of a provider's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `EntityDescriptor/@entityID`: the issuer responses must name.
    pub entity_id: String,
    /// `EntityDescriptor/@validUntil`: after it, the provider's responses are refused.
    pub valid_until: Option<OffsetDateTime>,
    /// The keys of the IdP's `KeyDescriptor`s for signing (or for unspecified use).
    pub keys: Vec<SigningKey>,
}

/// Parses an `xs:dateTime` as SAML writes it (UTC, optional fractional seconds).
pub(crate) fn parse_instant(value: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc3339).ok()
}

fn certificates(doc: &Document, key_descriptor: NodeId) -> Vec<NodeId> {
    let mut found = Vec::new();
    for (info, _) in doc.children_named(key_descriptor, DSIG_NS, "KeyInfo") {
        for (data, _) in doc.children_named(info, DSIG_NS, "X509Data") {
            found.extend(
                doc.children_named(data, DSIG_NS, "X509Certificate")
                    .map(|(c, _)| c),
            );
        }
    }
    found
}

impl Metadata {
    /// Parses metadata with one `EntityDescriptor` holding an `IDPSSODescriptor`.
    pub fn parse(xml: &str) -> Result<Self, MetadataError> {
        let doc =
            Document::parse(xml).map_err(|e| invalid(format!("Invalid SAML metadata: {e}")))?;
        let root = doc.root();
        let descriptor = doc
            .element(root)
            .filter(|e| e.is(MD_NS, "EntityDescriptor"))
            .ok_or_else(|| invalid("SAML metadata must have one EntityDescriptor as its root"))?;
        let entity_id = descriptor
            .attr("entityID")
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| invalid("The EntityDescriptor has no entityID"))?
            .to_owned();
        let valid_until = match descriptor.attr("validUntil") {
            Some(v) => Some(
                parse_instant(v)
                    .ok_or_else(|| invalid(format!("validUntil '{v}' is not a dateTime")))?,
            ),
            None => None,
        };
        let idps: Vec<NodeId> = doc
            .children_named(root, MD_NS, "IDPSSODescriptor")
            .map(|(id, _)| id)
            .collect();
        if idps.is_empty() {
            return Err(invalid("SAML metadata must contain an IDPSSODescriptor"));
        }
        let mut keys = Vec::new();
        for idp in idps {
            for (kd, el) in doc.children_named(idp, MD_NS, "KeyDescriptor") {
                if el.attr("use").is_some_and(|u| u != "signing") {
                    continue;
                }
                for cert in certificates(&doc, kd) {
                    let der = crate::decode_base64(&doc.text(cert))
                        .ok_or_else(|| invalid("an X509Certificate is not base64"))?;
                    let key = SigningKey::from_certificate_der(&der)?;
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
        }
        if keys.is_empty() {
            return Err(invalid("SAML metadata must contain a signing certificate"));
        }
        Ok(Self {
            entity_id,
            valid_until,
            keys,
        })
    }
}
