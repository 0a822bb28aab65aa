use std::fmt;
use time::{
    OffsetDateTime, PrimitiveDateTime, format_description::FormatItem, macros::format_description,
};

const BASIC: &[FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");
const DATE_STAMP: &[FormatItem<'static>] = format_description!("[year][month][day]");

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
        self.0.format(DATE_STAMP).unwrap_or_default()
    }
}

impl fmt::Display for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.format(BASIC).map_err(|_| fmt::Error)?)
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
