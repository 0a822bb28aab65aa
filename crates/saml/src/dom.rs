//! A strict, namespace-aware XML tree: the one parse every later step works on.
//!
//! Signature verification, canonicalization and the reading of claims all walk this same tree,
//! so no second parser can see a different document than the one whose signature was checked.
//! The parser refuses what SAML never needs and attacks use: document type declarations (and
//! with them every entity but the five predefined ones), undeclared prefixes, duplicate
//! attributes, deep nesting. Comments are dropped (exclusive C14N without comments ignores them)
//! and the text around them joined, so `a<!---->b` reads as `ab`, as it was signed.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// The namespace bound to the `xml` prefix by definition.
pub(crate) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Deeper documents are refused: SAML responses nest about ten levels, and the renderer
/// recurses.
const MAX_DEPTH: usize = 64;

/// Why a document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    /// Not well-formed, or not UTF-8.
    #[error("not well-formed XML: {0}")]
    Syntax(String),
    /// A `<!DOCTYPE …>` (and so any entity declaration).
    #[error("document type declarations are not allowed")]
    Dtd,
    /// A prefix used without a declaration, or a reserved one misused.
    #[error("namespace error: {0}")]
    Namespace(String),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("elements nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Index of a node in its [`Document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(usize);

/// One node of the tree.
#[derive(Debug)]
pub(crate) enum Node {
    /// An element.
    Element(Element),
    /// Character data, entity and character references resolved, CDATA sections included.
    Text(String),
    /// A processing instruction inside the root element (rendered by C14N).
    Pi {
        /// The target name.
        target: String,
        /// Everything after the target, leading whitespace removed.
        data: String,
    },
}

/// A namespace declaration: `None` is the default namespace; an empty URI undeclares it.
pub(crate) type Decl = (Option<String>, String);

/// An element with its names resolved.
#[derive(Debug)]
pub(crate) struct Element {
    /// The prefix as written.
    pub prefix: Option<String>,
    /// The local name.
    pub local: String,
    /// The namespace URI the name resolves to.
    pub ns: Option<String>,
    /// Declarations written on this element.
    pub decls: Vec<Decl>,
    /// Attributes other than namespace declarations.
    pub attrs: Vec<Attr>,
    /// Child nodes in document order.
    pub children: Vec<NodeId>,
    /// The parent element; `None` for the root.
    pub parent: Option<NodeId>,
}

/// An attribute with its value normalized as XML 1.0 §3.3.3 prescribes for CDATA attributes.
#[derive(Debug)]
pub(crate) struct Attr {
    /// The prefix as written.
    pub prefix: Option<String>,
    /// The local name.
    pub local: String,
    /// The namespace URI (none for unprefixed attributes).
    pub ns: Option<String>,
    /// The normalized value.
    pub value: String,
}

impl Element {
    /// Whether this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// The value of an unprefixed attribute.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// The name as written, for messages and rendering.
    pub fn qname(&self) -> String {
        qname(self.prefix.as_deref(), &self.local)
    }
}

/// `prefix:local` or `local`.
pub(crate) fn qname(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_owned(),
    }
}

/// A parsed document.
#[derive(Debug)]
pub struct Document {
    nodes: Vec<Node>,
    root: NodeId,
}

fn syntax(e: impl std::fmt::Display) -> XmlError {
    XmlError::Syntax(e.to_string())
}

fn split_name(raw: &str) -> Result<(Option<&str>, &str), XmlError> {
    match raw.split_once(':') {
        None if !raw.is_empty() => Ok((None, raw)),
        Some((p, l)) if !p.is_empty() && !l.is_empty() && !l.contains(':') => Ok((Some(p), l)),
        _ => Err(XmlError::Syntax(format!("invalid name '{raw}'"))),
    }
}

/// Normalizes an attribute value: whitespace characters become spaces, then references are
/// resolved (so `&#10;` stays a line feed).
fn attribute_value(raw: &[u8]) -> Result<String, XmlError> {
    let raw = std::str::from_utf8(raw).map_err(syntax)?;
    if raw.contains('<') {
        return Err(XmlError::Syntax("'<' in an attribute value".to_owned()));
    }
    let spaced: String = raw
        .chars()
        .map(|c| if matches!(c, '\t' | '\n') { ' ' } else { c })
        .collect();
    Ok(quick_xml::escape::unescape(&spaced)
        .map_err(syntax)?
        .into_owned())
}

impl Document {
    /// Parses a UTF-8 document.
    pub fn parse(input: &str) -> Result<Self, XmlError> {
        let input = input.strip_prefix('\u{feff}').unwrap_or(input);
        // XML 1.0 §2.11: line ends are normalized before parsing.
        let normalized = input.replace("\r\n", "\n").replace('\r', "\n");
        let mut reader = Reader::from_str(&normalized);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.check_comments = true;
        config.trim_text(false);

        let mut doc = Document {
            nodes: Vec::new(),
            root: NodeId(0),
        };
        let mut stack: Vec<NodeId> = Vec::new();
        let mut seen_root = false;
        loop {
            match reader.read_event().map_err(syntax)? {
                Event::Start(start) => {
                    if stack.is_empty() && seen_root {
                        return Err(XmlError::Syntax("more than one root element".to_owned()));
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(XmlError::TooDeep);
                    }
                    seen_root = true;
                    let parent = stack.last().copied();
                    let element = doc.element_from(&start, parent)?;
                    let id = doc.push(Node::Element(element), parent);
                    stack.push(id);
                }
                Event::Empty(_) => {
                    return Err(XmlError::Syntax(
                        "empty elements must have been expanded".to_owned(),
                    ));
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) => {
                    let text = t.unescape().map_err(syntax)?;
                    match stack.last() {
                        Some(&parent) => doc.append_text(parent, &text),
                        None if text.trim().is_empty() => {}
                        None => {
                            return Err(XmlError::Syntax(
                                "text outside the root element".to_owned(),
                            ));
                        }
                    }
                }
                Event::CData(c) => {
                    let text = std::str::from_utf8(&c).map_err(syntax)?.to_owned();
                    match stack.last() {
                        Some(&parent) => doc.append_text(parent, &text),
                        None => {
                            return Err(XmlError::Syntax(
                                "CDATA outside the root element".to_owned(),
                            ));
                        }
                    }
                }
                Event::PI(pi) => {
                    if let Some(&parent) = stack.last() {
                        let target = std::str::from_utf8(pi.target()).map_err(syntax)?;
                        let data = std::str::from_utf8(pi.content()).map_err(syntax)?;
                        let node = Node::Pi {
                            target: target.to_owned(),
                            data: data.trim_start().to_owned(),
                        };
                        doc.push(node, Some(parent));
                    }
                }
                Event::Comment(_) | Event::Decl(_) => {}
                Event::DocType(_) => return Err(XmlError::Dtd),
                Event::Eof => break,
            }
        }
        if !seen_root || !stack.is_empty() {
            return Err(XmlError::Syntax("no complete root element".to_owned()));
        }
        Ok(doc)
    }

    fn push(&mut self, node: Node, parent: Option<NodeId>) -> NodeId {
        let id = NodeId(self.nodes.len());
        self.nodes.push(node);
        if let Some(Node::Element(p)) = parent.and_then(|p| self.nodes.get_mut(p.0)) {
            p.children.push(id);
        }
        id
    }

    fn append_text(&mut self, parent: NodeId, text: &str) {
        let last = self
            .element(parent)
            .and_then(|p| p.children.last().copied());
        if let Some(Node::Text(existing)) = last.and_then(|l| self.nodes.get_mut(l.0)) {
            existing.push_str(text);
            return;
        }
        self.push(Node::Text(text.to_owned()), Some(parent));
    }

    /// Resolves a prefix (`None`: the default namespace) at an element about to be added
    /// under `parent` with its own declarations `decls`.
    fn resolve(
        &self,
        parent: Option<NodeId>,
        decls: &[Decl],
        prefix: Option<&str>,
    ) -> Option<String> {
        if prefix == Some("xml") {
            return Some(XML_NS.to_owned());
        }
        let own = decls.iter().find(|(p, _)| p.as_deref() == prefix);
        let found = own.map(|(_, uri)| uri.clone()).or_else(|| {
            self.ancestors(parent)
                .find_map(|e| e.decls.iter().find(|(p, _)| p.as_deref() == prefix))
                .map(|(_, uri)| uri.clone())
        });
        found.filter(|uri| !uri.is_empty())
    }

    fn ancestors(&self, from: Option<NodeId>) -> impl Iterator<Item = &Element> {
        std::iter::successors(from.and_then(|id| self.element(id)), |e| {
            e.parent.and_then(|p| self.element(p))
        })
    }

    fn element_from(
        &self,
        start: &BytesStart<'_>,
        parent: Option<NodeId>,
    ) -> Result<Element, XmlError> {
        let name = std::str::from_utf8(start.name().as_ref())
            .map_err(syntax)?
            .to_owned();
        let mut decls: Vec<Decl> = Vec::new();
        let mut raw_attrs: Vec<(String, String)> = Vec::new();
        for attr in start.attributes().with_checks(true) {
            let attr = attr.map_err(syntax)?;
            let key = std::str::from_utf8(attr.key.as_ref()).map_err(syntax)?;
            let value = attribute_value(&attr.value)?;
            if key == "xmlns" {
                decls.push((None, value));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if value.is_empty() || p == "xmlns" || (p == "xml") != (value == XML_NS) {
                    return Err(XmlError::Namespace(format!("invalid declaration of '{p}'")));
                }
                split_name(p)?;
                decls.push((Some(p.to_owned()), value));
            } else {
                raw_attrs.push((key.to_owned(), value));
            }
        }
        let (prefix, local) = split_name(&name)?;
        let ns = self.resolve(parent, &decls, prefix);
        if prefix.is_some() && ns.is_none() {
            return Err(XmlError::Namespace(format!(
                "undeclared prefix in '{name}'"
            )));
        }
        let mut attrs: Vec<Attr> = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            let (a_prefix, a_local) = split_name(&key)?;
            let a_ns =
                match a_prefix {
                    Some(p) => Some(self.resolve(parent, &decls, Some(p)).ok_or_else(|| {
                        XmlError::Namespace(format!("undeclared prefix in '{key}'"))
                    })?),
                    None => None,
                };
            if attrs.iter().any(|a| a.local == a_local && a.ns == a_ns) {
                return Err(XmlError::Syntax(format!("attribute '{key}' given twice")));
            }
            attrs.push(Attr {
                prefix: a_prefix.map(str::to_owned),
                local: a_local.to_owned(),
                ns: a_ns,
                value,
            });
        }
        Ok(Element {
            prefix: prefix.map(str::to_owned),
            local: local.to_owned(),
            ns,
            decls,
            attrs,
            children: Vec::new(),
            parent,
        })
    }

    /// The root element.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// A node.
    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    /// A node, if it is an element.
    pub(crate) fn element(&self, id: NodeId) -> Option<&Element> {
        match self.nodes.get(id.0) {
            Some(Node::Element(e)) => Some(e),
            _ => None,
        }
    }

    /// The element children of an element, in order.
    pub(crate) fn child_elements(&self, id: NodeId) -> impl Iterator<Item = (NodeId, &Element)> {
        self.element(id)
            .map(|e| e.children.as_slice())
            .unwrap_or_default()
            .iter()
            .filter_map(|&c| self.element(c).map(|e| (c, e)))
    }

    /// The element children named `{ns}local`.
    pub(crate) fn children_named<'d>(
        &'d self,
        id: NodeId,
        ns: &'d str,
        local: &'d str,
    ) -> impl Iterator<Item = (NodeId, &'d Element)> + 'd {
        self.child_elements(id)
            .filter(move |(_, e)| e.is(ns, local))
    }

    /// The only child named `{ns}local`; `None` when there is none or more than one.
    pub(crate) fn only_child(
        &self,
        id: NodeId,
        ns: &str,
        local: &str,
    ) -> Option<(NodeId, &Element)> {
        let mut found = self.child_elements(id).filter(|(_, e)| e.is(ns, local));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// The text directly inside an element (its character data children, joined).
    pub(crate) fn text(&self, id: NodeId) -> String {
        let mut out = String::new();
        for child in self
            .element(id)
            .map(|e| e.children.as_slice())
            .unwrap_or_default()
        {
            if let Some(Node::Text(t)) = self.node(*child) {
                out.push_str(t);
            }
        }
        out
    }

    /// Every element of the document, in document order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = (NodeId, &Element)> {
        self.nodes.iter().enumerate().filter_map(|(i, n)| match n {
            Node::Element(e) => Some((NodeId(i), e)),
            _ => None,
        })
    }

    /// The namespace bindings in scope at an element, nearest declaration winning; the
    /// default namespace appears with an empty URI when undeclared by `xmlns=""`.
    pub(crate) fn in_scope(&self, id: NodeId) -> Vec<(Option<&str>, &str)> {
        let mut scope: Vec<(Option<&str>, &str)> = Vec::new();
        for e in self.ancestors(Some(id)) {
            for (p, uri) in &e.decls {
                if !scope.iter().any(|(sp, _)| *sp == p.as_deref()) {
                    scope.push((p.as_deref(), uri.as_str()));
                }
            }
        }
        scope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(doc: &Document) -> &Element {
        doc.element(doc.root()).expect("the root is an element")
    }

    #[test]
    fn names_resolve_through_ancestors() {
        let doc = Document::parse(
            r#"<a:r xmlns:a="urn:a" xmlns="urn:d"><c a:x="1" y="2"><d xmlns=""/></c></a:r>"#,
        )
        .expect("well-formed");
        let r = root(&doc);
        assert!(r.is("urn:a", "r"));
        let (c_id, c) = doc.child_elements(doc.root()).next().expect("child");
        assert!(c.is("urn:d", "c"));
        assert_eq!(c.attrs[0].ns.as_deref(), Some("urn:a"));
        assert_eq!(c.attr("y"), Some("2"));
        let (_, d) = doc.child_elements(c_id).next().expect("grandchild");
        assert_eq!(d.ns, None);
    }

    #[test]
    fn refuses_dtds_entities_and_undeclared_prefixes() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
        assert_eq!(Document::parse(xxe).unwrap_err(), XmlError::Dtd);
        assert!(matches!(
            Document::parse("<r>&x;</r>"),
            Err(XmlError::Syntax(_))
        ));
        assert!(matches!(
            Document::parse("<p:r/>"),
            Err(XmlError::Namespace(_))
        ));
        assert!(matches!(
            Document::parse(r#"<r a="1" a="2"/>"#),
            Err(XmlError::Syntax(_))
        ));
        assert!(matches!(
            Document::parse(r#"<r xmlns:p="urn:x" xmlns:q="urn:x" p:a="1" q:a="2"/>"#),
            Err(XmlError::Syntax(_))
        ));
        assert!(matches!(
            Document::parse("<r/><s/>"),
            Err(XmlError::Syntax(_))
        ));
        assert!(Document::parse("<r>").is_err());
        assert!(matches!(
            Document::parse(r#"<r xmlns:xml="urn:other"/>"#),
            Err(XmlError::Namespace(_))
        ));
    }

    #[test]
    fn refuses_deep_nesting() {
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(Document::parse(&deep).unwrap_err(), XmlError::TooDeep);
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(Document::parse(&ok).is_ok());
    }

    #[test]
    fn comments_are_dropped_and_text_joined() {
        let doc = Document::parse("<r>user@evil.com<!---->.attacker.com<![CDATA[<x>]]></r>")
            .expect("well-formed");
        assert_eq!(doc.text(doc.root()), "user@evil.com.attacker.com<x>");
    }

    #[test]
    fn values_are_normalized() {
        let doc = Document::parse("<r a=\"x\r\ny\tz&#10;&amp;\">a\r\nb\rc&#13;</r>")
            .expect("well-formed");
        assert_eq!(root(&doc).attr("a"), Some("x y z\n&"));
        assert_eq!(doc.text(doc.root()), "a\nb\nc\r");
    }
}
