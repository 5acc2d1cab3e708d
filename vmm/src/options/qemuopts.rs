//! QEMU's `util/qemu-option.c` ("QemuOpts"): the `name=value,...` syntax of most options, with
//! an implied first name (`-m 512` = `-m size=512`), `,,` escaping a comma, short-form booleans
//! (`server`, `nowait`, deprecated with a warning), an `id=` that names the option group, and the
//! lists whose repeated options merge into one (`-m`, `-name`, `-rtc`, ...).

use super::error::{Diagnostic, ErrorKind};
use super::strtox::{self, NumError};
use super::value::parse_bool;

/// The type of a QemuOpts option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptType {
    Str,
    Bool,
    Number,
    Size,
}

impl OptType {
    fn help_name(self) -> &'static str {
        match self {
            OptType::Str => "str",
            OptType::Bool => "bool (on/off)",
            OptType::Number => "num",
            OptType::Size => "size",
        }
    }
}

/// One option an options list accepts.
#[derive(Debug, Clone, Copy)]
pub struct OptDesc {
    pub name: &'static str,
    pub ty: OptType,
    pub help: Option<&'static str>,
}

pub const fn d(name: &'static str, ty: OptType) -> OptDesc {
    OptDesc {
        name,
        ty,
        help: None,
    }
}

pub const fn dh(name: &'static str, ty: OptType, help: &'static str) -> OptDesc {
    OptDesc {
        name,
        ty,
        help: Some(help),
    }
}

/// A `QemuOptsList`.
#[derive(Debug)]
pub struct OptsList {
    pub name: &'static str,
    pub implied: Option<&'static str>,
    pub merge: bool,
    /// `None`: any option name is accepted (checked later, by the consumer).
    pub desc: Option<&'static [OptDesc]>,
}

/// A parsed option group (`QemuOpts`): its id and its options in order (later ones win).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opts {
    pub id: Option<String>,
    pub items: Vec<(String, String)>,
}

impl Opts {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.items
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A validated boolean option.
    pub fn get_bool(&self, name: &str, default: bool) -> bool {
        self.get(name).and_then(parse_bool).unwrap_or(default)
    }

    /// A validated size option.
    pub fn get_size(&self, name: &str, default: u64) -> u64 {
        self.get(name)
            .and_then(|v| strtox::strtosz(v).ok())
            .unwrap_or(default)
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.items.push((name.to_string(), value.to_string()));
    }
}

/// All option groups of one list, in creation order.
#[derive(Debug, Default)]
pub struct OptsStore {
    pub groups: Vec<Opts>,
}

impl OptsStore {
    pub fn find(&self, id: Option<&str>) -> Option<&Opts> {
        self.groups.iter().find(|o| o.id.as_deref() == id)
    }

    /// The merged group of a `merge_lists` list.
    pub fn merged(&self) -> Option<&Opts> {
        self.groups.first()
    }
}

/// `id_wellformed()`: a letter, then letters, digits, '-', '.', '_'.
pub fn id_wellformed(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
}

/// `get_opt_value()`: the value up to an unescaped comma, with `,,` unescaped.
fn get_opt_value(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut rest = s;
    loop {
        match rest.find(',') {
            None => {
                out.push_str(rest);
                return (out, "");
            }
            Some(i) => {
                out.push_str(&rest[..i]);
                if rest[i + 1..].starts_with(',') {
                    out.push(',');
                    rest = &rest[i + 2..];
                } else {
                    return (out, &rest[i..]);
                }
            }
        }
    }
}

/// One `name=value` (or implied value, or flag) of a parameter string.
struct NameValue {
    name: String,
    value: String,
    is_help: bool,
}

/// `get_opt_name_value()`. Returns the pair and the rest of the string.
fn get_opt_name_value<'s>(
    params: &'s str,
    firstname: Option<&str>,
    warn: Option<(&str, &mut Vec<Diagnostic>)>,
) -> (NameValue, &'s str) {
    let len = params.find(['=', ',']).unwrap_or(params.len());
    let (nv, rest) = if params.as_bytes().get(len) != Some(&b'=') {
        if let Some(first) = firstname {
            let (value, rest) = get_opt_value(params);
            (
                NameValue {
                    name: first.to_string(),
                    value,
                    is_help: false,
                },
                rest,
            )
        } else {
            let raw = &params[..len];
            let (name, value, prefix) = match raw.strip_prefix("no") {
                Some(stripped) => (stripped.to_string(), "off", "no"),
                None => (raw.to_string(), "on", ""),
            };
            let is_help = prefix.is_empty() && (name == "help" || name == "?");
            if !is_help {
                if let Some((location, diags)) = warn {
                    let replacement = if name == "delay" {
                        format!("nodelay={}", if prefix.is_empty() { "off" } else { "on" })
                    } else {
                        format!("{name}={value}")
                    };
                    diags.push(Diagnostic::warning(
                        Some(location),
                        format!(
                            "short-form boolean option '{prefix}{name}' deprecated\n\
                             Please use {replacement} instead"
                        ),
                    ));
                }
            }
            (
                NameValue {
                    name,
                    value: value.to_string(),
                    is_help,
                },
                &params[len..],
            )
        }
    } else {
        let name = params[..len].to_string();
        let (value, rest) = get_opt_value(&params[len + 1..]);
        (
            NameValue {
                name,
                value,
                is_help: false,
            },
            rest,
        )
    };
    (nv, rest.strip_prefix(',').unwrap_or(rest))
}

/// `opts_parse_id()`: the value of the first `id=` in the string.
fn parse_id(params: &str) -> Option<String> {
    let mut p = params;
    while !p.is_empty() {
        let (nv, rest) = get_opt_name_value(p, None, None);
        if nv.name == "id" {
            return Some(nv.value);
        }
        p = rest;
    }
    None
}

/// Checks a value against its type (`qemu_opt_parse()`).
pub fn check_value(ty: OptType, name: &str, value: &str) -> Result<(), ErrorKind> {
    match ty {
        OptType::Str => Ok(()),
        OptType::Bool => parse_bool(value)
            .map(|_| ())
            .ok_or_else(|| ErrorKind::ParameterExpects {
                name: name.to_string(),
                expected: "'on' or 'off'".to_string(),
            }),
        OptType::Number => match strtox::strtou64(value, 0) {
            Ok(_) => Ok(()),
            Err(NumError::Range) => Err(ErrorKind::ValueTooLarge {
                value: value.to_string(),
                name: name.to_string(),
            }),
            Err(NumError::Invalid) => Err(ErrorKind::ParameterExpects {
                name: name.to_string(),
                expected: "a number".to_string(),
            }),
        },
        OptType::Size => match strtox::strtosz(value) {
            Ok(_) => Ok(()),
            Err(NumError::Range) => Err(ErrorKind::ValueOutOfRange {
                value: value.to_string(),
                name: name.to_string(),
            }),
            Err(NumError::Invalid) => Err(ErrorKind::SizeExpected {
                name: name.to_string(),
            }),
        },
    }
}

/// What parsing a parameter string produced.
#[derive(Debug)]
pub enum Parsed {
    /// Index of the (new or merged) group in the store.
    Group(usize),
    /// `help` was asked for: QEMU prints the list's options (see [`help_text`]).
    Help,
}

/// Options for [`parse`].
pub struct ParseFlags {
    pub permit_abbrev: bool,
    pub warn_on_flag: bool,
    /// `qemu_opts_parse_noisily()` on a list with a description recognises `help`.
    pub help: bool,
}

/// `opts_parse()`: parses `params` into a new group of `store` (or the merged group).
pub fn parse(
    list: &OptsList,
    store: &mut OptsStore,
    params: &str,
    flags: ParseFlags,
    location: &str,
    diags: &mut Vec<Diagnostic>,
) -> Result<Parsed, ErrorKind> {
    let id = parse_id(params);
    let index = create(list, store, id.as_deref())?;
    let added_from = store.groups[index].items.len();
    let firstname = if flags.permit_abbrev {
        list.implied
    } else {
        None
    };
    let result = do_parse(
        list,
        &mut store.groups[index],
        params,
        firstname,
        flags.warn_on_flag.then_some((location, diags)),
        flags.help && list.desc.is_some(),
    );
    match result {
        Ok(true) => Ok(Parsed::Group(index)),
        Ok(false) => {
            remove_group(store, index, added_from);
            Ok(Parsed::Help)
        }
        Err(e) => {
            remove_group(store, index, added_from);
            Err(e)
        }
    }
}

fn remove_group(store: &mut OptsStore, index: usize, added_from: usize) {
    if added_from == 0 {
        store.groups.remove(index);
    } else {
        store.groups[index].items.truncate(added_from);
    }
}

/// `qemu_opts_create()`: a new group, or the merged one.
pub fn create(
    list: &OptsList,
    store: &mut OptsStore,
    id: Option<&str>,
) -> Result<usize, ErrorKind> {
    if list.merge {
        if id.is_some() {
            return Err(ErrorKind::InvalidParameter { name: "id".into() });
        }
        if let Some(i) = store.groups.iter().position(|g| g.id.is_none()) {
            return Ok(i);
        }
    } else if let Some(id) = id {
        if !id_wellformed(id) {
            return Err(ErrorKind::IdExpected);
        }
        if store.find(Some(id)).is_some() {
            return Err(ErrorKind::DuplicateId {
                id: id.to_string(),
                list: list.name.to_string(),
            });
        }
    }
    store.groups.push(Opts {
        id: id.map(str::to_string),
        items: Vec::new(),
    });
    Ok(store.groups.len() - 1)
}

/// `opts_do_parse()`: adds the options of `params` to `opts`. `Ok(false)` means help was asked.
pub fn do_parse(
    list: &OptsList,
    opts: &mut Opts,
    params: &str,
    firstname: Option<&str>,
    mut warn: Option<(&str, &mut Vec<Diagnostic>)>,
    help_wanted: bool,
) -> Result<bool, ErrorKind> {
    let mut p = params;
    let mut first = firstname;
    while !p.is_empty() {
        let w = warn.as_mut().map(|(l, d)| (*l, &mut **d));
        let (nv, rest) = get_opt_name_value(p, first, w);
        p = rest;
        first = None;
        if help_wanted && nv.is_help {
            return Ok(false);
        }
        if nv.name == "id" {
            continue;
        }
        if let Some(desc) = list.desc {
            let Some(od) = desc.iter().find(|d| d.name == nv.name) else {
                return Err(ErrorKind::InvalidParameter { name: nv.name });
            };
            check_value(od.ty, &nv.name, &nv.value)?;
        }
        opts.items.push((nv.name, nv.value));
    }
    Ok(true)
}

/// `qemu_opts_print_help()`: the text QEMU prints for `-opt ...,help`.
pub fn help_text(list: &OptsList) -> String {
    let mut lines: Vec<String> = list
        .desc
        .unwrap_or(&[])
        .iter()
        .map(|d| {
            let mut s = format!("  {}=<{}>", d.name, d.ty.help_name());
            if let Some(h) = d.help {
                while s.len() < 24 {
                    s.push(' ');
                }
                s.push_str(" - ");
                s.push_str(h);
            }
            s
        })
        .collect();
    lines.sort();
    let mut out = String::new();
    if lines.is_empty() {
        out.push_str(&format!("There are no options for {}.\n", list.name));
    } else {
        out.push_str(&format!("{} options:\n", list.name));
    }
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEM: OptsList = OptsList {
        name: "memory",
        implied: Some("size"),
        merge: true,
        desc: Some(&[
            d("size", OptType::Size),
            d("slots", OptType::Number),
            d("maxmem", OptType::Size),
        ]),
    };

    const CHARDEV: OptsList = OptsList {
        name: "chardev",
        implied: Some("backend"),
        merge: false,
        desc: Some(&[
            d("backend", OptType::Str),
            d("path", OptType::Str),
            d("server", OptType::Bool),
            d("wait", OptType::Bool),
        ]),
    };

    fn flags() -> ParseFlags {
        ParseFlags {
            permit_abbrev: true,
            warn_on_flag: true,
            help: true,
        }
    }

    fn parse_one(list: &OptsList, s: &str) -> (Result<Option<Opts>, String>, Vec<String>) {
        let mut store = OptsStore::default();
        let mut diags = Vec::new();
        let r = parse(list, &mut store, s, flags(), "-x", &mut diags);
        let r = match r {
            Ok(Parsed::Group(i)) => Ok(Some(store.groups[i].clone())),
            Ok(Parsed::Help) => Ok(None),
            Err(e) => Err(e.to_string()),
        };
        (r, diags.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn table() {
        type Case = (
            &'static OptsList,
            &'static str,
            Result<&'static [(&'static str, &'static str)], &'static str>,
        );
        let cases: &[Case] = &[
            (&MEM, "512", Ok(&[("size", "512")])),
            (&MEM, "size=1G,slots=2,maxmem=2G", Ok(&[("size", "1G"), ("slots", "2"), ("maxmem", "2G")])),
            (&MEM, "512,,5", Err("Parameter 'size' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.")),
            (&MEM, "-1", Err("Value '-1' is out of range for parameter 'size'")),
            (&MEM, "1G,foo=1", Err("Invalid parameter 'foo'")),
            (&MEM, "1G,slots=x", Err("Parameter 'slots' expects a number")),
            (&MEM, "1G,slots=99999999999999999999", Err("Value '99999999999999999999' is too large for parameter 'slots'")),
            (&MEM, "id=x", Err("Invalid parameter 'id'")),
            (&CHARDEV, "socket,id=c,path=/a,,b,server=on,wait=off", Ok(&[("backend", "socket"), ("path", "/a,b"), ("server", "on"), ("wait", "off")])),
            (&CHARDEV, "socket,id=1c", Err("Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.")),
            (&CHARDEV, "socket,id=c,server=maybe", Err("Parameter 'server' expects 'on' or 'off'")),
        ];
        for (list, input, want) in cases {
            let (got, _) = parse_one(list, input);
            match want {
                Ok(items) => {
                    let opts = got.unwrap_or_else(|e| panic!("{input}: {e}")).unwrap();
                    let items: Vec<(String, String)> = items
                        .iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect();
                    assert_eq!(opts.items, items, "{input}");
                }
                Err(msg) => assert_eq!(got.unwrap_err(), *msg, "{input}"),
            }
        }
    }

    #[test]
    fn short_form_booleans_warn() {
        let (got, diags) = parse_one(&CHARDEV, "socket,id=c,path=/s,server,nowait");
        let opts = got.unwrap().unwrap();
        assert_eq!(opts.get("server"), Some("on"));
        assert_eq!(opts.get("wait"), Some("off"));
        assert_eq!(
            diags,
            vec![
                "-x: warning: short-form boolean option 'server' deprecated\nPlease use server=on instead",
                "-x: warning: short-form boolean option 'nowait' deprecated\nPlease use wait=off instead",
            ]
        );
    }

    #[test]
    fn help_and_duplicates() {
        assert!(parse_one(&MEM, "1,help").0.unwrap().is_none());
        // "help" as the implied value is a value, not a request for help.
        assert!(parse_one(&MEM, "help").0.is_err());
        let mut store = OptsStore::default();
        let mut diags = Vec::new();
        parse(&CHARDEV, &mut store, "null,id=a", flags(), "-x", &mut diags).unwrap();
        let e = parse(&CHARDEV, &mut store, "null,id=a", flags(), "-x", &mut diags).unwrap_err();
        assert_eq!(e.to_string(), "Duplicate ID 'a' for chardev");
        // Merged lists accumulate, the last value wins.
        parse(&MEM, &mut store, "1G", flags(), "-m", &mut diags).unwrap();
        let mut store = OptsStore::default();
        parse(&MEM, &mut store, "1G", flags(), "-m", &mut diags).unwrap();
        parse(&MEM, &mut store, "slots=2", flags(), "-m", &mut diags).unwrap();
        parse(&MEM, &mut store, "2G", flags(), "-m", &mut diags).unwrap();
        let m = store.merged().unwrap();
        assert_eq!(m.get("size"), Some("2G"));
        assert_eq!(m.get("slots"), Some("2"));
    }

    #[test]
    fn help_listing() {
        assert_eq!(
            help_text(&MEM),
            "memory options:\n  maxmem=<size>\n  size=<size>\n  slots=<num>\n"
        );
    }
}
