//! The -nographic terminal, driven in a real terminal (tmux): the guest console and the human
//! monitor multiplexed with Ctrl-A, QEMU's readline at the `(qemu)` prompt.

use std::process::Command;
use std::time::{Duration, Instant};

use tests::guest_abi::{BANNER, PATTERN_BYTES_GPA, READY};

struct Tmux {
    session: String,
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("run tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Tmux {
    fn start(command: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("SKIPPED: tmux is not installed");
            return None;
        }
        let session = format!("vmm-hmp-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "160",
                "-y",
                "50",
                "sh",
            ])
            .status()
            .expect("tmux new-session");
        assert!(status.success());
        let t = Tmux { session };
        t.keys(&[command, "Enter"]);
        Some(t)
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        tmux(&args);
    }

    fn literal(&self, text: &str) {
        tmux(&["send-keys", "-t", &self.session, "-l", text]);
    }

    fn screen(&self) -> String {
        tmux(&["capture-pane", "-p", "-S", "-200", "-t", &self.session])
    }

    /// Waits until the screen contains `needle` `count` times.
    fn wait_count(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.matches(needle).count() >= count {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} (x{count}) on screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait(&self, needle: &str) -> String {
        self.wait_count(needle, 1)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        tmux(&["kill-session", "-t", &self.session]);
    }
}

#[test]
fn nographic_mux_monitor_in_a_real_terminal() {
    let vmm = tests::vmm_binary();
    let cmd = format!("{} -nographic -m 256; echo vmm-exited", vmm.display());
    let Some(t) = Tmux::start(&cmd) else { return };
    t.wait(BANNER);
    t.wait(READY);

    // Ctrl-A c: the monitor, with QEMU's greeting and prompt.
    t.keys(&["C-a", "c"]);
    t.wait("QEMU 10.0.2 monitor - type 'help' for more information");
    t.literal("info status");
    t.keys(&["Enter"]);
    t.wait("VM status: running");
    t.literal("stop");
    t.keys(&["Enter"]);
    t.literal("info status");
    t.keys(&["Enter"]);
    t.wait("VM status: paused");
    t.literal("info registers");
    t.keys(&["Enter"]);
    t.wait("RIP=");
    t.literal(&format!("xp /4xb {PATTERN_BYTES_GPA:#x}"));
    t.keys(&["Enter"]);
    t.wait("0x00 0x01 0x02 0x03");
    t.literal("c");
    t.keys(&["Enter"]);
    // History: the up arrow recalls `c`; one more `info status` shows it ran.
    t.keys(&["Up", "Up"]);
    t.wait("(qemu) xp /4xb");
    t.keys(&["C-u"]);
    t.literal("info status");
    t.keys(&["Enter"]);
    t.wait_count("VM status: running", 2);
    // Tab completion of `info bal`.
    t.literal("info bal");
    t.keys(&["Tab"]);
    t.wait("(qemu) info balloon");
    t.keys(&["C-u"]);

    // Back to the guest console: the guest answers again.
    t.keys(&["C-a", "c"]);
    t.literal("ping");
    t.keys(&["Enter"]);
    t.wait("pong");
    // Ctrl-A b: a break on the line (the guest reports the UART's break condition).
    t.keys(&["C-a", "b"]);
    t.wait("serial: break");
    t.literal("ping");
    t.keys(&["Enter"]);
    t.wait_count("pong", 2);

    // Ctrl-A x quits, and the terminal is usable (cooked mode, echo) afterwards.
    t.keys(&["C-a", "x"]);
    t.wait("QEMU: Terminated");
    t.wait("vmm-exited");
    t.literal("stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo | tr '\\n' ' '; echo");
    t.keys(&["Enter"]);
    t.wait("icanon echo");
}
