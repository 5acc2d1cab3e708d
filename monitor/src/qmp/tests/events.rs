//! Event lines (section 1.9) and the rate limiter, on a fake clock.

use crate::qmp::{format_event, format_event_parts, EventThrottle, THROTTLE_PERIOD};
use qapi::types::{ShutdownCause, ShutdownEventData};
use qapi::Event;
use serde_json::json;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn at(seconds: u64, micros: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn measured_event_lines() {
    let shutdown = Event::Shutdown(ShutdownEventData {
        guest: false,
        reason: ShutdownCause::HostQmpQuit,
    });
    assert_eq!(
        format_event(&shutdown, at(1795239192, 716530)),
        "{\"timestamp\": {\"seconds\": 1795239192, \"microseconds\": 716530}, \"event\": \"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}"
    );
    assert_eq!(
        format_event(&Event::Stop, at(1795239183, 498374)),
        "{\"timestamp\": {\"seconds\": 1795239183, \"microseconds\": 498374}, \"event\": \"STOP\"}"
    );
    assert_eq!(
        format_event_parts("BALLOON_CHANGE", Some(&json!({"actual": 268435456})), at(5, 1)),
        "{\"timestamp\": {\"seconds\": 5, \"microseconds\": 1}, \"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 268435456}}"
    );
}

#[test]
fn member_order_is_qemus() {
    // The hand-written envelope must equal the writer's output for QEMU's insertion order.
    let value = json!({
        "timestamp": {"seconds": 7, "microseconds": 8},
        "event": "RESET",
        "data": {"guest": true, "reason": "guest-reset"},
    });
    assert_eq!(
        format_event_parts(
            "RESET",
            Some(&json!({"guest": true, "reason": "guest-reset"})),
            at(7, 8)
        ),
        crate::json::to_qmp_string(&value)
    );
}

#[test]
fn timestamps_before_the_epoch_split_like_c() {
    let before = UNIX_EPOCH - Duration::from_micros(1_500_000);
    assert!(format_event(&Event::Stop, before)
        .starts_with("{\"timestamp\": {\"seconds\": -1, \"microseconds\": -500000}"));
}

fn balloon(actual: i64) -> serde_json::Value {
    json!({"actual": actual})
}

#[test]
fn throttle_sends_first_keeps_last_and_frees() {
    let t0 = Instant::now();
    let mut throttle = EventThrottle::new();
    assert_eq!(throttle.next_deadline(), None);
    let first = throttle.offer_parts("BALLOON_CHANGE", Some(&balloon(1)), at(100, 0), t0);
    assert!(first.is_some_and(|l| l.contains("\"actual\": 1}")));
    assert_eq!(throttle.next_deadline(), Some(t0 + THROTTLE_PERIOD));
    // Inside the window: stored, the newest replacing the older, each with its own time.
    assert!(throttle
        .offer_parts(
            "BALLOON_CHANGE",
            Some(&balloon(2)),
            at(100, 300_000),
            t0 + ms(300)
        )
        .is_none());
    assert!(throttle
        .offer_parts(
            "BALLOON_CHANGE",
            Some(&balloon(3)),
            at(100, 470_000),
            t0 + ms(470)
        )
        .is_none());
    assert!(throttle.expire(t0 + ms(999)).is_empty());
    let sent = throttle.expire(t0 + ms(1000));
    assert_eq!(
        sent,
        vec!["{\"timestamp\": {\"seconds\": 100, \"microseconds\": 470000}, \"event\": \"BALLOON_CHANGE\", \"data\": {\"actual\": 3}}".to_owned()]
    );
    // Re-armed from when the timer ran.
    assert_eq!(throttle.next_deadline(), Some(t0 + ms(2000)));
    assert!(throttle
        .offer_parts(
            "BALLOON_CHANGE",
            Some(&balloon(4)),
            at(101, 0),
            t0 + ms(1500)
        )
        .is_none());
    assert_eq!(throttle.expire(t0 + ms(2000)).len(), 1);
    // A window with nothing stored ends the throttle: the next event goes at once.
    assert!(throttle.expire(t0 + ms(3000)).is_empty());
    assert_eq!(throttle.next_deadline(), None);
    assert!(throttle
        .offer_parts(
            "BALLOON_CHANGE",
            Some(&balloon(5)),
            at(103, 0),
            t0 + ms(3100)
        )
        .is_some());
}

#[test]
fn throttle_rearms_from_the_late_timer() {
    let t0 = Instant::now();
    let mut throttle = EventThrottle::new();
    throttle.offer_parts("RTC_CHANGE", Some(&json!({"offset": 1})), at(1, 0), t0);
    throttle.offer_parts(
        "RTC_CHANGE",
        Some(&json!({"offset": 2})),
        at(1, 1),
        t0 + ms(10),
    );
    assert_eq!(throttle.expire(t0 + ms(1500)).len(), 1);
    assert_eq!(throttle.next_deadline(), Some(t0 + ms(2500)));
}

#[test]
fn throttle_keys() {
    let t0 = Instant::now();
    let mut throttle = EventThrottle::new();
    let port = |id: &str, open: bool| json!({"id": id, "open": open});
    // VSERPORT_CHANGE per port id.
    assert!(throttle
        .offer_parts("VSERPORT_CHANGE", Some(&port("a", true)), at(1, 0), t0)
        .is_some());
    assert!(throttle
        .offer_parts("VSERPORT_CHANGE", Some(&port("b", true)), at(1, 0), t0)
        .is_some());
    assert!(throttle
        .offer_parts("VSERPORT_CHANGE", Some(&port("a", false)), at(1, 0), t0)
        .is_none());
    // QUORUM_REPORT_BAD per node, MEMORY_DEVICE_SIZE_CHANGE per QOM path.
    let node =
        |n: &str| json!({"type": "read", "node-name": n, "sector-num": 0, "sectors-count": 1});
    assert!(throttle
        .offer_parts("QUORUM_REPORT_BAD", Some(&node("n1")), at(1, 0), t0)
        .is_some());
    assert!(throttle
        .offer_parts("QUORUM_REPORT_BAD", Some(&node("n2")), at(1, 0), t0)
        .is_some());
    assert!(throttle
        .offer_parts("QUORUM_REPORT_BAD", Some(&node("n1")), at(1, 0), t0)
        .is_none());
    let mem = |p: &str| json!({"qom-path": p, "size": 1});
    assert!(throttle
        .offer_parts(
            "MEMORY_DEVICE_SIZE_CHANGE",
            Some(&mem("/m/1")),
            at(1, 0),
            t0
        )
        .is_some());
    assert!(throttle
        .offer_parts(
            "MEMORY_DEVICE_SIZE_CHANGE",
            Some(&mem("/m/2")),
            at(1, 0),
            t0
        )
        .is_some());
    // The other throttled events: one per type, whatever the data.
    for name in [
        "RTC_CHANGE",
        "BLOCK_IO_ERROR",
        "WATCHDOG",
        "QUORUM_FAILURE",
        "HV_BALLOON_STATUS_REPORT",
    ] {
        assert!(throttle
            .offer_parts(name, Some(&json!({"x": 1})), at(1, 0), t0)
            .is_some());
        assert!(
            throttle
                .offer_parts(name, Some(&json!({"x": 2})), at(1, 0), t0)
                .is_none(),
            "{name}"
        );
    }
    // Not throttled at all.
    for _ in 0..3 {
        assert!(throttle.offer(&Event::Stop, at(1, 0), t0).is_some());
    }
    // Stored events come out in timer order: first armed first.
    let sent = throttle.expire(t0 + ms(1000));
    let names: Vec<&str> = sent
        .iter()
        .filter_map(|l| l.split("\"event\": \"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        names,
        [
            "VSERPORT_CHANGE",
            "QUORUM_REPORT_BAD",
            "RTC_CHANGE",
            "BLOCK_IO_ERROR",
            "WATCHDOG",
            "QUORUM_FAILURE",
            "HV_BALLOON_STATUS_REPORT"
        ]
    );
}

#[test]
fn throttle_takes_typed_events() {
    let t0 = Instant::now();
    let mut throttle = EventThrottle::with_period(ms(10));
    let event = Event::BalloonChange(qapi::types::BalloonChangeEventData { actual: 1 });
    assert!(throttle.offer(&event, at(1, 0), t0).is_some());
    assert!(throttle.offer(&event, at(1, 0), t0 + ms(1)).is_none());
    assert_eq!(throttle.expire(t0 + ms(10)).len(), 1);
}
