//! Events, result types and the command table helpers.

use serde_json::json;

use crate::types::*;
use crate::{command_info, event_names, preflight, ErrorClass, Event};

#[test]
fn event_names_and_data() {
    let e = Event::Shutdown(ShutdownEventData {
        guest: false,
        reason: ShutdownCause::HostQmpQuit,
    });
    assert_eq!(e.name(), "SHUTDOWN");
    assert_eq!(
        e.data(),
        Some(json!({"guest": false, "reason": "host-qmp-quit"}))
    );
    assert_eq!(Event::Stop.name(), "STOP");
    assert_eq!(Event::Stop.data(), None);
    assert_eq!(Event::Powerdown.data(), None);
    let b = Event::BalloonChange(BalloonChangeEventData { actual: 268435456 });
    assert_eq!(b.data(), Some(json!({"actual": 268435456})));
    let d = Event::DumpCompleted(DumpCompletedEventData {
        result: DumpQueryResult {
            status: DumpStatus::Completed,
            completed: 10,
            total: 10,
        },
        error: None,
    });
    assert_eq!(
        d.data(),
        Some(json!({"result": {"status": "completed", "completed": 10, "total": 10}}))
    );
    for name in [
        "STOP",
        "RESUME",
        "RESET",
        "SHUTDOWN",
        "POWERDOWN",
        "BALLOON_CHANGE",
        "DUMP_COMPLETED",
    ] {
        assert!(event_names().contains(&name), "{name}");
    }
}

#[test]
fn result_serialization() {
    let s = StatusInfo {
        running: true,
        status: RunState::Running,
    };
    assert_eq!(
        crate::to_json(&s),
        json!({"running": true, "status": "running"})
    );
    assert_eq!(crate::to_json(&NameInfo::default()), json!({}));
    assert_eq!(
        crate::to_json(&UuidInfo { uuid: "0".into() }),
        json!({"UUID": "0"})
    );
    let cpu = CpuInfoFast {
        cpu_index: 0,
        qom_path: "/machine/unattached/device[0]".into(),
        thread_id: 9530,
        props: Some(CpuInstanceProperties {
            core_id: Some(0),
            thread_id: Some(0),
            socket_id: Some(0),
            ..Default::default()
        }),
        target: CpuInfoFastVariant::X86_64,
    };
    let v = crate::to_json(&cpu);
    assert_eq!(
        v,
        json!({"thread-id": 9530, "props": {"core-id": 0, "thread-id": 0, "socket-id": 0},
               "qom-path": "/machine/unattached/device[0]", "cpu-index": 0, "target": "x86_64"})
    );
    // serde reads it back, the union included.
    let back: CpuInfoFast = serde_json::from_value(v).unwrap();
    assert_eq!(back, cpu);
    let y = YankInstance {
        r#type: YankInstanceVariant::Chardev(YankInstanceChardev {
            id: "compat_monitor0".into(),
        }),
    };
    assert_eq!(
        crate::to_json(&y),
        json!({"type": "chardev", "id": "compat_monitor0"})
    );
    assert_eq!(y.r#type.tag(), YankInstanceType::Chardev);
    let err = crate::QapiError::new(
        ErrorClass::DeviceNotActive,
        "No balloon device has been activated",
    );
    assert_eq!(
        crate::to_json(&err),
        json!({"class": "DeviceNotActive", "desc": "No balloon device has been activated"})
    );
}

#[test]
fn query_commands_is_reverse_schema_order() {
    let names: Vec<String> = command_info().into_iter().map(|c| c.name).collect();
    assert_eq!(names.first().map(String::as_str), Some("x-query-virtio"));
    assert_eq!(names.last().map(String::as_str), Some("query-status"));
    assert_eq!(names.len(), crate::COMMANDS.len());
    assert!(
        !names.iter().any(|n| n == "query-events"),
        "QEMU 10 has no query-events"
    );
}

#[test]
fn dispatch_flags() {
    for c in ["migrate-pause", "migrate-recover", "yank", "query-yank"] {
        assert!(crate::allows_oob(c), "{c}");
    }
    assert!(!crate::allows_oob("query-cpus-fast"));
    assert!(!crate::allows_oob("nope"));
    assert!(crate::allows_preconfig("query-status"));
    assert!(crate::allows_preconfig("quit"));
    assert!(!crate::allows_preconfig("human-monitor-command"));
    let e = preflight("query-cpus-fast", true, true).unwrap_err();
    assert_eq!(e.desc, "The command query-cpus-fast does not support OOB");
    let e = preflight("query-cpus-fast", false, false).unwrap_err();
    assert_eq!(
        e.desc,
        "The command 'query-cpus-fast' is permitted only after machine initialization has completed"
    );
    assert_eq!(
        preflight("nope", false, true).unwrap_err().class,
        ErrorClass::CommandNotFound
    );
    assert!(preflight("migrate-pause", true, true).is_ok());
    let def = crate::command_def("human-monitor-command").unwrap();
    assert_eq!(def.features, &["savevm-monitor-nodes"]);
    assert_eq!(def.ret_type, Some("str"));
    assert_eq!(def.arg_type, Some("q_obj_human-monitor-command-arg"));
    assert_eq!(
        crate::command_def("query-machines").unwrap().ret_type,
        Some("[MachineInfo]")
    );
}
