//! HMP and guest-memory dump benchmark: `vmm` against QEMU 10, measured interleaved in one run
//! and printed as ratios with the targets.
//!
//! - `info status` round trips (p50, p99) on a human monitor socket (`-monitor unix:…`: send
//!   the line, read up to the next `(qemu) ` prompt) and through QMP `human-monitor-command`;
//! - `xp /512gx 0` round trips the same two ways (4 KiB of guest RAM formatted, ~15 KB of text);
//! - `pmemsave 0 <RAM>` and `dump-guest-memory` throughput (GB/s; the dump is timed until both
//!   its reply and DUMP_COMPLETED arrived), to /dev/null (which reads nothing: what is left is
//!   the VMM's own per-byte work) and to a file on /dev/shm (the kernel copies every byte).
//!
//! Both boot the built-in guest (QEMU: `-machine pc,accel=kvm -cpu qemu64 -kernel`), which then
//! runs `fill` so that all of its RAM is backed and written in both: reading never-touched
//! anonymous memory would only measure the zero page. Both stay up for the whole run; each
//! round measures one and then the other, alternating which goes first.
//!
//! Usage: hmp-bench [ROUNDS]   (build the vmm first: `cargo build --release -p vmm`)

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use tests::bench_stats::{loadavg, median, percentile, rounds_arg, us, Kind};
use tests::command_line_support::reference_qemu;
use tests::find_bytes as find;
use tests::guest_abi::READY;
use tests::process::VmmProcess;
use tests::qmp_harness::TempDir;

const RAM_MIB: u64 = 256;
const RAM_BYTES: u64 = RAM_MIB << 20;
const WARMUP: usize = 100;
/// `info status` round trips per round and path.
const STATUS_TRIPS: usize = 2_000;
/// `xp /512gx 0` round trips per round and path.
const XP_TRIPS: usize = 500;
/// pmemsave and dump-guest-memory runs per round.
const SAVES: usize = 3;
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// The guest's `fill` faults in all of its RAM; slow on a nested host.
const FILL_TIMEOUT: Duration = Duration::from_secs(120);

const PROMPT: &[u8] = b"(qemu) ";
const STATUS_LINE: &str = "info status";
const XP_LINE: &str = "xp /512gx 0";

// ---------------------------------------------------------------------------------------------
// A socket read into one growing buffer: no parsing beyond what finds the end of a reply, so
// the client's own cost stays small beside the monitors'.

struct Conn {
    stream: UnixStream,
    buf: Vec<u8>,
}

impl Conn {
    fn connect(path: &Path, vm: &VmmProcess) -> Conn {
        let deadline = Instant::now() + IO_TIMEOUT;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => {
                    panic!("connect {}: {e}\n{}", path.display(), vm.stderr())
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("set read timeout");
        Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("monitor write");
    }

    /// Reads until `end` finds the end of a reply in the buffer (it returns the reply's length);
    /// returns the reply and keeps what follows it.
    fn read_reply(&mut self, end: impl Fn(&[u8]) -> Option<usize>) -> Vec<u8> {
        // Bytes already scanned are not scanned again (but for a marker's worth of overlap).
        let mut from = 0usize;
        loop {
            if let Some(n) = end(&self.buf[from..]) {
                return self.buf.drain(..from + n).collect();
            }
            from = self.buf.len().saturating_sub(PROMPT.len());
            let len = self.buf.len();
            self.buf.resize(len + 64 * 1024, 0);
            let n = match self.stream.read(&mut self.buf[len..]) {
                Ok(0) => panic!("monitor connection closed"),
                Ok(n) => n,
                Err(e) => panic!("monitor read: {e}"),
            };
            self.buf.truncate(len + n);
        }
    }
}

/// The human monitor: each command ends with the next prompt.
struct Hmp(Conn);

impl Hmp {
    fn connect(path: &Path, vm: &VmmProcess) -> Hmp {
        let mut c = Conn::connect(path, vm);
        c.read_reply(|b| find(b, PROMPT).map(|p| p + PROMPT.len()));
        Hmp(c)
    }

    /// Types `line` and Enter; the echo, the output and the prompt.
    fn run(&mut self, line: &str) -> Vec<u8> {
        self.0.send(format!("{line}\r").as_bytes());
        self.0
            .read_reply(|b| find(b, PROMPT).map(|p| p + PROMPT.len()))
    }
}

/// QMP: replies are the lines that start with `{"return"` or `{"error"`; events are skipped
/// except that [`Qmp::saw`] remembers whether one with a given name went by.
struct Qmp {
    conn: Conn,
    events: Vec<Vec<u8>>,
}

fn line_end(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n').map(|p| p + 1)
}

impl Qmp {
    fn connect(path: &Path, vm: &VmmProcess) -> Qmp {
        let mut q = Qmp {
            conn: Conn::connect(path, vm),
            events: Vec::new(),
        };
        q.conn.read_reply(line_end);
        q.execute(b"{\"execute\":\"qmp_capabilities\"}\n");
        q
    }

    fn execute(&mut self, request: &[u8]) -> Vec<u8> {
        self.conn.send(request);
        loop {
            let line = self.conn.read_reply(line_end);
            if line.starts_with(b"{\"return\"") || line.starts_with(b"{\"error\"") {
                return line;
            }
            self.events.push(line);
        }
    }

    /// Waits for event `name` (or finds it among those already read) and forgets it.
    fn wait_event(&mut self, name: &str) {
        let quoted = format!("\"event\": \"{name}\"");
        loop {
            if let Some(i) = self
                .events
                .iter()
                .position(|e| find(e, quoted.as_bytes()).is_some())
            {
                self.events.drain(..=i);
                return;
            }
            let line = self.conn.read_reply(line_end);
            self.events.push(line);
        }
    }

    /// `human-monitor-command` with a command line that needs no JSON escaping.
    fn hmc(&mut self, line: &str) -> Vec<u8> {
        let req = format!(
            "{{\"execute\":\"human-monitor-command\",\"arguments\":{{\"command-line\":\"{line}\"}}}}\n"
        );
        self.execute(req.as_bytes())
    }

    fn expect_ok(&mut self, request: &str) {
        let reply = self.execute(request.as_bytes());
        assert!(
            reply.starts_with(b"{\"return\": {}"),
            "{request}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The two VMMs.

struct Instance {
    kind: Kind,
    /// Held for its Drop, which kills the VMM.
    _process: VmmProcess,
    hmp: Hmp,
    qmp: Qmp,
}

fn spawn(kind: Kind, qemu: &Path, dir: &TempDir, guest: &Path) -> Instance {
    let hmp_sock = dir.join(format!("{}-hmp.sock", kind.name()));
    let qmp_sock = dir.join(format!("{}-qmp.sock", kind.name()));
    let ram = RAM_MIB.to_string();
    let mut cmd = match kind {
        Kind::Vmm => Command::new(tests::vmm_binary()),
        Kind::Qemu => {
            let mut c = Command::new(qemu);
            c.args(["-machine", "pc,accel=kvm", "-cpu", "qemu64", "-nodefaults"]);
            c.arg("-kernel").arg(guest);
            c
        }
    };
    cmd.args(["-m", &ram, "-display", "none", "-serial", "stdio"]);
    cmd.arg("-monitor")
        .arg(format!("unix:{},server=on,wait=off", hmp_sock.display()));
    cmd.arg("-qmp")
        .arg(format!("unix:{},server=on,wait=off", qmp_sock.display()));
    // SAFETY: prctl is async-signal-safe; runs in the child before exec, so the VMM dies with
    // the bench however the bench ends.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut process = VmmProcess::spawn_command(&mut cmd);
    process.wait_for(READY, BOOT_TIMEOUT);
    let mark = process.send_line("fill");
    process.wait_for_from(mark, "fill: pages=", FILL_TIMEOUT);
    let hmp = Hmp::connect(&hmp_sock, &process);
    let qmp = Qmp::connect(&qmp_sock, &process);
    Instance {
        kind,
        _process: process,
        hmp,
        qmp,
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements.

/// Sorted µs of `count` calls of `f` after `WARMUP` unmeasured ones.
fn timed(count: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..WARMUP.min(count) {
        f();
    }
    let mut v: Vec<f64> = (0..count)
        .map(|_| {
            let t = Instant::now();
            f();
            us(t.elapsed())
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// GB/s of `runs` runs of `f`, each moving `bytes`.
fn throughput(runs: usize, bytes: u64, mut f: impl FnMut()) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            bytes as f64 / t.elapsed().as_secs_f64() / 1e9
        })
        .collect()
}

/// What one round measured on one VMM: per metric, one figure.
#[derive(Default, Clone)]
struct Sample {
    figures: Vec<f64>,
}

/// The metrics in print order: name, whether smaller is better, target ratio.
const METRICS: &[(&str, bool, f64)] = &[
    ("HMP socket, info status, p50 (us)", true, 0.5),
    ("HMP socket, info status, p99 (us)", true, 0.5),
    ("human-monitor-command, info status, p50 (us)", true, 0.5),
    ("human-monitor-command, info status, p99 (us)", true, 0.5),
    ("HMP socket, xp /512gx 0, p50 (us)", true, 0.5),
    ("HMP socket, xp /512gx 0, p99 (us)", true, 0.5),
    ("human-monitor-command, xp /512gx 0, p50 (us)", true, 0.5),
    ("human-monitor-command, xp /512gx 0, p99 (us)", true, 0.5),
    ("pmemsave 0 256MiB /dev/null (GB/s)", false, 1.0),
    ("dump-guest-memory /dev/null (GB/s)", false, 1.0),
    ("pmemsave 0 256MiB, tmpfs file (GB/s)", false, 1.0),
    ("dump-guest-memory, tmpfs file (GB/s)", false, 1.0),
];

fn round(vm: &mut Instance, tmpfs_file: &Path) -> Sample {
    let mut figures = Vec::new();
    let (hmp, qmp) = (&mut vm.hmp, &mut vm.qmp);
    for line in [STATUS_LINE, XP_LINE] {
        let trips = if line == STATUS_LINE {
            STATUS_TRIPS
        } else {
            XP_TRIPS
        };
        let socket = timed(trips, || {
            hmp.run(line);
        });
        let hmc = timed(trips, || {
            qmp.hmc(line);
        });
        for v in [socket, hmc] {
            figures.push(percentile(&v, 50.0));
            figures.push(percentile(&v, 99.0));
        }
    }
    // /dev/null reads nothing (a write from guest RAM costs only the call); a tmpfs file
    // makes the kernel copy every byte.
    for file in [Path::new("/dev/null"), tmpfs_file] {
        let file = file.display();
        let pmemsave = format!(
            "{{\"execute\":\"pmemsave\",\"arguments\":{{\"val\":0,\"size\":{RAM_BYTES},\
             \"filename\":\"{file}\"}}}}\n"
        );
        figures.push(median(throughput(SAVES, RAM_BYTES, || {
            qmp.expect_ok(&pmemsave)
        })));
        let dump = format!(
            "{{\"execute\":\"dump-guest-memory\",\"arguments\":{{\"paging\":false,\
             \"protocol\":\"file:{file}\"}}}}\n"
        );
        figures.push(median(throughput(SAVES, RAM_BYTES, || {
            qmp.expect_ok(&dump);
            qmp.wait_event("DUMP_COMPLETED");
        })));
    }
    let _ = std::fs::remove_file(tmpfs_file);
    Sample { figures }
}

/// The HMP socket's bytes for `info status`, echo included: they must be QEMU's.
fn transcript(vm: &mut Instance) -> Vec<u8> {
    vm.hmp.run(STATUS_LINE)
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let rounds = rounds_arg(5);
    let exe = std::env::current_exe().expect("own path");
    if !exe.with_file_name("vmm").exists() {
        eprintln!("hmp-bench: the vmm binary is missing: run `cargo build --release -p vmm` first");
        std::process::exit(2);
    }
    let qemu = match reference_qemu() {
        Ok(q) => q,
        Err(why) => {
            eprintln!("hmp-bench: needs the reference QEMU: {why}");
            std::process::exit(2);
        }
    };
    // A run that hangs where the timeouts do not reach still ends (the VMMs die with us).
    let budget = Duration::from_secs(180 + 60 * rounds as u64);
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        eprintln!("hmp-bench: still running after {budget:?}; giving up");
        std::process::exit(3);
    });

    let dir = TempDir::new("hmpbench");
    let guest = dir.join("guest.elf");
    std::fs::write(&guest, vmm::BUILTIN_GUEST).expect("write the guest image");
    let mut vms = [
        spawn(Kind::Vmm, &qemu, &dir, &guest),
        spawn(Kind::Qemu, &qemu, &dir, &guest),
    ];
    let ours = transcript(&mut vms[0]);
    let theirs = transcript(&mut vms[1]);
    if ours != theirs {
        println!(
            "WARNING: HMP socket bytes differ for `{STATUS_LINE}`:\n  vmm:  {:?}\n  qemu: {:?}",
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    // Removed after each round; not in `dir` because /tmp may be a disk.
    let tmpfs_file = Path::new("/dev/shm").join(format!("hmp-bench-{}.bin", std::process::id()));
    let mut samples: [Vec<Sample>; 2] = [Vec::new(), Vec::new()];
    let began = Instant::now();
    for r in 0..rounds {
        let order: [usize; 2] = if r % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            samples[i].push(round(&mut vms[i], &tmpfs_file));
        }
        eprintln!(
            "hmp-bench: round {}/{rounds} done ({:.1} s)",
            r + 1,
            began.elapsed().as_secs_f64()
        );
    }
    report(rounds, &samples, &vms);
}

fn report(rounds: usize, samples: &[Vec<Sample>; 2], vms: &[Instance; 2]) {
    println!(
        "hmp-bench: {rounds} interleaved rounds; medians of per-round figures [min-max]; both \
         boot the built-in guest with {RAM_MIB} MiB, all of it filled (QEMU 10 -machine pc)"
    );
    println!(
        "{:<46} {:>26} {:>26} {:>7}  target",
        "metric",
        vms[0].kind.name(),
        vms[1].kind.name(),
        "ratio"
    );
    for (m, &(name, lower_is_better, limit)) in METRICS.iter().enumerate() {
        let per_round =
            |i: usize| -> Vec<f64> { samples[i].iter().map(|s| s.figures[m]).collect() };
        let (a, b) = (median(per_round(0)), median(per_round(1)));
        let ratio = a / b;
        let ok = if lower_is_better {
            ratio <= limit
        } else {
            ratio >= limit
        };
        let sign = if lower_is_better { "<=" } else { ">=" };
        println!(
            "{name:<46} {:>26} {:>26} {ratio:>7.3}  ratio {sign} {limit}{}",
            range_text(a, &per_round(0)),
            range_text(b, &per_round(1)),
            if ok { "  ok" } else { "  MISSED" }
        );
    }
    println!(
        "host: {} CPUs, load average {} (other work on the host shows up in both columns)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
}

/// `median [min-max]`.
fn range_text(median: f64, v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{median:.2} [{lo:.2}-{hi:.2}]")
}
