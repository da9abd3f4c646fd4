//! The typed tree behind the manifest and its two renderings: JSON (what is applied) and
//! YAML with comments (what `ktui helper manifest` and `ktui record manifest` print). Strings
//! are emitted plain only when YAML reads them back as the same string; otherwise
//! double-quoted with escapes.

use serde_json::{Map, Value};

/// A YAML/JSON node whose map entries and list items may carry a comment.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Scalar(Value),
    Map(Vec<Field>),
    Seq(Vec<Item>),
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    key: String,
    value: Node,
    comment: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    value: Node,
    comment: Option<String>,
}

impl Field {
    pub(crate) fn note(mut self, text: &str) -> Self {
        self.comment = Some(text.to_string());
        self
    }
}

impl Item {
    pub(crate) fn note(mut self, text: &str) -> Self {
        self.comment = Some(text.to_string());
        self
    }
}

pub(crate) fn s(v: impl AsRef<str>) -> Node {
    Node::Scalar(Value::String(v.as_ref().to_string()))
}

pub(crate) fn b(v: bool) -> Node {
    Node::Scalar(Value::Bool(v))
}

pub(crate) fn num(v: u64) -> Node {
    Node::Scalar(Value::from(v))
}

pub(crate) fn map(fields: Vec<Field>) -> Node {
    Node::Map(fields)
}

pub(crate) fn seq(items: Vec<Item>) -> Node {
    Node::Seq(items)
}

pub(crate) fn f(key: &str, value: Node) -> Field {
    Field {
        key: key.to_string(),
        value,
        comment: None,
    }
}

pub(crate) fn item(value: Node) -> Item {
    Item {
        value,
        comment: None,
    }
}

/// Commented YAML: the `header` comment lines, then each document, `---` between them (what
/// `ktui helper manifest` and `ktui record manifest` print).
pub(crate) fn documents(header: &[String], docs: &[Node]) -> String {
    let mut out = String::new();
    for line in header {
        comment(&mut out, 0, line);
    }
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        doc.write_yaml(&mut out, 0);
    }
    out
}

/// One comment line; control characters (an interpolated value cannot end the comment).
pub(crate) fn comment(out: &mut String, indent: usize, text: &str) {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    out.push_str(&" ".repeat(indent));
    out.push_str("# ");
    out.push_str(clean.trim_end());
    out.push('\n');
}

/// A string that YAML reads back as the same string without quotes.
fn plain_ok(text: &str) -> bool {
    let first_ok = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    first_ok
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
        )
}

/// A YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(text) if plain_ok(text) => text.clone(),
        Value::String(text) => quoted(text),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

fn key(k: &str) -> String {
    if plain_ok(k) {
        k.to_string()
    } else {
        quoted(k)
    }
}

impl Node {
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Node::Scalar(v) => v.clone(),
            Node::Map(fields) => {
                let mut m = Map::new();
                for fl in fields {
                    m.insert(fl.key.clone(), fl.value.to_json());
                }
                Value::Object(m)
            }
            Node::Seq(items) => Value::Array(items.iter().map(|i| i.value.to_json()).collect()),
        }
    }

    /// A map's entries (or a list's items) at `indent`.
    pub(crate) fn write_yaml(&self, out: &mut String, indent: usize) {
        match self {
            Node::Map(fields) => write_fields(out, fields, indent),
            Node::Seq(items) => write_items(out, items, indent),
            Node::Scalar(v) => {
                out.push_str(&" ".repeat(indent));
                out.push_str(&scalar(v));
                out.push('\n');
            }
        }
    }
}

fn write_fields(out: &mut String, fields: &[Field], indent: usize) {
    let pad = " ".repeat(indent);
    for fl in fields {
        if let Some(c) = &fl.comment {
            comment(out, indent, c);
        }
        out.push_str(&pad);
        out.push_str(&key(&fl.key));
        out.push(':');
        match &fl.value {
            Node::Scalar(v) => {
                out.push(' ');
                out.push_str(&scalar(v));
                out.push('\n');
            }
            Node::Map(m) if m.is_empty() => out.push_str(" {}\n"),
            Node::Seq(s) if s.is_empty() => out.push_str(" []\n"),
            nested => {
                out.push('\n');
                nested.write_yaml(out, indent + 2);
            }
        }
    }
}

fn write_items(out: &mut String, items: &[Item], indent: usize) {
    let pad = " ".repeat(indent);
    for it in items {
        if let Some(c) = &it.comment {
            comment(out, indent, c);
        }
        match &it.value {
            Node::Scalar(v) => {
                out.push_str(&format!("{pad}- {}\n", scalar(v)));
            }
            Node::Map(m) if m.is_empty() => out.push_str(&format!("{pad}- {{}}\n")),
            Node::Seq(s) if s.is_empty() => out.push_str(&format!("{pad}- []\n")),
            Node::Map(fields) => {
                // The first entry shares the "- " line: its comment goes above the item.
                let mut fields = fields.clone();
                if let Some(c) = fields.first_mut().and_then(|fl| fl.comment.take()) {
                    comment(out, indent, &c);
                }
                let mut body = String::new();
                write_fields(&mut body, &fields, indent + 2);
                let inner = " ".repeat(indent + 2);
                let body = body.strip_prefix(&inner).unwrap_or(&body);
                out.push_str(&format!("{pad}- {body}"));
            }
            Node::Seq(_) => {
                out.push_str(&format!("{pad}-\n"));
                it.value.write_yaml(out, indent + 2);
            }
        }
    }
}
