//! A small XML writer for Query-protocol responses: elements and escaped text, nothing else.

/// Appends `text` escaped for element content and attribute values (`& < > " '`, and carriage
/// returns as `&#13;`, which a parser would otherwise turn into line feeds: uploaded documents
/// such as SAML metadata must come back byte for byte).
pub fn escape_into(out: &mut String, text: &str) {
    // Most values (tokens, keys, ids, ARNs) need no escaping: one branch-free pass over each
    // 16-byte block proves it, and the text is copied whole.
    let clean = text
        .as_bytes()
        .chunks(16)
        .all(|block| !block.iter().fold(false, |hit, &b| hit | special(b)));
    if clean {
        out.push_str(text);
        return;
    }
    let mut rest = text;
    // Byte scan: the special characters are ASCII, so no UTF-8 boundary is ever split.
    while let Some(i) = rest.bytes().position(special) {
        let (plain, tail) = rest.split_at(i);
        out.push_str(plain);
        let mut chars = tail.chars();
        out.push_str(match chars.next() {
            Some('&') => "&amp;",
            Some('<') => "&lt;",
            Some('>') => "&gt;",
            Some('"') => "&quot;",
            Some('\r') => "&#13;",
            _ => "&apos;",
        });
        rest = chars.as_str();
    }
    out.push_str(rest);
}

/// Whether a byte must be escaped.
fn special(b: u8) -> bool {
    matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'' | b'\r')
}

/// Builds a response document as one string.
#[derive(Default)]
pub struct XmlWriter {
    out: String,
}

impl XmlWriter {
    /// An empty document.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty document with room for `bytes`.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            out: String::with_capacity(bytes),
        }
    }

    /// `<name xmlns="namespace">`, the root element of a response.
    pub fn open_with_namespace(&mut self, name: &str, namespace: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" xmlns=\"");
        escape_into(&mut self.out, namespace);
        self.out.push_str("\">");
    }

    /// `<name>`.
    pub fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name>escaped text</name>`.
    pub fn text_element(&mut self, name: &str, text: &str) {
        self.open(name);
        escape_into(&mut self.out, text);
        self.close(name);
    }

    /// Appends markup made of `parts` (element names built without an intermediate string).
    fn tag(&mut self, parts: &[&str]) {
        for part in parts {
            self.out.push_str(part);
        }
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

/// The success envelope both Query APIs use: `<{Action}Response xmlns=…>`, the `{Action}Result`
/// element written by `result` (left out when `has_result` is false), and `ResponseMetadata`.
pub fn envelope(
    action: &str,
    namespace: &str,
    request_id: &str,
    has_result: bool,
    result: impl FnOnce(&mut XmlWriter),
) -> String {
    let mut w = XmlWriter::with_capacity(1024);
    w.tag(&["<", action, "Response xmlns=\""]);
    escape_into(&mut w.out, namespace);
    w.out.push_str("\">");
    if has_result {
        w.tag(&["<", action, "Result>"]);
        result(&mut w);
        w.tag(&["</", action, "Result>"]);
    }
    w.open("ResponseMetadata");
    w.text_element("RequestId", request_id);
    w.close("ResponseMetadata");
    w.tag(&["</", action, "Response>"]);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters() {
        let mut out = String::new();
        escape_into(&mut out, "a&b<c>d\"e'f€\r\n");
        assert_eq!(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f€&#13;\n");
        let mut plain = String::new();
        escape_into(&mut plain, "plain");
        assert_eq!(plain, "plain");
        for at in [0, 15, 16, 17, 40] {
            let mut text = "x".repeat(41);
            text.replace_range(at..=at, "<");
            let mut out = String::new();
            escape_into(&mut out, &text);
            assert_eq!(out, text.replace('<', "&lt;"), "special byte at {at}");
        }
    }
}
