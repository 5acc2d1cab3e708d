//! virtio-balloon end to end: the guest's driver inflates and deflates on `balloon`, the host's
//! RSS really drops, `query-balloon` and BALLOON_CHANGE tell the truth, stats arrive.

use std::time::{Duration, Instant};

use serde_json::Value;
use tests::guest_abi::READY;
use tests::qmp_client::QmpClient;
use tests::qmp_harness::{start_vmm, Server, BALLOON_GUEST};

const BOOT: Duration = Duration::from_secs(60);
const MIB: u64 = 1 << 20;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("QMP message is JSON")
}

/// Boots the guest with 512 MiB and `virtio-balloon-pci,id=balloon0`; negotiates QMP.
fn start(tag: &str) -> (Server, QmpClient) {
    let vm = start_vmm(tag, BALLOON_GUEST);
    vm.proc.wait_for(READY, BOOT);
    let qmp = vm.client();
    (vm, qmp)
}

fn query_actual(qmp: &mut QmpClient) -> i64 {
    let reply = json(&qmp.command(br#"{"execute":"query-balloon"}"#));
    reply["return"]["actual"].as_i64().expect("actual")
}

/// Waits until a BALLOON_CHANGE reports `actual`.
fn wait_balloon_change(qmp: &mut QmpClient, actual: u64) {
    let deadline = Instant::now() + BOOT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = qmp
            .wait_event_timeout("BALLOON_CHANGE", left)
            .unwrap_or_else(|e| panic!("no BALLOON_CHANGE with actual {actual}: {e}"));
        if json(&ev)["data"]["actual"].as_u64() == Some(actual) {
            return;
        }
    }
}

#[test]
fn inflate_reclaims_host_memory_and_deflate_gives_it_back() {
    let (mut server, mut qmp) = start("balloon-rss");
    let vm = &mut server.proc;
    assert!(
        vm.output().contains("virtio-balloon: found at 00:02.0"),
        "{}",
        vm.output()
    );
    assert_eq!(query_actual(&mut qmp), (512 * MIB) as i64);

    // Prefault the guest's RAM from inside the guest.
    let mark = vm.send_line("fill");
    vm.wait_for_from(mark, "fill: pages=", BOOT);
    let filled = rss_kib(vm.pid());

    let reply = json(&qmp.command(br#"{"execute":"balloon","arguments":{"value":268435456}}"#));
    assert_eq!(reply["return"], serde_json::json!({}));
    wait_balloon_change(&mut qmp, 256 * MIB);
    assert_eq!(query_actual(&mut qmp), (256 * MIB) as i64);
    let inflated = rss_kib(vm.pid());
    let freed = filled.saturating_sub(inflated);
    assert!(
        freed * 1024 >= (256 * MIB) * 95 / 100,
        "RSS fell by {freed} KiB ({filled} → {inflated}); expected at least 95% of 256 MiB"
    );

    // Deflate back: actual returns to all of RAM and the guest can use the memory again.
    qmp.command(br#"{"execute":"balloon","arguments":{"value":536870912}}"#);
    wait_balloon_change(&mut qmp, 512 * MIB);
    assert_eq!(query_actual(&mut qmp), (512 * MIB) as i64);
    let mark = vm.send_line("fill");
    vm.wait_for_from(mark, "fill: pages=", BOOT);
    let mark = vm.send_line("check");
    vm.wait_for_from(mark, "check:", BOOT);
    let refilled = rss_kib(vm.pid());
    assert!(
        refilled >= inflated + 200 * 1024,
        "{inflated} → {refilled} KiB after deflate+fill"
    );
}

#[test]
fn balloon_errors_as_qemu() {
    let (_vm, mut qmp) = start("balloon-err");
    for (cmd, desc) in [
        (
            r#"{"execute":"balloon","arguments":{"value":0}}"#,
            "Parameter 'value' expects a size",
        ),
        (
            r#"{"execute":"balloon","arguments":{"value":-5}}"#,
            "Parameter 'value' expects a size",
        ),
        (
            r#"{"execute":"qom-set","arguments":{"path":"balloon0","property":"guest-stats-polling-interval","value":-1}}"#,
            "timer value must be greater than zero",
        ),
        (
            r#"{"execute":"qom-set","arguments":{"path":"balloon0","property":"guest-stats-polling-interval","value":4294967296}}"#,
            "timer value is too big",
        ),
    ] {
        let reply = json(&qmp.command(cmd.as_bytes()));
        assert_eq!(reply["error"]["desc"], desc, "{cmd}");
    }
    // Larger than RAM is clamped, not refused.
    let reply = json(&qmp.command(br#"{"execute":"balloon","arguments":{"value":1099511627776}}"#));
    assert_eq!(reply["return"], serde_json::json!({}));
}

#[test]
fn guest_stats_arrive_on_the_polling_interval() {
    let (_vm, mut qmp) = start("balloon-stats");
    let set = br#"{"execute":"qom-set","arguments":{"path":"balloon0","property":"guest-stats-polling-interval","value":1}}"#;
    assert_eq!(json(&qmp.command(set))["return"], serde_json::json!({}));
    let get = br#"{"execute":"qom-get","arguments":{"path":"balloon0","property":"guest-stats"}}"#;
    let read = |qmp: &mut QmpClient| json(&qmp.command(get))["return"].clone();
    std::thread::sleep(Duration::from_millis(1500));
    let first = read(&mut qmp);
    std::thread::sleep(Duration::from_millis(2200));
    let second = read(&mut qmp);
    let t1 = first["last-update"].as_i64().unwrap();
    let t2 = second["last-update"].as_i64().unwrap();
    assert!(t1 > 0 && t2 > t1, "last-update must move: {t1} → {t2}");
    // The guest's own view of its memory: 512 MiB of RAM, most of it free.
    let total = second["stats"]["stat-total-memory"].as_u64().unwrap();
    let free = second["stats"]["stat-free-memory"].as_u64().unwrap();
    assert!(total > 500 * MIB && total <= 512 * MIB, "total {total}");
    assert!(free > 400 * MIB && free <= total, "free {free}");
    // Stats the guest does not report read as QEMU's "unreported".
    assert_eq!(second["stats"]["stat-oom-kills"].as_u64(), Some(u64::MAX));
    let interval = br#"{"execute":"qom-get","arguments":{"path":"/machine/peripheral/balloon0","property":"guest-stats-polling-interval"}}"#;
    assert_eq!(json(&qmp.command(interval))["return"], 1);
}

#[test]
fn no_balloon_device_is_device_not_active() {
    let vm = start_vmm("balloon-none", &["-serial", "null"]);
    let mut qmp = vm.client();
    for cmd in [
        br#"{"execute":"query-balloon"}"#.as_slice(),
        br#"{"execute":"balloon","arguments":{"value":0}}"#.as_slice(),
    ] {
        let reply = json(&qmp.command(cmd));
        assert_eq!(reply["error"]["class"], "DeviceNotActive");
        assert_eq!(
            reply["error"]["desc"],
            "No balloon device has been activated"
        );
    }
}
