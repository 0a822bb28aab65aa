//! Reading STS's XML responses: a small element tree, enough for the Query protocol's shapes
//! (no attributes, no mixed content).

use quick_xml::Reader;
use quick_xml::events::Event;

/// An element: its local name, its text, and its child elements.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Node {
    /// Local name (namespace prefix dropped).
    pub name: String,
    /// Concatenated, unescaped text.
    pub text: String,
    /// Children in document order.
    pub children: Vec<Node>,
}

impl Node {
    /// Parses a document and returns its root element.
    pub fn parse(doc: &str) -> Result<Self, String> {
        let mut reader = Reader::from_str(doc);
        let mut stack: Vec<Node> = vec![Node::default()];
        loop {
            match reader.read_event().map_err(|e| e.to_string())? {
                Event::Start(e) => stack.push(Node {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Node::default()
                }),
                Event::Empty(e) => {
                    let node = Node {
                        name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                        ..Node::default()
                    };
                    stack
                        .last_mut()
                        .ok_or("unbalanced document")?
                        .children
                        .push(node);
                }
                Event::Text(t) => {
                    let text = t.unescape().map_err(|e| e.to_string())?;
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&text);
                    }
                }
                Event::CData(c) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&String::from_utf8_lossy(&c));
                    }
                }
                Event::End(_) => {
                    let done = stack.pop().ok_or("unbalanced document")?;
                    stack
                        .last_mut()
                        .ok_or("unbalanced document")?
                        .children
                        .push(done);
                }
                Event::Eof => break,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            }
        }
        let mut top = stack.pop().ok_or("empty document")?;
        if !stack.is_empty() {
            return Err("unclosed element".into());
        }
        top.children.pop().ok_or_else(|| "no root element".into())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The element at a path of child names.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |node, name| node.child(name))
    }

    /// The text of the child named `name`.
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_response() {
        let doc = r#"<?xml version="1.0"?>
<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::1:user/a&amp;b</Arn>
    <Empty/>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;
        let root = Node::parse(doc).unwrap();
        assert_eq!(root.name, "GetCallerIdentityResponse");
        let result = root.child("GetCallerIdentityResult").unwrap();
        assert_eq!(
            result.text_of("Arn").as_deref(),
            Some("arn:aws:iam::1:user/a&b")
        );
        assert!(result.child("Empty").is_some());
        assert_eq!(
            root.at(&["ResponseMetadata", "RequestId"]).unwrap().text,
            "r-1"
        );
        assert!(Node::parse("<a><b></a>").is_err());
        assert!(Node::parse("").is_err());
    }
}
