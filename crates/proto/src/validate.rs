//! Model-constraint checks that collect every violation into one AWS-style `ValidationError`:
//! `2 validation errors detected: Value '…' at '…' failed to satisfy constraint: Member must …`.

use crate::{ApiError, ErrorCode};

/// The violations found in one request.
#[derive(Default, Debug)]
pub struct Violations {
    items: Vec<String>,
}

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation. `value` is `None` for a missing member, and for sensitive members
    /// (tokens, assertions) whose value must not be echoed.
    pub fn push(&mut self, value: Option<&str>, path: &str, rule: &str) {
        let shown = match value {
            Some(v) => format!("'{v}'"),
            None => "null".to_owned(),
        };
        self.items.push(format!(
            "Value {shown} at '{path}' failed to satisfy constraint: Member must {rule}"
        ));
    }

    /// A required member is absent.
    pub fn missing(&mut self, path: &str) {
        self.push(None, path, "not be null");
    }

    /// Checks a length in Unicode code points.
    pub fn length(&mut self, value: &str, path: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n < min {
            self.push(
                Some(value),
                path,
                &format!("have length greater than or equal to {min}"),
            );
        }
        if n > max {
            self.push(
                Some(value),
                path,
                &format!("have length less than or equal to {max}"),
            );
        }
    }

    /// Checks that every character satisfies `ok`; `pattern` is the model's regex, for the message.
    pub fn pattern(&mut self, value: &str, path: &str, pattern: &str, ok: impl Fn(char) -> bool) {
        if !value.chars().all(ok) {
            self.push(
                Some(value),
                path,
                &format!("satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// Parses an integer member and checks its range; `None` if absent or invalid.
    pub fn integer(&mut self, value: Option<&str>, path: &str, min: i64, max: i64) -> Option<i64> {
        let raw = value?;
        let Ok(n) = raw.parse::<i64>() else {
            self.push(Some(raw), path, "be an integer");
            return None;
        };
        if n < min {
            self.push(
                Some(raw),
                path,
                &format!("have value greater than or equal to {min}"),
            );
            return None;
        }
        if n > max {
            self.push(
                Some(raw),
                path,
                &format!("have value less than or equal to {max}"),
            );
            return None;
        }
        Some(n)
    }

    /// `Ok` if nothing was recorded, else one `ValidationError` listing everything.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.items.len() {
            0 => Ok(()),
            1 => Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("1 validation error detected: {}", self.items.join("; ")),
            )),
            n => Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("{n} validation errors detected: {}", self.items.join("; ")),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_violation_uses_the_singular() {
        let mut v = Violations::new();
        assert_eq!(
            v.integer(Some("899"), "durationSeconds", 900, 129_600),
            None
        );
        assert_eq!(
            v.finish().unwrap_err().message,
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
    }

    #[test]
    fn several_violations_are_counted_and_joined() {
        let mut v = Violations::new();
        v.missing("accessKeyId");
        v.length("12", "tokenCode", 6, 6);
        let msg = v.finish().unwrap_err().message;
        assert!(msg.starts_with("2 validation errors detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null; Value '12' at 'tokenCode'"), "{msg}");
    }

    #[test]
    fn valid_values_pass() {
        let mut v = Violations::new();
        assert_eq!(v.integer(Some("900"), "d", 900, 900), Some(900));
        assert_eq!(v.integer(None, "d", 900, 900), None);
        v.length("abcdef", "t", 6, 6);
        v.pattern("123456", "t", "[\\d]*", |c| c.is_ascii_digit());
        assert!(v.finish().is_ok());
    }
}
