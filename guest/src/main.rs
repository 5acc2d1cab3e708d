//! vmm-test-guest: a freestanding x86_64 program booted with the PVH protocol,
//! for testing the vmm (and checked under QEMU). See README.md.
//!
//! Kernel-mode (CPL0) work is kept to a minimum: on hosts without hardware
//! virtualization KVM emulates every CPL0 instruction (~1-3 µs each), while CPL3
//! code runs natively. Hence static page tables and IDT, no `core::fmt` on the
//! normal paths, and the long loops at CPL3.
#![no_std]
#![no_main]

mod abi;
mod acpi;
mod balloon;
mod boot;
mod commands;
mod gdt;
mod ged;
mod global;
mod idt;
mod ioapic;
mod lapic;
mod line;
mod mem;
mod mptable;
mod pages;
mod paging;
mod panic;
mod pci;
mod platform;
mod power;
mod serial;
mod smp;
mod start_info;
mod user;
mod virtio;
mod x86;

use start_info::StartInfo;

const BANNER_LINE: &[u8] = b"vmm-test-guest 1: booted via PVH\r\n";
const _: () = assert!(same_line(BANNER_LINE, abi::BANNER.as_bytes()));

/// `line` is `text` followed by "\r\n".
const fn same_line(line: &[u8], text: &[u8]) -> bool {
    if line.len() != text.len() + 2 || line[text.len()] != b'\r' || line[text.len() + 1] != b'\n' {
        return false;
    }
    let mut i = 0;
    while i < text.len() {
        if line[i] != text[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The BSP's first Rust code (from src/boot.rs): 64-bit mode, stack 0,
/// interrupts off; `start_info` is the PVH `hvm_start_info` address.
pub extern "C" fn bsp_main(start_info: u64) -> ! {
    serial::init();
    // Straight from the image: the banner's time is measured.
    serial::write(BANNER_LINE);
    idt::load();
    gdt::load_tss(0);
    user::clear_counters();

    let info = StartInfo::read(start_info);
    info.print_cmdline();
    info.print_memory();

    lapic::enable();
    let platform = platform::discover(info.rsdp);
    smp::start_aps(platform, &info);
    smp::print_cpus();
    user::print_patterns();
    pages::save_memory_map(&info);
    balloon::probe(info.has_option(abi::CMDLINE_CLEAR_BARS.as_bytes()));

    platform::route_serial_irq(platform, lapic::id());
    if !info.has_option(abi::CMDLINE_NO_POWER_BUTTON.as_bytes()) {
        ged::enable(platform, lapic::id());
    }
    line::println(abi::READY);
    // Input that came before the interrupt was routed; then idle until interrupts.
    serial::service_rx();
    loop {
        x86::sti_hlt();
    }
}
