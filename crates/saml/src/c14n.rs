//! Exclusive XML Canonicalization 1.0 without comments
//! (`http://www.w3.org/2001/10/xml-exc-c14n#`) of one element's subtree, optionally leaving out
//! one descendant (the enveloped signature).
//!
//! Exclusive C14N renders a namespace declaration only where the element or one of its
//! attributes uses the prefix (or where the signer listed it in `InclusiveNamespaces`), so a
//! signed assertion keeps its digest when moved between envelopes. That is the algorithm every
//! SAML identity provider signs with; others are refused upstream.

use crate::dom::{Document, Node, NodeId, qname};

/// Canonicalizes `apex` and its descendants, without `exclude`'s subtree. `inclusive` is the
/// `PrefixList` of an `InclusiveNamespaces` element (`#default` for the default namespace).
pub(crate) fn exclusive(
    doc: &Document,
    apex: NodeId,
    exclude: Option<NodeId>,
    inclusive: &[String],
) -> Vec<u8> {
    let mut out = String::new();
    let rendered: Vec<(Option<&str>, &str)> = Vec::new();
    render(doc, apex, exclude, inclusive, &rendered, &mut out);
    out.into_bytes()
}

fn render<'d>(
    doc: &'d Document,
    id: NodeId,
    exclude: Option<NodeId>,
    inclusive: &[String],
    rendered: &[(Option<&'d str>, &'d str)],
    out: &mut String,
) {
    let Some(el) = doc.element(id) else {
        return;
    };
    let scope = doc.in_scope(id);
    let bound = |p: Option<&str>| -> &'d str {
        scope
            .iter()
            .find(|(sp, _)| *sp == p)
            .map_or("", |(_, uri)| *uri)
    };

    // The prefixes this element makes visible use of, then those the signer asked for.
    let mut wanted: Vec<Option<&str>> = vec![el.prefix.as_deref()];
    wanted.extend(
        el.attrs
            .iter()
            .filter_map(|a| a.prefix.as_deref().map(Some)),
    );
    for p in inclusive {
        let p = if p == "#default" {
            None
        } else {
            Some(p.as_str())
        };
        if p.is_none() || scope.iter().any(|(sp, _)| *sp == p) {
            wanted.push(p);
        }
    }

    let mut decls: Vec<(Option<&'d str>, &'d str)> = Vec::new();
    for p in wanted {
        if p == Some("xml") {
            continue;
        }
        let (p, uri) = match scope.iter().find(|(sp, _)| *sp == p) {
            Some(&(sp, _)) => (sp, bound(sp)),
            // An unprefixed name with no default namespace declared anywhere.
            None => (None, ""),
        };
        let previous = rendered
            .iter()
            .rev()
            .find(|(rp, _)| *rp == p)
            .map(|(_, u)| *u);
        let already = match p {
            None => previous.unwrap_or("") == uri,
            Some(_) => previous == Some(uri),
        };
        if !already && !decls.iter().any(|(dp, _)| *dp == p) {
            decls.push((p, uri));
        }
    }
    decls.sort_by(|a, b| a.0.cmp(&b.0));

    let name = el.qname();
    out.push('<');
    out.push_str(&name);
    for (p, uri) in &decls {
        match p {
            None => out.push_str(" xmlns=\""),
            Some(p) => {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
        }
        escape_attr(uri, out);
        out.push('"');
    }
    let mut attrs: Vec<_> = el.attrs.iter().collect();
    attrs.sort_by(|a, b| {
        (a.ns.as_deref().unwrap_or(""), a.local.as_str())
            .cmp(&(b.ns.as_deref().unwrap_or(""), b.local.as_str()))
    });
    for a in attrs {
        out.push(' ');
        out.push_str(&qname(a.prefix.as_deref(), &a.local));
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    out.push('>');

    let mut inner: Vec<(Option<&'d str>, &'d str)> = rendered.to_vec();
    inner.extend(decls);
    for &child in &el.children {
        if Some(child) == exclude {
            continue;
        }
        match doc.node(child) {
            Some(Node::Element(_)) => render(doc, child, exclude, inclusive, &inner, out),
            Some(Node::Text(t)) => escape_text(t, out),
            Some(Node::Pi { target, data }) => {
                out.push_str("<?");
                out.push_str(target);
                if !data.is_empty() {
                    out.push(' ');
                    out.push_str(data);
                }
                out.push_str("?>");
            }
            None => {}
        }
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n(xml: &str, apex_path: &[usize], inclusive: &[&str]) -> String {
        let doc = Document::parse(xml).expect("well-formed");
        let mut id = doc.root();
        for &i in apex_path {
            id = doc.child_elements(id).nth(i).expect("path exists").0;
        }
        let inclusive: Vec<String> = inclusive.iter().map(|s| (*s).to_owned()).collect();
        String::from_utf8(exclusive(&doc, id, None, &inclusive)).expect("UTF-8")
    }

    #[test]
    fn renders_only_visibly_used_namespaces() {
        let xml = r#"<p:r xmlns:p="urn:p" xmlns:q="urn:q" xmlns:unused="urn:u"><p:a q:x="1"><b/></p:a></p:r>"#;
        assert_eq!(
            c14n(xml, &[0], &[]),
            r#"<p:a xmlns:p="urn:p" xmlns:q="urn:q" q:x="1"><b></b></p:a>"#
        );
        assert_eq!(
            c14n(xml, &[0], &["unused"]),
            r#"<p:a xmlns:p="urn:p" xmlns:q="urn:q" xmlns:unused="urn:u" q:x="1"><b></b></p:a>"#
        );
    }

    #[test]
    fn default_namespace_rules() {
        // A default namespace used by the apex is rendered; an undeclaration is rendered only
        // when an output ancestor declared a non-empty default.
        let xml = r#"<r xmlns="urn:d"><a><b xmlns=""><c/></b></a></r>"#;
        assert_eq!(
            c14n(xml, &[0], &[]),
            r#"<a xmlns="urn:d"><b xmlns=""><c></c></b></a>"#
        );
        assert_eq!(c14n("<r><a xmlns=\"\"/></r>", &[0], &[]), "<a></a>");
    }

    #[test]
    fn redeclarations_and_sorting() {
        let xml = r#"<r xmlns:b="urn:b" xmlns:a="urn:a"><x b:z="1" a:z="2" y="3" a:y="4"><b:i xmlns:b="urn:b"/><b:j xmlns:b="urn:other"/></x></r>"#;
        assert_eq!(
            c14n(xml, &[0], &[]),
            r#"<x xmlns:a="urn:a" xmlns:b="urn:b" y="3" a:y="4" a:z="2" b:z="1"><b:i></b:i><b:j xmlns:b="urn:other"></b:j></x>"#
        );
    }

    #[test]
    fn escapes_text_and_attributes() {
        let xml = "<r a=\"&lt;&amp;&quot;&#9;&#10;&#13;'>\">&lt;&amp;&gt;&#13;\"'</r>";
        assert_eq!(
            c14n(xml, &[], &[]),
            "<r a=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;'>\">&lt;&amp;&gt;&#xD;\"'</r>"
        );
    }

    #[test]
    fn leaves_out_the_excluded_subtree_and_comments() {
        let doc = Document::parse("<r ID=\"x\"><!-- c --><s><t/></s>tail<?pi  data?></r>")
            .expect("well-formed");
        let s = doc.child_elements(doc.root()).next().expect("child").0;
        let out = exclusive(&doc, doc.root(), Some(s), &[]);
        assert_eq!(
            String::from_utf8(out).expect("UTF-8"),
            "<r ID=\"x\">tail<?pi data?></r>"
        );
    }
}
