//! x86_64 machine specifics: memory layout, CPU setup, firmware tables.

pub mod acpi;
pub mod cpuid;
pub mod gdt;
pub mod lapic;
pub mod layout;
pub mod memory_map;
pub mod mptable;
pub mod msr;
pub mod regs;
