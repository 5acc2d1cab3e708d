//! The serial commands (one per line), run from the BSP's serial interrupt.

use crate::abi::MMIO_EXEC_GPA;
use crate::line::{println, Line};
use crate::{balloon, idt, pages, power, smp, user};
use core::arch::asm;

pub fn run(line: &[u8]) {
    match line {
        b"ping" => println("pong"),
        b"spin" => {
            println("spinning");
            smp::spin_all();
        }
        b"counters" => {
            let mut out = Line::new();
            out.str("counters:");
            for cpu in 0..smp::cpus() {
                out.str(" ").dec(user::counter(cpu));
            }
            out.send();
        }
        b"halt" => {
            println("halting");
            smp::halt_all();
        }
        b"reset" => {
            println("resetting");
            power::reset();
        }
        b"poweroff" => {
            println("powering off");
            power::poweroff();
        }
        b"ud2" => {
            println("executing ud2");
            idt::load_null();
            // SAFETY: #UD cannot be delivered without an IDT: triple fault.
            unsafe { asm!("ud2", options(noreturn)) }
        }
        b"triplefault" => {
            println("triple faulting");
            idt::load_null();
            // From CPL3: where kernel-mode code is emulated (see README) an int3
            // there is an emulation failure rather than an exception.
            user::int3();
        }
        b"mmio-exec" => {
            Line::new().str("jumping to ").hex(MMIO_EXEC_GPA).send();
            // SAFETY: not RAM: the instruction fetch fails (KVM emulation failure).
            unsafe { asm!("jmp {}", in(reg) MMIO_EXEC_GPA, options(noreturn)) }
        }
        b"echo" => println(""),
        b"balloon" => balloon::command_status(),
        b"stats" => balloon::command_stats(),
        b"fill" | b"touch" => match pages::pool() {
            Some(pool) => {
                let touch = line == b"touch";
                let pages = pool.fill(touch);
                Line::new()
                    .str(if touch {
                        "touch: pages="
                    } else {
                        "fill: pages="
                    })
                    .dec(pages)
                    .send();
            }
            None => println("fill: no page pool"),
        },
        b"check" => match pages::pool() {
            Some(pool) => {
                let (pages, pattern, zero, other) = pool.check();
                Line::new()
                    .str("check: pages=")
                    .dec(pages)
                    .str(" pattern=")
                    .dec(pattern)
                    .str(" zero=")
                    .dec(zero)
                    .str(" other=")
                    .dec(other)
                    .send();
            }
            None => println("check: no page pool"),
        },
        b"report" => balloon::command_report(),
        _ => {
            if let Some(text) = line.strip_prefix(b"echo ") {
                Line::new().bytes(text).send();
            } else if let Some(mib) = line.strip_prefix(b"oom ").and_then(parse_decimal) {
                balloon::command_oom(mib);
            } else if let Some(kind) = line.strip_prefix(b"vq-abuse ") {
                balloon::command_abuse(kind.trim_ascii());
            } else {
                Line::new().str("unknown command: ").bytes(line).send();
            }
        }
    }
}

/// A decimal number of at most 12 digits (surrounding spaces allowed).
fn parse_decimal(text: &[u8]) -> Option<u64> {
    let digits = text.trim_ascii();
    if digits.is_empty() || digits.len() > 12 {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}
