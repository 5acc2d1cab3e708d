//! Documentation blocks: "@Name:" first, then body text, "@member:"
//! entries and an optional "Features:" section of "@feature:" entries.
//! The text ends up as rustdoc on the generated items.

use super::error::{GenError, Origin};

#[derive(Debug, Default, Clone)]
pub struct Doc {
    pub symbol: String,
    /// Body paragraphs, joined with blank lines.
    pub body: String,
    pub members: Vec<(String, String)>,
    pub features: Vec<(String, String)>,
}

impl Doc {
    pub fn member(&self, name: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    }
}

/// "@name: text" -> ("name", "text").
fn entry(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix('@')?;
    let (name, text) = rest.split_once(':')?;
    if name.is_empty() || name.contains(' ') {
        return None;
    }
    Some((name.to_string(), text.trim().to_string()))
}

pub fn parse(lines: &[String], origin: &Origin) -> Result<Doc, GenError> {
    let mut it = lines.iter();
    let first = it.next().map(String::as_str).unwrap_or_default();
    let Some((symbol, rest)) = entry(first) else {
        return Err(origin.error("doc block must start with '@Name:'"));
    };
    let mut doc = Doc {
        symbol,
        ..Doc::default()
    };
    let mut body: Vec<String> = Vec::new();
    if !rest.is_empty() {
        body.push(rest);
    }
    let mut in_features = false;
    // The entry that continuation lines extend: (in features?, index).
    let mut open: Option<(bool, usize)> = None;
    for line in it {
        if line.trim().is_empty() {
            open = None;
            if body.last().is_some_and(|l| !l.is_empty()) {
                body.push(String::new());
            }
            continue;
        }
        if line.trim() == "Features:" {
            in_features = true;
            open = None;
            continue;
        }
        if let Some(e) = entry(line) {
            let list = if in_features {
                &mut doc.features
            } else {
                &mut doc.members
            };
            list.push(e);
            open = Some((in_features, list.len() - 1));
            continue;
        }
        let target = match open {
            Some((true, i)) => doc.features.get_mut(i),
            Some((false, i)) => doc.members.get_mut(i),
            None => None,
        };
        match target {
            // An indented line continues the entry above it.
            Some(e) if line.starts_with(' ') => {
                e.1.push(' ');
                e.1.push_str(line.trim());
            }
            _ => {
                open = None;
                body.push(line.trim_end().to_string());
            }
        }
    }
    while body.last().is_some_and(|l| l.is_empty()) {
        body.pop();
    }
    doc.body = body.join("\n");
    Ok(doc)
}
