//! ARNs.

use std::fmt;

/// An Amazon Resource Name: `arn:<partition>:<service>:<region>:<account>:<resource>`.
///
/// Parsing splits on the first five colons only; the resource may itself hold `:` and `/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arn {
    partition: String,
    service: String,
    region: String,
    account: String,
    resource: String,
}

impl Arn {
    /// Builds an ARN from its parts.
    pub fn new(
        partition: &str,
        service: &str,
        region: &str,
        account: &str,
        resource: &str,
    ) -> Self {
        Self {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        }
    }

    /// Parses an ARN; `None` unless it has the six parts and a non-empty partition, service and
    /// resource.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.splitn(6, ':');
        let (Some("arn"), Some(p), Some(svc), Some(r), Some(a), Some(res)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if p.is_empty() || svc.is_empty() || res.is_empty() {
            return None;
        }
        Some(Self::new(p, svc, r, a, res))
    }

    /// The partition (`aws`, `aws-cn`, …).
    pub fn partition(&self) -> &str {
        &self.partition
    }

    /// The service (`iam`, `sts`, …).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The account part (12 digits, `aws`, or empty).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The resource part (`user/alice`, `root`, …).
    pub fn resource(&self) -> &str {
        &self.resource
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_colons_in_the_resource() {
        let s = "arn:aws:iam::111122223333:user/division/alice";
        let arn = Arn::parse(s).unwrap();
        assert_eq!(arn.to_string(), s);
        assert_eq!(arn.resource(), "user/division/alice");
        let odd = Arn::parse("arn:aws:sts::1:assumed-role/a/b:c").unwrap();
        assert_eq!(odd.resource(), "assumed-role/a/b:c");
    }

    #[test]
    fn refuses_malformed_arns() {
        for bad in [
            "",
            "arn:aws:iam::1",
            "urn:aws:iam::1:user/a",
            "arn::iam::1:user/a",
            "arn:aws:iam::1:",
        ] {
            assert!(Arn::parse(bad).is_none(), "{bad}");
        }
    }
}
