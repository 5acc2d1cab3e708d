//! QMP monitor benchmark: `vmm` against QEMU 10, measured interleaved in one run and printed
//! as ratios with the targets.
//!
//! - start to greeting: process spawn until the QMP greeting line arrives (the socket is
//!   poll-connected in a tight loop);
//! - sequential `query-status` round trips after negotiation (p50, p99);
//! - pipelined `query-status`: one thread writes them all at once, another reads the replies;
//! - event fan-out: 8 negotiated `-qmp` monitors, time from `stop` (`cont`) on monitor 0 until
//!   all 8 have the STOP (RESUME) event;
//! - RSS outside guest RAM after negotiation (as boot-bench computes it);
//! - idle CPU time and wake-ups (voluntary context switches of every thread) over 5 s;
//! - `query-status` round trips with an idle guest and with every vCPU spinning, with as many
//!   vCPUs as host CPUs (`-smp 2`) and with one to spare (`-smp 1`), each beside the host's
//!   floor: the same round trips to `null-qmp-server`, an epoll loop that answers every line
//!   with `{"return": {}}`, measured right after, under the same load.
//!
//! QEMU runs `-machine pc,accel=kvm -cpu qemu64 -nodefaults` (no guest; its SeaBIOS is left to
//! give up booting before anything is timed) for the monitor-only figures, and `-machine
//! microvm,accel=kvm` with the built-in guest for the guest-loaded ones (idle CPU, latency under
//! load), so both VMMs run the same guest there.
//!
//! Usage: qmp-bench [ROUNDS]   (build the vmm first: `cargo build --release -p vmm`)

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tests::bench_stats::{
    have_qemu, loadavg, median, percentile, rounds_arg, rss_outside_guest_ram_kib, us, Kind,
};
use tests::find_bytes as find;
use tests::guest_abi::READY;
use tests::process::VmmProcess;

const RAM_MIB: u64 = 256;
/// Monitors on the fan-out instance.
const MONITORS: usize = 8;
/// Process starts per VMM per round for the start-to-greeting time.
const STARTS_PER_ROUND: usize = 5;
const SEQ_WARMUP: usize = 200;
const SEQ_REQUESTS: usize = 5_000;
const PIPELINED: usize = 20_000;
/// stop/cont cycles per round (each gives one STOP and one RESUME sample).
const FANOUT_CYCLES: usize = 100;
/// Round trips with the guest idle, and again with it spinning (bounded by LOAD_TIME).
const LOAD_REQUESTS: usize = 2_000;
const LOAD_TIME: Duration = Duration::from_secs(3);
/// vCPUs of the guest-loaded rounds: as many as this (2-CPU) host has, so spinning ones leave no
/// CPU to the monitor or its client; and one fewer, so one host CPU is spare.
const HOST_CPUS_VCPUS: u32 = 2;
const SPARE_CPU_VCPUS: u32 = 1;
const IDLE_WINDOW: Duration = Duration::from_secs(5);
/// Any single socket operation or poll.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
/// QEMU's SeaBIOS runs ~3 s before giving up on booting; wait at most this for it to calm down.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(15);

const QUERY_STATUS: &[u8] = b"{\"execute\":\"query-status\"}\n";
const CAPABILITIES: &[u8] = b"{\"execute\":\"qmp_capabilities\"}\n";

// ---------------------------------------------------------------------------------------------
// Cleanup on signals and on a stuck run: kill the children, remove the sockets.

/// Pids of running children (0 = free slot).
static CHILDREN: [AtomicI32; 8] = [const { AtomicI32::new(0) }; 8];
/// Files and the directory to remove, made before any handler can run.
static CLEANUP_PATHS: OnceLock<(Vec<CString>, CString)> = OnceLock::new();

fn register_child(pid: u32) {
    for slot in &CHILDREN {
        if slot
            .compare_exchange(0, pid as i32, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
    }
}

fn unregister_child(pid: u32) {
    for slot in &CHILDREN {
        let _ = slot.compare_exchange(pid as i32, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// Async-signal-safe: kill(2), unlink(2), rmdir(2) only.
fn emergency_cleanup() {
    for slot in &CHILDREN {
        let pid = slot.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: signals a child of ours.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    if let Some((files, dir)) = CLEANUP_PATHS.get() {
        for f in files {
            // SAFETY: NUL-terminated path.
            unsafe { libc::unlink(f.as_ptr()) };
        }
        // SAFETY: NUL-terminated path.
        unsafe { libc::rmdir(dir.as_ptr()) };
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    emergency_cleanup();
    // SAFETY: restores the default action and re-raises, so we die of the signal.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// The bench's scratch directory: sockets and the guest image. Removed on drop.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("qmp-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        let scratch = Scratch { dir };
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("path without NUL");
        let mut files: Vec<CString> = Vec::new();
        for kind in [Kind::Vmm, Kind::Qemu] {
            files.push(c(&scratch.socket(kind, "start")));
            files.push(c(&scratch.socket(kind, "guest")));
            for i in 0..MONITORS {
                files.push(c(&scratch.socket(kind, &format!("mon{i}"))));
            }
        }
        files.push(c(&scratch.guest()));
        files.push(c(&scratch.floor_socket()));
        let _ = CLEANUP_PATHS.set((files, c(&scratch.dir)));
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: installs a handler that only makes async-signal-safe calls.
            unsafe {
                libc::signal(
                    sig,
                    on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
                )
            };
        }
        scratch
    }

    fn socket(&self, kind: Kind, name: &str) -> PathBuf {
        self.dir.join(format!("{}-{name}.sock", kind.name()))
    }

    fn guest(&self) -> PathBuf {
        self.dir.join("guest.elf")
    }

    fn floor_socket(&self) -> PathBuf {
        self.dir.join("floor.sock")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// The two VMMs.

/// `guest`: the built-in guest on COM1 with this many vCPUs (QEMU: microvm and `-kernel`);
/// without it QEMU is `-machine pc` with no guest and no serial port (vmm always boots its
/// guest).
fn command(kind: Kind, sockets: &[PathBuf], guest: Option<(&Path, u32)>) -> Command {
    let ram = RAM_MIB.to_string();
    let mut cmd = match kind {
        Kind::Vmm => {
            let mut cmd = Command::new(tests::vmm_binary());
            cmd.args(["-m", &ram, "-display", "none", "-serial", "stdio"]);
            if let Some((_, smp)) = guest {
                cmd.arg("-smp").arg(smp.to_string());
            }
            cmd
        }
        Kind::Qemu => {
            let mut cmd = Command::new("qemu-system-x86_64");
            let machine = if guest.is_some() {
                "microvm,accel=kvm"
            } else {
                "pc,accel=kvm"
            };
            cmd.args(["-machine", machine, "-cpu", "qemu64", "-nodefaults"]);
            cmd.args(["-m", &ram, "-display", "none"]);
            if let Some((elf, smp)) = guest {
                cmd.arg("-smp").arg(smp.to_string());
                cmd.args(["-serial", "stdio", "-kernel"]).arg(elf);
            }
            cmd
        }
    };
    for s in sockets {
        let _ = std::fs::remove_file(s);
        cmd.arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", s.display()));
    }
    cmd
}

/// A running VMM with its QMP socket paths; killed and cleaned up on drop.
struct Instance {
    kind: Kind,
    process: VmmProcess,
    sockets: Vec<PathBuf>,
}

impl Instance {
    /// `long_lived`: also dies with the bench (PR_SET_PDEATHSIG; this makes the spawn a plain
    /// fork, so the start-up measurement does not use it).
    fn spawn(kind: Kind, mut cmd: Command, sockets: Vec<PathBuf>, long_lived: bool) -> Instance {
        if long_lived {
            // SAFETY: prctl is async-signal-safe; runs in the child before exec.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let process = VmmProcess::spawn_command(&mut cmd);
        register_child(process.pid());
        Instance {
            kind,
            process,
            sockets,
        }
    }

    fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Panics with the process's stderr if it has exited.
    fn check_alive(&self) {
        let path = format!("/proc/{}/stat", self.pid());
        let state = std::fs::read_to_string(path).unwrap_or_default();
        let zombie = state
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(true);
        if zombie {
            panic!(
                "{} exited early\n--- stderr ---\n{}",
                self.kind.name(),
                self.process.stderr()
            );
        }
    }

    /// Connects to QMP socket `i`, retrying until it exists and accepts.
    fn connect(&self, i: usize) -> Qmp {
        let deadline = Instant::now() + IO_TIMEOUT;
        let mut tries = 0u32;
        loop {
            if let Ok(stream) = UnixStream::connect(&self.sockets[i]) {
                return Qmp::new(stream);
            }
            tries += 1;
            if tries % 1024 == 0 {
                self.check_alive();
                assert!(
                    Instant::now() < deadline,
                    "{}: no QMP socket at {} after {IO_TIMEOUT:?}",
                    self.kind.name(),
                    self.sockets[i].display()
                );
            }
            std::thread::yield_now();
        }
    }

    /// Waits until the process uses (almost) no CPU: QEMU's SeaBIOS spends ~3 s of emulated
    /// firmware before it gives up booting, which would load the host under the measurements.
    fn settle(&self) {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let mut quiet = 0;
        let mut last = run_ns(self.pid());
        while quiet < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let now = run_ns(self.pid());
            if now.saturating_sub(last) < 2_000_000 {
                quiet += 1;
            } else {
                quiet = 0;
            }
            last = now;
        }
        if quiet < 3 {
            eprintln!(
                "qmp-bench: warning: {} still busy after {SETTLE_TIMEOUT:?}",
                self.kind.name()
            );
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.process.signal(libc::SIGKILL);
        let _ = self.process.wait_exit(Duration::from_secs(5));
        unregister_child(self.pid());
        for s in &self.sockets {
            let _ = std::fs::remove_file(s);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A QMP client.

struct Qmp {
    stream: UnixStream,
    buf: Vec<u8>,
    /// Bytes of `buf` before this were consumed.
    start: usize,
}

fn is_reply(line: &[u8]) -> bool {
    line.starts_with(b"{\"return\"") || line.starts_with(b"{\"error\"")
}

fn is_event(line: &[u8], name: &str) -> bool {
    let quoted = format!("\"{name}\"");
    find(line, b"\"event\"").is_some() && find(line, quoted.as_bytes()).is_some()
}

impl Qmp {
    fn new(stream: UnixStream) -> Qmp {
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("set read timeout");
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("set write timeout");
        Qmp {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            start: 0,
        }
    }

    /// One read(2) into the buffer; panics on EOF, errors and timeouts.
    fn fill(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 32 * 1024 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let len = self.buf.len();
        self.buf.resize(len + 64 * 1024, 0);
        let n = match self.stream.read(&mut self.buf[len..]) {
            Ok(0) => panic!("QMP connection closed"),
            Ok(n) => n,
            Err(e) => panic!("QMP read: {e}"),
        };
        self.buf.truncate(len + n);
    }

    /// The next complete line in the buffer (without its line end), if any.
    fn buffered_line(&mut self) -> Option<&[u8]> {
        let rest = &self.buf[self.start..];
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let line = &self.buf[self.start..self.start + nl];
        self.start += nl + 1;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    /// Reads lines until `want` accepts one.
    fn read_until(&mut self, want: impl Fn(&[u8]) -> bool) {
        loop {
            while let Some(line) = self.buffered_line() {
                if want(line) {
                    return;
                }
            }
            self.fill();
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("QMP write");
    }

    /// Sends a command and waits for its reply (skipping events).
    fn execute(&mut self, request: &[u8]) {
        self.send(request);
        self.read_until(is_reply);
    }

    fn negotiate(&mut self) {
        self.read_until(|l| l.starts_with(b"{\"QMP\""));
        self.execute(CAPABILITIES);
    }
}

// ---------------------------------------------------------------------------------------------
// /proc readings.

/// utime + stime of the whole process (/proc/PID/stat), in ms.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // Fields 14 and 15 of stat; the rest after ')' starts at field 3.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 * 1e3 / hz
}

/// Time on CPU of every thread (schedstat, ns): finer than `cpu_ms`.
fn run_ns(pid: u32) -> u64 {
    threads(pid).iter().map(|t| t.run_ns).sum()
}

#[derive(Clone, Debug)]
struct ThreadStat {
    tid: u32,
    name: String,
    voluntary: u64,
    involuntary: u64,
    run_ns: u64,
}

fn threads(pid: u32) -> Vec<ThreadStat> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let path = entry.path();
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let run_ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        out.push(ThreadStat {
            tid,
            name: std::fs::read_to_string(path.join("comm"))
                .unwrap_or_default()
                .trim()
                .to_string(),
            voluntary: field("voluntary_ctxt_switches:"),
            involuntary: field("nonvoluntary_ctxt_switches:"),
            run_ns,
        });
    }
    out
}

struct Snapshot {
    at: Instant,
    cpu_ms: f64,
    threads: Vec<ThreadStat>,
}

fn snapshot(pid: u32) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        cpu_ms: cpu_ms(pid),
        threads: threads(pid),
    }
}

struct IdleReport {
    cpu_ms: f64,
    run_us: f64,
    wakeups: u64,
    involuntary: u64,
    /// Threads that woke up: name, voluntary switches.
    by_thread: Vec<(String, u64)>,
}

/// What happened between two snapshots (threads that appeared count from zero).
fn idle_report(a: &Snapshot, b: &Snapshot) -> IdleReport {
    let mut r = IdleReport {
        cpu_ms: b.cpu_ms - a.cpu_ms,
        run_us: 0.0,
        wakeups: 0,
        involuntary: 0,
        by_thread: Vec::new(),
    };
    for t in &b.threads {
        let before = a.threads.iter().find(|x| x.tid == t.tid);
        let vol = t.voluntary - before.map_or(0, |x| x.voluntary.min(t.voluntary));
        let inv = t.involuntary - before.map_or(0, |x| x.involuntary.min(t.involuntary));
        let ns = t.run_ns - before.map_or(0, |x| x.run_ns.min(t.run_ns));
        r.wakeups += vol;
        r.involuntary += inv;
        r.run_us += ns as f64 / 1e3;
        if vol > 0 {
            r.by_thread.push((t.name.clone(), vol));
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Statistics.

// ---------------------------------------------------------------------------------------------
// The measurements.

/// Spawn → poll-connect → the whole greeting line: (ms to the connect, ms to the greeting).
fn start_to_greeting(kind: Kind, scratch: &Scratch) -> (f64, f64) {
    let socket = scratch.socket(kind, "start");
    let cmd = command(kind, std::slice::from_ref(&socket), None);
    let start = Instant::now();
    let vm = Instance::spawn(kind, cmd, vec![socket], false);
    let mut qmp = vm.connect(0);
    let connected = start.elapsed().as_secs_f64() * 1e3;
    qmp.read_until(|l| l.starts_with(b"{\"QMP\""));
    let greeted = start.elapsed().as_secs_f64() * 1e3;
    drop(qmp);
    drop(vm);
    (connected, greeted)
}

/// The host's floor: `null-qmp-server` (next to this binary), connected and negotiated.
struct Floor {
    server: std::process::Child,
    qmp: Qmp,
}

impl Floor {
    fn start(scratch: &Scratch) -> Floor {
        let exe = std::env::current_exe().expect("own path");
        let socket = scratch.floor_socket();
        let _ = std::fs::remove_file(&socket);
        let mut cmd = Command::new(exe.with_file_name("null-qmp-server"));
        cmd.arg(&socket).stdin(Stdio::null());
        // SAFETY: prctl is async-signal-safe; runs in the child before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let server = cmd
            .spawn()
            .expect("start null-qmp-server (built with qmp-bench)");
        register_child(server.id());
        let deadline = Instant::now() + IO_TIMEOUT;
        let stream = loop {
            match UnixStream::connect(&socket) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() > deadline => panic!("null-qmp-server: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        let mut qmp = Qmp::new(stream);
        qmp.negotiate();
        Floor { server, qmp }
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        unregister_child(self.server.id());
    }
}

/// `count` sequential round trips (after `warmup` unmeasured), at most `limit` long; sorted µs.
fn round_trips(qmp: &mut Qmp, warmup: usize, count: usize, limit: Duration) -> Vec<f64> {
    for _ in 0..warmup {
        qmp.execute(QUERY_STATUS);
    }
    let mut v = Vec::with_capacity(count);
    let begin = Instant::now();
    for _ in 0..count {
        let t = Instant::now();
        qmp.execute(QUERY_STATUS);
        v.push(us(t.elapsed()));
        if begin.elapsed() > limit {
            break;
        }
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// Writes `n` requests at once from one thread while this one reads the replies; req/s.
fn pipelined(qmp: &mut Qmp, n: usize) -> f64 {
    let requests = QUERY_STATUS.repeat(n);
    let mut writer = qmp.stream.try_clone().expect("clone the QMP socket");
    let start = Instant::now();
    std::thread::scope(|s| {
        let w = s.spawn(move || writer.write_all(&requests));
        let mut replies = 0;
        while replies < n {
            while let Some(line) = qmp.buffered_line() {
                if is_reply(line) {
                    replies += 1;
                }
            }
            if replies < n {
                qmp.fill();
            }
        }
        w.join()
            .expect("writer thread")
            .expect("write the pipelined requests");
    });
    n as f64 / start.elapsed().as_secs_f64()
}

/// Sends `request` on monitor 0; µs until the first monitor has event `event`, and until every
/// monitor has it (and monitor 0 its reply).
fn fan_out(mons: &mut [Qmp], request: &[u8], event: &str) -> (f64, f64) {
    let n = mons.len();
    let start = Instant::now();
    mons[0].send(request);
    let deadline = start + IO_TIMEOUT;
    let mut got_event = vec![false; n];
    let mut got_reply = false;
    let mut last = start;
    let mut first = None;
    loop {
        for (i, m) in mons.iter_mut().enumerate() {
            while let Some(line) = m.buffered_line() {
                if !got_event[i] && is_event(line, event) {
                    got_event[i] = true;
                    last = Instant::now();
                    first.get_or_insert(last);
                } else if i == 0 && is_reply(line) {
                    got_reply = true;
                }
            }
        }
        if got_reply && got_event.iter().all(|&g| g) {
            return (us(first.unwrap_or(last) - start), us(last - start));
        }
        let waiting: Vec<usize> = (0..n)
            .filter(|&i| !got_event[i] || (i == 0 && !got_reply))
            .collect();
        let mut fds: Vec<libc::pollfd> = waiting
            .iter()
            .map(|&i| libc::pollfd {
                fd: mons[i].stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no {event} event on every monitor after {IO_TIMEOUT:?}"
        );
        // SAFETY: `fds` is a valid array of pollfd of that length.
        let r = unsafe {
            libc::poll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                left.as_millis().max(1) as i32,
            )
        };
        if r < 0 {
            continue; // EINTR
        }
        for (k, fd) in fds.iter().enumerate() {
            if fd.revents != 0 {
                mons[waiting[k]].fill();
            }
        }
    }
}

#[derive(Default)]
struct MonitorSample {
    seq_p50: f64,
    seq_p99: f64,
    pipelined: f64,
    stop_us: f64,
    resume_us: f64,
    /// Until the first monitor had the event.
    stop_first_us: f64,
    resume_first_us: f64,
    rss_mib: f64,
    rss_after_mib: f64,
}

/// The monitor-only figures on an instance with MONITORS monitors.
fn monitor_round(kind: Kind, scratch: &Scratch) -> MonitorSample {
    let sockets: Vec<PathBuf> = (0..MONITORS)
        .map(|i| scratch.socket(kind, &format!("mon{i}")))
        .collect();
    let vm = Instance::spawn(kind, command(kind, &sockets, None), sockets, true);
    if kind == Kind::Vmm {
        vm.process.wait_for(READY, BOOT_TIMEOUT);
    }
    let mut mons: Vec<Qmp> = (0..MONITORS).map(|i| vm.connect(i)).collect();
    for m in &mut mons {
        m.negotiate();
    }
    vm.settle();
    let rss_mib = rss_outside_guest_ram_kib(vm.pid(), RAM_MIB << 20) as f64 / 1024.0;

    let seq = round_trips(
        &mut mons[0],
        SEQ_WARMUP,
        SEQ_REQUESTS,
        Duration::from_secs(60),
    );
    let pipelined = pipelined(&mut mons[0], PIPELINED);
    let mut stops = Vec::new();
    let mut resumes = Vec::new();
    for _ in 0..FANOUT_CYCLES {
        stops.push(fan_out(&mut mons, b"{\"execute\":\"stop\"}\n", "STOP"));
        resumes.push(fan_out(&mut mons, b"{\"execute\":\"cont\"}\n", "RESUME"));
    }
    let all = |v: &[(f64, f64)]| median(v.iter().map(|x| x.1).collect());
    let first = |v: &[(f64, f64)]| median(v.iter().map(|x| x.0).collect());
    vm.check_alive();
    MonitorSample {
        seq_p50: percentile(&seq, 50.0),
        seq_p99: percentile(&seq, 99.0),
        pipelined,
        stop_us: all(&stops),
        resume_us: all(&resumes),
        stop_first_us: first(&stops),
        resume_first_us: first(&resumes),
        rss_mib,
        rss_after_mib: rss_outside_guest_ram_kib(vm.pid(), RAM_MIB << 20) as f64 / 1024.0,
    }
}

struct GuestSample {
    idle: IdleReport,
    idle_p50: f64,
    idle_p99: f64,
    load_p50: f64,
    load_p99: f64,
    /// The same round trips to null-qmp-server, right after each of the above.
    floor_idle_p50: f64,
    floor_idle_p99: f64,
    floor_load_p50: f64,
    floor_load_p99: f64,
    /// CPUs' worth of host CPU the process used while the loaded round trips ran.
    load_cpus: f64,
    load_samples: usize,
}

/// The guest-loaded figures: both VMMs boot the built-in guest with `smp` vCPUs and sit idle
/// together for the idle window; then each in turn measures round trips with the guest idle
/// and spinning, and is killed before the other starts. After each set of round trips, the
/// same number go to the floor server, under the same guest load.
fn guest_round(
    order: &[Kind],
    scratch: &Scratch,
    floor: &mut Floor,
    smp: u32,
) -> Vec<(Kind, GuestSample)> {
    let guest = scratch.guest();
    let spawned: Vec<Instance> = order
        .iter()
        .map(|&kind| {
            let sockets = vec![scratch.socket(kind, "guest")];
            let cmd = command(kind, &sockets, Some((&guest, smp)));
            Instance::spawn(kind, cmd, sockets, true)
        })
        .collect();
    let mut vms: Vec<(Instance, Qmp)> = spawned
        .into_iter()
        .map(|vm| {
            vm.process.wait_for(READY, BOOT_TIMEOUT);
            let mut qmp = vm.connect(0);
            qmp.negotiate();
            (vm, qmp)
        })
        .collect();
    // Let the last start-up work finish, then watch both do nothing.
    std::thread::sleep(Duration::from_millis(300));
    let before: Vec<Snapshot> = vms.iter().map(|(vm, _)| snapshot(vm.pid())).collect();
    std::thread::sleep(IDLE_WINDOW);
    let after: Vec<Snapshot> = vms.iter().map(|(vm, _)| snapshot(vm.pid())).collect();
    let idles: Vec<IdleReport> = before
        .iter()
        .zip(&after)
        .map(|(a, b)| idle_report(a, b))
        .collect();

    let mut out = Vec::new();
    for ((mut vm, mut qmp), idle) in vms.drain(..).zip(idles) {
        let idle_rt = round_trips(&mut qmp, SEQ_WARMUP, LOAD_REQUESTS, LOAD_TIME);
        let floor_idle = round_trips(&mut floor.qmp, SEQ_WARMUP, LOAD_REQUESTS, LOAD_TIME);
        let mark = vm.process.send_line("spin");
        vm.process
            .wait_for_from(mark, "spinning", Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(200));
        let a = snapshot(vm.pid());
        let load_rt = round_trips(&mut qmp, SEQ_WARMUP, LOAD_REQUESTS, LOAD_TIME);
        let b = snapshot(vm.pid());
        let floor_load = round_trips(&mut floor.qmp, SEQ_WARMUP, LOAD_REQUESTS, LOAD_TIME);
        let load_cpus = idle_report(&a, &b).run_us / 1e6 / (b.at - a.at).as_secs_f64();
        vm.check_alive();
        let kind = vm.kind;
        drop(qmp);
        drop(vm);
        out.push((
            kind,
            GuestSample {
                idle,
                idle_p50: percentile(&idle_rt, 50.0),
                idle_p99: percentile(&idle_rt, 99.0),
                load_p50: percentile(&load_rt, 50.0),
                load_p99: percentile(&load_rt, 99.0),
                floor_idle_p50: percentile(&floor_idle, 50.0),
                floor_idle_p99: percentile(&floor_idle, 99.0),
                floor_load_p50: percentile(&floor_load, 50.0),
                floor_load_p99: percentile(&floor_load, 99.0),
                load_cpus,
                load_samples: load_rt.len(),
            },
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Results {
    start_ms: Vec<f64>,
    connect_ms: Vec<f64>,
    monitor: Vec<MonitorSample>,
    guest: Vec<GuestSample>,
    /// The same with a host CPU to spare.
    guest_spare_cpu: Vec<GuestSample>,
}

fn main() {
    let rounds = rounds_arg(4);
    let exe = std::env::current_exe().expect("own path");
    if !exe.with_file_name("vmm").exists() {
        eprintln!(
            "qmp-bench: {} is missing: run `cargo build --release -p vmm` first",
            exe.with_file_name("vmm").display()
        );
        std::process::exit(2);
    }
    let qemu = have_qemu();
    if !qemu {
        eprintln!("qmp-bench: qemu-system-x86_64 not found: no reference column");
    }
    let scratch = Scratch::new();
    let mut floor = Floor::start(&scratch);
    std::fs::write(scratch.guest(), vmm::BUILTIN_GUEST).expect("write the guest image");

    // A run that hangs somewhere the timeouts do not cover still ends, and cleans up.
    let budget = Duration::from_secs(120 + 90 * rounds as u64);
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        eprintln!("qmp-bench: still running after {budget:?}; giving up");
        emergency_cleanup();
        std::process::exit(3);
    });

    let kinds: Vec<Kind> = if qemu {
        vec![Kind::Vmm, Kind::Qemu]
    } else {
        vec![Kind::Vmm]
    };
    let mut results = [Results::default(), Results::default()];
    let slot = |k: Kind| k as usize;
    let load_before = loadavg();
    let began = Instant::now();
    for round in 0..rounds {
        // Alternate which VMM goes first.
        let mut order = kinds.clone();
        if round % 2 == 1 {
            order.reverse();
        }
        for _ in 0..STARTS_PER_ROUND {
            for &k in &order {
                let (connected, greeted) = start_to_greeting(k, &scratch);
                results[slot(k)].connect_ms.push(connected);
                results[slot(k)].start_ms.push(greeted);
            }
        }
        for &k in &order {
            let s = monitor_round(k, &scratch);
            results[slot(k)].monitor.push(s);
        }
        for (k, s) in guest_round(&order, &scratch, &mut floor, HOST_CPUS_VCPUS) {
            results[slot(k)].guest.push(s);
        }
        for (k, s) in guest_round(&order, &scratch, &mut floor, SPARE_CPU_VCPUS) {
            results[slot(k)].guest_spare_cpu.push(s);
        }
        eprintln!(
            "qmp-bench: round {}/{rounds} done ({:.1} s)",
            round + 1,
            began.elapsed().as_secs_f64()
        );
    }
    report(rounds, &results, qemu);
    println!(
        "host: {} CPUs, load average {load_before} before, {} after (other work on the host \
         shows up in both columns)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
}

fn report(rounds: usize, results: &[Results; 2], qemu: bool) {
    let [ours, theirs] = results;
    println!(
        "qmp-bench: {rounds} interleaved rounds, medians of per-round figures; guest RAM {RAM_MIB} MiB"
    );
    println!(
        "monitor rows: QEMU 10 -machine pc (no guest); guest rows: both boot the built-in guest, \
         -smp 2 (QEMU -machine microvm)"
    );
    println!(
        "{:<48} {:>10} {:>10} {:>8}  target",
        "metric", "vmm", "qemu", "ratio"
    );
    let row = |name: &str, a: f64, b: Option<f64>, target: &str, ok: Option<bool>| {
        let verdict = match ok {
            Some(true) => "  ok",
            Some(false) => "  MISSED",
            None => "",
        };
        match b {
            Some(b) => {
                let ratio = if b != 0.0 {
                    format!("{:.3}", a / b)
                } else {
                    "-".into()
                };
                println!("{name:<48} {a:>10.2} {b:>10.2} {ratio:>8}  {target}{verdict}")
            }
            None => println!(
                "{name:<48} {a:>10.2} {:>10} {:>8}  {target}{verdict}",
                "n/a", "n/a"
            ),
        }
    };
    let q = |f: &dyn Fn(&Results) -> f64| qemu.then(|| f(theirs));
    let ratio_ok = |a: f64, b: Option<f64>, le: bool, limit: f64| {
        b.map(|b| if le { a / b <= limit } else { a / b >= limit })
    };

    let m =
        |f: fn(&MonitorSample) -> f64| move |r: &Results| median(r.monitor.iter().map(f).collect());
    let g = |f: fn(&GuestSample) -> f64| move |r: &Results| median(r.guest.iter().map(f).collect());
    let g1 = |f: fn(&GuestSample) -> f64| {
        move |r: &Results| median(r.guest_spare_cpu.iter().map(f).collect())
    };

    let start = |r: &Results| median(r.start_ms.clone());
    let (a, b) = (start(ours), q(&start));
    row(
        "start to QMP greeting (ms)",
        a,
        b,
        "ratio <= 0.2",
        ratio_ok(a, b, true, 0.2),
    );

    for (name, f, target, limit) in [
        (
            "query-status round trip p50 (us)",
            m(|s| s.seq_p50),
            "ratio <= 0.5",
            0.5,
        ),
        (
            "query-status round trip p99 (us)",
            m(|s| s.seq_p99),
            "ratio <= 0.5",
            0.5,
        ),
    ] {
        let (a, b) = (f(ours), q(&f));
        row(name, a, b, target, ratio_ok(a, b, true, limit));
    }
    let f = m(|s| s.pipelined);
    let (a, b) = (f(ours), q(&f));
    row(
        &format!("pipelined query-status, {PIPELINED} (req/s)"),
        a,
        b,
        "ratio >= 5",
        ratio_ok(a, b, false, 5.0),
    );
    for (name, f) in [
        (
            format!("stop -> STOP on all {MONITORS} monitors (us)"),
            m(|s| s.stop_us),
        ),
        (
            format!("cont -> RESUME on all {MONITORS} monitors (us)"),
            m(|s| s.resume_us),
        ),
    ] {
        let (a, b) = (f(ours), q(&f));
        row(&name, a, b, "ratio <= 0.5", ratio_ok(a, b, true, 0.5));
    }
    let f = m(|s| s.rss_mib);
    let (a, b) = (f(ours), q(&f));
    row(
        "RSS outside guest RAM, negotiated (MiB)",
        a,
        b,
        "vmm <= 8 MiB",
        Some(a <= 8.0),
    );
    let f = m(|s| s.rss_after_mib);
    let (a, b) = (f(ours), q(&f));
    row(
        "RSS outside guest RAM, after the above (MiB)",
        a,
        b,
        "(info)",
        None,
    );

    let secs = IDLE_WINDOW.as_secs();
    let f = g(|s| s.idle.cpu_ms);
    let (a, b) = (f(ours), q(&f));
    row(
        &format!("idle CPU over {secs} s, utime+stime (ms)"),
        a,
        b,
        "(info)",
        None,
    );
    let f = g(|s| s.idle.run_us);
    let (a, b) = (f(ours), q(&f));
    row(
        &format!("idle CPU over {secs} s, schedstat (us)"),
        a,
        b,
        "(info)",
        None,
    );
    let f = g(|s| s.idle.wakeups as f64);
    let (a, b) = (f(ours), q(&f));
    row(
        &format!("idle wake-ups over {secs} s (voluntary ctxsw)"),
        a,
        b,
        "vmm: none periodic",
        Some(ours.guest.iter().all(|s| s.idle.wakeups <= 1)),
    );
    let f = g(|s| s.idle.involuntary as f64);
    let (a, b) = (f(ours), q(&f));
    row(
        &format!("idle involuntary ctxsw over {secs} s"),
        a,
        b,
        "(info)",
        None,
    );

    for (name, f) in [
        (
            "query-status p50, guest idle, -smp 2 (us)",
            g(|s| s.idle_p50),
        ),
        (
            "query-status p99, guest idle, -smp 2 (us)",
            g(|s| s.idle_p99),
        ),
        ("query-status p50, vCPUs spinning (us)", g(|s| s.load_p50)),
        ("query-status p99, vCPUs spinning (us)", g(|s| s.load_p99)),
    ] {
        let (a, b) = (f(ours), q(&f));
        row(name, a, b, "(info)", None);
    }
    for (name, f) in [
        ("spinning / idle, p50", g(|s| s.load_p50 / s.idle_p50)),
        ("spinning / idle, p99", g(|s| s.load_p99 / s.idle_p99)),
    ] {
        let (a, b) = (f(ours), q(&f));
        row(name, a, b, "vmm <= 1.2", Some(a <= 1.2));
    }
    // The floor under each VMM's guest: what any epoll server on this host sees.
    for (name, f) in [
        (
            "floor (null-qmp-server) p50, guest idle (us)",
            g(|s| s.floor_idle_p50),
        ),
        (
            "floor (null-qmp-server) p50, spinning (us)",
            g(|s| s.floor_load_p50),
        ),
        (
            "floor spinning / idle, p50",
            g(|s| s.floor_load_p50 / s.floor_idle_p50),
        ),
        (
            "floor spinning / idle, p99",
            g(|s| s.floor_load_p99 / s.floor_idle_p99),
        ),
        (
            "round trip minus floor, spinning / idle, p50",
            g(|s| (s.load_p50 - s.floor_load_p50) / (s.idle_p50 - s.floor_idle_p50)),
        ),
    ] {
        let (a, b) = (f(ours), q(&f));
        row(name, a, b, "(info)", None);
    }
    for (name, f) in [
        (
            "-smp 1 (a spare host CPU): p50, guest idle (us)",
            g1(|s| s.idle_p50),
        ),
        ("-smp 1: p50, vCPU spinning (us)", g1(|s| s.load_p50)),
        (
            "-smp 1: spinning / idle, p50",
            g1(|s| s.load_p50 / s.idle_p50),
        ),
        (
            "-smp 1: spinning / idle, p99",
            g1(|s| s.load_p99 / s.idle_p99),
        ),
        (
            "-smp 1: floor spinning / idle, p50",
            g1(|s| s.floor_load_p50 / s.floor_idle_p50),
        ),
    ] {
        let (a, b) = (f(ours), q(&f));
        row(name, a, b, "(info)", None);
    }
    let f = g(|s| s.load_cpus);
    let (a, b) = (f(ours), q(&f));
    row("host CPUs busy while spinning", a, b, "(info)", None);

    // Details: per-round figures, and which threads woke up while idle.
    println!();
    for (kind, r) in [(Kind::Vmm, ours), (Kind::Qemu, theirs)] {
        if r.monitor.is_empty() {
            continue;
        }
        let list = |v: Vec<f64>| {
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let list1 = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!(
            "{:<5} greeting ms: {} (socket accepted the connect at median {:.1} ms)",
            kind.name(),
            list1(&r.start_ms),
            median(r.connect_ms.clone()),
        );
        println!(
            "{:<5} per round: p50 us [{}] p99 us [{}] req/s [{}]",
            kind.name(),
            list(r.monitor.iter().map(|s| s.seq_p50).collect()),
            list(r.monitor.iter().map(|s| s.seq_p99).collect()),
            list(r.monitor.iter().map(|s| s.pipelined).collect()),
        );
        println!(
            "{:<5} fan-out us, first monitor/all: STOP [{}]/[{}] RESUME [{}]/[{}]",
            kind.name(),
            list(r.monitor.iter().map(|s| s.stop_first_us).collect()),
            list(r.monitor.iter().map(|s| s.stop_us).collect()),
            list(r.monitor.iter().map(|s| s.resume_first_us).collect()),
            list(r.monitor.iter().map(|s| s.resume_us).collect()),
        );
        println!(
            "{:<5} guest: idle p50/p99 us [{}]/[{}] spinning p50/p99 us [{}]/[{}] ({} samples)",
            kind.name(),
            list(r.guest.iter().map(|s| s.idle_p50).collect()),
            list(r.guest.iter().map(|s| s.idle_p99).collect()),
            list(r.guest.iter().map(|s| s.load_p50).collect()),
            list(r.guest.iter().map(|s| s.load_p99).collect()),
            r.guest
                .iter()
                .map(|s| s.load_samples.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        );
        println!(
            "{:<5} floor under its guest: idle p50/p99 us [{}]/[{}] spinning p50/p99 us [{}]/[{}]",
            kind.name(),
            list(r.guest.iter().map(|s| s.floor_idle_p50).collect()),
            list(r.guest.iter().map(|s| s.floor_idle_p99).collect()),
            list(r.guest.iter().map(|s| s.floor_load_p50).collect()),
            list(r.guest.iter().map(|s| s.floor_load_p99).collect()),
        );
        let spare = &r.guest_spare_cpu;
        println!(
            "{:<5} -smp 1: idle p50/p99 us [{}]/[{}] spinning p50/p99 us [{}]/[{}]; floor idle/spinning p50 [{}]/[{}]",
            kind.name(),
            list(spare.iter().map(|s| s.idle_p50).collect()),
            list(spare.iter().map(|s| s.idle_p99).collect()),
            list(spare.iter().map(|s| s.load_p50).collect()),
            list(spare.iter().map(|s| s.load_p99).collect()),
            list(spare.iter().map(|s| s.floor_idle_p50).collect()),
            list(spare.iter().map(|s| s.floor_load_p50).collect()),
        );
        for (i, s) in r.guest.iter().enumerate() {
            if !s.idle.by_thread.is_empty() {
                let who: Vec<String> = s
                    .idle
                    .by_thread
                    .iter()
                    .map(|(n, c)| format!("{n}:{c}"))
                    .collect();
                println!(
                    "{:<5} round {} idle wake-ups by thread: {}",
                    kind.name(),
                    i + 1,
                    who.join(" ")
                );
            }
        }
    }
}
