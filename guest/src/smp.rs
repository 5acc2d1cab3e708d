//! Application processors: start-up with INIT-SIPI-SIPI, one at a time, and the
//! orders (spin, halt) the BSP gives them with an IPI.
//!
//! An AP starts in real mode at the trampoline page, which loads the GDT, enters
//! protected mode and jumps to `ap_start32` (src/boot.rs); from there it takes the
//! same path to 64-bit mode as the BSP, onto the stack of the CPU number the BSP
//! published in `AP_BOOT_CPU`, and calls `ap_main`.

use crate::abi::{AP_TRAMPOLINE_GPA, IPI_VECTOR, MAX_CPUS};
use crate::line::Line;
use crate::platform::Platform;
use crate::start_info::StartInfo;
use crate::x86::{halt_forever, pause, rdtsc, sti_hlt};
use crate::{boot, gdt, idt, lapic, user};
use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

global_asm!(
    r#"
    # Copied to a page below 1 MiB; the SIPI starts the AP at its first byte with
    # CS = page >> 4, IP = 0. Only CS-relative and absolute references.
    .section .rodata.trampoline, "a"
    .global guest_trampoline
    .global guest_trampoline_end
    .code16
guest_trampoline:
    lgdtl %cs:(guest_trampoline_gdtr - guest_trampoline)
    mov $0x11, %eax                 # CR0: PE, ET
    mov %eax, %cr0
    ljmpl $0x08, $ap_start32        # 32-bit code segment
    .balign 4
guest_trampoline_gdtr:
    .word {gdt_limit}
    .long guest_gdt
guest_trampoline_end:
    .code64
    "#,
    gdt_limit = const gdt::GDT_LIMIT,
    options(att_syntax)
);

/// The CPU number the next AP takes (read by src/boot.rs before it has a stack).
pub static AP_BOOT_CPU: AtomicU32 = AtomicU32::new(0);
/// The last CPU number that finished its start-up.
static CHECKED_IN: AtomicU32 = AtomicU32::new(0);
/// CPUs running (BSP included) and their APIC ids by CPU number.
static CPUS: AtomicUsize = AtomicUsize::new(1);
static APIC_IDS: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];

/// How long to wait for an AP, in TSC ticks (about 0.25-1 s at 1-4 GHz).
const AP_TIMEOUT_TICKS: u64 = 1 << 30;

pub fn cpus() -> usize {
    CPUS.load(Ordering::Acquire)
}

/// Starts every AP the tables list, one after the other.
pub fn start_aps(platform: &Platform, info: &StartInfo) {
    let bsp = lapic::id();
    APIC_IDS[0].store(bsp, Ordering::Relaxed);
    CPUS.store(1, Ordering::Release);
    let mut aps = platform.apic_ids[..platform.cpus]
        .iter()
        .copied()
        .filter(|&id| id != bsp)
        .peekable();
    if aps.peek().is_none() {
        return;
    }
    let Some(page) = trampoline_page(info) else {
        Line::new()
            .str("smp: no free page below 1 MiB for the AP trampoline")
            .send();
        return;
    };
    install_trampoline(page);
    let mut cpus = 1;
    for apic_id in aps {
        if cpus == MAX_CPUS {
            break;
        }
        AP_BOOT_CPU.store(cpus as u32, Ordering::Release);
        // No delays: KVM handles INIT and SIPI as they come; the second SIPI is
        // ignored by a CPU that already runs.
        lapic::send_init(apic_id);
        lapic::send_startup(apic_id, page);
        lapic::send_startup(apic_id, page);
        if wait_check_in(cpus as u32) {
            APIC_IDS[cpus].store(apic_id, Ordering::Relaxed);
            cpus += 1;
        } else {
            // Back to wait-for-SIPI, so that it cannot come up later as this CPU number.
            lapic::send_init(apic_id);
            Line::new()
                .str("smp: cpu with apic id ")
                .dec(u64::from(apic_id))
                .str(" did not start")
                .send();
        }
    }
    CPUS.store(cpus, Ordering::Release);
}

/// A page below 1 MiB that the memory map says is RAM: `AP_TRAMPOLINE_GPA`, else
/// the first from 0x1000 up. Without a memory map, `AP_TRAMPOLINE_GPA`.
fn trampoline_page(info: &StartInfo) -> Option<u64> {
    if info.memmap_entries == 0 || info.is_ram(AP_TRAMPOLINE_GPA, 0x1000) {
        return Some(AP_TRAMPOLINE_GPA);
    }
    (0x1000..0x9f000u64)
        .step_by(0x1000)
        .find(|&page| info.is_ram(page, 0x1000))
}

fn install_trampoline(page: u64) {
    extern "C" {
        static guest_trampoline: u8;
        static guest_trampoline_end: u8;
    }
    // SAFETY: copies the trampoline's bytes to a free RAM page (identity-mapped).
    unsafe {
        let start = core::ptr::addr_of!(guest_trampoline);
        let len = core::ptr::addr_of!(guest_trampoline_end) as usize - start as usize;
        core::ptr::copy_nonoverlapping(start, page as *mut u8, len);
    }
}

fn wait_check_in(cpu: u32) -> bool {
    let start = rdtsc();
    while CHECKED_IN.load(Ordering::Acquire) != cpu {
        if rdtsc().wrapping_sub(start) > AP_TIMEOUT_TICKS {
            return false;
        }
        pause();
    }
    true
}

/// An AP's first Rust code, on its own stack, interrupts off.
pub extern "C" fn ap_main(cpu: u32) -> ! {
    idt::load();
    gdt::load_tss(cpu as usize);
    lapic::enable();
    CHECKED_IN.store(cpu, Ordering::Release);
    // Idle; `on_ipi` carries out the BSP's orders.
    loop {
        sti_hlt();
    }
}

/// `cpus: N` and `apic ids: ...`.
pub fn print_cpus() {
    let cpus = cpus();
    Line::new().str("cpus: ").dec(cpus as u64).send();
    let mut line = Line::new();
    line.str("apic ids:");
    for id in &APIC_IDS[..cpus] {
        line.str(" ").dec(u64::from(id.load(Ordering::Relaxed)));
    }
    line.send();
}

const ORDER_NONE: u32 = 0;
const ORDER_SPIN: u32 = 1;
const ORDER_HALT: u32 = 2;
static ORDER: AtomicU32 = AtomicU32::new(ORDER_NONE);

/// This CPU's number. Kernel code always runs on the CPU's own stack (RSP0 when
/// coming from CPL3), so the stack address tells.
pub fn this_cpu() -> usize {
    let rsp: u64;
    // SAFETY: reads the stack pointer.
    unsafe {
        core::arch::asm!("mov {}, rsp", out(reg) rsp, options(nomem, nostack, preserves_flags))
    }
    ((rsp - boot::stack_top(0) + boot::STACK_SIZE as u64) >> boot::STACK_SHIFT) as usize
}

/// Every CPU spins at CPL3 on its counter; the BSP too (it does not return).
pub fn spin_all() -> ! {
    order_others(ORDER_SPIN);
    user::spin(0)
}

/// Every CPU halts for good.
pub fn halt_all() -> ! {
    order_others(ORDER_HALT);
    halt_forever()
}

fn order_others(order: u32) {
    ORDER.store(order, Ordering::Release);
    if cpus() > 1 {
        lapic::send_to_others(IPI_VECTOR);
    }
}

/// The IPI handler on an AP (after EOI).
pub fn on_ipi() {
    match ORDER.load(Ordering::Acquire) {
        ORDER_SPIN => user::spin(this_cpu()),
        ORDER_HALT => halt_forever(),
        _ => {}
    }
}
