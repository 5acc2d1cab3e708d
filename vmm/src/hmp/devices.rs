//! Views of this machine's devices in QEMU's text formats: `info pci`, `info qtree`,
//! `info mtree`, `info lapic` and `info pic`.

use std::fmt::Write;

use kvm_bindings::{
    kvm_irqchip, kvm_lapic_state, KVM_IRQCHIP_IOAPIC, KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
};

use crate::arch::lapic::get_reg;
use crate::arch::layout;
use crate::vm_backend::VmBackend;
use devices::acpi_ged;

/// QEMU's `pci_class_descriptions` (the classes this machine can show).
fn class_desc(class: u16) -> Option<&'static str> {
    Some(match class {
        0x0100 => "SCSI controller",
        0x0101 => "IDE controller",
        0x0102 => "Floppy controller",
        0x0104 => "RAID controller",
        0x0106 => "SATA controller",
        0x0180 => "Storage controller",
        0x0200 => "Ethernet controller",
        0x0280 => "Network controller",
        0x0300 => "VGA controller",
        0x0380 => "Display controller",
        0x0401 => "Audio controller",
        0x0403 => "Audio controller",
        0x0480 => "Multimedia controller",
        0x0500 => "RAM controller",
        0x0580 => "Memory controller",
        0x0600 => "Host bridge",
        0x0601 => "ISA bridge",
        0x0604 => "PCI bridge",
        0x0680 => "Bridge",
        0x0700 => "Serial port",
        0x0701 => "Parallel port",
        0x0800 => "Interrupt controller",
        0x0c03 => "USB controller",
        0x0c05 => "SMBus",
        _ => return None,
    })
}

fn cfg_read(vm: &VmBackend, devfn: u8, offset: usize, len: usize) -> u32 {
    let mut b = [0u8; 4];
    vm.machine
        .pci_bus()
        .config_read(0, devfn, offset, &mut b[..len]);
    u32::from_le_bytes(b)
}

/// `info pci`.
pub fn info_pci(vm: &VmBackend) -> String {
    let mut out = String::new();
    for f in vm.machine.pci_bus().functions() {
        // Placeholders hold an address for QEMU's onboard functions; the guest sees none.
        if f.device.is_none() {
            continue;
        }
        let devfn = f.devfn.raw();
        let vendor = cfg_read(vm, devfn, 0, 2);
        let device = cfg_read(vm, devfn, 2, 2);
        let command = cfg_read(vm, devfn, 4, 2);
        let class = cfg_read(vm, devfn, 0x0a, 2) as u16;
        let sub_vendor = cfg_read(vm, devfn, 0x2c, 2);
        let sub_id = cfg_read(vm, devfn, 0x2e, 2);
        let irq_line = cfg_read(vm, devfn, 0x3c, 1);
        let irq_pin = cfg_read(vm, devfn, 0x3d, 1);
        let _ = writeln!(
            out,
            "  Bus {:2}, device {:3}, function {}:",
            0,
            f.devfn.slot(),
            f.devfn.function()
        );
        out.push_str("    ");
        match class_desc(class) {
            Some(d) => out.push_str(d),
            None => {
                let _ = write!(out, "Class {class:04}");
            }
        }
        let _ = writeln!(out, ": PCI device {vendor:04x}:{device:04x}");
        let _ = writeln!(out, "      PCI subsystem {sub_vendor:04x}:{sub_id:04x}");
        if irq_pin != 0 {
            let _ = writeln!(
                out,
                "      IRQ {irq_line}, pin {}",
                char::from(b'A' + (irq_pin as u8).saturating_sub(1))
            );
        }
        // Virtio functions have one BAR: the 32-bit memory BAR 0 holding every region.
        if vendor == 0x1af4 {
            let bar = cfg_read(vm, devfn, 0x10, 4);
            let base = u64::from(bar & !0xf);
            let size = devices::virtio::pci::layout::BAR0_SIZE;
            let prefetch = if bar & 0x8 != 0 { " prefetchable" } else { "" };
            if command & 0x2 != 0 && base != 0 {
                let _ = writeln!(
                    out,
                    "      BAR0: 32 bit{prefetch} memory at 0x{base:08x} [0x{:08x}]",
                    base + size - 1
                );
            } else {
                let _ = writeln!(out, "      BAR0: 32 bit{prefetch} memory (not mapped)");
            }
        }
        let _ = writeln!(out, "      id \"{}\"", f.id.as_deref().unwrap_or(""));
    }
    out
}

/// `info qtree`: the buses and devices this machine has.
pub fn info_qtree(vm: &VmBackend, brief: bool) -> String {
    let mut out = String::from("bus: main-system-bus\n  type System\n");
    out.push_str("  dev: kvm-ioapic, id \"\"\n");
    if !brief {
        out.push_str("    gpio-in \"\" 24\n    gsi_base = 0 (0x0)\n");
        let _ = writeln!(
            out,
            "    mmio {:016x}/0000000000001000",
            layout::IOAPIC_START
        );
    }
    out.push_str("  dev: i440FX-pcihost, id \"\"\n");
    if !brief {
        let ram = vm.machine.ram_size();
        let below = crate::arch::memory_map::low_ram_end(ram);
        let above = ram - below;
        let _ = writeln!(
            out,
            "    below-4g-mem-size = {below} ({})",
            human_size(below)
        );
        let _ = writeln!(
            out,
            "    above-4g-mem-size = {above} ({})",
            human_size(above)
        );
        out.push_str("    pci-type = \"i440FX\"\n");
    }
    out.push_str("    bus: pci.0\n      type PCI\n");
    for f in vm.machine.pci_bus().functions() {
        if f.device.is_none() {
            continue;
        }
        let _ = writeln!(
            out,
            "      dev: {}, id \"{}\"",
            f.type_name,
            f.id.as_deref().unwrap_or("")
        );
        if !brief {
            let devfn = f.devfn.raw();
            let _ = writeln!(
                out,
                "        addr = {:02x}.{:x}",
                f.devfn.slot(),
                f.devfn.function()
            );
            let class = cfg_read(vm, devfn, 0x0a, 2);
            let _ = writeln!(
                out,
                "        class {}, addr 00:{:02x}.{:x}, pci id {:04x}:{:04x} (sub {:04x}:{:04x})",
                class_desc(class as u16)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("Class {class:04x}")),
                f.devfn.slot(),
                f.devfn.function(),
                cfg_read(vm, devfn, 0, 2),
                cfg_read(vm, devfn, 2, 2),
                cfg_read(vm, devfn, 0x2c, 2),
                cfg_read(vm, devfn, 0x2e, 2)
            );
        }
        if f.type_name == "virtio-balloon-pci" {
            out.push_str("        bus: virtio-bus\n          type virtio-pci-bus\n");
            out.push_str("          dev: virtio-balloon-device, id \"\"\n");
        }
    }
    out
}

/// QEMU's `size_to_str`.
fn human_size(v: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if v == 0 {
        return "0 B".into();
    }
    let mut i = 0;
    let mut x = v as f64;
    while x >= 1024.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v} B")
    } else {
        let s = format!("{x:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{s} {}", UNITS[i])
    }
}

#[derive(Clone)]
struct Region {
    start: u64,
    end: u64,
    prio: i32,
    kind: &'static str,
    name: String,
}

impl Region {
    /// A device's window at priority 0.
    fn io(start: u64, end: u64, name: &str) -> Region {
        Region {
            start,
            end,
            prio: 0,
            kind: "i/o",
            name: name.to_string(),
        }
    }
}

fn region_line(out: &mut String, indent: usize, r: &Region) {
    let _ = writeln!(
        out,
        "{:indent$}{:016x}-{:016x} (prio {}, {}): {}",
        "", r.start, r.end, r.prio, r.kind, r.name
    );
}

/// `info mtree [-f]`: the address spaces of this machine.
pub fn info_mtree(
    vm: &VmBackend,
    flatview: bool,
    _dispatch: bool,
    _owner: bool,
    _disabled: bool,
) -> String {
    let ram = vm.machine.ram_size();
    let below = crate::arch::memory_map::low_ram_end(ram);
    let above = ram - below;
    let mut bars = Vec::new();
    for f in vm.machine.pci_bus().functions() {
        let Some(dev) = &f.device else { continue };
        let windows = devices::bus::lock(dev).memory_windows();
        for (_, base, size) in windows {
            bars.push(Region {
                start: base,
                end: base + size - 1,
                prio: 1,
                kind: "i/o",
                name: format!("{}-bar", f.type_name),
            });
        }
    }
    let mut io = vec![
        Region::io(0x20, 0x21, "kvm-pic"),
        Region::io(0x40, 0x43, "kvm-pit"),
        Region::io(0x60, 0x60, "i8042-data"),
        Region::io(0x64, 0x64, "i8042-cmd"),
        Region::io(0xa0, 0xa1, "kvm-elcr"),
        Region::io(
            layout::ACPI_PM_PORT,
            layout::ACPI_PM_PORT + devices::acpi_pm::PORT_COUNT - 1,
            "acpi-pm",
        ),
        Region::io(0xcf8, 0xcff, "pci-conf"),
    ];
    for (i, (base, _)) in devices::legacy::serial::COM_PORTS.iter().enumerate() {
        if vm.machine.serial(i).is_some() {
            io.push(Region::io(*base, *base + 7, "serial"));
        }
    }
    io.sort_by_key(|r| r.start);
    // In the system memory region, after RAM and the PCI windows.
    let system = [
        Region::io(
            layout::ACPI_GED_START,
            layout::ACPI_GED_START + acpi_ged::SELECTOR_LEN - 1,
            "acpi-ged",
        ),
        Region::io(
            layout::IOAPIC_START,
            layout::IOAPIC_START + 0xfff,
            "kvm-ioapic",
        ),
        Region {
            prio: 4096,
            ..Region::io(layout::LAPIC_START, 0xfeef_ffff, "kvm-apic-msi")
        },
    ];
    let mut out = String::new();
    let cpus = vm.machine.vcpu_count();
    if flatview {
        let mut mem = vec![Region {
            start: 0,
            end: below - 1,
            prio: 0,
            kind: "ram",
            name: "pc.ram KVM".into(),
        }];
        mem.extend(bars.iter().cloned());
        mem.extend(system.iter().cloned());
        if above > 0 {
            mem.push(Region {
                start: layout::HIGH_RAM_START,
                end: layout::HIGH_RAM_START + above - 1,
                prio: 0,
                kind: "ram",
                name: format!("pc.ram @{below:016x} KVM"),
            });
        }
        mem.sort_by_key(|r| r.start);
        out.push_str("FlatView #0\n AS \"memory\", root: system\n");
        for i in 0..cpus {
            let _ = writeln!(out, " AS \"cpu-memory-{i}\", root: system");
        }
        out.push_str(" Root memory region: system\n");
        for r in &mem {
            region_line(&mut out, 2, r);
        }
        out.push_str("\nFlatView #1\n AS \"I/O\", root: io\n Root memory region: io\n");
        for r in &io {
            region_line(&mut out, 2, r);
        }
        out.push('\n');
        return out;
    }
    for i in 0..cpus {
        let _ = writeln!(out, "address-space: cpu-memory-{i}");
    }
    out.push_str("address-space: memory\n");
    out.push_str("  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n");
    let _ = writeln!(
        out,
        "    0000000000000000-{:016x} (prio 0, ram): alias ram-below-4g @pc.ram 0000000000000000-{:016x}",
        below - 1,
        below - 1
    );
    out.push_str("    0000000000000000-ffffffffffffffff (prio -1, i/o): pci\n");
    for b in &bars {
        region_line(&mut out, 6, b);
    }
    if above > 0 {
        let _ = writeln!(
            out,
            "    {:016x}-{:016x} (prio 0, ram): alias ram-above-4g @pc.ram {:016x}-{:016x}",
            layout::HIGH_RAM_START,
            layout::HIGH_RAM_START + above - 1,
            below,
            ram - 1
        );
    }
    for r in &system {
        region_line(&mut out, 4, r);
    }
    out.push_str("\naddress-space: I/O\n  0000000000000000-000000000000ffff (prio 0, i/o): io\n");
    for r in &io {
        region_line(&mut out, 4, r);
    }
    let _ = write!(
        out,
        "\nmemory-region: pc.ram\n  0000000000000000-{:016x} (prio 0, ram): pc.ram\n\n",
        ram - 1
    );
    out
}

const DELIVERY_MODES: [&str; 8] = [
    "Fixed", "Lowest", "SMI", "Reserved", "NMI", "INIT", "Reserved", "ExtINT",
];

fn dump_lvt(out: &mut String, name: &str, lvt: u32, timer: bool) {
    let dm = ((lvt >> 8) & 7) as usize;
    let timer_mode = if !timer {
        ""
    } else if lvt & (1 << 17) != 0 {
        "periodic"
    } else if lvt & (1 << 18) != 0 {
        "tsc-deadline"
    } else {
        "one-shot"
    };
    let _ = write!(
        out,
        "{name}\t 0x{lvt:08x} {} {:<5} {:<6} {:<7} {:<12} {:<6}",
        if lvt & (1 << 13) != 0 {
            "active-lo"
        } else {
            "active-hi"
        },
        if lvt & (1 << 15) != 0 {
            "level"
        } else {
            "edge"
        },
        if lvt & (1 << 16) != 0 { "masked" } else { "" },
        if lvt & (1 << 12) != 0 { "pending" } else { "" },
        timer_mode,
        DELIVERY_MODES[dm]
    );
    if dm != 4 {
        let _ = writeln!(out, " (vec {})", lvt & 0xff);
    } else {
        out.push('\n');
    }
}

fn dump_bits(out: &mut String, name: &str, s: &kvm_lapic_state, base: usize, tmr: usize) {
    let _ = write!(out, "{name}\t ");
    let mut empty = true;
    for i in 0..256usize {
        let word = get_reg(s, (base + i / 32) * 16);
        if word & (1 << (i % 32)) != 0 {
            let level = get_reg(s, (tmr + i / 32) * 16) & (1 << (i % 32)) != 0;
            let _ = write!(out, "{i}{} ", if level { "(level)" } else { "" });
            empty = false;
        }
    }
    let _ = writeln!(out, "{}", if empty { "(none)" } else { "" });
}

/// `info lapic`: vCPU `cpu`'s local APIC (KVM_GET_LAPIC).
pub fn info_lapic(vm: &VmBackend, cpu: usize) -> String {
    let Some(Ok(s)) = vm.machine.run_on_vcpu(cpu, |fd| fd.get_lapic()) else {
        return "local apic state not available\n".into();
    };
    let mut out = format!("dumping local APIC state for CPU {cpu:<2}\n\n");
    dump_lvt(&mut out, "LVT0", get_reg(&s, 0x350), false);
    dump_lvt(&mut out, "LVT1", get_reg(&s, 0x360), false);
    dump_lvt(&mut out, "LVTPC", get_reg(&s, 0x340), false);
    dump_lvt(&mut out, "LVTERR", get_reg(&s, 0x370), false);
    dump_lvt(&mut out, "LVTTHMR", get_reg(&s, 0x330), false);
    dump_lvt(&mut out, "LVTT", get_reg(&s, 0x320), true);
    let dcr = get_reg(&s, 0x3e0);
    let v = ((dcr & 0x8) >> 1) | (dcr & 0x3);
    let divide = if v == 7 { 1 } else { 2u32 << v };
    let _ = writeln!(
        out,
        "Timer\t DCR=0x{:x} (divide by {divide}) initial_count = {} current_count = {}",
        dcr & 0xb,
        get_reg(&s, 0x380),
        get_reg(&s, 0x390)
    );
    let spiv = get_reg(&s, 0x0f0);
    let _ = writeln!(
        out,
        "SPIV\t 0x{spiv:08x} APIC {}, focus={}, spurious vec {}",
        if spiv & (1 << 8) != 0 {
            "enabled"
        } else {
            "disabled"
        },
        if spiv & (1 << 9) != 0 { "on" } else { "off" },
        spiv & 0xff
    );
    let icr = get_reg(&s, 0x300);
    let icr2 = get_reg(&s, 0x310);
    let shorthand = (icr >> 18) & 3;
    let logical = icr & (1 << 11) != 0;
    let _ = writeln!(
        out,
        "ICR\t 0x{icr:08x} {} {} {} {}",
        if logical { "logical" } else { "physical" },
        if icr & (1 << 15) != 0 {
            "level"
        } else {
            "edge"
        },
        if icr & (1 << 14) != 0 {
            "assert"
        } else {
            "de-assert"
        },
        ["no-shorthand", "self", "all-self", "all"][shorthand as usize]
    );
    let _ = write!(out, "ICR2\t 0x{icr2:08x}");
    if shorthand != 0 {
        out.push('\n');
    } else if !logical {
        let _ = writeln!(out, " cpu {icr2} (X2APIC ID)");
    } else {
        let _ = writeln!(out, " mask {:x} (APIC ID)", icr2 >> 24);
    }
    let _ = writeln!(out, "ESR\t 0x{:08x}", get_reg(&s, 0x280));
    dump_bits(&mut out, "ISR", &s, 0x10, 0x18);
    dump_bits(&mut out, "IRR", &s, 0x20, 0x18);
    let dfr = get_reg(&s, 0x0e0) >> 28;
    let ldr = get_reg(&s, 0x0d0) >> 24;
    let _ = write!(
        out,
        "\nAPR 0x{:02x} TPR 0x{:02x} DFR 0x{dfr:02x} LDR 0x{ldr:02x}",
        get_reg(&s, 0x090) & 0xff,
        get_reg(&s, 0x080) & 0xff
    );
    if dfr == 0 {
        let _ = write!(out, "(cluster {}: id {})", ldr >> 4, ldr & 0xf);
    }
    let _ = writeln!(out, " PPR 0x{:02x}", get_reg(&s, 0x0a0) & 0xff);
    out
}

/// `info pic`: the in-kernel IOAPIC and the two 8259s.
pub fn info_pic(vm: &VmBackend) -> String {
    let get = |id: u32| {
        let mut chip = kvm_irqchip {
            chip_id: id,
            ..Default::default()
        };
        vm.machine
            .vm_fd()
            .get_irqchip(&mut chip)
            .ok()
            .map(|()| chip)
    };
    let mut out = String::new();
    if let Some(chip) = get(KVM_IRQCHIP_IOAPIC) {
        // SAFETY: KVM filled the union's ioapic member for this chip id.
        let io = unsafe { chip.chip.ioapic };
        let _ = write!(
            out,
            "ioapic0: ver=0x11 id=0x{:02x} sel=0x{:02x}",
            io.id, io.ioregsel
        );
        if io.ioregsel != 0 {
            let _ = writeln!(out, " (redir[{}])", io.ioregsel.wrapping_sub(0x10) >> 1);
        } else {
            out.push('\n');
        }
        const DELM: [&str; 8] = [
            "fixed", "lowest", "SMI", "...", "NMI", "INIT", "...", "extINT",
        ];
        let mut remote_irr = 0u32;
        for (i, e) in io.redirtbl.iter().enumerate() {
            // SAFETY: every redirection entry is a plain 64-bit value.
            let entry = unsafe { e.bits };
            let logical = entry & (1 << 11) != 0;
            let dest = (entry >> 56) & if logical { 0xff } else { 0xf };
            let _ = writeln!(
                out,
                "  pin {i:<2} 0x{entry:016x} dest={dest:x} vec={:<3} {} {:<5} {:<6} {:<6} {}",
                entry & 0xff,
                if entry & (1 << 13) != 0 {
                    "active-lo"
                } else {
                    "active-hi"
                },
                if entry & (1 << 15) != 0 {
                    "level"
                } else {
                    "edge"
                },
                if entry & (1 << 16) != 0 { "masked" } else { "" },
                DELM[((entry >> 8) & 7) as usize],
                if logical { "logical" } else { "physical" }
            );
            if entry & (1 << 15) != 0 && entry & (1 << 14) != 0 {
                remote_irr |= 1 << i;
            }
        }
        let irr = |out: &mut String, name: &str, bits: u32| {
            let _ = write!(out, "{name:<10} ");
            if bits == 0 {
                out.push_str("(none)");
            } else {
                for i in 0..24 {
                    if bits & (1 << i) != 0 {
                        let _ = write!(out, "{i:<2} ");
                    }
                }
            }
            out.push('\n');
        };
        irr(&mut out, "  IRR", io.irr);
        irr(&mut out, "  Remote IRR", remote_irr);
    }
    for (id, n) in [(KVM_IRQCHIP_PIC_SLAVE, 1), (KVM_IRQCHIP_PIC_MASTER, 0)] {
        if let Some(chip) = get(id) {
            // SAFETY: KVM filled the union's pic member for a PIC chip id.
            let p = unsafe { chip.chip.pic };
            let _ = writeln!(
                out,
                "pic{n}: irr={:02x} imr={:02x} isr={:02x} hprio={} irq_base={:02x} rr_sel={} elcr={:02x} fnm={}",
                p.irr,
                p.imr,
                p.isr,
                p.priority_add,
                p.irq_base,
                p.read_reg_select,
                p.elcr,
                p.special_fully_nested_mode
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_qemu_prints_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(256 << 20), "256 MiB");
        assert_eq!(human_size(2 << 30), "2 GiB");
        assert_eq!(human_size(4096), "4 KiB");
    }

    #[test]
    fn lvt_layout() {
        let mut out = String::new();
        dump_lvt(&mut out, "LVT0", 0x8700, false);
        assert_eq!(
            out,
            "LVT0\t 0x00008700 active-hi level                             ExtINT (vec 0)\n"
        );
        out.clear();
        dump_lvt(&mut out, "LVT1", 0x8400, false);
        assert_eq!(
            out,
            "LVT1\t 0x00008400 active-hi level                             NMI   \n"
        );
        out.clear();
        dump_lvt(&mut out, "LVTT", 0x10000, true);
        assert_eq!(
            out,
            "LVTT\t 0x00010000 active-hi edge  masked         one-shot     Fixed  (vec 0)\n"
        );
    }
}
