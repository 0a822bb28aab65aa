//! ARNs.

use std::fmt;

/// An Amazon Resource Name: `arn:<partition>:<service>:<region>:<account>:<resource>`.
///
/// Parsing splits on the first five colons only; the resource may itself hold `:` and `/`. The
/// text is kept whole (with the positions of its colons) because ARNs are rendered on every
/// request and parsed far less often.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arn {
    text: String,
    /// Byte offsets of the five separating colons.
    colons: [usize; 5],
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
        let mut text = String::with_capacity(
            9 + partition.len() + service.len() + region.len() + account.len() + resource.len(),
        );
        let mut colons = [0usize; 5];
        text.push_str("arn");
        for (slot, part) in colons
            .iter_mut()
            .zip([partition, service, region, account, resource])
        {
            *slot = text.len();
            text.push(':');
            text.push_str(part);
        }
        Self { text, colons }
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

    fn part(&self, index: usize) -> &str {
        let start = self.colons.get(index).map_or(0, |c| c + 1);
        let end = self
            .colons
            .get(index + 1)
            .copied()
            .unwrap_or(self.text.len());
        self.text.get(start..end).unwrap_or_default()
    }

    /// The partition (`aws`, `aws-cn`, …).
    pub fn partition(&self) -> &str {
        self.part(0)
    }

    /// The service (`iam`, `sts`, …).
    pub fn service(&self) -> &str {
        self.part(1)
    }

    /// The account part (12 digits, `aws`, or empty).
    pub fn account(&self) -> &str {
        self.part(3)
    }

    /// The resource part (`user/alice`, `root`, …).
    pub fn resource(&self) -> &str {
        self.part(4)
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
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
        assert_eq!(
            (odd.partition(), odd.service(), odd.account()),
            ("aws", "sts", "1")
        );
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
