//! `dump-guest-memory`: an ELF core whose PT_LOAD segments equal guest memory (checked against
//! `pmemsave` and the guest's known patterns), with one NT_PRSTATUS and one QEMU note per vCPU;
//! QEMU's events, errors, `query-dump`, and the HMP `dump-guest-memory` / `info dump`.

use std::time::Duration;

use serde_json::Value;
use tests::guest_abi::{
    PATTERN_BYTES_GPA, PATTERN_BYTES_LEN, PATTERN_WORDS, PATTERN_WORDS_GPA, READY,
};
use tests::process::VmmProcess;
use tests::qmp_client::{event_name, QmpClient};
use tests::qmp_harness::{start_vmm, Server, TempDir};

const BOOT: Duration = Duration::from_secs(60);

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("QMP message is JSON")
}

/// Boots the guest (`-m 256 -smp 2`) and negotiates QMP; files go in the server's `dir`.
fn start(tag: &str) -> (Server, QmpClient) {
    let vm = start_vmm(tag, &["-m", "256", "-smp", "2", "-serial", "stdio"]);
    vm.proc.wait_for(READY, BOOT);
    let qmp = vm.client();
    (vm, qmp)
}

fn cmd(qmp: &mut QmpClient, execute: &str, args: Value) -> Value {
    let msg = if args.is_null() {
        serde_json::json!({"execute": execute})
    } else {
        serde_json::json!({"execute": execute, "arguments": args})
    };
    json(&qmp.command(msg.to_string().as_bytes()))
}

fn u16le(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

struct Load {
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
}

struct Core {
    loads: Vec<Load>,
    /// (name, type, desc)
    notes: Vec<(String, u32, Vec<u8>)>,
}

/// A small ELF64 core reader.
fn parse(file: &[u8]) -> Core {
    assert_eq!(&file[..4], b"\x7fELF");
    assert_eq!(file[4], 2, "ELFCLASS64");
    assert_eq!(file[5], 1, "little endian");
    assert_eq!(u16le(file, 16), 4, "ET_CORE");
    assert_eq!(u16le(file, 18), 62, "EM_X86_64");
    let phoff = u64le(file, 32) as usize;
    let phentsize = u16le(file, 54) as usize;
    let phnum = u16le(file, 56) as usize;
    assert_eq!(phentsize, 56);
    let mut loads = Vec::new();
    let mut notes = Vec::new();
    let mut note_segments = 0;
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        let ty = u32le(file, p);
        let offset = u64le(file, p + 8);
        let vaddr = u64le(file, p + 16);
        let paddr = u64le(file, p + 24);
        let filesz = u64le(file, p + 32);
        let memsz = u64le(file, p + 40);
        match ty {
            1 => loads.push(Load {
                offset,
                vaddr,
                paddr,
                filesz,
                memsz,
            }),
            4 => {
                note_segments += 1;
                let mut o = offset as usize;
                let end = o + filesz as usize;
                while o < end {
                    let namesz = u32le(file, o) as usize;
                    let descsz = u32le(file, o + 4) as usize;
                    let nty = u32le(file, o + 8);
                    o += 12;
                    let name = String::from_utf8_lossy(&file[o..o + namesz - 1]).into_owned();
                    o += namesz.div_ceil(4) * 4;
                    let desc = file[o..o + descsz].to_vec();
                    o += descsz.div_ceil(4) * 4;
                    notes.push((name, nty, desc));
                }
            }
            other => panic!("unexpected segment type {other}"),
        }
    }
    assert_eq!(note_segments, 1, "one PT_NOTE");
    Core { loads, notes }
}

fn segment<'a>(file: &'a [u8], l: &Load) -> &'a [u8] {
    &file[l.offset as usize..(l.offset + l.filesz) as usize]
}

/// A `dump-guest-memory` of all RAM to `path`, answered with success; the file's bytes.
fn dump_to_file(qmp: &mut QmpClient, path: &std::path::Path, paging: bool) -> Vec<u8> {
    let r = cmd(
        qmp,
        "dump-guest-memory",
        serde_json::json!({"paging": paging, "protocol": format!("file:{}", path.display())}),
    );
    assert_eq!(r["return"], serde_json::json!({}), "{r}");
    read(path)
}

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).expect("read dump")
}

#[test]
fn dump_guest_memory_elf() {
    let (vm, mut qmp) = start("dump");
    let dir = &vm.dir;

    let q = cmd(&mut qmp, "query-dump", Value::Null);
    assert_eq!(
        q["return"],
        serde_json::json!({"status": "none", "completed": 0, "total": 0})
    );
    let cap = json(&qmp.command(br#"{"execute":"query-dump-guest-memory-capability"}"#));
    assert_eq!(cap["return"]["formats"][0], "elf");

    // A dump of the running VM: STOP, DUMP_COMPLETED, RESUME, then the reply (as QEMU).
    let running = dir.join("running.elf");
    let msg = serde_json::json!({"execute": "dump-guest-memory",
        "arguments": {"paging": false, "protocol": format!("file:{}", running.display())}});
    let transcript = qmp.command_transcript(msg.to_string().as_bytes());
    let names: Vec<String> = transcript
        .iter()
        .map(|m| event_name(m).unwrap_or_else(|| "reply".into()))
        .collect();
    assert_eq!(
        names,
        ["STOP", "DUMP_COMPLETED", "RESUME", "reply"],
        "{names:?}"
    );
    let done = json(&transcript[1]);
    let ram = 256u64 << 20;
    assert_eq!(
        done["data"]["result"],
        serde_json::json!({"status": "completed", "completed": ram, "total": ram})
    );
    assert_eq!(json(&transcript[3])["return"], serde_json::json!({}));
    let q = cmd(&mut qmp, "query-dump", Value::Null);
    assert_eq!(q["return"]["status"], "completed");
    assert_eq!(q["return"]["total"], ram);

    // Stopped: the dump must equal pmemsave of the same ranges.
    json(&qmp.command(br#"{"execute":"stop"}"#));
    qmp.take_events();
    let path = dir.join("core.elf");
    let file = dump_to_file(&mut qmp, &path, false);
    let core = parse(&file);
    assert!(!core.loads.is_empty());
    let mut total = 0;
    for (i, l) in core.loads.iter().enumerate() {
        assert_eq!(l.filesz, l.memsz);
        assert_eq!(
            l.vaddr, l.paddr,
            "without paging QEMU shows p_vaddr = p_paddr"
        );
        assert_eq!(l.offset % 4096, 0);
        total += l.filesz;
        let mem = dir.join(format!("pmem{i}"));
        let r = cmd(
            &mut qmp,
            "pmemsave",
            serde_json::json!({"val": l.paddr, "size": l.filesz,
            "filename": mem.to_str().unwrap()}),
        );
        assert_eq!(r["return"], serde_json::json!({}), "{r}");
        assert!(
            read(&mem) == segment(&file, l),
            "PT_LOAD {i} differs from pmemsave"
        );
        let _ = std::fs::remove_file(&mem);
    }
    assert_eq!(total, ram);
    // The guest's patterns at their GPAs.
    let at = |gpa: u64, len: usize| -> &[u8] {
        let l = core
            .loads
            .iter()
            .find(|l| l.paddr <= gpa && gpa + len as u64 <= l.paddr + l.filesz)
            .expect("GPA dumped");
        let o = (l.offset + gpa - l.paddr) as usize;
        &file[o..o + len]
    };
    let bytes = at(PATTERN_BYTES_GPA, PATTERN_BYTES_LEN);
    assert!(bytes
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (i & 0xff) as u8));
    let words = at(PATTERN_WORDS_GPA, 32);
    for (i, w) in PATTERN_WORDS.iter().enumerate() {
        assert_eq!(u64le(words, i * 8), *w);
    }

    // Notes: NT_PRSTATUS per vCPU (pid = index + 1), then a QEMU note per vCPU.
    let prstatus: Vec<_> = core
        .notes
        .iter()
        .filter(|n| n.0 == "CORE" && n.1 == 1)
        .collect();
    let qemu: Vec<_> = core.notes.iter().filter(|n| n.0 == "QEMU").collect();
    assert_eq!(prstatus.len(), 2, "NT_PRSTATUS per vCPU");
    assert_eq!(qemu.len(), 2);
    for (i, n) in prstatus.iter().enumerate() {
        assert_eq!(n.2.len(), 336);
        assert_eq!(u32le(&n.2, 32), i as u32 + 1);
    }
    // Register values agree with `info registers`: rip in both notes.
    let regs = cmd(
        &mut qmp,
        "human-monitor-command",
        serde_json::json!({"command-line": "info registers", "cpu-index": 0}),
    );
    let text = regs["return"].as_str().unwrap().to_string();
    let rip = text
        .split("RIP=")
        .nth(1)
        .map(|s| u64::from_str_radix(&s[..16], 16).unwrap());
    let q0 = &qemu[0].2;
    assert_eq!(u32le(q0, 0), 1);
    assert_eq!(u32le(q0, 4), 440);
    assert_eq!(q0.len(), 440);
    if let Some(rip) = rip {
        assert_eq!(u64le(q0, 8 + 16 * 8), rip, "QEMU note rip");
        assert_eq!(u64le(&prstatus[0].2, 112 + 16 * 8), rip, "prstatus rip");
    }

    // readelf accepts the file.
    if let Ok(out) = std::process::Command::new("readelf")
        .arg("-n")
        .arg(&path)
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(s.matches("NT_PRSTATUS").count(), 2, "{s}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(file);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&running);

    // begin/length restrict the range; stopped VM: no STOP/RESUME.
    qmp.take_events();
    let part = dir.join("part.elf");
    let msg = serde_json::json!({"execute": "dump-guest-memory", "arguments": {"paging": false,
        "protocol": format!("file:{}", part.display()), "begin": PATTERN_BYTES_GPA, "length": 8192}});
    let transcript = qmp.command_transcript(msg.to_string().as_bytes());
    let shown: Vec<String> = transcript
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert_eq!(transcript.len(), 2, "{shown:?}");
    assert_eq!(json(&transcript[0])["data"]["result"]["total"], 8192);
    let file = read(&part);
    let core = parse(&file);
    assert_eq!(core.loads.len(), 1);
    assert_eq!(core.loads[0].paddr, PATTERN_BYTES_GPA);
    assert_eq!(core.loads[0].filesz, 8192);
    assert!(segment(&file, &core.loads[0])[..4096]
        .iter()
        .enumerate()
        .all(|(i, b)| *b == i as u8));

    // QEMU's errors.
    let p = format!("file:{}", dir.join("e.elf").display());
    for (args, desc) in [
        (
            serde_json::json!({"paging": false, "protocol": "bogus"}),
            "parameter 'protocol' must start with 'file:' or 'fd:'",
        ),
        (
            serde_json::json!({"paging": false, "protocol": "fd:nosuch"}),
            "File descriptor named 'nosuch' has not been found",
        ),
        (
            serde_json::json!({"paging": false, "protocol": "file:/nonexistent/x"}),
            "Could not create '/nonexistent/x': No such file or directory",
        ),
        (
            serde_json::json!({"paging": false, "protocol": p, "begin": 0}),
            "Parameter 'length' is missing",
        ),
        (
            serde_json::json!({"paging": false, "protocol": p, "length": 4096}),
            "Parameter 'begin' is missing",
        ),
        (
            serde_json::json!({"paging": false, "protocol": p, "begin": 0x1_0000_0000u64, "length": 4096}),
            "dump: no guest memory to dump",
        ),
        (
            serde_json::json!({"paging": false, "protocol": p, "begin": 0, "length": 0}),
            "parameter 'length' expects a non-zero size",
        ),
        (
            serde_json::json!({"paging": true, "protocol": p, "format": "kdump-zlib"}),
            "kdump-compressed format doesn't support paging or filter",
        ),
        (
            serde_json::json!({"paging": false, "protocol": p, "format": "kdump-lzo"}),
            "kdump-lzo is not available now",
        ),
    ] {
        let r = cmd(&mut qmp, "dump-guest-memory", args.clone());
        assert_eq!(r["error"]["desc"], desc, "{args}: {r}");
        assert_eq!(r["error"]["class"], "GenericError");
    }

    // HMP.
    let hmp = |qmp: &mut QmpClient, line: &str| -> String {
        let r = cmd(
            qmp,
            "human-monitor-command",
            serde_json::json!({"command-line": line}),
        );
        r["return"].as_str().expect("HMP output").to_string()
    };
    let hpath = dir.join("hmp.elf");
    assert_eq!(
        hmp(
            &mut qmp,
            &format!("dump-guest-memory {} 0x300000 4096", hpath.display())
        ),
        ""
    );
    let file = read(&hpath);
    let core = parse(&file);
    assert_eq!(core.loads.len(), 1);
    assert_eq!(core.loads[0].filesz, 4096);
    assert_eq!(hmp(&mut qmp, "info dump"), "Status: completed\r\n");
    assert_eq!(
        hmp(
            &mut qmp,
            &format!("dump-guest-memory {} 0", hpath.display())
        ),
        "Error: Parameter 'length' is missing\r\n"
    );
}

/// A FIFO's reader that opens it at once (so the writer's open succeeds) but reads only when
/// told: until then the writer blocks once the pipe is full, which holds a dump in `active`.
struct HeldReader {
    go: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<Vec<u8>>,
}

fn held_reader(fifo: &std::path::Path) -> HeldReader {
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0, "mkfifo");
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let path = fifo.to_path_buf();
    let thread = std::thread::spawn(move || {
        use std::io::Read;
        let mut f = std::fs::File::open(&path).expect("open FIFO for reading");
        let _ = wait.recv();
        let mut v = Vec::new();
        f.read_to_end(&mut v).expect("read FIFO");
        v
    });
    HeldReader { go, thread }
}

impl HeldReader {
    fn drain(self) -> Vec<u8> {
        let _ = self.go.send(());
        self.thread.join().expect("reader thread")
    }
}

fn names(transcript: &[Vec<u8>]) -> Vec<String> {
    transcript
        .iter()
        .map(|m| event_name(m).unwrap_or_else(|| "reply".into()))
        .collect()
}

/// The detached dump's protocol, run the same on the VMM and on QEMU: returns the core and
/// the bytes dumped (QEMU's pc machine also dumps its ROM blocks).
fn detached_flow(qmp: &mut QmpClient, dir: &TempDir) -> (Vec<u8>, u64) {
    qmp.take_events();
    // As QEMU: STOP, then the reply at once; the dump runs on in the background.
    let fifo = dir.join("core.fifo");
    let reader = held_reader(&fifo);
    let msg = serde_json::json!({"execute": "dump-guest-memory", "arguments": {"paging": false,
        "protocol": format!("file:{}", fifo.display()), "detach": true}});
    let transcript = qmp.command_transcript(msg.to_string().as_bytes());
    assert_eq!(names(&transcript), ["STOP", "reply"]);
    assert_eq!(json(&transcript[1])["return"], serde_json::json!({}));

    // While it runs (held by the unread pipe): active, the VM in save-vm, and QEMU's
    // refusals of another dump, stop and cont.
    // QEMU's dump thread writes until the pipe is full (64 KiB), counting per page: wait
    // until the count stops moving before comparing it with `info dump`.
    let mut last = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (total, completed) = loop {
        let q = cmd(qmp, "query-dump", Value::Null);
        assert_eq!(q["return"]["status"], "active");
        let total = q["return"]["total"].as_u64().expect("total");
        let completed = q["return"]["completed"].as_u64().expect("completed");
        assert!(completed < total, "{q}");
        if last == Some(completed) {
            break (total, completed);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "progress never settles: {q}"
        );
        last = Some(completed);
        std::thread::sleep(Duration::from_millis(50));
    };
    let s = cmd(qmp, "query-status", Value::Null);
    assert_eq!(
        s["return"],
        serde_json::json!({"status": "save-vm", "running": false})
    );
    let again = serde_json::json!({"paging": false,
        "protocol": format!("file:{}", dir.join("other.elf").display()), "detach": true});
    for (name, args) in [
        ("dump-guest-memory", again),
        ("stop", Value::Null),
        ("cont", Value::Null),
    ] {
        let r = cmd(qmp, name, args);
        assert_eq!(
            r["error"],
            serde_json::json!({"class": "GenericError",
                "desc": "There is a dump in process, please wait."}),
            "{name}"
        );
    }
    let r = cmd(
        qmp,
        "human-monitor-command",
        serde_json::json!({"command-line": "info dump"}),
    );
    let pct = (100.0 * completed as f64 / total as f64) as f32;
    assert_eq!(
        r["return"],
        format!("Status: active\r\nFinished: {pct:.2} %\r\n")
    );
    assert!(qmp.take_events().is_empty(), "no events while it runs");

    // The end: DUMP_COMPLETED with query-dump's result, then RESUME.
    let file = reader.drain();
    let end: Vec<Vec<u8>> = (0..2)
        .map(|_| {
            qmp.read_message_timeout(Duration::from_secs(30))
                .expect("the dump's events")
        })
        .collect();
    assert_eq!(names(&end), ["DUMP_COMPLETED", "RESUME"]);
    let done = serde_json::json!({"status": "completed", "completed": total, "total": total});
    assert_eq!(json(&end[0])["data"], serde_json::json!({ "result": done }));
    let q = cmd(qmp, "query-dump", Value::Null);
    assert_eq!(q["return"], done);
    let s = cmd(qmp, "query-status", Value::Null);
    assert_eq!(s["return"]["status"], "running");
    (file, total)
}

#[test]
fn dump_guest_memory_detached() {
    if let Some(q) = tests::qmp_harness::qemu_or_skip("dump_guest_memory_detached") {
        let server =
            tests::qmp_harness::start_qemu(&q, "dumpdetachq", &["-machine", "pc", "-m", "256"]);
        let mut qmp = QmpClient::connect_unix(&server.qmp, BOOT).expect("connect QEMU");
        qmp.negotiate();
        let (file, total) = detached_flow(&mut qmp, &server.dir);
        // (Its guest is in real mode, so its core says EM_386: only the size is compared.)
        assert!(file.starts_with(b"\x7fELF") && file.len() as u64 > total);
    }
    let (vm, mut qmp) = start("dumpdetach");
    let dir = &vm.dir;
    let ram = 256u64 << 20;
    let (file, total) = detached_flow(&mut qmp, dir);
    assert_eq!(total, ram);

    // The core is whole: every byte of RAM, the guest's patterns where they belong.
    let core = parse(&file);
    assert_eq!(core.loads.iter().map(|l| l.filesz).sum::<u64>(), ram);
    let l = core
        .loads
        .iter()
        .find(|l| l.paddr <= PATTERN_BYTES_GPA && PATTERN_BYTES_GPA < l.paddr + l.filesz)
        .expect("pattern GPA dumped");
    let o = (l.offset + PATTERN_BYTES_GPA - l.paddr) as usize;
    assert!(file[o..o + PATTERN_BYTES_LEN]
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (i & 0xff) as u8));
    assert_eq!(core.notes.iter().filter(|n| n.0 == "CORE").count(), 2);

    // A detached dump of a stopped VM: no STOP or RESUME, the VM stays paused.
    cmd(&mut qmp, "stop", Value::Null);
    qmp.wait_event("STOP");
    qmp.take_events();
    let paused = dir.join("paused.elf");
    let msg = serde_json::json!({"execute": "dump-guest-memory", "arguments": {"paging": false,
        "protocol": format!("file:{}", paused.display()), "detach": true}});
    let transcript = qmp.command_transcript(msg.to_string().as_bytes());
    assert_eq!(names(&transcript), ["reply"]);
    qmp.wait_event_timeout("DUMP_COMPLETED", Duration::from_secs(30))
        .expect("DUMP_COMPLETED");
    assert!(
        qmp.read_for(Duration::from_millis(300)).is_empty(),
        "no RESUME"
    );
    let s = cmd(&mut qmp, "query-status", Value::Null);
    assert_eq!(s["return"]["status"], "paused");
    assert_eq!(parse(&read(&paused)).loads.len(), core.loads.len());

    // HMP's -d: the same, with an empty answer at once.
    cmd(&mut qmp, "cont", Value::Null);
    qmp.wait_event("RESUME");
    qmp.take_events();
    let hpath = dir.join("hmp.elf");
    let r = cmd(
        &mut qmp,
        "human-monitor-command",
        serde_json::json!({"command-line": format!("dump-guest-memory -d {}", hpath.display())}),
    );
    assert_eq!(r["return"], "");
    let mut order = names(&qmp.take_events());
    while order.len() < 3 {
        let m = qmp
            .read_message_timeout(Duration::from_secs(30))
            .expect("the dump's events");
        order.extend(names(&[m]));
    }
    assert_eq!(order, ["STOP", "DUMP_COMPLETED", "RESUME"]);
    assert_eq!(parse(&read(&hpath)).loads.len(), core.loads.len());
}

#[test]
fn dump_to_a_blocking_fifo_does_not_stop_other_monitors() {
    // A plain dump answers after the file is written; meanwhile the monitor's in-band queue
    // waits, but another monitor works and can quit the process.
    let dir = TempDir::new("dumpfifo");
    let sock2 = dir.path().join("qmp2.sock");
    let sock = dir.path().join("qmp.sock");
    let qmp1 = format!("unix:{},server=on,wait=off", sock.display());
    let qmp2 = format!("unix:{},server=on,wait=off", sock2.display());
    let args = [
        "-m", "64", "-display", "none", "-serial", "stdio", "-qmp", &qmp1, "-qmp", &qmp2,
    ];
    let mut vm = VmmProcess::spawn(&args);
    vm.wait_for(READY, BOOT);
    let mut a = QmpClient::connect_unix(&sock, BOOT).expect("connect QMP");
    a.negotiate();
    let mut b = QmpClient::connect_unix(&sock2, BOOT).expect("connect QMP 2");
    b.negotiate();

    let fifo = dir.join("nobody-reads");
    let cpath = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0, "mkfifo");
    let msg = serde_json::json!({"execute": "dump-guest-memory", "id": "d",
        "arguments": {"paging": false, "protocol": format!("file:{}", fifo.display())}});
    a.send(msg.to_string().as_bytes());
    a.send(br#"{"execute":"query-status","id":"after"}"#);
    assert!(
        a.read_for(Duration::from_millis(300)).is_empty(),
        "nothing while the file does not open"
    );
    let r = cmd(&mut b, "query-status", Value::Null);
    assert_eq!(r["return"]["status"], "running", "{r}");
    let r = cmd(&mut b, "query-dump", Value::Null);
    assert_eq!(r["return"]["status"], "none", "{r}");
    let r = cmd(&mut b, "quit", Value::Null);
    assert_eq!(r["return"], serde_json::json!({}));
    assert!(
        vm.wait_exit(Duration::from_secs(10)).is_some(),
        "quit exits"
    );
}

#[test]
fn dump_guest_memory_to_a_getfd_descriptor() {
    // libvirt's way: the core goes to a descriptor passed with getfd, which the dump takes
    // (QEMU's monitor_get_fd): the name is gone afterwards.
    let (vm, mut qmp) = start("dumpfd");
    let dir = &vm.dir;
    let path = dir.join("fd.elf");
    let file = std::fs::File::create(&path).expect("create");
    use std::os::fd::AsRawFd;
    let r = json(&qmp.command_with_fds(
        br#"{"execute":"getfd","arguments":{"fdname":"core"}}"#,
        &[file.as_raw_fd()],
    ));
    assert_eq!(r["return"], serde_json::json!({}), "{r}");
    drop(file);
    // Earlier checks come first and leave the descriptor in place.
    let r = cmd(
        &mut qmp,
        "dump-guest-memory",
        serde_json::json!({"paging": false, "protocol": "fd:core", "begin": 0}),
    );
    assert_eq!(r["error"]["desc"], "Parameter 'length' is missing");
    qmp.take_events();
    let msg = serde_json::json!({"execute": "dump-guest-memory",
        "arguments": {"paging": false, "protocol": "fd:core"}});
    let transcript = qmp.command_transcript(msg.to_string().as_bytes());
    assert_eq!(
        names(&transcript),
        ["STOP", "DUMP_COMPLETED", "RESUME", "reply"]
    );
    let core = parse(&read(&path));
    assert_eq!(core.loads.iter().map(|l| l.filesz).sum::<u64>(), 256 << 20);
    let r = cmd(
        &mut qmp,
        "dump-guest-memory",
        serde_json::json!({"paging": false, "protocol": "fd:core"}),
    );
    assert_eq!(
        r["error"]["desc"],
        "File descriptor named 'core' has not been found"
    );
    let r = cmd(&mut qmp, "closefd", serde_json::json!({"fdname": "core"}));
    assert_eq!(r["error"]["desc"], "File descriptor named 'core' not found");
}

#[test]
fn dump_guest_memory_with_paging() {
    // paging: true describes the guest's page tables: a PT_LOAD per merged virtual range,
    // pointing into the physical memory written once. In 4-level long mode QEMU sets bits
    // 63..48 of every virtual address (its walker's quirk), so the identity map shows at
    // 0xffff000000000000.
    let (vm, mut qmp) = start("dumppaging");
    let dir = &vm.dir;
    let path = dir.join("paging.elf");
    let file = dump_to_file(&mut qmp, &path, true);
    let core = parse(&file);
    assert!(
        core.loads
            .iter()
            .any(|l| l.paddr == 0 && l.vaddr == 0xffff_0000_0000_0000),
        "the identity map"
    );
    let hmp = |qmp: &mut QmpClient, line: &str| -> String {
        let r = cmd(
            qmp,
            "human-monitor-command",
            serde_json::json!({"command-line": line}),
        );
        r["return"].as_str().expect("HMP output").to_string()
    };
    for l in &core.loads {
        assert!(l.filesz <= l.memsz);
        assert!(l.filesz == 0 || l.offset + l.filesz <= file.len() as u64);
        // The CPU translates the (canonical) virtual address to the physical one.
        let canonical = (((l.vaddr << 16) as i64) >> 16) as u64;
        for probe in [0, l.memsz - 1] {
            let out = hmp(&mut qmp, &format!("gva2gpa 0x{:x}", canonical + probe));
            // QEMU's %#x prints 0 without the prefix.
            let gpa = l.paddr + probe;
            let want = if gpa == 0 {
                "gpa: 0\r\n".to_string()
            } else {
                format!("gpa: {gpa:#x}\r\n")
            };
            assert_eq!(out, want, "vaddr {:#x}", l.vaddr);
        }
    }
    // The pattern bytes, found through a virtual mapping.
    let l = core
        .loads
        .iter()
        .find(|l| l.paddr <= PATTERN_BYTES_GPA && PATTERN_BYTES_GPA < l.paddr + l.filesz)
        .expect("pattern mapped");
    let o = (l.offset + PATTERN_BYTES_GPA - l.paddr) as usize;
    assert!(file[o..o + 4096]
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (i & 0xff) as u8));
}
