//! The machine types `-machine` accepts, and which board each is, for `/machine` and the type
//! registry. The names come from the command-line parser's own listing (`-machine help`), so
//! there is one list of machine types in the VMM.

use std::sync::OnceLock;

use crate::options::{parse_args, Outcome};

/// The board a machine type builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    I440fx,
    Q35,
    Microvm,
    None,
}

impl Board {
    fn of(name: &str) -> Option<Board> {
        if name.starts_with("pc-i440fx-") {
            Some(Board::I440fx)
        } else if name.starts_with("pc-q35-") {
            Some(Board::Q35)
        } else {
            match name {
                "microvm" => Some(Board::Microvm),
                "none" => Some(Board::None),
                _ => None,
            }
        }
    }

    /// The id QEMU gives the RAM backend it creates (`default_ram_id`), if any.
    pub fn default_ram_id(self) -> &'static str {
        match self {
            Board::I440fx | Board::Q35 => "pc.ram",
            Board::Microvm => "microvm.ram",
            Board::None => "ram",
        }
    }
}

struct Catalog {
    /// Machine names in listing order.
    names: Vec<String>,
    /// (alias, machine name).
    aliases: Vec<(String, String)>,
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let text = match parse_args(["-machine".to_string(), "help".to_string()]).result {
            Ok(Outcome::Info { text, .. }) => text,
            _ => String::new(),
        };
        let mut names = Vec::new();
        let mut aliases = Vec::new();
        // Lines read "NAME   DESCRIPTION[ (alias of TARGET)][ (default)]...".
        for line in text.lines().skip(1) {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            let alias_of = line
                .split_once("(alias of ")
                .and_then(|(_, rest)| rest.split_once(')'))
                .map(|(target, _)| target.to_string());
            match alias_of {
                Some(target) => aliases.push((name.to_string(), target)),
                None if Board::of(name).is_some() => names.push(name.to_string()),
                None => {}
            }
        }
        if names.is_empty() {
            // Only if the parser's listing changed shape: keep the tree usable.
            names = ["pc-i440fx-10.0", "pc-q35-10.0", "microvm", "none"]
                .map(str::to_string)
                .to_vec();
            aliases = vec![
                ("pc".into(), "pc-i440fx-10.0".into()),
                ("q35".into(), "pc-q35-10.0".into()),
            ];
        }
        Catalog { names, aliases }
    })
}

/// Every machine name (not aliases), with its board.
pub fn all() -> impl Iterator<Item = (&'static str, Board)> {
    catalog()
        .names
        .iter()
        .filter_map(|n| Some((n.as_str(), Board::of(n)?)))
}

/// The machine a `-machine` name or alias denotes, e.g. `pc` → `pc-i440fx-10.0`.
pub fn resolve(given: &str) -> Option<(&'static str, Board)> {
    let c = catalog();
    let name = c
        .aliases
        .iter()
        .find(|(alias, _)| alias == given)
        .map_or(given, |(_, target)| target.as_str());
    let name = c.names.iter().find(|n| *n == name)?;
    Some((name.as_str(), Board::of(name)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        assert_eq!(resolve("pc"), Some(("pc-i440fx-10.0", Board::I440fx)));
        assert_eq!(resolve("q35"), Some(("pc-q35-10.0", Board::Q35)));
        assert_eq!(resolve("pc-q35-4.0.1"), Some(("pc-q35-4.0.1", Board::Q35)));
        assert_eq!(resolve("microvm"), Some(("microvm", Board::Microvm)));
        assert_eq!(resolve("none"), Some(("none", Board::None)));
        assert_eq!(resolve("isapc"), None);
        assert!(all().count() > 50);
        assert!(all().all(|(n, _)| n != "pc"));
    }
}
