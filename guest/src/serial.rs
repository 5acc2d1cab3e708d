//! COM1, a 16550 UART: 115200 8N1 with FIFOs, output with one status read per
//! 16 bytes, input by interrupt (IRQ 4) into a line buffer handed to `commands`.

use crate::abi::COM1_PORT as PORT;
use crate::global::Global;
use crate::x86::{inb, outb, pause, rep_outsb};
use core::sync::atomic::{AtomicBool, Ordering};

const DATA: u16 = PORT; // THR/RBR (DLL with DLAB)
const IER: u16 = PORT + 1; // (DLM with DLAB)
const FCR: u16 = PORT + 2;
const LCR: u16 = PORT + 3;
const MCR: u16 = PORT + 4;
const LSR: u16 = PORT + 5;

const LSR_DATA_READY: u8 = 0x01;
/// Set with the NUL byte a break condition puts in the receive FIFO.
const LSR_BREAK_INTERRUPT: u8 = 0x10;
const LSR_THR_EMPTY: u8 = 0x20;
const FIFO_SIZE: usize = 16;

pub fn init() {
    outb(LCR, 0x80); // DLAB on: the next two writes set the divisor
    outb(DATA, 1); // divisor 1 = 115200 baud
    outb(IER, 0);
    outb(LCR, 0x03); // 8 data bits, no parity, 1 stop bit, DLAB off
    outb(FCR, 0x07); // FIFOs on and cleared, receive interrupt at 1 byte
    outb(MCR, 0x0b); // DTR, RTS and OUT2 (which gates the IRQ line on PCs)
}

/// Interrupt on received data (IER bit 0). Routing is set up by `platform`.
pub fn enable_rx_interrupt() {
    outb(IER, 0x01);
}

/// Serializes output between CPUs. Bounded, so that a CPU faulting while it holds
/// the lock (or printing an exception) cannot hang the others.
static LOCK: AtomicBool = AtomicBool::new(false);

pub fn write(data: &[u8]) {
    let mut tries = 0u32;
    while LOCK.swap(true, Ordering::Acquire) && tries < 1 << 20 {
        pause();
        tries += 1;
    }
    for chunk in data.chunks(FIFO_SIZE) {
        // An empty transmit holding register means the whole FIFO is free.
        while inb(LSR) & LSR_THR_EMPTY == 0 {
            pause();
        }
        rep_outsb(DATA, chunk);
    }
    LOCK.store(false, Ordering::Release);
}

const LINE_MAX: usize = 128;

struct Input {
    buf: [u8; LINE_MAX],
    len: usize,
}

/// Only the BSP touches it, with interrupts off (its serial interrupt handler,
/// or before interrupts are enabled).
static INPUT: Global<Input> = Global::new(Input {
    buf: [0; LINE_MAX],
    len: 0,
});

/// Reads every received byte; each complete line goes to `commands::run`.
pub fn service_rx() {
    loop {
        let lsr = inb(LSR);
        if lsr & LSR_DATA_READY == 0 {
            break;
        }
        let byte = inb(DATA);
        if lsr & LSR_BREAK_INTERRUPT != 0 {
            // The NUL that came with a break condition is not input (as Linux's 8250).
            crate::line::println("serial: break");
            continue;
        }
        // SAFETY: see INPUT.
        let input = unsafe { INPUT.get() };
        if byte == b'\r' || byte == b'\n' {
            if input.len == 0 {
                continue; // empty line (or the "\n" of "\r\n")
            }
            // Reset first: a command may never return. The bytes stay intact while
            // it runs, as nothing is received until this handler returns.
            let len = core::mem::replace(&mut input.len, 0);
            crate::commands::run(&input.buf[..len]);
        } else if input.len < LINE_MAX {
            input.buf[input.len] = byte;
            input.len += 1;
        }
    }
}
