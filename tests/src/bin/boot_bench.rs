//! Boot benchmark: start-to-first-guest-output time and idle RSS outside guest memory, for
//! `vmm` and for QEMU 10 (`-machine microvm,accel=kvm -cpu qemu64`) booting the same guest,
//! measured interleaved in one run and printed as ratios.
//!
//! Usage: boot-bench [ROUNDS]   (needs qemu-system-x86_64 for the reference column)

use std::process::Command;
use std::time::{Duration, Instant};

use tests::bench_stats::{have_qemu, median, rss_outside_guest_ram_kib};
use tests::guest_abi::{BANNER, READY};
use tests::process::VmmProcess;

const RAM_MIB: u64 = 256;
const TIMEOUT: Duration = Duration::from_secs(60);

struct Sample {
    to_banner: Duration,
    idle_rss_kib: u64,
}

fn measure(mut cmd: Command) -> Sample {
    let start = Instant::now();
    let vm = VmmProcess::spawn_command(&mut cmd);
    vm.wait_for(BANNER, TIMEOUT);
    let to_banner = start.elapsed();
    vm.wait_for(READY, TIMEOUT);
    // Let start-up allocations settle, then sample the idle process.
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss_kib = rss_outside_guest_ram_kib(vm.pid(), RAM_MIB << 20);
    Sample {
        to_banner,
        idle_rss_kib,
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let guest = tests::builtin_guest_file();
    let ram = RAM_MIB.to_string();
    let have_qemu = have_qemu();

    let mut ours = Vec::new();
    let mut qemu = Vec::new();
    for _ in 0..rounds {
        let mut cmd = Command::new(tests::vmm_binary());
        cmd.args(["-m", &ram, "-display", "none", "-serial", "stdio"]);
        ours.push(measure(cmd));
        if have_qemu {
            let mut cmd = Command::new("qemu-system-x86_64");
            cmd.args([
                "-machine",
                "microvm,accel=kvm",
                "-cpu",
                "qemu64",
                "-m",
                &ram,
                "-nodefaults",
                "-display",
                "none",
                "-serial",
                "stdio",
                "-kernel",
            ])
            .arg(&guest);
            qemu.push(measure(cmd));
        }
    }
    let _ = std::fs::remove_file(&guest);

    let ms = |s: &[Sample]| median(s.iter().map(|x| x.to_banner.as_secs_f64() * 1e3).collect());
    let mib = |s: &[Sample]| median(s.iter().map(|x| x.idle_rss_kib as f64 / 1024.0).collect());
    println!("boot-bench: {rounds} interleaved rounds, median, guest RAM {RAM_MIB} MiB");
    println!(
        "{:<44} {:>10} {:>10} {:>8}  target",
        "metric", "vmm", "qemu", "ratio"
    );
    let row = |name: &str, a: f64, b: Option<f64>, target: &str| match b {
        Some(b) => println!("{name:<44} {a:>10.2} {b:>10.2} {:>8.3}  {target}", a / b),
        None => println!("{name:<44} {a:>10.2} {:>10} {:>8}  {target}", "n/a", "n/a"),
    };
    let q = |f: &dyn Fn(&[Sample]) -> f64| (!qemu.is_empty()).then(|| f(&qemu));
    row(
        "start to first guest output (ms)",
        ms(&ours),
        q(&ms),
        "ratio <= 0.2",
    );
    row(
        "idle RSS outside guest RAM (MiB)",
        mib(&ours),
        q(&mib),
        "vmm <= 8 MiB",
    );
}
