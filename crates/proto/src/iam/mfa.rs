//! Virtual MFA devices: the requests, validated to the model, and their results. (Their tags
//! use the shared tag requests with an MFA-device owner.)

use super::{Action, More, Page, Reader, UserView, write_more, write_user};
use crate::sts::format_timestamp;
use crate::xml::XmlWriter;
use base64::Engine;
use time::OffsetDateTime;

/// `ListVirtualMFADevices` `AssignmentStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// Enabled for a user.
    Assigned,
    /// Not enabled for anyone.
    Unassigned,
    /// Both.
    Any,
}

/// An MFA-device request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MfaRequest {
    /// `CreateVirtualMFADevice`.
    Create {
        /// `/` or `/…/`.
        path: String,
        /// Name, unique with its path in the account.
        name: String,
        /// Initial tags.
        tags: Vec<super::Tag>,
    },
    /// `EnableMFADevice`, `ResyncMFADevice`: two consecutive codes.
    Codes {
        /// Whose.
        user: String,
        /// Which device.
        serial: String,
        /// The earlier code.
        first: String,
        /// The next one.
        second: String,
    },
    /// `DeactivateMFADevice`.
    Deactivate {
        /// Whose (the caller when absent).
        user: Option<String>,
        /// Which device.
        serial: String,
    },
    /// `DeleteVirtualMFADevice`.
    Delete {
        /// Which device.
        serial: String,
    },
    /// `ListMFADevices`.
    List {
        /// Whose (the caller when absent).
        user: Option<String>,
        /// Which page.
        page: Page,
    },
    /// `ListVirtualMFADevices`.
    ListVirtual {
        /// Which devices.
        assignment: Assignment,
        /// Which page.
        page: Page,
    },
}

impl Reader<'_, '_> {
    /// `SerialNumber`: 9–256 characters of `[\w+=/:,.@-]`.
    pub(super) fn serial(&mut self) -> String {
        match self.params.get("SerialNumber") {
            Some(s) => {
                self.v.length(s, "serialNumber", 9, 256);
                self.v.pattern(s, "serialNumber", "[\\w+=/:,.@-]+", |c| {
                    c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c)
                });
                s.to_owned()
            }
            None => {
                self.v.missing("serialNumber");
                String::new()
            }
        }
    }

    fn auth_code(&mut self, param: &str, path: &str) -> String {
        match self.params.get(param) {
            Some(c) => {
                self.v.length(c, path, 6, 6);
                self.v.pattern(c, path, "[\\d]+", |ch| ch.is_ascii_digit());
                c.to_owned()
            }
            None => {
                self.v.missing(path);
                String::new()
            }
        }
    }
}

/// Decodes an MFA-device action.
pub(super) fn decode(action: Action, r: &mut Reader<'_, '_>) -> MfaRequest {
    match action {
        Action::CreateVirtualMFADevice => MfaRequest::Create {
            path: r.path("Path", "path"),
            name: r.required_name("VirtualMFADeviceName", "virtualMFADeviceName", 226),
            tags: r.tags(false),
        },
        Action::EnableMFADevice | Action::ResyncMFADevice => MfaRequest::Codes {
            user: r.user(),
            serial: r.serial(),
            first: r.auth_code("AuthenticationCode1", "authenticationCode1"),
            second: r.auth_code("AuthenticationCode2", "authenticationCode2"),
        },
        Action::DeactivateMFADevice => MfaRequest::Deactivate {
            user: r.optional_user(),
            serial: r.serial(),
        },
        Action::DeleteVirtualMFADevice => MfaRequest::Delete { serial: r.serial() },
        Action::ListVirtualMFADevices => {
            let assignment = match r.params.get("AssignmentStatus") {
                None | Some("Any") => Assignment::Any,
                Some("Assigned") => Assignment::Assigned,
                Some("Unassigned") => Assignment::Unassigned,
                Some(other) => {
                    r.v.push(
                        Some(other),
                        "assignmentStatus",
                        "satisfy enum value set: [Assigned, Unassigned, Any]",
                    );
                    Assignment::Any
                }
            };
            MfaRequest::ListVirtual {
                assignment,
                page: r.page(),
            }
        }
        // ListMFADevices.
        _ => MfaRequest::List {
            user: r.optional_user(),
            page: r.page(),
        },
    }
}

/// A device as `ListMFADevices` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MfaDeviceView {
    /// The user it is enabled for.
    pub user_name: String,
    /// Its serial number (ARN).
    pub serial: String,
    /// When it was enabled.
    pub enabled: OffsetDateTime,
}

/// A virtual device as `ListVirtualMFADevices` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualDeviceView {
    /// Its serial number (ARN).
    pub serial: String,
    /// The user it is enabled for, and when.
    pub assigned: Option<(UserView, OffsetDateTime)>,
}

/// A device just created, with its seed: the only time the seed leaves the server. `Debug`
/// shows the serial number only, so logging a response cannot leak the seed.
#[derive(Clone)]
pub struct NewDevice {
    /// Serial number (ARN).
    pub serial: String,
    /// The seed in Base32, as authenticator apps take it.
    pub seed_base32: String,
    /// A PNG of the `otpauth://` QR code (which holds the seed too).
    pub qr_png: Vec<u8>,
}

impl std::fmt::Debug for NewDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDevice")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// The result of an MFA-device action.
#[derive(Clone, Debug)]
pub enum MfaResponse {
    /// `CreateVirtualMFADevice`.
    Created(NewDevice),
    /// `ListMFADevices`.
    Devices(Vec<MfaDeviceView>, More),
    /// `ListVirtualMFADevices`.
    Virtual(Vec<VirtualDeviceView>, More),
}

impl MfaResponse {
    pub(super) fn action(&self) -> Action {
        match self {
            Self::Created(_) => Action::CreateVirtualMFADevice,
            Self::Devices(..) => Action::ListMFADevices,
            Self::Virtual(..) => Action::ListVirtualMFADevices,
        }
    }

    pub(super) fn write(&self, w: &mut XmlWriter) {
        let b64 = base64::engine::general_purpose::STANDARD;
        match self {
            Self::Created(device) => {
                w.open("VirtualMFADevice");
                w.text_element("SerialNumber", &device.serial);
                // Blobs travel base64-encoded; the seed blob holds the Base32 text.
                w.text_element(
                    "Base32StringSeed",
                    &b64.encode(device.seed_base32.as_bytes()),
                );
                w.text_element("QRCodePNG", &b64.encode(&device.qr_png));
                w.close("VirtualMFADevice");
            }
            Self::Devices(devices, more) => {
                w.open("MFADevices");
                for d in devices {
                    w.open("member");
                    w.text_element("UserName", &d.user_name);
                    w.text_element("SerialNumber", &d.serial);
                    w.text_element("EnableDate", &format_timestamp(d.enabled));
                    w.close("member");
                }
                w.close("MFADevices");
                write_more(w, more);
            }
            Self::Virtual(devices, more) => {
                w.open("VirtualMFADevices");
                for d in devices {
                    w.open("member");
                    w.text_element("SerialNumber", &d.serial);
                    if let Some((user, enabled)) = &d.assigned {
                        write_user(w, "User", user);
                        w.text_element("EnableDate", &format_timestamp(*enabled));
                    }
                    w.close("member");
                }
                w.close("VirtualMFADevices");
                write_more(w, more);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{Request, decode as decode_request};
    use crate::query::Params;

    fn decode_one(action: Action, body: &str) -> Result<Request, crate::ApiError> {
        decode_request(action, &Params::decode("", body).unwrap())
    }

    #[test]
    fn codes_are_six_digits() {
        let serial = "SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fd";
        assert!(
            decode_one(
                Action::EnableMFADevice,
                &format!(
                    "UserName=u&{serial}&AuthenticationCode1=123456&AuthenticationCode2=654321"
                )
            )
            .is_ok()
        );
        for (a, b) in [
            ("12345", "123456"),
            ("12345a", "123456"),
            ("123456", "1234567"),
        ] {
            assert!(
                decode_one(
                    Action::EnableMFADevice,
                    &format!("UserName=u&{serial}&AuthenticationCode1={a}&AuthenticationCode2={b}")
                )
                .is_err(),
                "{a} {b}"
            );
        }
    }

    #[test]
    fn the_seed_blob_is_base64_of_the_base32_text() {
        let response = super::super::Response::Mfa(MfaResponse::Created(NewDevice {
            serial: "arn:aws:iam::1:mfa/d".into(),
            seed_base32: "SEEDSEED".into(),
            qr_png: vec![1, 2],
        }));
        let xml = response.to_xml("r");
        assert!(
            xml.contains(
                "<Base32StringSeed>U0VFRFNFRUQ=</Base32StringSeed><QRCodePNG>AQI=</QRCodePNG>"
            ),
            "{xml}"
        );
        let debug = format!("{response:?}");
        assert!(debug.contains("arn:aws:iam::1:mfa/d"), "{debug}");
        assert!(
            !debug.contains("SEEDSEED") && !debug.contains("[1, 2]"),
            "{debug}"
        );
    }
}
