//! virtio-balloon against a misbehaving driver: the test guest's `vq-abuse <kind>` breaks the
//! virtio rules on purpose, on the live device, through its real rings and notify register
//! (guest/README.md, "Hostile driver"), and reports what the device did.
//!
//! After every kind: the vmm process is alive and answers `query-status` and `query-balloon`;
//! the guest answers; no memory the bad request did not name changed (the guest's `check` over
//! every filled page, the image's pattern pages and the last RAM page read with `pmemsave`);
//! the device either marked itself broken (DEVICE_NEEDS_RESET, with a configuration interrupt
//! when it was running) or ignored the request (and returned the buffer); and, once the guest
//! recovered (a device reset where needed), the balloon still inflates and deflates.
//!
//! Two VMs, in parallel: one whose balloon is empty (the kinds this device survives without a
//! reset), one with 64 MiB ballooned across the kinds that reset the device.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use tests::guest_abi::{
    FILL_TAG, PATTERN_BYTES_GPA, PATTERN_BYTES_LEN, PATTERN_STRING, PATTERN_WORDS,
    PATTERN_WORDS_GPA, READY,
};
use tests::qmp_client::QmpClient;
use tests::qmp_harness::{start_vmm, Server, BALLOON_GUEST};

const BOOT: Duration = Duration::from_secs(60);
const REPLY: Duration = Duration::from_secs(30);
const MIB: u64 = 1 << 20;
const RAM: u64 = 512 * MIB;
const PAGE: u64 = 4096;

// Device status bits (virtio 1.x 2.1).
const DRIVER_OK: u64 = 0x4;
const NEEDS_RESET: u64 = 0x40;
const FAILED: u64 = 0x80;
/// ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK: a running device.
const RUNNING: u64 = 0xf;

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("QMP message is JSON")
}

/// `check: pages=.. pattern=.. zero=.. other=..`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Check {
    pages: u64,
    pattern: u64,
    zero: u64,
    other: u64,
}

struct Guest {
    /// The vmm process, and the directory for files (pmemsave).
    server: Server,
    qmp: QmpClient,
    /// End of the highest e820 RAM entry the guest printed.
    ram_end: u64,
    /// The two pattern pages (0x300000 and 0x301000) right after boot.
    patterns: Vec<u8>,
    /// Pages in the guest's pool (every free page after `fill` with an empty balloon).
    pool_pages: u64,
    /// Pages the balloon should hold now.
    balloon_pages: u64,
}

impl Guest {
    fn boot(tag: &str) -> Guest {
        let server = start_vmm(tag, BALLOON_GUEST);
        server.proc.wait_for(READY, BOOT);
        let qmp = server.client();
        let out = server.proc.output();
        assert!(
            out.contains("virtio-balloon: found at "),
            "no balloon driver:\n{out}"
        );
        let ram_end = e820_ram_end(&out);
        assert!(
            ram_end > 256 * MIB && ram_end <= RAM,
            "RAM end {ram_end:#x}"
        );
        let mut g = Guest {
            server,
            qmp,
            ram_end,
            patterns: Vec::new(),
            pool_pages: 0,
            balloon_pages: 0,
        };
        g.patterns = g.pmemsave(PATTERN_BYTES_GPA, 2 * PAGE);
        check_patterns(&g.patterns);
        let fill = g.cmd("fill", "fill: pages=");
        g.pool_pages = number(&fill, "fill: pages=");
        let c = g.check();
        assert_eq!(
            c,
            Check {
                pages: g.pool_pages,
                pattern: g.pool_pages,
                zero: 0,
                other: 0
            }
        );
        g
    }

    /// Sends a line and returns the guest's reply line (the first that starts with `prefix`
    /// after it).
    fn cmd(&mut self, line: &str, prefix: &str) -> String {
        // At the start of a line: "virtio-balloon: ..." must not pass for "balloon: ...".
        let mark = self.server.proc.send_line(line);
        let at = self
            .server
            .proc
            .wait_for_from(mark - 2, &format!("\r\n{prefix}"), REPLY);
        let end = self.server.proc.wait_for_from(at, "\r\n", REPLY);
        self.server.proc.output()[at - prefix.len()..end - 2].to_string()
    }

    fn qmp(&mut self, cmd: &str) -> Value {
        json(&self.qmp.command(cmd.as_bytes()))
    }

    fn pmemsave(&mut self, addr: u64, size: u64) -> Vec<u8> {
        let file = self.server.dir.join("mem.bin");
        let _ = std::fs::remove_file(&file);
        let reply = self.qmp(&format!(
            r#"{{"execute":"pmemsave","arguments":{{"val":{addr},"size":{size},"filename":"{}"}}}}"#,
            file.display()
        ));
        assert_eq!(reply["return"], serde_json::json!({}), "pmemsave: {reply}");
        let bytes = std::fs::read(&file).expect("pmemsave file");
        assert_eq!(bytes.len() as u64, size);
        bytes
    }

    fn check(&mut self) -> Check {
        let line = self.cmd("check", "check: ");
        Check {
            pages: number(&line, "pages="),
            pattern: number(&line, "pattern="),
            zero: number(&line, "zero="),
            other: number(&line, "other="),
        }
    }

    fn query_actual(&mut self) -> u64 {
        let reply = self.qmp(r#"{"execute":"query-balloon"}"#);
        reply["return"]["actual"]
            .as_u64()
            .unwrap_or_else(|| panic!("query-balloon: {reply}"))
    }

    /// Sets the balloon target to `pages` and waits until the guest got there.
    fn set_balloon(&mut self, pages: u64) {
        let value = RAM - pages * PAGE;
        let reply = self.qmp(&format!(
            r#"{{"execute":"balloon","arguments":{{"value":{value}}}}}"#
        ));
        assert_eq!(reply["return"], serde_json::json!({}), "balloon: {reply}");
        let deadline = Instant::now() + REPLY;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = self
                .qmp
                .wait_event_timeout("BALLOON_CHANGE", left)
                .unwrap_or_else(|e| panic!("no BALLOON_CHANGE to {value}: {e}"));
            if json(&ev)["data"]["actual"].as_u64() == Some(value) {
                break;
            }
        }
        self.balloon_pages = pages;
        let line = self.cmd("balloon", "balloon: ");
        assert_eq!(
            line,
            format!("balloon: pages={pages} actual={pages} num_pages={pages}")
        );
        assert_eq!(self.query_actual(), value);
    }

    /// Runs `vq-abuse <kind>` and returns its fields.
    fn abuse(&mut self, kind: &str) -> HashMap<String, String> {
        let prefix = format!("vq-abuse {kind}: ");
        let line = self.cmd(&format!("vq-abuse {kind}"), &prefix);
        eprintln!("{line}");
        line[prefix.len()..]
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Everything that must hold after any abuse.
    fn assert_healthy(&mut self, after: &str) {
        if let Some(status) = self.server.proc.wait_exit(Duration::ZERO) {
            panic!(
                "vmm exited ({status}) after {after}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.server.proc.output(),
                self.server.proc.stderr()
            );
        }
        let status = self.qmp(r#"{"execute":"query-status"}"#);
        assert_eq!(status["return"]["status"], "running", "{after}: {status}");
        assert_eq!(status["return"]["running"], true, "{after}: {status}");
        assert_eq!(
            self.query_actual(),
            RAM - self.balloon_pages * PAGE,
            "query-balloon after {after}"
        );
        assert_eq!(self.cmd("ping", "pong"), "pong");
        let pages = self.balloon_pages;
        assert_eq!(
            self.cmd("balloon", "balloon: "),
            format!("balloon: pages={pages} actual={pages} num_pages={pages}"),
            "after {after}"
        );
        // Every free page still holds `fill`'s pattern: nothing outside the abuse was
        // discarded or written (the guest restores the one page it offered).
        let free = self.pool_pages - self.balloon_pages;
        assert_eq!(
            self.check(),
            Check {
                pages: free,
                pattern: free,
                zero: 0,
                other: 0
            },
            "guest memory after {after}"
        );
        let patterns = self.pmemsave(PATTERN_BYTES_GPA, 2 * PAGE);
        assert!(
            patterns == self.patterns,
            "pattern pages changed after {after}"
        );
        // The last RAM page, next to the "beyond RAM" addresses: still `fill`'s pattern.
        let last = self.ram_end - PAGE;
        let page = self.pmemsave(last, PAGE);
        let want = FILL_TAG | (last / PAGE);
        assert!(
            page.chunks_exact(8)
                .all(|q| u64::from_le_bytes(q.try_into().unwrap()) == want),
            "last RAM page {last:#x} changed after {after}"
        );
        assert!(
            !self.server.proc.stderr().contains("panicked"),
            "{}",
            self.server.proc.stderr()
        );
    }
}

fn number(line: &str, key: &str) -> u64 {
    let at = line
        .find(key)
        .unwrap_or_else(|| panic!("no {key} in {line:?}"));
    line[at + key.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("bad {key} in {line:?}"))
}

fn hex(fields: &HashMap<String, String>, key: &str) -> u64 {
    let v = &fields[key];
    u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("{key}={v}"))
}

/// The end of the highest `e820: [mem 0x..-0x..] usable` line.
fn e820_ram_end(out: &str) -> u64 {
    out.lines()
        .filter(|l| l.starts_with("e820: [mem ") && l.trim_end().ends_with("usable"))
        .filter_map(|l| {
            let range = l.strip_prefix("e820: [mem ")?.split(']').next()?;
            let (_, end) = range.split_once('-')?;
            u64::from_str_radix(end.trim_start_matches("0x"), 16).ok()
        })
        .max()
        .map(|e| e + 1)
        .expect("e820 RAM lines")
}

/// The image's patterns (guest/src/abi.rs): byte i = i & 0xff, then the four words and the
/// string.
fn check_patterns(pages: &[u8]) {
    let bytes = &pages[..PATTERN_BYTES_LEN];
    assert!(bytes.iter().enumerate().all(|(i, &b)| b == i as u8));
    let words = &pages[(PATTERN_WORDS_GPA - PATTERN_BYTES_GPA) as usize..];
    for (i, w) in PATTERN_WORDS.iter().enumerate() {
        assert_eq!(words[8 * i..8 * i + 8], w.to_le_bytes());
    }
    assert_eq!(&words[32..32 + PATTERN_STRING.len()], PATTERN_STRING);
}

/// What the spec allows a device to do with each kind, checked on the guest's report.
fn judge(kind: &str, f: &HashMap<String, String>) {
    let ctx = format!("vq-abuse {kind}: {f:?}");
    let status = hex(f, "status");
    let used: u64 = f["used"].parse().unwrap();
    let variants: u64 = f["variants"].parse().unwrap();
    let needs_reset = f["needs_reset"] == "yes";
    assert!(variants >= 1, "{ctx}");
    assert_eq!(status & FAILED, 0, "the device never sets FAILED: {ctx}");
    assert_eq!(needs_reset, status & NEEDS_RESET != 0, "{ctx}");
    assert_eq!(f["ids"], "ok", "used entries name the buffers given: {ctx}");
    assert_eq!(
        f["recovery"],
        if needs_reset || matches!(kind, "bad-avail" | "bad-head" | "ring-outside") {
            "reset"
        } else {
            "none"
        },
        "{ctx}"
    );
    assert_eq!(hex(f, "final"), RUNNING, "running again afterwards: {ctx}");
    // Virtio 1.x 2.1.2: a device that sets DEVICE_NEEDS_RESET after DRIVER_OK must send a
    // configuration change notification.
    if needs_reset && status & DRIVER_OK != 0 {
        assert_eq!(f["config_irq"], "yes", "{ctx}");
    }
    // The page the bad buffers named: the device may take it (discarded: zero) or ignore it,
    // nothing else. A device-writable buffer is not a PFN list (QEMU reads only out_sg), and
    // a deflate never discards.
    let victims: &[&str] = match kind {
        "loop" | "overlong" | "unaligned" | "indirect" => &["pattern", "zero"],
        "writeonly" | "early-notify" => &["pattern"],
        _ => &["none"],
    };
    assert!(
        victims.contains(&f["victim"].as_str()),
        "victim page: {ctx}"
    );
    match kind {
        // Ignoring a bad buffer means returning it: a buffer never used would hang a driver.
        "loop" | "outside" | "overlong" | "writeonly" | "unaligned" | "pfn-beyond"
        | "stats-size" | "indirect" => {
            if !needs_reset {
                assert_eq!(used, variants, "every bad buffer came back: {ctx}");
                assert_eq!(status, RUNNING, "{ctx}");
            }
        }
        // Virtio 1.x 3.1.2: the device must not consume buffers before DRIVER_OK. (QEMU does:
        // it handles a notification at once.) After DRIVER_OK it may take the buffer.
        "early-notify" => {
            let before = hex(f, "before_driver_ok_status");
            assert_eq!(before & DRIVER_OK, 0, "{ctx}");
            assert_eq!(f["before_driver_ok_used"], "0", "{ctx}");
            assert!(used <= 1, "{ctx}");
        }
        // A ring index the device cannot trust, or rings outside RAM: NEEDS_RESET, or the
        // request ignored. Either way the guest resets the device.
        "bad-avail" | "bad-head" | "ring-outside" => {}
        _ => panic!("unknown kind {kind}"),
    }
}

fn run_kinds(g: &mut Guest, kinds: &[&str]) {
    for kind in kinds {
        let f = g.abuse(kind);
        judge(kind, &f);
        assert_eq!(
            f["actual"].parse::<u64>().unwrap(),
            g.balloon_pages,
            "`actual` is the driver's: {kind}"
        );
        g.assert_healthy(kind);
        if *kind == "stats-size" {
            // The device holds the last, good buffer: the guest's real statistics.
            let stats = g.qmp(
                r#"{"execute":"qom-get","arguments":{"path":"balloon0","property":"guest-stats"}}"#,
            );
            let total = stats["return"]["stats"]["stat-total-memory"].as_u64();
            assert!(
                total.is_some_and(|t| t > 400 * MIB && t <= RAM),
                "guest-stats after stats-size: {stats}"
            );
        }
    }
}

/// The balloon works after the abuse: inflate by `pages`, deflate back; the pages that came
/// back read as zero (the host discarded them), the rest kept `fill`'s pattern.
fn round_trip(g: &mut Guest, pages: u64) {
    let start = g.balloon_pages;
    g.set_balloon(start + pages);
    g.set_balloon(0);
    let c = g.check();
    assert_eq!(c.pages, g.pool_pages);
    assert_eq!(c.other, 0, "{c:?}");
    assert!(c.zero >= pages, "{c:?}");
    assert_eq!(c.pattern + c.zero, g.pool_pages, "{c:?}");
    // Make every page `fill`'s again for whoever comes next.
    g.cmd("fill", "fill: pages=");
}

#[test]
fn balloon_survives_bad_buffers_and_keeps_working() {
    let mut g = Guest::boot("hostile-buf");
    g.assert_healthy("boot");
    run_kinds(
        &mut g,
        &[
            "loop",
            "outside",
            "overlong",
            "writeonly",
            "unaligned",
            "pfn-beyond",
            "stats-size",
            "indirect",
        ],
    );
    round_trip(&mut g, 16384);
}

#[test]
fn balloon_resets_after_ring_errors_and_keeps_its_pages() {
    let mut g = Guest::boot("hostile-ring");
    // 64 MiB in the balloon across the resets: the guest keeps them, `actual` stays.
    g.set_balloon(16384);
    g.assert_healthy("inflating 64 MiB");
    run_kinds(
        &mut g,
        &[
            "early-notify",
            "bad-avail",
            "loop",
            "bad-head",
            "stats-size",
            "ring-outside",
            "pfn-beyond",
        ],
    );
    round_trip(&mut g, 8192);
}
