//! SAML providers: the requests, validated to the model, and their results. (Their tags use
//! the shared tag requests with a SAML-provider owner.)

use super::{Action, Reader, Tag, write_tags};
use crate::sts::format_timestamp;
use crate::xml::XmlWriter;
use time::OffsetDateTime;

/// A SAML-provider request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SamlRequest {
    /// `CreateSAMLProvider`.
    Create {
        /// 1–128 of `[\w._-]`, unique in the account.
        name: String,
        /// The IdP's metadata document (checked by the action).
        metadata: String,
        /// Initial tags.
        tags: Vec<Tag>,
    },
    /// `GetSAMLProvider`, `DeleteSAMLProvider`.
    Provider {
        /// Which action.
        action: Action,
        /// The provider's ARN, as given.
        arn: String,
    },
    /// `UpdateSAMLProvider`.
    Update {
        /// The provider's ARN, as given.
        arn: String,
        /// New metadata (certificate rollover), if given.
        metadata: Option<String>,
    },
    /// `ListSAMLProviders`.
    List,
}

impl Reader<'_, '_> {
    fn saml_metadata(&mut self, required: bool) -> Option<String> {
        match self.params.get("SAMLMetadataDocument") {
            Some(m) => {
                self.v.length(m, "sAMLMetadataDocument", 1000, 10_000_000);
                Some(m.to_owned())
            }
            None => {
                if required {
                    self.v.missing("sAMLMetadataDocument");
                }
                None
            }
        }
    }

    fn saml_name(&mut self) -> String {
        match self.params.get("Name") {
            Some(n) => {
                self.v.length(n, "name", 1, 128);
                self.v.pattern(n, "name", "[\\w._-]+", |c| {
                    c.is_ascii_alphanumeric() || "_.-".contains(c)
                });
                n.to_owned()
            }
            None => {
                self.v.missing("name");
                String::new()
            }
        }
    }

    /// `AssertionEncryptionMode` and `AddPrivateKey` configure encrypted assertions, which
    /// this server does not decrypt: refused by the model's own rule for them.
    fn no_encryption(&mut self) {
        if let Some(mode) = self.params.get("AssertionEncryptionMode")
            && mode != "Allowed"
        {
            self.v.push(
                Some(mode),
                "assertionEncryptionMode",
                "satisfy enum value set: [Allowed] (encrypted assertions are not supported)",
            );
        }
        if self.params.get("AddPrivateKey").is_some() {
            self.v.push(
                None,
                "addPrivateKey",
                "be absent: encrypted assertions are not supported",
            );
        }
    }
}

/// Decodes a SAML-provider action.
pub(super) fn decode(action: Action, r: &mut Reader<'_, '_>) -> SamlRequest {
    match action {
        Action::CreateSAMLProvider => {
            let metadata = r.saml_metadata(true).unwrap_or_default();
            let name = r.saml_name();
            r.no_encryption();
            SamlRequest::Create {
                name,
                metadata,
                tags: r.tags(false),
            }
        }
        Action::UpdateSAMLProvider => {
            let metadata = r.saml_metadata(false);
            let arn = r.arn("SAMLProviderArn", "sAMLProviderArn");
            r.no_encryption();
            SamlRequest::Update { arn, metadata }
        }
        Action::ListSAMLProviders => SamlRequest::List,
        // GetSAMLProvider, DeleteSAMLProvider.
        _ => SamlRequest::Provider {
            action,
            arn: r.arn("SAMLProviderArn", "sAMLProviderArn"),
        },
    }
}

/// A provider as `GetSAMLProvider` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamlProviderView {
    /// ARN.
    pub arn: String,
    /// `SAMLProviderUUID`.
    pub uuid: String,
    /// The metadata as uploaded.
    pub metadata: String,
    /// Creation time.
    pub created: OffsetDateTime,
    /// The metadata's `validUntil`, or a century after creation.
    pub valid_until: OffsetDateTime,
    /// Tags.
    pub tags: Vec<Tag>,
}

/// The result of a SAML-provider action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SamlResponse {
    /// `CreateSAMLProvider`.
    Created {
        /// ARN.
        arn: String,
        /// Tags.
        tags: Vec<Tag>,
    },
    /// `GetSAMLProvider`.
    Provider(SamlProviderView),
    /// `UpdateSAMLProvider`.
    Updated(String),
    /// `ListSAMLProviders`.
    List(Vec<SamlProviderView>),
}

impl SamlResponse {
    pub(super) fn action(&self) -> Action {
        match self {
            Self::Created { .. } => Action::CreateSAMLProvider,
            Self::Provider(_) => Action::GetSAMLProvider,
            Self::Updated(_) => Action::UpdateSAMLProvider,
            Self::List(_) => Action::ListSAMLProviders,
        }
    }

    pub(super) fn write(&self, w: &mut XmlWriter) {
        match self {
            Self::Created { arn, tags } => {
                w.text_element("SAMLProviderArn", arn);
                write_tags(w, tags);
            }
            Self::Provider(p) => {
                w.text_element("SAMLProviderUUID", &p.uuid);
                w.text_element("SAMLMetadataDocument", &p.metadata);
                w.text_element("CreateDate", &format_timestamp(p.created));
                w.text_element("ValidUntil", &format_timestamp(p.valid_until));
                write_tags(w, &p.tags);
            }
            Self::Updated(arn) => w.text_element("SAMLProviderArn", arn),
            Self::List(providers) => {
                w.open("SAMLProviderList");
                for p in providers {
                    w.open("member");
                    w.text_element("Arn", &p.arn);
                    w.text_element("ValidUntil", &format_timestamp(p.valid_until));
                    w.text_element("CreateDate", &format_timestamp(p.created));
                    w.close("member");
                }
                w.close("SAMLProviderList");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{Request, decode as decode_iam};
    use crate::query::Params;

    fn decode(action: Action, query: &str) -> Result<Request, crate::ApiError> {
        let params = Params::decode("", query).expect("body decodes");
        decode_iam(action, &params)
    }

    #[test]
    fn create_validates_name_and_metadata_length() {
        let long = "m".repeat(1000);
        let ok = decode(
            Action::CreateSAMLProvider,
            &format!("Name=My.IdP_1-x&SAMLMetadataDocument={long}"),
        )
        .expect("valid");
        assert!(matches!(
            ok,
            Request::Saml(SamlRequest::Create { ref name, .. }) if name == "My.IdP_1-x"
        ));
        let err = decode(
            Action::CreateSAMLProvider,
            "Name=bad%20name&SAMLMetadataDocument=short",
        )
        .expect_err("invalid");
        assert!(
            err.message.starts_with("2 validation errors detected"),
            "{}",
            err.message
        );
        let err = decode(Action::CreateSAMLProvider, "Name=x").expect_err("missing");
        assert!(
            err.message.contains("sAMLMetadataDocument"),
            "{}",
            err.message
        );
        let err = decode(
            Action::CreateSAMLProvider,
            &format!("Name=x&SAMLMetadataDocument={long}&AssertionEncryptionMode=Required"),
        )
        .expect_err("encryption");
        assert!(
            err.message.contains("assertionEncryptionMode"),
            "{}",
            err.message
        );
    }

    #[test]
    fn update_and_get_need_an_arn() {
        let err = decode(Action::UpdateSAMLProvider, "").expect_err("missing");
        assert!(err.message.contains("sAMLProviderArn"), "{}", err.message);
        let ok = decode(
            Action::GetSAMLProvider,
            "SAMLProviderArn=arn:aws:iam::123456789012:saml-provider/x",
        )
        .expect("valid");
        assert!(matches!(ok, Request::Saml(SamlRequest::Provider { .. })));
    }
}
