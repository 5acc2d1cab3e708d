//! Path resolution: absolute, partial, links, ambiguity, and the tree's shape.

use serde_json::json;

use super::{config, names, BASE};
use crate::config::ChardevBackend;
use crate::qom::{ChardevObject, Container, NoMachine, ObjectTree, QomError, Resolved};

fn tree() -> ObjectTree {
    ObjectTree::new(&config(BASE))
}

fn err(r: Result<impl std::fmt::Debug, qapi::QapiError>) -> (String, String) {
    let e = r.unwrap_err();
    (format!("{:?}", e.class), e.desc)
}

#[test]
fn absolute_paths() {
    let t = tree();
    for (path, want) in [
        ("/", "/"),
        ("/machine", "/machine"),
        ("//machine//peripheral/", "/machine/peripheral"),
        (
            "/machine/unattached/device[0]",
            "/machine/unattached/device[0]",
        ),
        (
            "/machine/unattached/device[2]/lapic",
            "/machine/unattached/device[2]/lapic",
        ),
        // Links are followed.
        ("/machine/memory-backend", "/objects/pc.ram"),
        ("/machine/memory-backend/", "/objects/pc.ram"),
    ] {
        let id = t.resolve(path).unwrap_or_else(|| panic!("{path}"));
        assert_eq!(t.path_of(id), want, "{path}");
    }
    for path in [
        "/machine/nosuch",
        "/machine/usb",
        "/machine/type",
        "/machine/..",
        "/machine/unattached/device[1]",
        "/machine/smram",
    ] {
        assert_eq!(t.resolve_typed(path, None), Resolved::NotFound, "{path}");
    }
}

#[test]
fn partial_paths() {
    let t = tree();
    for (path, want) in [
        ("machine", "/machine"),
        ("machine/peripheral", "/machine/peripheral"),
        ("peripheral", "/machine/peripheral"),
        ("pc.ram", "/objects/pc.ram"),
        ("memory-backend", "/objects/pc.ram"),
        ("device[2]", "/machine/unattached/device[2]"),
    ] {
        let id = t.resolve(path).unwrap_or_else(|| panic!("{path}"));
        assert_eq!(t.path_of(id), want, "{path}");
    }
    // Each CPU has a lapic; every object matches the empty path.
    assert_eq!(t.resolve_typed("lapic", None), Resolved::Ambiguous);
    assert_eq!(t.resolve_typed("", None), Resolved::Ambiguous);
    assert_eq!(t.resolve_typed("nosuch", None), Resolved::NotFound);
    // A type filter makes a partial path unique.
    let Resolved::Found(id) = t.resolve_typed("device[0]", Some("cpu")) else {
        panic!("typed")
    };
    assert_eq!(t.path_of(id), "/machine/unattached/device[0]");
}

#[test]
fn path_errors_as_qemu() {
    let t = tree();
    let ctx = NoMachine;
    let not_found = |p: &str| {
        (
            "DeviceNotFound".to_string(),
            format!("Device '{p}' not found"),
        )
    };
    assert_eq!(
        err(t.list("/machine/nosuch", &ctx)),
        not_found("/machine/nosuch")
    );
    assert_eq!(
        err(t.get("/machine/nosuch", "type", &ctx)),
        not_found("/machine/nosuch")
    );
    assert_eq!(
        err(t.list("lapic", &ctx)),
        ("GenericError".into(), "Path 'lapic' is ambiguous".into())
    );
    assert_eq!(
        err(t.list("", &ctx)),
        ("GenericError".into(), "Path '' is ambiguous".into())
    );
    // qom-get and qom-set report an ambiguous path as not found.
    assert_eq!(err(t.get("lapic", "type", &ctx)), not_found("lapic"));
    assert_eq!(err(t.get("", "type", &ctx)), not_found(""));
    let mut t = t;
    assert_eq!(
        err(t.set("lapic", "id", json!(1), &ctx)),
        not_found("lapic")
    );
}

#[test]
fn root_and_containers() {
    let t = tree();
    let ctx = NoMachine;
    let root = names(&t.list("/", &ctx).unwrap());
    let want: Vec<(String, String)> = [
        ("type", "string"),
        ("backend", "child<container>"),
        ("machine", "child<pc-i440fx-10.0-machine>"),
        ("objects", "child<container>"),
        ("chardevs", "child<container>"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(root, want);
    assert_eq!(t.get("/", "type", &ctx).unwrap(), json!("container"));
    assert_eq!(t.get("/", "machine", &ctx).unwrap(), json!("/machine"));
    assert_eq!(
        names(&t.list("/machine/unattached", &ctx).unwrap())
            .into_iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
            .len(),
        3
    );
    assert_eq!(
        t.cpu_path(0).as_deref(),
        Some("/machine/unattached/device[0]")
    );
    assert_eq!(
        t.cpu_path(1).as_deref(),
        Some("/machine/unattached/device[2]")
    );
    assert_eq!(t.cpu_path(2), None);
}

#[test]
fn registry() {
    let mut t = tree();
    let ctx = NoMachine;
    let dev = |id: &str| {
        Box::new(ChardevObject::new(id, &ChardevBackend::Null)) as Box<dyn crate::qom::QomObject>
    };
    assert_eq!(
        t.add_device(Some("balloon0"), dev("x")).unwrap(),
        "/machine/peripheral/balloon0"
    );
    assert_eq!(
        t.add_device(None, dev("x")).unwrap(),
        "/machine/peripheral-anon/device[0]"
    );
    assert_eq!(
        t.add_device(None, dev("x")).unwrap(),
        "/machine/peripheral-anon/device[1]"
    );
    assert_eq!(
        t.add_device(Some("balloon0"), dev("x")).unwrap_err(),
        QomError::Duplicate {
            name: "balloon0".into(),
            type_name: "container".into()
        }
    );
    // "balloon0" is a unique partial path; "device[0]" now is not.
    assert_eq!(
        t.get("balloon0", "type", &ctx).unwrap(),
        json!("chardev-null")
    );
    assert_eq!(t.resolve_typed("device[0]", None), Resolved::Ambiguous);
    let listed = names(&t.list("/machine/peripheral", &ctx).unwrap());
    assert_eq!(listed[1], ("balloon0".into(), "child<chardev-null>".into()));

    // Removal frees the name and the index.
    t.remove("/machine/peripheral-anon/device[0]").unwrap();
    assert_eq!(
        t.add_device(None, dev("x")).unwrap(),
        "/machine/peripheral-anon/device[0]"
    );
    t.remove("balloon0").unwrap();
    assert!(t.resolve("/machine/peripheral/balloon0").is_none());
    assert_eq!(
        t.remove("/machine/peripheral/balloon0").unwrap_err(),
        QomError::DeviceNotFound("/machine/peripheral/balloon0".into())
    );
    // Properties of the parent are taken names too.
    let machine = t.resolve("/machine").unwrap();
    assert!(matches!(
        t.add_child(machine, "usb", Box::new(Container)),
        Err(QomError::Duplicate { .. })
    ));
    assert_eq!(
        t.add_user_object("extra", Box::new(Container)).unwrap(),
        "/objects/extra"
    );
}
