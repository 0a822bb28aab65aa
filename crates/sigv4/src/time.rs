use std::fmt;
use time::{Date, Month, OffsetDateTime, Time};

/// A request time in UTC with whole seconds, as SigV4 carries it (`20150830T123600Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct AmzDate(OffsetDateTime);

/// The basic form, `yyyymmddThhmmssZ`, as ASCII: every request parses one, compares its date
/// part with the scope and writes it into the string to sign, so none of that allocates.
struct BasicForm([u8; 16]);

impl BasicForm {
    fn as_str(&self) -> &str {
        // Only `AmzDate::basic_form` fills it, with ASCII digits, `T` and `Z`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn date(&self) -> &str {
        self.as_str().get(..8).unwrap_or_default()
    }
}

/// The value of ASCII decimal digits; `None` if any byte is not one.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

impl AmzDate {
    /// Truncates a time to whole seconds in UTC.
    pub fn from_time(t: OffsetDateTime) -> Self {
        let utc = t.to_offset(time::UtcOffset::UTC);
        Self(utc.replace_nanosecond(0).unwrap_or(utc))
    }

    /// Parses the ISO 8601 basic form of `X-Amz-Date`: exactly `yyyymmddThhmmssZ`, a real
    /// calendar date and a time of day without leap seconds.
    pub fn parse(s: &str) -> Option<Self> {
        let b: &[u8; 16] = s.as_bytes().try_into().ok()?;
        let [
            y0,
            y1,
            y2,
            y3,
            mo0,
            mo1,
            d0,
            d1,
            b'T',
            h0,
            h1,
            mi0,
            mi1,
            s0,
            s1,
            b'Z',
        ] = *b
        else {
            return None;
        };
        let year = i32::try_from(digits(&[y0, y1, y2, y3])?).ok()?;
        let month = Month::try_from(u8::try_from(digits(&[mo0, mo1])?).ok()?).ok()?;
        let day = u8::try_from(digits(&[d0, d1])?).ok()?;
        let hour = u8::try_from(digits(&[h0, h1])?).ok()?;
        let minute = u8::try_from(digits(&[mi0, mi1])?).ok()?;
        let second = u8::try_from(digits(&[s0, s1])?).ok()?;
        let date = Date::from_calendar_date(year, month, day).ok()?;
        let time = Time::from_hms(hour, minute, second).ok()?;
        Some(Self(date.with_time(time).assume_utc()))
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

    fn basic_form(&self) -> BasicForm {
        let mut out = [b'0'; 16];
        let fields = [
            (0, 4, u32::try_from(self.0.year()).unwrap_or(0)),
            (4, 2, u32::from(u8::from(self.0.month()))),
            (6, 2, u32::from(self.0.day())),
            (9, 2, u32::from(self.0.hour())),
            (11, 2, u32::from(self.0.minute())),
            (13, 2, u32::from(self.0.second())),
        ];
        for (at, width, value) in fields {
            let mut rest = value;
            for slot in out.iter_mut().skip(at).take(width).rev() {
                // `rest % 10` is a digit; high digits beyond `width` are dropped.
                *slot = b'0' + u8::try_from(rest % 10).unwrap_or(0);
                rest /= 10;
            }
        }
        if let Some(t) = out.get_mut(8) {
            *t = b'T';
        }
        if let Some(z) = out.get_mut(15) {
            *z = b'Z';
        }
        BasicForm(out)
    }

    /// The `yyyymmdd` part, which the credential scope must repeat.
    pub fn date_stamp(&self) -> String {
        self.basic_form().date().to_owned()
    }

    /// Whether `date` is this time's `yyyymmdd`.
    pub(crate) fn has_date(&self, date: &str) -> bool {
        self.basic_form().date() == date
    }

    /// Appends the basic form (`20150830T123600Z`) without going through `format!`.
    pub(crate) fn write_to(&self, out: &mut String) {
        out.push_str(self.basic_form().as_str());
    }
}

impl fmt::Display for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.basic_form().as_str())
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
        assert!(d.has_date("20150830"));
        assert!(!d.has_date("20150831"));
        let leap = AmzDate::parse("20240229T000000Z").unwrap();
        assert_eq!(leap.to_string(), "20240229T000000Z");
        let early = AmzDate::parse("00010101T000000Z").unwrap();
        assert_eq!(early.to_string(), "00010101T000000Z");
    }

    #[test]
    fn refuses_other_forms() {
        for bad in [
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20151330T123600Z",
            "20150230T123600Z",
            "20150830T243600Z",
            "20150830T126000Z",
            "20150830T123660Z",
            "20150830t123600Z",
            "+20150830T123600Z",
            "2015083OT123600Z",
            "２0150830T123600",
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
