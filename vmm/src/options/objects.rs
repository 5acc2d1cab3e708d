//! `-object`, `-audiodev`, `-blockdev` and `-display`: the QAPI schemas this VMM accepts for
//! them, checked with QEMU's visitor messages.

use super::error::ErrorKind;
use super::value::{self, check_unexpected, visit_members, Field, Mode, Ty, Value, Width};

const MEMORY_BACKEND_COMMON: &[Field] = &[
    value::opt("dump", Ty::Bool),
    value::opt("merge", Ty::Bool),
    value::opt(
        "policy",
        Ty::Enum(&["default", "preferred", "bind", "interleave"]),
    ),
    value::opt("prealloc", Ty::Bool),
    value::opt("prealloc-context", Ty::Str),
    value::opt("prealloc-threads", Ty::Uint(Width::U32)),
    value::opt("share", Ty::Bool),
    value::opt("reserve", Ty::Bool),
    value::opt("host-nodes", Ty::Any),
    value::req("size", Ty::Size),
    value::opt("x-use-canonical-path-for-ramblock-id", Ty::Bool),
];

const MEMORY_BACKEND_FILE: &[Field] = &[
    value::opt("align", Ty::Size),
    value::opt("offset", Ty::Size),
    value::opt("discard-data", Ty::Bool),
    value::req("mem-path", Ty::Str),
    value::opt("pmem", Ty::Bool),
    value::opt("readonly", Ty::Bool),
    value::opt("rom", Ty::Enum(&["on", "off", "auto"])),
];

const MEMORY_BACKEND_MEMFD: &[Field] = &[
    value::opt("hugetlb", Ty::Bool),
    value::opt("hugetlbsize", Ty::Size),
    value::opt("seal", Ty::Bool),
];

const SECRET: &[Field] = &[
    value::opt("format", Ty::Enum(&["raw", "base64"])),
    value::opt("keyid", Ty::Str),
    value::opt("iv", Ty::Str),
    value::opt("data", Ty::Str),
    value::opt("file", Ty::Str),
];

const IOTHREAD: &[Field] = &[
    value::opt("aio-max-batch", Ty::Int),
    value::opt("thread-pool-min", Ty::Int),
    value::opt("thread-pool-max", Ty::Int),
    value::opt("poll-max-ns", Ty::Int),
    value::opt("poll-grow", Ty::Int),
    value::opt("poll-shrink", Ty::Int),
];

const RNG_RANDOM: &[Field] = &[
    value::opt("opened", Ty::Bool),
    value::opt("filename", Ty::Str),
];

const RNG_BUILTIN: &[Field] = &[value::opt("opened", Ty::Bool)];

/// The user-creatable object types this VMM accepts, with their members (after the common
/// memory-backend ones where that applies).
pub const OBJECT_TYPES: &[(&str, &[Field])] = &[
    ("iothread", IOTHREAD),
    ("memory-backend-file", MEMORY_BACKEND_FILE),
    ("memory-backend-memfd", MEMORY_BACKEND_MEMFD),
    ("memory-backend-ram", &[]),
    ("rng-builtin", RNG_BUILTIN),
    ("rng-random", RNG_RANDOM),
    ("secret", SECRET),
];

fn is_memory_backend(t: &str) -> bool {
    t.starts_with("memory-backend-")
}

/// `-object help`.
pub fn list_help() -> String {
    let mut s = String::from("List of user creatable objects:\n");
    for (name, _) in OBJECT_TYPES {
        s.push_str(&format!("  {name}\n"));
    }
    s
}

/// `-object TYPE,help`.
pub fn type_help(type_name: &str) -> Option<String> {
    let (_, fields) = OBJECT_TYPES.iter().find(|(n, _)| *n == type_name)?;
    let mut all: Vec<&Field> = fields.iter().collect();
    if is_memory_backend(type_name) {
        all.extend(MEMORY_BACKEND_COMMON.iter());
    }
    let mut lines: Vec<String> = all
        .iter()
        .map(|f| {
            let t = match f.ty {
                Ty::Bool => "bool",
                Ty::Int => "int",
                Ty::Uint(_) | Ty::Size => "int",
                Ty::Enum(_) | Ty::Str => "string",
                _ => "string",
            };
            format!("  {}=<{}>", f.name, t)
        })
        .collect();
    lines.sort();
    let mut s = format!("{type_name} options:\n");
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    Some(s)
}

/// A checked `-object`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    pub qom_type: String,
    pub id: String,
    pub props: Vec<(String, String)>,
}

impl ObjectSpec {
    pub fn is_memory_backend(&self) -> bool {
        is_memory_backend(&self.qom_type)
    }
}

/// Visits an `ObjectOptions` (the flat union on `qom-type`).
pub fn visit_object(dict: &[(String, Value)], mode: Mode) -> Result<ObjectSpec, ErrorKind> {
    let names: Vec<&'static str> = OBJECT_TYPES.iter().map(|(n, _)| *n).collect();
    let qom_type = match Value::get(dict, "qom-type") {
        None => {
            return Err(ErrorKind::ParameterMissing {
                name: "qom-type".into(),
            })
        }
        Some(Value::Str(s)) if names.contains(&s.as_str()) => s.clone(),
        Some(Value::Str(s)) => {
            return Err(ErrorKind::DoesNotAcceptValue {
                name: "qom-type".into(),
                value: s.clone(),
            })
        }
        Some(_) => {
            return Err(ErrorKind::InvalidParameterType {
                name: "qom-type".into(),
                expected: "string".into(),
            })
        }
    };
    let id = match Value::get(dict, "id") {
        None => return Err(ErrorKind::ParameterMissing { name: "id".into() }),
        Some(Value::Str(s)) => s.clone(),
        Some(_) => {
            return Err(ErrorKind::InvalidParameterType {
                name: "id".into(),
                expected: "string".into(),
            })
        }
    };
    let fields = OBJECT_TYPES
        .iter()
        .find(|(n, _)| *n == qom_type)
        .map(|(_, f)| *f)
        .unwrap_or(&[]);
    let mut props = Vec::new();
    let base: &[Field] = &[value::req("qom-type", Ty::Str), value::req("id", Ty::Str)];
    let common: &[Field] = if is_memory_backend(&qom_type) {
        MEMORY_BACKEND_COMMON
    } else {
        &[]
    };
    visit_members(dict, common, "", mode, &mut props)?;
    visit_members(dict, fields, "", mode, &mut props)?;
    check_unexpected(dict, &[base, common, fields], "", mode)?;
    Ok(ObjectSpec {
        qom_type,
        id,
        props,
    })
}

/// Checks QEMU applies when it creates the object (`user_creatable_add_qapi()` and the type's
/// `complete` hook).
pub fn check_creation(o: &ObjectSpec) -> Result<(), ErrorKind> {
    if !super::qemuopts::id_wellformed(&o.id) {
        return Err(ErrorKind::IdExpected);
    }
    let get = |k: &str| {
        o.props
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    match o.qom_type.as_str() {
        "secret" if get("data").is_none() && get("file").is_none() => {
            Err(ErrorKind::SecretNeedsData)
        }
        "iothread" => {
            for name in ["poll-max-ns", "poll-grow", "poll-shrink"] {
                if get(name)
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < 0)
                {
                    return Err(ErrorKind::IothreadRange {
                        name: name.to_string(),
                        max: i64::MAX,
                    });
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

const AUDIODEV_PER_DIRECTION: &[Field] = &[
    value::opt("mixing-engine", Ty::Bool),
    value::opt("fixed-settings", Ty::Bool),
    value::opt("frequency", Ty::Uint(Width::U32)),
    value::opt("channels", Ty::Uint(Width::U32)),
    value::opt("voices", Ty::Uint(Width::U32)),
    value::opt(
        "format",
        Ty::Enum(&["u8", "s8", "u16", "s16", "u32", "s32", "f32"]),
    ),
    value::opt("buffer-length", Ty::Uint(Width::U32)),
];

/// Visits an `Audiodev`: only the `none` driver exists in this VMM (it has no sound devices).
pub fn visit_audiodev(dict: &[(String, Value)], mode: Mode) -> Result<String, ErrorKind> {
    let base: &[Field] = &[
        value::req("id", Ty::Str),
        value::req("driver", Ty::Enum(&["none"])),
        value::opt("timer-period", Ty::Uint(Width::U32)),
        value::opt("in", Ty::Struct(AUDIODEV_PER_DIRECTION)),
        value::opt("out", Ty::Struct(AUDIODEV_PER_DIRECTION)),
    ];
    let mut props = Vec::new();
    visit_members(dict, base, "", mode, &mut props)?;
    check_unexpected(dict, &[base], "", mode)?;
    Ok(props
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default())
}

/// QEMU 10.0's block drivers (`BlockdevDriver`).
const BLOCK_DRIVERS: &[&str] = &[
    "blkdebug",
    "blklogwrites",
    "blkreplay",
    "blkverify",
    "bochs",
    "cloop",
    "compress",
    "copy-before-write",
    "copy-on-read",
    "dmg",
    "file",
    "snapshot-access",
    "ftp",
    "ftps",
    "gluster",
    "host_cdrom",
    "host_device",
    "http",
    "https",
    "io_uring",
    "iscsi",
    "luks",
    "nbd",
    "nfs",
    "null-aio",
    "null-co",
    "nvme",
    "nvme-io_uring",
    "parallels",
    "preallocate",
    "qcow",
    "qcow2",
    "qed",
    "quorum",
    "raw",
    "rbd",
    "replication",
    "ssh",
    "throttle",
    "vdi",
    "vhdx",
    "virtio-blk-vfio-pci",
    "virtio-blk-vhost-user",
    "virtio-blk-vhost-vdpa",
    "vmdk",
    "vpc",
    "vvfat",
];

/// Checks the base members of a `BlockdevOptions` (driver-specific members are not checked,
/// except `filename` for the `file` driver).
pub fn visit_blockdev(dict: &[(String, Value)], mode: Mode) -> Result<(), ErrorKind> {
    let base: &[Field] = &[
        value::req("driver", Ty::Enum(BLOCK_DRIVERS)),
        value::opt("node-name", Ty::Str),
        value::opt("discard", Ty::Enum(&["ignore", "unmap"])),
        value::opt("cache", Ty::Any),
        value::opt("read-only", Ty::Bool),
        value::opt("auto-read-only", Ty::Bool),
        value::opt("force-share", Ty::Bool),
        value::opt("detect-zeroes", Ty::Enum(&["off", "on", "unmap"])),
    ];
    let mut props = Vec::new();
    visit_members(dict, base, "", mode, &mut props)?;
    if props.iter().any(|(k, v)| k == "driver" && v == "file") {
        visit_members(
            dict,
            &[value::req("filename", Ty::Str)],
            "",
            mode,
            &mut props,
        )?;
    }
    Ok(())
}

/// The display options this VMM accepts: only `none` (there is no display).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisplaySpec {
    pub gl: bool,
    pub window_close: bool,
}

/// Visits a `DisplayOptions`.
pub fn visit_display(dict: &[(String, Value)], mode: Mode) -> Result<DisplaySpec, ErrorKind> {
    let base: &[Field] = &[
        value::req("type", Ty::Enum(&["none"])),
        value::opt("full-screen", Ty::Bool),
        value::opt("window-close", Ty::Bool),
        value::opt("show-cursor", Ty::Bool),
        value::opt("gl", Ty::Enum(&["off", "on", "core", "es"])),
    ];
    let mut props = Vec::new();
    visit_members(dict, base, "", mode, &mut props)?;
    check_unexpected(dict, &[base], "", mode)?;
    let get = |k: &str| props.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    Ok(DisplaySpec {
        gl: get("gl").is_some_and(|g| g != "off"),
        window_close: get("window-close").is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::json;

    fn object_json(s: &str) -> Result<ObjectSpec, String> {
        match json::parse(s).map_err(|e| e.to_string())? {
            Value::Dict(d) => visit_object(&d, Mode::Json).map_err(|e| e.to_string()),
            _ => Err("not a dict".into()),
        }
    }

    #[test]
    fn objects() {
        let o = object_json(r#"{"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456}"#)
            .unwrap();
        assert_eq!(o.props, vec![("size".to_string(), "268435456".to_string())]);
        let cases: &[(&str, &str)] = &[
            (
                r#"{"qom-type":"nope","id":"s0"}"#,
                "Parameter 'qom-type' does not accept value 'nope'",
            ),
            (r#"{"id":"s0"}"#, "Parameter 'qom-type' is missing"),
            (r#"{"qom-type":"secret"}"#, "Parameter 'id' is missing"),
            (
                r#"{"qom-type":"secret","id":"s0","data":"x","foo":1}"#,
                "Parameter 'foo' is unexpected",
            ),
            (
                r#"{"qom-type":"secret","id":"s0","data":1}"#,
                "Invalid parameter type for 'data', expected: string",
            ),
            (
                r#"{"qom-type":"memory-backend-ram","id":"m","size":"1G"}"#,
                "Parameter 'size' expects uint64",
            ),
            (
                r#"{"qom-type":"memory-backend-ram","id":"m","size":1024,"merge":"on"}"#,
                "Invalid parameter type for 'merge', expected: boolean",
            ),
            (
                r#"{"qom-type":"memory-backend-ram","id":"m"}"#,
                "Parameter 'size' is missing",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(object_json(input).unwrap_err(), *want, "{input}");
        }
    }

    #[test]
    fn displays() {
        let (d, _) = crate::options::keyval::parse("none,gl=on", Some("type"), false).unwrap();
        assert!(visit_display(&d, Mode::Keyval).unwrap().gl);
        for (input, want) in [
            ("gtk", "Parameter 'type' does not accept value 'gtk'"),
            ("none,foo=bar", "Parameter 'foo' is unexpected"),
            (
                "none,full-screen=maybe",
                "Parameter 'full-screen' expects 'on' or 'off'",
            ),
            (
                "none,gl=maybe",
                "Parameter 'gl' does not accept value 'maybe'",
            ),
        ] {
            let (d, _) = crate::options::keyval::parse(input, Some("type"), false).unwrap();
            assert_eq!(
                visit_display(&d, Mode::Keyval).unwrap_err().to_string(),
                want
            );
        }
    }
}
