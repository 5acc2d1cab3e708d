//! `qom-list-types`, `qom-list-properties`, `device-list-properties`.

use crate::qom::{device_list_properties, is_a, list_properties, list_types};

fn err<T: std::fmt::Debug>(r: Result<T, qapi::QapiError>) -> (String, String) {
    let e = r.unwrap_err();
    (format!("{:?}", e.class), e.desc)
}

#[test]
fn type_listing() {
    let machines = list_types(Some("machine"), false);
    assert!(machines.iter().any(|t| t.name == "pc-i440fx-10.0-machine"
        && t.parent.as_deref() == Some("generic-pc-machine")
        && t.r#abstract.is_none()));
    assert!(machines.iter().all(|t| t.r#abstract.is_none()));
    assert!(machines.iter().any(|t| t.name == "none-machine"));
    let with_abstract = list_types(Some("machine"), true);
    assert!(with_abstract
        .iter()
        .any(|t| t.name == "machine" && t.r#abstract == Some(true)));
    let balloon = list_types(Some("virtio-balloon-pci"), false);
    assert_eq!(balloon.len(), 1);
    assert_eq!(
        balloon[0].parent.as_deref(),
        Some("virtio-balloon-pci-base")
    );
    assert!(list_types(Some("nosuch"), true).is_empty());
    let creatable: Vec<String> = list_types(Some("user-creatable"), false)
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(creatable.contains(&"memory-backend-ram".to_string()));
    assert!(!creatable.contains(&"container".to_string()));
    let all = list_types(None, true);
    assert!(all
        .iter()
        .any(|t| t.name == "interface" && t.parent.is_none()));
    assert!(is_a("pc-q35-10.0-machine", "hotplug-handler"));
    assert!(is_a("host-x86_64-cpu", "max-x86_64-cpu"));
    assert!(!is_a("container", "device"));
}

#[test]
fn property_listing() {
    let cpu = list_properties("qemu64-x86_64-cpu").unwrap();
    assert_eq!(cpu.len(), 508);
    assert_eq!(cpu[0].name, "type");
    let dev = device_list_properties("qemu64-x86_64-cpu").unwrap();
    assert_eq!(dev.len(), 500);
    assert!(dev
        .iter()
        .all(|p| p.name != "realized" && !p.name.starts_with("legacy-")));
    assert_eq!(list_properties("none-machine").unwrap().len(), 23);
    assert_eq!(list_properties("pc-i440fx-9.2-machine").unwrap().len(), 52);
    assert_eq!(list_properties("x86_64-cpu").unwrap().len(), 474);
    let balloon = device_list_properties("virtio-balloon-pci").unwrap();
    assert_eq!(balloon.len(), 52);
    assert_eq!(
        err(list_properties("nosuch")),
        ("DeviceNotFound".into(), "Class 'nosuch' not found".into())
    );
    assert_eq!(
        err(device_list_properties("nosuch")),
        ("DeviceNotFound".into(), "Device 'nosuch' not found".into())
    );
    assert_eq!(
        err(list_properties("user-creatable")),
        (
            "GenericError".into(),
            "Parameter 'typename' expects a QOM type".into()
        )
    );
    for t in [
        "object",
        "container",
        "x86_64-cpu",
        "pc-i440fx-10.0-machine",
    ] {
        assert_eq!(
            err(device_list_properties(t)),
            (
                "GenericError".into(),
                "Parameter 'typename' expects a non-abstract device type".into()
            ),
            "{t}"
        );
    }
}
