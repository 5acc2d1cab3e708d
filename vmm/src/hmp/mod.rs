//! The human monitor on this machine: [`hmp_commands::HmpTarget`] for [`VmBackend`], so the
//! `hmp-commands` crate's table, parser and formats run against the real VM. Commands that
//! have a QMP twin go through [`crate::qmp_commands::execute`], as QEMU's HMP handlers call
//! their `qmp_*` functions.

mod devices;
mod empty_board;
mod registers;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use hmp_commands::{
    CpuRegs, HmpResult, HmpState, HmpTarget, HotpluggableCpu, QomSetValue, RunStatus, Segment,
};
use kvm_bindings::kvm_segment;
use monitor::vm::{Effects, HmpContext, NoFds};
use qapi::types::{BalloonArgs, DumpGuestMemoryArgs, MemsaveArgs, PmemsaveArgs};
use qapi::{Command, QapiError};
use serde_json::{json, Map, Value};
use vm_memory::{GuestAddress, GuestMemoryBackend};

use crate::cpu_state::CpuState;
use crate::guest_access::translate;
use crate::qmp_commands;
use crate::vm_backend::VmBackend;

/// QEMU keeps the `/fmt` defaults in globals shared by every monitor.
fn state() -> &'static Mutex<HmpState> {
    static STATE: OnceLock<Mutex<HmpState>> = OnceLock::new();
    STATE.get_or_init(|| Mutex::new(HmpState::default()))
}

/// Runs one HMP command line; the output has QEMU's `\r\n` line ends.
pub fn run(
    vm: &mut VmBackend,
    line: &str,
    cpu_index: Option<usize>,
    context: &HmpContext,
    fx: &mut Effects,
) -> String {
    let mut target = Target {
        vm,
        fx,
        context,
        cpu: cpu_index,
        cpu_states: HashMap::new(),
    };
    let mut st = state().lock().unwrap_or_else(|e| e.into_inner());
    let out = hmp_commands::run(&mut target, &mut st, line);
    crlf(&out)
}

/// `\n` → `\r\n`, as QEMU's monitor writes every line.
pub fn crlf(text: &str) -> String {
    // Adding `\r` bytes keeps UTF-8 valid.
    String::from_utf8(monitor::readline::crlf(text))
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The machine seen by one command: vCPU state is read once per command.
struct Target<'a> {
    vm: &'a mut VmBackend,
    fx: &'a mut Effects,
    /// The monitors' live state.
    context: &'a HmpContext,
    /// `human-monitor-command`'s `cpu-index`, overriding the monitor's CPU.
    cpu: Option<usize>,
    cpu_states: HashMap<usize, Option<CpuState>>,
}

fn segment(s: &kvm_segment) -> Segment {
    Segment {
        selector: s.selector,
        base: s.base,
        limit: s.limit,
        long: s.l != 0,
        db: s.db != 0,
    }
}

fn desc(e: QapiError) -> String {
    e.desc
}

impl Target<'_> {
    fn cpu_state(&mut self, index: usize) -> Option<CpuState> {
        if let Some(s) = self.cpu_states.get(&index) {
            return *s;
        }
        let s = self.vm.machine.cpu_state(index).ok();
        self.cpu_states.insert(index, s);
        s
    }

    fn qmp(&mut self, name: &str, args: Value) -> Result<Value, QapiError> {
        let args: Map<String, Value> = match args {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let command = qapi::parse_command(name, args)?;
        // Run-state changes make cached registers stale.
        self.cpu_states.clear();
        // HMP waits for file I/O, as QEMU's does.
        qmp_commands::execute(self.vm, command, &mut NoFds, self.fx).wait(self.vm, self.fx)
    }

    fn qmp_unit(&mut self, command: Command) -> HmpResult<()> {
        self.cpu_states.clear();
        qmp_commands::execute(self.vm, command, &mut NoFds, self.fx)
            .wait(self.vm, self.fx)
            .map(|_| ())
            .map_err(desc)
    }
}

impl HmpTarget for Target<'_> {
    fn cpu_count(&self) -> usize {
        self.vm.machine.vcpu_count()
    }

    fn current_cpu(&self) -> usize {
        self.cpu.unwrap_or(self.vm.current_cpu)
    }

    fn set_current_cpu(&mut self, index: usize) {
        match self.cpu {
            // A `human-monitor-command` with `cpu-index` has its own monitor.
            Some(_) => self.cpu = Some(index),
            None => self.vm.current_cpu = index,
        }
    }

    fn cpu_regs(&mut self, index: usize) -> Option<CpuRegs> {
        let s = self.cpu_state(index)?;
        let r = &s.regs;
        let sr = &s.sregs;
        Some(CpuRegs {
            gpr: [
                r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi, r.r8, r.r9, r.r10, r.r11,
                r.r12, r.r13, r.r14, r.r15,
            ],
            rip: r.rip,
            rflags: r.rflags,
            segs: [
                segment(&sr.es),
                segment(&sr.cs),
                segment(&sr.ss),
                segment(&sr.ds),
                segment(&sr.fs),
                segment(&sr.gs),
            ],
            cr0: sr.cr0,
            cr3: sr.cr3,
            cr4: sr.cr4,
            efer: sr.efer,
        })
    }

    fn register_dump(&mut self, index: usize) -> Option<String> {
        let s = self.cpu_state(index)?;
        // XSAVE's legacy area first (what QEMU reads when KVM has it), else KVM_GET_FPU.
        let fpu = self
            .vm
            .machine
            .run_on_vcpu(index, |fd| match fd.get_xsave() {
                Ok(x) => Ok(registers::fpu_from_xsave(&x)),
                Err(_) => fd.get_fpu(),
            })
            .and_then(Result::ok)
            .unwrap_or_default();
        let mut out = s.dump();
        out.push_str(&registers::fpu_dump(&fpu, s.code64()));
        Some(out)
    }

    fn vcpu_thread_ids(&self) -> Vec<i64> {
        self.vm
            .machine
            .vcpu_thread_ids()
            .into_iter()
            .map(i64::from)
            .collect()
    }

    fn hotpluggable_cpus(&self) -> HmpResult<Vec<HotpluggableCpu>> {
        let cpus = qmp_commands::query_hotpluggable_cpus(self.vm).map_err(desc)?;
        Ok(cpus
            .into_iter()
            .map(|cpu| {
                let p = cpu.props;
                let props = [
                    ("node-id", p.node_id),
                    ("drawer-id", p.drawer_id),
                    ("book-id", p.book_id),
                    ("socket-id", p.socket_id),
                    ("die-id", p.die_id),
                    ("cluster-id", p.cluster_id),
                    ("module-id", p.module_id),
                    ("core-id", p.core_id),
                    ("thread-id", p.thread_id),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
                .collect();
                HotpluggableCpu {
                    type_name: cpu.r#type,
                    vcpus_count: cpu.vcpus_count,
                    qom_path: cpu.qom_path,
                    props,
                }
            })
            .collect())
    }

    fn ram_block(&self) -> Option<String> {
        // QEMU names the RAM block after its backend: the one `/machine`'s memory-backend
        // link names (the board's default id, or -machine memory-backend=ID).
        let link = self
            .vm
            .qom
            .get("/machine", "memory-backend", &self.vm.machine)
            .ok()?;
        let path = link.as_str()?;
        path.rsplit('/')
            .next()
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    }

    fn nmi(&mut self, _index: usize) -> HmpResult<()> {
        // As QEMU's hmp_nmi: the QMP command, which goes to every vCPU.
        self.qmp_unit(Command::InjectNmi)
    }

    fn read_phys(&mut self, addr: u64, buf: &mut [u8]) -> bool {
        self.vm.machine.read_phys(addr, buf).is_ok()
    }

    fn translate(&mut self, cpu: usize, addr: u64) -> Option<u64> {
        let s = self.cpu_state(cpu)?;
        translate(self.vm.machine.mem(), &s.sregs, addr).ok()
    }

    fn gpa2hva(&mut self, addr: u64) -> Option<(String, u64)> {
        let hva = self
            .vm
            .machine
            .mem()
            .get_host_address(GuestAddress(addr))
            .ok()?;
        Some((self.ram_block()?, hva as u64))
    }

    fn gpa2hpa(&mut self, addr: u64) -> Option<(String, Result<u64, String>)> {
        let (region, hva) = self.gpa2hva(addr)?;
        // Like QEMU, make the page present (a write fault) before asking the kernel. A
        // compare-exchange of the byte with itself writes without changing it (an atomic
        // add of zero would be compiled to a plain load).
        // SAFETY: `hva` points into guest RAM, mapped for the VM's lifetime.
        let byte = unsafe { &*(hva as *const std::sync::atomic::AtomicU8) };
        let v = byte.load(std::sync::atomic::Ordering::Relaxed);
        let _ = byte.compare_exchange(
            v,
            v,
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::Relaxed,
        );
        Some((region, hmp_commands::handlers::host_physical(hva)))
    }

    fn memsave(&mut self, addr: u64, size: u64, filename: &str, cpu: usize) -> HmpResult<()> {
        self.qmp_unit(Command::Memsave(MemsaveArgs {
            val: addr,
            size,
            filename: filename.to_string(),
            cpu_index: Some(cpu as i64),
        }))
    }

    fn pmemsave(&mut self, addr: u64, size: u64, filename: &str) -> HmpResult<()> {
        self.qmp_unit(Command::Pmemsave(PmemsaveArgs {
            val: addr,
            size,
            filename: filename.to_string(),
        }))
    }

    fn memory_size_summary(&self) -> (u64, Option<u64>) {
        (self.vm.machine.ram_size(), Some(0))
    }

    fn status(&self) -> RunStatus {
        let s = self.vm.machine.run_state();
        RunStatus {
            running: s.is_running(),
            status: s.name().to_string(),
        }
    }

    fn stop(&mut self) -> HmpResult<()> {
        self.qmp_unit(Command::Stop)
    }

    fn cont(&mut self) -> HmpResult<()> {
        self.qmp_unit(Command::Cont)
    }

    fn system_reset(&mut self) -> HmpResult<()> {
        self.qmp_unit(Command::SystemReset)
    }

    fn system_powerdown(&mut self) -> HmpResult<()> {
        self.qmp_unit(Command::SystemPowerdown)
    }

    fn quit(&mut self) {
        let _ = self.qmp_unit(Command::Quit);
    }

    fn balloon(&mut self, bytes: i64) -> HmpResult<()> {
        self.qmp_unit(Command::Balloon(BalloonArgs { value: bytes }))
    }

    fn query_balloon(&self) -> HmpResult<i64> {
        self.vm.balloon_actual().map_err(desc)
    }

    fn name(&self) -> Option<String> {
        self.vm.machine.config().name.guest.clone()
    }

    fn uuid(&self) -> String {
        self.vm
            .machine
            .config()
            .uuid
            .clone()
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into())
    }

    fn version(&self) -> String {
        let v = crate::monitors::version();
        format!(
            "{}.{}.{}{}",
            v.qemu.major, v.qemu.minor, v.qemu.micro, v.package
        )
    }

    fn qom_list(&mut self, path: &str) -> HmpResult<Vec<(String, String)>> {
        let list = self
            .qmp("qom-list", json!({ "path": path }))
            .map_err(desc)?;
        Ok(list
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p["name"].as_str().unwrap_or_default().to_string(),
                            p["type"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    fn qom_get(&mut self, path: &str, property: &str) -> HmpResult<Value> {
        self.qmp("qom-get", json!({"path": path, "property": property}))
            .map_err(desc)
    }

    fn qom_get_pretty(&mut self, path: &str, property: &str) -> HmpResult<String> {
        self.qom_get(path, property)
            .map(|v| monitor::json::to_qmp_pretty_string(&v))
    }

    fn qom_set(&mut self, path: &str, property: &str, value: QomSetValue) -> HmpResult<()> {
        let value = match value {
            QomSetValue::Json(v) => v,
            QomSetValue::Text(text) => {
                // Without -j the text is parsed by the property's type (QEMU's string
                // input visitor).
                let ty = self
                    .qom_list(path)?
                    .into_iter()
                    .find(|(n, _)| n == property)
                    .map(|(_, t)| t)
                    .unwrap_or_default();
                text_value(&ty, &text)
            }
        };
        self.qmp(
            "qom-set",
            json!({"path": path, "property": property, "value": value}),
        )
        .map(|_| ())
        .map_err(desc)
    }

    fn info_pci(&mut self) -> String {
        if !self.vm.machine.has_board() {
            return String::new();
        }
        devices::info_pci(self.vm)
    }

    fn info_qtree(&mut self, brief: bool) -> String {
        if !self.vm.machine.has_board() {
            return empty_board::info_qtree();
        }
        devices::info_qtree(self.vm, brief)
    }

    fn info_mtree(
        &mut self,
        flatview: bool,
        dispatch: bool,
        owner: bool,
        disabled: bool,
    ) -> String {
        if !self.vm.machine.has_board() {
            return empty_board::info_mtree(self.vm.machine.ram_size(), flatview);
        }
        devices::info_mtree(self.vm, flatview, dispatch, owner, disabled)
    }

    fn chardevs(&mut self) -> Vec<(String, String)> {
        // The same list as `query-chardev`.
        self.context
            .chardevs
            .iter()
            .map(|c| (c.label.clone(), c.filename.clone()))
            .collect()
    }

    fn history(&mut self) -> String {
        self.context.history.clone()
    }

    fn info_lapic(&mut self, cpu: usize) -> String {
        devices::info_lapic(self.vm, cpu)
    }

    fn info_pic(&mut self) -> String {
        if !self.vm.machine.has_board() {
            return String::new();
        }
        devices::info_pic(self.vm)
    }

    fn info_irq(&mut self) -> String {
        if !self.vm.machine.has_board() {
            return String::new();
        }
        "IRQ statistics for kvm-ioapic:\nIRQ statistics for kvm-i8259:\n".into()
    }

    fn dump_status(&self) -> (String, u64, u64) {
        let q = crate::dump::query();
        (q.status.as_str().into(), q.completed as u64, q.total as u64)
    }

    fn dump_guest_memory(
        &mut self,
        filename: &str,
        paging: bool,
        detach: bool,
        range: Option<(u64, u64)>,
    ) -> Option<HmpResult<()>> {
        // As QEMU's hmp_dump_guest_memory: the argument is always a file name.
        Some(self.qmp_unit(Command::DumpGuestMemory(DumpGuestMemoryArgs {
            paging,
            protocol: format!("file:{filename}"),
            detach: Some(detach),
            begin: range.map(|r| r.0 as i64),
            length: range.map(|r| r.1 as i64),
            format: None,
        })))
    }
}

/// A `qom-set` text value as QEMU's string input visitor reads it for type `ty`.
fn text_value(ty: &str, text: &str) -> Value {
    match ty {
        "bool" => crate::options::value::parse_bool(text)
            .map_or_else(|| Value::String(text.to_string()), Value::Bool),
        "int" | "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64"
        | "size" | "uint64_t" | "uint32_t" | "uint16_t" | "uint8_t" | "int32_t" | "int64_t" => {
            if let Ok(v) = text.parse::<i64>() {
                Value::from(v)
            } else if let Ok(v) = text.parse::<u64>() {
                Value::from(v)
            } else if let Some(v) = text
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
            {
                Value::from(v)
            } else {
                Value::String(text.to_string())
            }
        }
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends() {
        assert_eq!(crlf("a\nb\n"), "a\r\nb\r\n");
        assert_eq!(crlf(""), "");
    }

    #[test]
    fn qom_text_values() {
        assert_eq!(text_value("bool", "on"), Value::Bool(true));
        assert_eq!(text_value("int", "7"), Value::from(7));
        assert_eq!(text_value("string", "7"), Value::from("7"));
    }
}
