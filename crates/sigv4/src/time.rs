use std::fmt;
use time::{
    OffsetDateTime, PrimitiveDateTime, format_description::FormatItem, macros::format_description,
};

const BASIC: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// A request time in UTC with whole seconds, as SigV4 carries it (`20150830T123600Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct AmzDate(OffsetDateTime);

impl AmzDate {
    /// Truncates a time to whole seconds in UTC.
    pub fn from_time(t: OffsetDateTime) -> Self {
        let utc = t.to_offset(time::UtcOffset::UTC);
        Self(utc.replace_nanosecond(0).unwrap_or(utc))
    }

    /// Parses the ISO 8601 basic form of `X-Amz-Date`.
    pub fn parse(s: &str) -> Option<Self> {
        PrimitiveDateTime::parse(s, BASIC)
            .ok()
            .map(|t| Self(t.assume_utc()))
    }

    /// Parses an RFC 7231 `Date` header, which SigV4 accepts when `X-Amz-Date` is absent.
    pub fn parse_http_date(s: &str) -> Option<Self> {
        let system = httpdate::parse_http_date(s).ok()?;
        Some(Self::from_time(OffsetDateTime::from(system)))
    }

    /// The time itself.
    pub fn time(&self) -> OffsetDateTime {
        self.0
    }

    /// The `yyyymmdd` part, which the credential scope must repeat.
    pub fn date_stamp(&self) -> String {
        let mut s = String::with_capacity(8);
        let (y, m, d) = (self.0.year(), u8::from(self.0.month()), self.0.day());
        push_digits(&mut s, u32::try_from(y).unwrap_or(0), 4);
        push_digits(&mut s, u32::from(m), 2);
        push_digits(&mut s, u32::from(d), 2);
        s
    }

    /// Appends the basic form (`20150830T123600Z`) without going through `format!`.
    pub(crate) fn write_to(&self, out: &mut String) {
        out.push_str(&self.date_stamp());
        out.push('T');
        push_digits(out, u32::from(self.0.hour()), 2);
        push_digits(out, u32::from(self.0.minute()), 2);
        push_digits(out, u32::from(self.0.second()), 2);
        out.push('Z');
    }
}

/// Appends `value` as exactly `width` decimal digits (zero-padded, high digits dropped).
fn push_digits(out: &mut String, value: u32, width: u32) {
    for i in (0..width).rev() {
        let digit = (value / 10u32.pow(i)) % 10;
        out.push(char::from_digit(digit, 10).unwrap_or('0'));
    }
}

impl fmt::Display for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(16);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_basic_form() {
        let d = AmzDate::parse("20150830T123600Z").unwrap();
        assert_eq!(d.to_string(), "20150830T123600Z");
        assert_eq!(d.date_stamp(), "20150830");
    }

    #[test]
    fn refuses_other_forms() {
        for bad in [
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20151330T123600Z",
            "",
        ] {
            assert!(AmzDate::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn reads_http_dates() {
        let d = AmzDate::parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT").unwrap();
        assert_eq!(d.to_string(), "20150830T123600Z");
    }
}
