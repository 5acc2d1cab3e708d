//! Start-up with monitor clients: the machine is built while the monitors already greet
//! (vmm/src/startup.rs). Commands sent before the machine exists must be answered in order
//! once it does, and a machine that cannot be built must still end start-up with its error,
//! also after a client was greeted.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tests::process::VmmProcess;
use tests::qmp_client::{show, Conn, QmpClient};
use tests::qmp_harness::{qemu_or_skip, TempDir};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Connects as early as possible: a tight retry loop, so the client usually arrives while
/// the machine is still being built.
fn connect_early(path: &Path, process: &VmmProcess) -> QmpClient {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Ok(s) = UnixStream::connect(path) {
            let mut c = QmpClient::new(Conn::Unix(s));
            c.timeout = TIMEOUT;
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "no QMP socket at {}; stderr:\n{}",
            path.display(),
            process.stderr()
        );
        std::thread::yield_now();
    }
}

fn qmp_arg(path: &Path, wait: bool) -> String {
    let wait = if wait { "on" } else { "off" };
    format!("unix:{},server=on,wait={wait}", path.display())
}

#[test]
fn commands_sent_during_start_up_are_answered_in_order() {
    for (paused, status) in [(true, "prelaunch"), (false, "running")] {
        let dir = TempDir::new("early");
        let sock = dir.join("qmp.sock");
        let mut args = vec![
            "-m", "64", "-smp", "2", "-display", "none", "-serial", "null",
        ];
        if paused {
            args.push("-S");
        }
        let qmp = qmp_arg(&sock, false);
        args.extend(["-qmp", &qmp]);
        let vm = VmmProcess::spawn(&args);
        let mut c = connect_early(&sock, &vm);
        // Everything at once, before the greeting is read.
        c.send(
            b"{\"execute\":\"qmp_capabilities\",\"id\":1}\n\
              {\"execute\":\"query-status\",\"id\":2}\n\
              {\"execute\":\"query-cpus-fast\",\"id\":3}\n",
        );
        c.greeting();
        let caps = c.reply();
        assert_eq!(show(&caps), show(b"{\"return\": {}, \"id\": 1}\r\n"));
        let st = String::from_utf8_lossy(&c.reply()).into_owned();
        assert!(
            st.contains(&format!("\"status\": \"{status}\"")) && st.contains("\"id\": 2"),
            "query-status: {st}"
        );
        let cpus = String::from_utf8_lossy(&c.reply()).into_owned();
        assert!(cpus.contains("\"id\": 3"), "query-cpus-fast: {cpus}");
        // Each vCPU's host thread id (its props have a thread-id too, the SMT index).
        assert_eq!(cpus.matches("{\"thread-id\": ").count(), 2, "{cpus}");
        assert!(!cpus.contains("{\"thread-id\": 0,"), "{cpus}");
    }
}

/// A file that is no kernel: loading it fails while the machine is built.
fn bad_kernel(dir: &TempDir) -> PathBuf {
    let path = dir.join("not-a-kernel");
    std::fs::write(&path, b"not a kernel\n").expect("write the bad kernel");
    path
}

/// `wait=on`: start-up blocks for the client, which is greeted (QEMU greets it before it
/// builds the board); the kernel then fails to load and the process exits 1 with the error.
fn greeted_then_failed(program: &Path, extra: &[&str], error: &str) {
    let dir = TempDir::new("fail");
    let sock = dir.join("qmp.sock");
    let kernel = bad_kernel(&dir);
    let mut cmd = Command::new(program);
    cmd.args(extra)
        .args(["-m", "64", "-display", "none", "-kernel"])
        .arg(&kernel)
        .arg("-qmp")
        .arg(qmp_arg(&sock, true));
    let mut vm = VmmProcess::spawn_command(&mut cmd);
    let mut c = connect_early(&sock, &vm);
    c.greeting();
    let rest = c.read_to_eof(TIMEOUT).unwrap_or_else(|b| {
        panic!(
            "{}: no EOF after the greeting; got {}",
            program.display(),
            show(&b)
        )
    });
    assert!(rest.is_empty(), "after the greeting: {}", show(&rest));
    let status = vm.wait_exit(TIMEOUT).expect("exits");
    assert_eq!(status.code(), Some(1), "stderr:\n{}", vm.stderr());
    assert!(
        vm.stderr().contains(error),
        "{}: stderr lacks {error:?}:\n{}",
        program.display(),
        vm.stderr()
    );
}

#[test]
fn a_machine_error_after_the_greeting_still_fails_start_up() {
    greeted_then_failed(&tests::vmm_binary(), &[], "vmm: could not load kernel");
    if let Some(qemu) = qemu_or_skip("a_machine_error_after_the_greeting_still_fails_start_up") {
        greeted_then_failed(
            &qemu,
            &["-machine", "pc,accel=kvm", "-nodefaults"],
            "invalid kernel header",
        );
    }
}
