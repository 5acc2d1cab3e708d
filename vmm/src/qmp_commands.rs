//! QMP commands that act on the machine, each answering as QEMU 10 does for this machine.

use monitor::vm::{Effects, FdSource, Reply};
use qapi::types::{
    CpuInfoFast, CpuInfoFastVariant, CpuInstanceProperties, CurrentMachineParams, HotpluggableCPU,
    KvmInfo, MachineInfo, MemorySizeSummary, NameInfo, StatusInfo, SysEmuTarget, TargetInfo,
    UuidInfo,
};
use qapi::{Command, Event, QapiError};
use serde_json::Value;

use crate::options::machine::{self as machine_types, Family};
use crate::run_state::{RunState, ShutdownCause};
use crate::vm_backend::{empty, to_value, VmBackend};

/// Runs a command; those that write files answer later, from a worker thread.
pub fn execute(
    vm: &mut VmBackend,
    command: Command,
    fds: &mut dyn FdSource,
    fx: &mut Effects,
) -> Reply {
    match command {
        Command::Memsave(a) => {
            let cpu = match a.cpu_index {
                None if vm.current_cpu < vm.machine.vcpu_count() => vm.current_cpu,
                Some(i) if i >= 0 && (i as usize) < vm.machine.vcpu_count() => i as usize,
                _ => {
                    return Reply::Now(Err(QapiError::generic(
                        "Parameter 'cpu-index' expects a CPU number",
                    )))
                }
            };
            crate::memsave::memsave(vm, cpu, a.val, a.size, a.filename)
        }
        Command::Pmemsave(a) => crate::memsave::pmemsave(vm, a.val, a.size, a.filename),
        Command::DumpGuestMemory(a) => crate::dump::dump_guest_memory(vm, a.into(), fds, fx),
        other => Reply::Now(execute_now(vm, other, fx)),
    }
}

/// The commands answered on the spot.
fn execute_now(vm: &mut VmBackend, command: Command, fx: &mut Effects) -> Result<Value, QapiError> {
    match command {
        Command::QueryStatus => {
            let state = vm.machine.run_state();
            Ok(to_value(StatusInfo {
                running: state.is_running(),
                status: qapi_run_state(state),
            }))
        }
        Command::Stop => {
            crate::dump::check_not_in_progress(vm)?;
            vm.vm_stop(RunState::Paused, fx);
            Ok(empty())
        }
        Command::Cont => {
            crate::dump::check_not_in_progress(vm)?;
            if matches!(
                vm.machine.run_state(),
                RunState::InternalError | RunState::Shutdown | RunState::GuestPanicked
            ) {
                return Err(QapiError::generic(
                    "Resetting the Virtual Machine is required",
                ));
            }
            vm.vm_start(fx);
            Ok(empty())
        }
        Command::SystemReset => {
            vm.reset_request(ShutdownCause::HostQmpSystemReset, fx);
            Ok(empty())
        }
        Command::SystemPowerdown => {
            // The event, then the ACPI power button (the GED); the guest decides the rest.
            fx.events.push(Event::Powerdown);
            vm.machine.press_power_button();
            Ok(empty())
        }
        Command::Quit => {
            vm.shutdown_request(ShutdownCause::HostQmpQuit, fx);
            fx.exit = Some(0);
            Ok(empty())
        }
        Command::QueryName => Ok(to_value(NameInfo {
            name: vm.machine.config().name.guest.clone(),
        })),
        Command::QueryUuid => Ok(to_value(UuidInfo {
            uuid: vm
                .machine
                .config()
                .uuid
                .clone()
                .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".into()),
        })),
        Command::QueryKvm => Ok(to_value(KvmInfo {
            enabled: true,
            present: true,
        })),
        Command::QueryTarget => Ok(to_value(TargetInfo {
            arch: SysEmuTarget::X86_64,
        })),
        Command::InjectNmi => inject_nmi(vm).map(|()| empty()),
        Command::QueryMachines(a) => Ok(to_value(query_machines(a.compat_props.unwrap_or(false)))),
        Command::QueryCurrentMachine => Ok(to_value(CurrentMachineParams {
            wakeup_suspend_support: false,
        })),
        Command::QueryCpusFast => Ok(to_value(query_cpus_fast(vm))),
        Command::QueryHotpluggableCpus => query_hotpluggable_cpus(vm).map(to_value),
        Command::QueryMemorySizeSummary => Ok(to_value(MemorySizeSummary {
            base_memory: vm.machine.ram_size(),
            plugged_memory: Some(0),
        })),
        Command::Balloon(a) => vm.balloon_target(a.value).map(|()| empty()),
        Command::QueryBalloon => vm
            .balloon_actual()
            .map(|actual| to_value(qapi::types::BalloonInfo { actual })),
        Command::XQueryVirtio => {
            let devices = x_query_virtio(vm);
            if devices.is_empty() {
                return Err(QapiError::generic("No virtio devices found"));
            }
            Ok(to_value(devices))
        }
        Command::MigratePause => Err(QapiError::generic(
            "migrate-pause is currently only supported during postcopy-active or postcopy-recover state",
        )),
        Command::MigrateRecover(_) => Err(QapiError::generic(
            "Migrate recover can only be run when postcopy is paused.",
        )),
        Command::QueryDump => Ok(to_value(crate::dump::query())),
        Command::QueryDumpGuestMemoryCapability => {
            Ok(to_value(qapi::types::DumpGuestMemoryCapability {
                formats: crate::dump::formats(),
            }))
        }
        other => crate::qom_commands::execute(vm, other),
    }
}

pub fn qapi_run_state(s: RunState) -> qapi::types::RunState {
    use qapi::types::RunState as Q;
    match s {
        RunState::Prelaunch => Q::Prelaunch,
        RunState::Running => Q::Running,
        RunState::Paused => Q::Paused,
        RunState::Shutdown => Q::Shutdown,
        RunState::InternalError => Q::InternalError,
        RunState::GuestPanicked => Q::GuestPanicked,
        RunState::SaveVm => Q::SaveVm,
    }
}

fn query_machines(compat_props: bool) -> Vec<MachineInfo> {
    let mut machines = machine_types::all();
    crate::qom::sort_by_type_table_walk(&mut machines, |m| m.qom_type());
    machines
        .into_iter()
        .map(|m| {
            let versioned_pc = matches!(m.family, Family::I440fx | Family::Q35);
            MachineInfo {
                name: m.name.clone(),
                alias: m.alias.map(str::to_string),
                is_default: m.is_default().then_some(true),
                cpu_max: i64::from(m.max_cpus()),
                hotpluggable_cpus: versioned_pc,
                numa_mem_supported: m.version.is_some_and(|v| v < (5, 1, 0)),
                deprecated: m.deprecated(),
                default_cpu_type: (m.family != Family::None).then(|| "qemu64-x86_64-cpu".into()),
                default_ram_id: match m.family {
                    Family::None => Some("ram".into()),
                    Family::Microvm => Some("microvm.ram".into()),
                    _ => Some("pc.ram".into()),
                },
                acpi: m.family != Family::None,
                compat_props: compat_props.then(Vec::new),
            }
        })
        .collect()
}

/// The CPU's place in the -smp topology.
pub fn cpu_props(vm: &VmBackend, index: usize) -> CpuInstanceProperties {
    let smp = vm.machine.config().smp;
    let threads = smp.threads.max(1) as usize;
    let cores = smp.cores.max(1) as usize;
    let dies = smp.dies.max(1) as usize;
    let mut props = CpuInstanceProperties {
        socket_id: Some((index / (threads * cores * dies)) as i64),
        core_id: Some(((index / threads) % cores) as i64),
        thread_id: Some((index % threads) as i64),
        ..Default::default()
    };
    if dies > 1 {
        props.die_id = Some(((index / (threads * cores)) % dies) as i64);
    }
    props
}

/// QOM type of the vCPUs (`-cpu` model).
pub fn cpu_type(vm: &VmBackend) -> String {
    let model = vm.machine.config().cpu_model.as_deref().unwrap_or("qemu64");
    let model = model.split(',').next().unwrap_or("qemu64");
    format!("{model}-x86_64-cpu")
}

/// vCPU `index`'s QOM path, numbered as QEMU numbers unattached devices.
pub fn cpu_qom_path(index: usize) -> String {
    format!(
        "/machine/unattached/device[{}]",
        crate::qom::cpu_device_index(index)
    )
}

fn query_cpus_fast(vm: &VmBackend) -> Vec<CpuInfoFast> {
    vm.machine
        .vcpu_thread_ids()
        .into_iter()
        .enumerate()
        .map(|(i, tid)| CpuInfoFast {
            cpu_index: i as i64,
            qom_path: cpu_qom_path(i),
            thread_id: i64::from(tid),
            props: Some(cpu_props(vm, i)),
            target: CpuInfoFastVariant::X86_64,
        })
        .collect()
}

/// Whether the machine type answers `query-hotpluggable-cpus` (pc and q35 do).
fn hotpluggable_cpus(vm: &VmBackend) -> bool {
    matches!(vm.machine.family(), Family::I440fx | Family::Q35)
}

/// `query-hotpluggable-cpus` (also HMP's `info hotpluggable-cpus`).
pub fn query_hotpluggable_cpus(vm: &VmBackend) -> Result<Vec<HotpluggableCPU>, QapiError> {
    // QEMU's `none` and microvm have no `possible_cpu_arch_ids` hook.
    if !hotpluggable_cpus(vm) {
        return Err(QapiError::generic(
            "machine does not support hot-plugging CPUs",
        ));
    }
    let plugged = vm.machine.vcpu_count();
    let possible = (vm.machine.config().smp.maxcpus as usize).max(plugged);
    let ty = cpu_type(vm);
    // QEMU prepends each slot, so the list comes out highest first.
    Ok((0..possible)
        .rev()
        .map(|i| HotpluggableCPU {
            r#type: ty.clone(),
            vcpus_count: 1,
            props: cpu_props(vm, i),
            qom_path: (i < plugged).then(|| cpu_qom_path(i)),
        })
        .collect())
}

/// `inject-nmi`: QEMU's x86 machines deliver the NMI to every vCPU; `none` has no NMI.
fn inject_nmi(vm: &VmBackend) -> Result<(), QapiError> {
    if !vm.machine.has_board() {
        return Err(QapiError::generic("machine does not provide NMIs"));
    }
    for i in 0..vm.machine.vcpu_count() {
        match vm.machine.run_on_vcpu(i, |fd| fd.nmi()) {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(QapiError::generic(format!(
                    "Failed to inject NMI: {}",
                    crate::os_error::kvm_strerror(&e)
                )))
            }
            None => return Err(QapiError::generic("The vCPU thread is gone")),
        }
    }
    Ok(())
}

/// `x-query-virtio`: the virtio devices and their backends' QOM paths.
fn x_query_virtio(vm: &VmBackend) -> Vec<qapi::types::VirtioInfo> {
    vm.machine
        .balloon()
        .map(|b| qapi::types::VirtioInfo {
            name: "virtio-balloon".into(),
            path: format!("{}/virtio-backend", vm.balloon_qom_path(b)),
        })
        .into_iter()
        .collect()
}
