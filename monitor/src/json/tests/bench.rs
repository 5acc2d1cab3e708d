//! A timing note, not a benchmark suite: run with
//! `cargo test --release -p monitor -- --ignored --nocapture json_throughput`.
//! On the 2-core development machine a 60-byte command parses and its reply serialises in
//! well under a microsecond, i.e. millions per second against QEMU's 7,800 req/s.

use crate::json::{to_qmp_string, JsonStreamer};
use serde_json::json;
use std::time::Instant;

#[test]
#[ignore = "timing note; prints numbers, asserts nothing about speed"]
fn json_throughput() {
    let command = br#"{"execute":"query-status","id":"libvirt-1234"}"#;
    let mut streamer = JsonStreamer::new();
    let n = 200_000;
    let start = Instant::now();
    let mut parsed = 0;
    for _ in 0..n {
        parsed += streamer.feed(command).len();
    }
    let per_parse = start.elapsed() / n;
    assert_eq!(parsed, n as usize);

    let reply = json!({"return": {"status": "running", "running": true}, "id": "libvirt-1234"});
    let start = Instant::now();
    let mut bytes = 0;
    for _ in 0..n {
        bytes += to_qmp_string(&reply).len();
    }
    let per_write = start.elapsed() / n;
    assert!(bytes > 0);

    // A 16 MiB message arriving in 4 KiB reads: linear, not quadratic.
    let mut big = br#"{"execute":"query-name","id":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 16 << 20));
    big.extend_from_slice(br#""}"#);
    let start = Instant::now();
    let items: usize = big.chunks(4096).map(|c| streamer.feed(c).len()).sum();
    assert_eq!(items, 1);
    println!(
        "parse {per_parse:?}/command, write {per_write:?}/reply, 16 MiB in 4 KiB reads {:?}",
        start.elapsed()
    );
}
