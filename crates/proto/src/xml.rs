//! A small XML writer for Query-protocol responses: elements and escaped text, nothing else.

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
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

    /// Appends trusted markup (an opening tag with attributes).
    pub fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
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
        self.out.push_str(&escape(text));
        self.close(name);
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
    w.raw(&format!(
        "<{action}Response xmlns=\"{}\">",
        escape(namespace)
    ));
    if has_result {
        w.open(&format!("{action}Result"));
        result(&mut w);
        w.close(&format!("{action}Result"));
    }
    w.open("ResponseMetadata");
    w.text_element("RequestId", request_id);
    w.close("ResponseMetadata");
    w.close(&format!("{action}Response"));
    w.finish()
}
