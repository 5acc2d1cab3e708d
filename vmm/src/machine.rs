//! The virtual machine: KVM VM and vCPUs, guest RAM, buses and devices, boot, and the run-state
//! operations the monitor drives (stop, cont, reset).

use std::io::Write;
use std::sync::{Arc, Mutex};

use devices::acpi_ged::{self, AcpiGed};
use devices::acpi_pm::{self, AcpiPmDevice};
use devices::bus::{Bus, BusError};
use devices::legacy::i8042::{i8042_ports, COMMAND_PORT, DATA_PORT};
use devices::legacy::serial::{SerialPort, COM_PORTS, UART_PORT_COUNT};
use kvm_bindings::{
    kvm_cpuid_entry2, kvm_fpu, kvm_irqchip, kvm_lapic_state, kvm_mp_state, kvm_pit_config,
    kvm_pit_state2, kvm_regs, kvm_sregs, kvm_userspace_memory_region, KVM_IRQCHIP_IOAPIC,
    KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE, KVM_MAX_CPUID_ENTRIES, KVM_MP_STATE_RUNNABLE,
    KVM_MP_STATE_UNINITIALIZED, KVM_PIT_SPEAKER_DUMMY,
};
use kvm_ioctls::{Cap, Kvm, VcpuFd, VmFd};
use thiserror::Error;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryRegion};
use vmm_sys_util::eventfd::EventFd;

use crate::arch::{acpi, cpuid, lapic, layout, mptable, msr, regs};
use crate::boot::{self, BootError, BootSpec};
use crate::config::VmConfig;
use crate::cpu_state::CpuState;
use crate::guest_access::{translate, TranslateError};
use crate::machine_events::MachineEvents;
use crate::memory::{create_guest_ram, GuestRam, MemoryError, RamLayout};
use crate::options::machine::Family;
use crate::os_error::kvm_strerror;
use crate::pci_devices;
use crate::run_state::RunState;
use crate::vcpu::control::Want;
use crate::vcpu::{Buses, VcpuHandle};
use devices::pci::{
    PciBus, PciConfigIo, PciMmioWindow, PCI_CONFIG_IO_PORT, PCI_CONFIG_IO_PORT_COUNT,
};

#[derive(Debug, Error)]
pub enum MachineError {
    #[error(
        "Could not access KVM kernel module: {}\nvmm: failed to initialize kvm: {}",
        kvm_strerror(.0),
        kvm_strerror(.0)
    )]
    KvmOpen(kvm_ioctls::Error),
    #[error("failed to initialize kvm: {}", kvm_strerror(.0))]
    Kvm(kvm_ioctls::Error),
    #[error("kvm does not support {0}")]
    MissingCap(&'static str),
    #[error("{0}")]
    Memory(#[from] MemoryError),
    #[error("{0}")]
    Boot(#[from] BootError),
    #[error("guest memory: {0}")]
    GuestMemory(#[from] vm_memory::GuestMemoryError),
    #[error("device setup: {0}")]
    Bus(#[from] BusError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Device(#[from] pci_devices::DeviceError),
    #[error("the vCPU thread is gone")]
    VcpuGone,
    #[error("Invalid CPU index")]
    InvalidCpu,
}

/// A vCPU's state at creation, restored on every reset (KVM has no vCPU reset ioctl).
#[derive(Clone)]
struct PristineVcpu {
    regs: kvm_regs,
    sregs: kvm_sregs,
    fpu: kvm_fpu,
    lapic: kvm_lapic_state,
}

/// The in-kernel interrupt controllers' state at creation, restored on reset.
struct PristineIrqchips {
    chips: Vec<kvm_irqchip>,
    pit: kvm_pit_state2,
}

/// The backend each COM port writes to.
pub type SerialOutput = Box<dyn Write + Send>;

pub struct Machine {
    vm_fd: Arc<VmFd>,
    /// The machine type's family, resolved once; `None` (`-machine none`) has no vCPUs,
    /// devices or firmware, and RAM only if `-m` asks.
    family: Family,
    mem: GuestRam,
    ram_size: u64,
    config: VmConfig,
    builtin_kernel: &'static [u8],
    vcpus: Vec<VcpuHandle>,
    pristine_vcpus: Vec<PristineVcpu>,
    pristine_irqchips: PristineIrqchips,
    serials: Vec<Option<Arc<Mutex<SerialPort>>>>,
    pci_bus: Arc<PciBus>,
    balloon: Option<pci_devices::BalloonDevice>,
    ged: Option<Arc<Mutex<AcpiGed>>>,
    serial_input_space: Vec<Option<EventFd>>,
    run_state: RunState,
    _kvm: Kvm,
}

fn kvm_err(e: kvm_ioctls::Error) -> MachineError {
    MachineError::Kvm(e)
}

impl Machine {
    /// Builds the VM, loads the guest and creates the vCPU threads, waiting for [`Self::start`].
    pub fn new(
        config: &VmConfig,
        builtin_kernel: &'static [u8],
        serial_outputs: Vec<Option<SerialOutput>>,
        events: Arc<MachineEvents>,
    ) -> Result<Machine, MachineError> {
        let kvm = Kvm::new().map_err(MachineError::KvmOpen)?;
        for (cap, name) in [
            (Cap::Irqchip, "KVM_CAP_IRQCHIP"),
            (Cap::UserMemory, "KVM_CAP_USER_MEMORY"),
            (Cap::Irqfd, "KVM_CAP_IRQFD"),
            (Cap::ImmediateExit, "KVM_CAP_IMMEDIATE_EXIT"),
            (Cap::SetTssAddr, "KVM_CAP_SET_TSS_ADDR"),
        ] {
            if !kvm.check_extension(cap) {
                return Err(MachineError::MissingCap(name));
            }
        }
        let vm_fd = Arc::new(kvm.create_vm().map_err(kvm_err)?);
        vm_fd
            .set_tss_address(layout::KVM_TSS_START as usize)
            .map_err(kvm_err)?;
        vm_fd
            .set_identity_map_address(layout::KVM_IDENTITY_MAP_START)
            .map_err(kvm_err)?;
        // `none` (libvirt's probe) still gets the KVM VM and its in-kernel irqchip, as QEMU's
        // accelerator init creates them whatever the machine.
        let family = config.machine.family();
        let has_board = family != Family::None;
        let ram_size = config.memory.size;
        let layout = if has_board {
            RamLayout::PciHole
        } else {
            RamLayout::Flat
        };
        let mem = create_guest_ram(ram_size, layout, config.mem_prealloc)?;
        for (slot, region) in mem.iter().enumerate() {
            let region_desc = kvm_userspace_memory_region {
                slot: slot as u32,
                guest_phys_addr: region.start_addr().0,
                memory_size: region.len(),
                userspace_addr: region.as_ptr() as u64,
                flags: 0,
            };
            // SAFETY: the region is a live mapping owned by `mem`, which the Machine keeps
            // for as long as the VM exists.
            unsafe { vm_fd.set_user_memory_region(region_desc) }.map_err(kvm_err)?;
        }

        // After the memory slots: registering slots once an irqchip exists costs milliseconds
        // of start-up on this kind of host (measured by the QMP benchmark).
        vm_fd.create_irq_chip().map_err(kvm_err)?;
        let pit_config = kvm_pit_config {
            flags: KVM_PIT_SPEAKER_DUMMY,
            ..Default::default()
        };
        vm_fd.create_pit2(pit_config).map_err(kvm_err)?;

        // QEMU's `none` creates no CPU whatever -smp says.
        let vcpu_count = if has_board { config.smp.cpus } else { 0 };
        let apic_ids: Vec<u8> = (0..vcpu_count).map(|i| i as u8).collect();

        // Devices.
        let mut io_bus = Bus::new();
        let mut serials = Vec::new();
        let mut serial_input_space = Vec::new();
        for (i, out) in serial_outputs.into_iter().enumerate().take(COM_PORTS.len()) {
            let Some(out) = out else {
                serials.push(None);
                serial_input_space.push(None);
                continue;
            };
            let (base, irq) = COM_PORTS[i];
            let irq_evt = EventFd::new(libc::EFD_NONBLOCK)?;
            vm_fd.register_irqfd(&irq_evt, irq).map_err(kvm_err)?;
            let space = EventFd::new(libc::EFD_NONBLOCK)?;
            let port = Arc::new(Mutex::new(SerialPort::new(
                irq_evt,
                space.try_clone()?,
                out,
            )));
            io_bus.insert(port.clone(), base, UART_PORT_COUNT)?;
            serials.push(Some(port));
            serial_input_space.push(Some(space));
        }
        if has_board {
            let (data, command) = i8042_ports(events.clone());
            io_bus.insert(Arc::new(Mutex::new(data)), DATA_PORT, 1)?;
            io_bus.insert(Arc::new(Mutex::new(command)), COMMAND_PORT, 1)?;
            io_bus.insert(
                Arc::new(Mutex::new(AcpiPmDevice::new(events.clone()))),
                layout::ACPI_PM_PORT,
                acpi_pm::PORT_COUNT,
            )?;
        }
        let pci = pci_devices::build(config, &mem, &vm_fd, &events)?;
        io_bus.insert(
            Arc::new(Mutex::new(PciConfigIo::new(pci.bus.clone()))),
            PCI_CONFIG_IO_PORT,
            PCI_CONFIG_IO_PORT_COUNT,
        )?;
        let mut mmio_bus = Bus::new();
        mmio_bus.insert(
            Arc::new(Mutex::new(PciMmioWindow::new(
                pci.bus.clone(),
                layout::PCI_MMIO32_START,
            ))),
            layout::PCI_MMIO32_START,
            layout::PCI_MMIO32_END - layout::PCI_MMIO32_START,
        )?;
        // The power button is the board's (`none` has no ACPI).
        let ged = if has_board {
            let ged_irq = EventFd::new(libc::EFD_NONBLOCK)?;
            vm_fd
                .register_irqfd(&ged_irq, layout::ACPI_GED_IRQ)
                .map_err(kvm_err)?;
            let ged = Arc::new(Mutex::new(AcpiGed::new(ged_irq)));
            mmio_bus.insert(ged.clone(), layout::ACPI_GED_START, acpi_ged::SELECTOR_LEN)?;
            Some(ged)
        } else {
            None
        };
        let buses = Buses {
            io: Arc::new(io_bus),
            mmio: Arc::new(mmio_bus),
        };

        // vCPUs: CPUID before MSRs (host kernels hide MSRs the CPUID does not advertise).
        let supported = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(kvm_err)?;
        let tsc_deadline = kvm.check_extension(Cap::TscDeadlineTimer);
        let topology = cpuid::CpuTopology {
            threads_per_core: config.smp.threads,
            cores_per_socket: config.smp.cores,
            vcpus: vcpu_count,
        };
        let mut fds = Vec::new();
        let mut pristine_vcpus = Vec::new();
        for index in 0..vcpu_count {
            let fd = vm_fd.create_vcpu(u64::from(index)).map_err(kvm_err)?;
            let mut cpuid = supported.clone();
            cpuid::normalize(
                &mut cpuid,
                u32::from(apic_ids[index as usize]),
                topology,
                tsc_deadline,
            );
            fd.set_cpuid2(&cpuid).map_err(kvm_err)?;
            fd.set_msrs(&msr::boot_msrs()).map_err(kvm_err)?;
            let mut lapic_state = fd.get_lapic().map_err(kvm_err)?;
            lapic::set_lint(&mut lapic_state);
            fd.set_lapic(&lapic_state).map_err(kvm_err)?;
            pristine_vcpus.push(PristineVcpu {
                regs: fd.get_regs().map_err(kvm_err)?,
                sregs: fd.get_sregs().map_err(kvm_err)?,
                fpu: fd.get_fpu().map_err(kvm_err)?,
                lapic: lapic_state,
            });
            fds.push(fd);
        }
        let pristine_irqchips = save_irqchips(&vm_fd)?;

        let mut machine = Machine {
            vm_fd,
            family,
            mem,
            ram_size,
            config: config.clone(),
            builtin_kernel,
            vcpus: Vec::new(),
            pristine_vcpus,
            pristine_irqchips,
            serials,
            serial_input_space,
            pci_bus: pci.bus,
            balloon: pci.balloon,
            ged,
            // vCPUs wait until `start`, so chardevs with wait=on can connect first.
            run_state: RunState::Prelaunch,
            _kvm: kvm,
        };
        if let Some(bsp) = fds.first_mut() {
            let entry = machine.load_guest()?;
            machine.boot_vcpu_state(0, entry)?.apply(bsp)?;
        }
        let want = Want::Pause;
        for (index, fd) in fds.into_iter().enumerate() {
            let name = format!("CPU {index}/KVM");
            let handle =
                VcpuHandle::spawn(index as u32, fd, buses.clone(), events.clone(), want, name)?;
            machine.vcpus.push(handle);
        }
        Ok(machine)
    }

    /// Lets the vCPUs run, unless `-S` keeps the VM in `prelaunch` until `cont`.
    pub fn start(&mut self) {
        if !self.config.start_paused {
            // As QEMU's vm_start at start-up, nobody waits for the vCPUs to take the request
            // (they may not even be scheduled yet); a later stop waits for them as usual.
            for v in &self.vcpus {
                v.request(Want::Run);
            }
            self.run_state = RunState::Running;
        }
    }

    /// Writes the kernel, boot parameters and firmware tables into RAM.
    fn load_guest(&self) -> Result<regs::BootEntry, MachineError> {
        let cmdline = self.config.append.clone().unwrap_or_default();
        let spec = BootSpec {
            kernel: self.config.kernel.as_deref(),
            builtin_kernel: self.builtin_kernel,
            initrd: self.config.initrd.as_deref(),
            cmdline: &cmdline,
            ram_size: self.ram_size,
        };
        let entry = boot::load(&self.mem, &spec)?;
        let apic_ids: Vec<u8> = (0..self.config.smp.cpus).map(|i| i as u8).collect();
        // The MP table must fit in the last KiB of base memory; with many vCPUs only ACPI
        // describes them.
        let mp = mptable::build(&apic_ids, acpi::ioapic_id(self.config.smp.cpus));
        if layout::EBDA_START as usize + mp.len() <= 0xa0000 {
            self.mem
                .write_slice(&mp, GuestAddress(layout::EBDA_START))?;
        }
        for blob in acpi::build_tables(&apic_ids) {
            self.mem.write_slice(&blob.bytes, GuestAddress(blob.addr))?;
        }
        Ok(entry)
    }

    /// The register state vCPU `index` starts with: its pristine state, plus the boot entry
    /// for the bootstrap processor. APs wait for INIT/SIPI.
    fn boot_vcpu_state(
        &self,
        index: usize,
        entry: regs::BootEntry,
    ) -> Result<VcpuBootState, MachineError> {
        let pristine = self.pristine_vcpus[index].clone();
        let mut state = VcpuBootState {
            regs: pristine.regs,
            sregs: pristine.sregs,
            fpu: pristine.fpu,
            lapic: pristine.lapic,
            mp_state: KVM_MP_STATE_UNINITIALIZED,
        };
        if index == 0 {
            state.regs = regs::boot_regs(entry);
            state.fpu = regs::boot_fpu();
            regs::setup_boot_sregs(&self.mem, entry, &mut state.sregs)?;
            state.mp_state = KVM_MP_STATE_RUNNABLE;
        }
        Ok(state)
    }

    pub fn run_state(&self) -> RunState {
        self.run_state
    }

    /// Changes the run state without touching the vCPUs (QEMU's `runstate_set`), e.g. to
    /// `prelaunch` after a reset of a stopped VM.
    pub fn set_run_state(&mut self, state: RunState) {
        self.run_state = state;
    }

    /// Host thread ids of the vCPU threads, by vCPU index.
    pub fn vcpu_thread_ids(&self) -> Vec<i32> {
        self.vcpus.iter().map(VcpuHandle::thread_id).collect()
    }

    /// False for `-machine none`, which has no vCPUs, devices or firmware.
    pub fn has_board(&self) -> bool {
        self.family != Family::None
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn vcpu_count(&self) -> usize {
        self.vcpus.len()
    }

    pub fn ram_size(&self) -> u64 {
        self.ram_size
    }

    pub fn mem(&self) -> &GuestRam {
        &self.mem
    }

    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    fn pause_vcpus(&self) {
        for v in &self.vcpus {
            v.request(Want::Pause);
        }
        for v in &self.vcpus {
            v.wait_stopped();
        }
    }

    fn resume_vcpus(&self) {
        for v in &self.vcpus {
            v.request(Want::Run);
        }
        for v in &self.vcpus {
            v.wait_running();
        }
    }

    /// Stops every vCPU and enters `state` (QEMU's `vm_stop`). Returns false if the VM was
    /// already stopped (no STOP event is due then).
    pub fn stop(&mut self, state: RunState) -> bool {
        // As QEMU's do_vm_stop: a VM that is not running keeps its state (`stop` under -S
        // stays in prelaunch).
        if !self.run_state.is_running() {
            return false;
        }
        self.pause_vcpus();
        self.run_state = state;
        true
    }

    /// Resumes every vCPU (QEMU's `vm_start`). Returns false if it was already running.
    pub fn resume(&mut self) -> bool {
        if self.run_state.is_running() {
            return false;
        }
        self.resume_vcpus();
        self.run_state = RunState::Running;
        true
    }

    /// Resets the machine as a power cycle would, short of clearing RAM: devices, interrupt
    /// controllers, every vCPU, and the kernel and firmware tables reloaded (QEMU reloads its
    /// ROM blobs). The run state is kept; a vCPU stopped by a fatal exit runs again.
    pub fn reset(&mut self) -> Result<(), MachineError> {
        if !self.has_board() {
            // Nothing to reset: no vCPU, device or firmware.
            return Ok(());
        }
        self.pause_vcpus();
        let entry = self.load_guest()?;
        restore_irqchips(&self.vm_fd, &self.pristine_irqchips)?;
        // Stops device workers and resets every function, as a PCI reset does.
        self.pci_bus.reset();
        for serial in self.serials.iter().flatten() {
            devices::bus::lock(serial).reset()?;
        }
        if let Some(ged) = &self.ged {
            devices::bus::lock(ged).reset();
        }
        for (index, vcpu) in self.vcpus.iter().enumerate() {
            let state = self.boot_vcpu_state(index, entry)?;
            vcpu.run_on(move |fd| state.apply(fd))
                .ok_or(MachineError::VcpuGone)??;
            vcpu.clear_halted_by_exit();
        }
        if self.run_state.is_running() {
            self.resume_vcpus();
        }
        Ok(())
    }

    /// Presses the ACPI power button (`system_powerdown`): the guest's OSPM decides what
    /// happens, as with QEMU.
    pub fn press_power_button(&self) {
        if let Some(ged) = &self.ged {
            devices::bus::lock(ged).power_button();
        }
    }

    /// Registers of vCPU `index`, read on its thread.
    pub fn cpu_state(&self, index: usize) -> Result<CpuState, MachineError> {
        let vcpu = self.vcpus.get(index).ok_or(MachineError::InvalidCpu)?;
        vcpu.run_on(|fd| CpuState::capture(fd))
            .ok_or(MachineError::VcpuGone)?
            .map_err(kvm_err)
    }

    /// The CPUID table vCPU `index` runs with (KVM_GET_CPUID2), read on its thread.
    pub fn vcpu_cpuid(&self, index: usize) -> Result<Vec<kvm_cpuid_entry2>, MachineError> {
        let vcpu = self.vcpus.get(index).ok_or(MachineError::InvalidCpu)?;
        vcpu.run_on(|fd| {
            fd.get_cpuid2(KVM_MAX_CPUID_ENTRIES)
                .map(|c| c.as_slice().to_vec())
        })
        .ok_or(MachineError::VcpuGone)?
        .map_err(kvm_err)
    }

    /// vCPU `index`'s TSC frequency in kHz (KVM_GET_TSC_KHZ), read on its thread.
    pub fn vcpu_tsc_khz(&self, index: usize) -> Result<u32, MachineError> {
        let vcpu = self.vcpus.get(index).ok_or(MachineError::InvalidCpu)?;
        vcpu.run_on(|fd| fd.get_tsc_khz())
            .ok_or(MachineError::VcpuGone)?
            .map_err(kvm_err)
    }

    /// Guest-virtual → guest-physical with vCPU `index`'s paging state.
    pub fn translate(
        &self,
        index: usize,
        gva: u64,
    ) -> Result<Result<u64, TranslateError>, MachineError> {
        let state = self.cpu_state(index)?;
        Ok(translate(&self.mem, &state.sregs, gva))
    }

    /// Reads guest-physical memory; fails if any byte is outside RAM.
    pub fn read_phys(&self, addr: u64, buf: &mut [u8]) -> Result<(), vm_memory::GuestMemoryError> {
        self.mem.read_slice(buf, GuestAddress(addr))
    }

    /// Writes guest-physical memory; fails if any byte is outside RAM.
    pub fn write_phys(&self, addr: u64, buf: &[u8]) -> Result<(), vm_memory::GuestMemoryError> {
        self.mem.write_slice(buf, GuestAddress(addr))
    }

    /// The virtio balloon, if configured.
    pub fn balloon(&self) -> Option<&pci_devices::BalloonDevice> {
        self.balloon.as_ref()
    }

    /// COM port `index`, if present.
    pub fn serial(&self, index: usize) -> Option<&Arc<Mutex<SerialPort>>> {
        self.serials.get(index)?.as_ref()
    }

    /// For COM port `index`: signalled when the guest empties its receive FIFO.
    pub fn serial_input_space(&self, index: usize) -> Option<&EventFd> {
        self.serial_input_space.get(index)?.as_ref()
    }

    /// Runs `f` on vCPU `index`'s thread, between KVM_RUN calls (the monitor's register,
    /// FPU and LAPIC reads, NMI injection); None if there is no such vCPU or it is gone.
    pub fn run_on_vcpu<R: Send + 'static>(
        &self,
        index: usize,
        f: impl FnOnce(&mut VcpuFd) -> R + Send + 'static,
    ) -> Option<R> {
        self.vcpus.get(index)?.run_on(f)
    }

    /// The KVM VM (for the in-kernel interrupt controllers' state).
    pub fn vm_fd(&self) -> &VmFd {
        &self.vm_fd
    }

    /// PCI bus 0.
    pub fn pci_bus(&self) -> &Arc<PciBus> {
        &self.pci_bus
    }

    /// Stops and joins every vCPU thread.
    pub fn shutdown(&mut self) {
        self.vcpus.clear();
    }
}

/// Everything a vCPU's reset writes.
#[derive(Clone, Copy)]
struct VcpuBootState {
    regs: kvm_regs,
    sregs: kvm_sregs,
    fpu: kvm_fpu,
    lapic: kvm_lapic_state,
    mp_state: u32,
}

impl VcpuBootState {
    fn apply(&self, fd: &mut VcpuFd) -> Result<(), MachineError> {
        fd.set_sregs(&self.sregs).map_err(kvm_err)?;
        fd.set_regs(&self.regs).map_err(kvm_err)?;
        fd.set_fpu(&self.fpu).map_err(kvm_err)?;
        fd.set_msrs(&msr::boot_msrs()).map_err(kvm_err)?;
        fd.set_lapic(&self.lapic).map_err(kvm_err)?;
        fd.set_mp_state(kvm_mp_state {
            mp_state: self.mp_state,
        })
        .map_err(kvm_err)?;
        Ok(())
    }
}

fn save_irqchips(vm: &VmFd) -> Result<PristineIrqchips, MachineError> {
    let mut chips = Vec::new();
    for id in [
        KVM_IRQCHIP_PIC_MASTER,
        KVM_IRQCHIP_PIC_SLAVE,
        KVM_IRQCHIP_IOAPIC,
    ] {
        let mut chip = kvm_irqchip {
            chip_id: id,
            ..Default::default()
        };
        vm.get_irqchip(&mut chip).map_err(kvm_err)?;
        chips.push(chip);
    }
    Ok(PristineIrqchips {
        chips,
        pit: vm.get_pit2().map_err(kvm_err)?,
    })
}

fn restore_irqchips(vm: &VmFd, saved: &PristineIrqchips) -> Result<(), MachineError> {
    for chip in &saved.chips {
        vm.set_irqchip(chip).map_err(kvm_err)?;
    }
    vm.set_pit2(&saved.pit).map_err(kvm_err)
}
