//! Booting the built-in test guest through the binary, as a user would: banner, e820, SMP,
//! RAM size and the serial console.

use std::time::Duration;

use tests::guest_abi::{BANNER, READY};
use tests::process::VmmProcess;

const BOOT: Duration = Duration::from_secs(60);

#[test]
fn default_guest_boots_and_answers_on_the_serial_console() {
    let mut vm = VmmProcess::spawn(&["-display", "none", "-serial", "stdio"]);
    vm.wait_for(BANNER, BOOT);
    vm.wait_for(READY, BOOT);
    let out = vm.output();
    // QEMU's default: 128 MiB, one CPU.
    assert!(out.contains("cpus: 1"), "{out}");
    assert!(out.contains("ram: 128 MiB"), "{out}");
    let mark = vm.send_line("ping");
    vm.wait_for_from(mark, "pong", BOOT);
    let mark = vm.send_line("echo hello from the host");
    vm.wait_for_from(mark, "hello from the host", BOOT);
}

#[test]
fn smp_and_memory_size_show_in_the_guest() {
    let vm = VmmProcess::spawn(&[
        "-smp", "2", "-m", "256", "-display", "none", "-serial", "stdio",
    ]);
    vm.wait_for(READY, BOOT);
    let out = vm.output();
    assert!(out.contains("cpus: 2"), "{out}");
    assert!(out.contains("apic ids: 0 1"), "{out}");
    assert!(out.contains("ram: 256 MiB"), "{out}");
}

#[test]
fn guest_sees_the_e820_map_and_command_line_we_built() {
    // As in QEMU, -append needs -kernel: pass the built-in guest as a file.
    let kernel = tests::builtin_guest_file();
    let vm = VmmProcess::spawn(&[
        "-m",
        "256",
        "-kernel",
        kernel.to_str().unwrap(),
        "-append",
        "hello=world console=ttyS0",
        "-display",
        "none",
        "-serial",
        "stdio",
    ]);
    vm.wait_for(READY, BOOT);
    let out = vm.output();
    assert!(out.contains("cmdline: hello=world console=ttyS0"), "{out}");
    for line in [
        "e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
        "e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved",
        "e820: [mem 0x00000000000e0000-0x00000000000fffff] reserved",
        "e820: [mem 0x0000000000100000-0x000000000fffffff] usable",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
}

#[test]
fn nographic_puts_the_serial_console_on_stdio() {
    let mut vm = VmmProcess::spawn(&["-nographic"]);
    vm.wait_for(READY, BOOT);
    let mark = vm.send_line("ping");
    vm.wait_for_from(mark, "pong", BOOT);
    // Ctrl-A h prints the mux help; Ctrl-A x quits like QEMU.
    vm.send(b"\x01h");
    vm.wait_for("C-a x    exit emulator", BOOT);
    vm.send(b"\x01x");
    vm.wait_for("QEMU: Terminated", BOOT);
    let status = vm.wait_exit(BOOT).expect("exits after Ctrl-A x");
    assert!(status.success(), "{status:?}");
}

#[test]
fn serial_output_can_go_to_a_file() {
    let dir = std::env::temp_dir().join(format!("vmm-serial-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("serial.log");
    let arg = format!("file:{}", path.display());
    let mut vm = VmmProcess::spawn(&["-display", "none", "-serial", &arg]);
    let deadline = std::time::Instant::now() + BOOT;
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains(READY) {
            assert!(text.contains(BANNER));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no 'ready' in {text}");
        std::thread::sleep(Duration::from_millis(50));
    }
    vm.signal(libc::SIGTERM);
    assert!(vm.wait_exit(BOOT).is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serial_console_on_a_unix_socket_server() {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let dir = std::env::temp_dir().join(format!("vmm-serial-sock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("serial.sock");
    let arg = format!("unix:{},server=on,wait=on", path.display());
    let mut vm = VmmProcess::spawn(&["-display", "none", "-serial", &arg]);
    // wait=on: start-up waits for us, so the banner is not lost.
    let deadline = std::time::Instant::now() + BOOT;
    let mut sock = loop {
        if let Ok(s) = UnixStream::connect(&path) {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "socket never appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let mut read_until = |sock: &mut UnixStream, needle: &str, seen: &mut Vec<u8>| {
        while !String::from_utf8_lossy(seen).contains(needle) {
            let n = sock.read(&mut buf).expect("serial output");
            assert!(
                n > 0,
                "socket closed; got {}",
                String::from_utf8_lossy(seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    };
    read_until(&mut sock, READY, &mut seen);
    assert!(String::from_utf8_lossy(&seen).contains(BANNER));
    sock.write_all(b"ping\r").unwrap();
    read_until(&mut sock, "pong", &mut seen);
    assert!(vm
        .stderr()
        .contains("QEMU waiting for connection on: disconnected:unix:"));
    vm.signal(libc::SIGTERM);
    assert!(vm.wait_exit(BOOT).is_some());
    let _ = std::fs::remove_dir_all(&dir);
}
