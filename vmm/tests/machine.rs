//! The machine's state-access operations the monitor builds on, against the running built-in
//! guest: physical memory reads, page-table walks, register reads, stop/resume of spinning
//! vCPUs. (The same operations are exercised over QMP/HMP by the `tests` crate.)

use std::io::Write;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vmm::config::{ChardevBackend, ChardevConfig, VmConfig};
use vmm::guest_access::TranslateError;
use vmm::machine::{Machine, SerialOutput};
use vmm::machine_events::{MachineEvent, MachineEvents};
use vmm::run_state::RunState;

#[path = "../../guest/src/abi.rs"]
mod guest_abi;
use guest_abi::*;

#[derive(Clone, Default)]
struct Console(Arc<Mutex<Vec<u8>>>);

impl Write for Console {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Console {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, from: usize, needle: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = self.text();
            if let Some(p) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + p + needle.len();
            }
            assert!(Instant::now() < deadline, "no {needle:?} in:\n{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

struct Booted {
    machine: Machine,
    console: Console,
    _events: Receiver<MachineEvent>,
}

fn boot(cpus: u32) -> Booted {
    vmm::vcpu::kick::install_kick_handler().unwrap();
    let mut config = VmConfig::default();
    config.memory.size = 256 << 20;
    config.smp.cpus = cpus;
    config.smp.cores = cpus;
    config.smp.maxcpus = cpus;
    config.chardevs.push(ChardevConfig {
        id: "serial0".into(),
        backend: ChardevBackend::Null,
        mux: false,
        location: String::new(),
    });
    config.serials.push(Some("serial0".into()));
    let console = Console::default();
    let (events, rx) = MachineEvents::new().unwrap();
    let out: SerialOutput = Box::new(console.clone());
    let mut machine = Machine::new(
        &config,
        vmm::BUILTIN_GUEST,
        vec![Some(out)],
        Arc::new(events),
    )
    .unwrap();
    machine.start();
    console.wait_for(0, READY);
    Booted {
        machine,
        console,
        _events: rx,
    }
}

fn send(b: &Booted, line: &str) -> usize {
    let mark = b.console.text().len();
    let serial = b.machine.serial(0).unwrap();
    let bytes = format!("{line}\r");
    let mut sent = 0;
    while sent < bytes.len() {
        sent += serial
            .lock()
            .unwrap()
            .enqueue_input(&bytes.as_bytes()[sent..]);
        std::thread::sleep(Duration::from_millis(1));
    }
    mark
}

fn counters(b: &Booted, n: usize) -> Vec<u64> {
    let mut buf = vec![0u8; 8 * n];
    b.machine.read_phys(COUNTERS_GPA, &mut buf).unwrap();
    buf.chunks(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn physical_memory_holds_the_guest_patterns() {
    let b = boot(1);
    let mut bytes = vec![0u8; PATTERN_BYTES_LEN];
    b.machine.read_phys(PATTERN_BYTES_GPA, &mut bytes).unwrap();
    assert!(bytes.iter().enumerate().all(|(i, &v)| v == i as u8));
    let mut words = [0u8; 32];
    b.machine.read_phys(PATTERN_WORDS_GPA, &mut words).unwrap();
    for (i, w) in PATTERN_WORDS.iter().enumerate() {
        assert_eq!(words[i * 8..i * 8 + 8], w.to_le_bytes());
    }
    let mut s = vec![0u8; PATTERN_STRING.len()];
    b.machine.read_phys(PATTERN_WORDS_GPA + 32, &mut s).unwrap();
    assert_eq!(s, PATTERN_STRING);
    // Outside RAM (the PCI hole) is an error, not garbage.
    assert!(b.machine.read_phys(0xd000_0000, &mut [0u8; 4]).is_err());
    // Writes land where the guest sees them.
    b.machine.write_phys(0x0030_3000, b"host was here").unwrap();
    let mut back = [0u8; 13];
    b.machine.read_phys(0x0030_3000, &mut back).unwrap();
    assert_eq!(&back, b"host was here");
}

#[test]
fn page_table_walk_follows_the_guests_mappings() {
    let b = boot(1);
    let m = &b.machine;
    assert_eq!(
        m.translate(0, PATTERN_WORDS_GVA + 0x18).unwrap(),
        Ok(PATTERN_WORDS_GPA + 0x18)
    );
    assert_eq!(
        m.translate(0, PATTERN_BYTES_GVA_2M + 0x10_0123).unwrap(),
        Ok(PATTERN_BYTES_GVA_2M_TARGET_GPA + 0x10_0123)
    );
    assert_eq!(
        m.translate(0, HIGH_ALIAS_GVA + 0x456).unwrap(),
        Ok(HIGH_ALIAS_GPA + 0x456)
    );
    assert_eq!(m.translate(0, 0x1234).unwrap(), Ok(0x1234));
    assert_eq!(
        m.translate(0, UNMAPPED_GVA).unwrap(),
        Err(TranslateError::Unmapped)
    );
    // Reading through the translation gives the pattern.
    let gpa = m.translate(0, PATTERN_WORDS_GVA).unwrap().unwrap();
    let mut w = [0u8; 8];
    m.read_phys(gpa, &mut w).unwrap();
    assert_eq!(u64::from_le_bytes(w), PATTERN_WORDS[0]);
}

#[test]
fn registers_read_from_each_vcpu() {
    let b = boot(2);
    for cpu in 0..2 {
        let state = b.machine.cpu_state(cpu).unwrap();
        assert!(state.long_mode(), "cpu {cpu} is in long mode");
        let dump = state.dump();
        assert!(dump.starts_with("RAX="), "{dump}");
        assert!(dump.contains("EFER="), "{dump}");
    }
    assert!(b.machine.cpu_state(2).is_err());
}

#[test]
fn stop_freezes_spinning_vcpus_and_resume_continues_them() {
    let mut b = boot(2);
    let mark = send(&b, "spin");
    b.console.wait_for(mark, "spinning");
    std::thread::sleep(Duration::from_millis(200));
    let before = counters(&b, 2);
    std::thread::sleep(Duration::from_millis(200));
    let moving = counters(&b, 2);
    assert!(
        moving.iter().zip(&before).all(|(a, b)| a > b),
        "{before:?} → {moving:?}"
    );

    assert!(b.machine.stop(RunState::Paused));
    assert_eq!(b.machine.run_state(), RunState::Paused);
    let frozen = counters(&b, 2);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(counters(&b, 2), frozen, "counters move while paused");

    assert!(b.machine.resume());
    std::thread::sleep(Duration::from_millis(200));
    let resumed = counters(&b, 2);
    assert!(
        resumed.iter().zip(&frozen).all(|(a, b)| a > b),
        "{frozen:?} → {resumed:?}"
    );
}

#[test]
fn reset_reboots_the_guest_in_place() {
    let mut b = boot(2);
    let mark = b.console.text().len();
    b.machine.reset().unwrap();
    let after = b.console.wait_for(mark, BANNER);
    b.console.wait_for(after, "cpus: 2");
    b.console.wait_for(after, READY);
    assert_eq!(b.machine.run_state(), RunState::Running);
}
