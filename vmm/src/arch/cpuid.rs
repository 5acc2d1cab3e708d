//! The CPUID a vCPU sees: what KVM supports, with this vCPU's identity and topology, as
//! Firecracker and Cloud Hypervisor normalise it.

use kvm_bindings::CpuId;

/// The vCPU topology CPUID describes.
#[derive(Debug, Clone, Copy)]
pub struct CpuTopology {
    pub threads_per_core: u32,
    pub cores_per_socket: u32,
    /// Total vCPUs in the machine.
    pub vcpus: u32,
}

const LEAF1_ECX_TSC_DEADLINE: u32 = 1 << 24;
const LEAF1_ECX_HYPERVISOR: u32 = 1 << 31;
const LEAF1_EDX_HTT: u32 = 1 << 28;
const LEAF6_ECX_EPB: u32 = 1 << 3;
/// Leaf 0xb level types.
const LEVEL_TYPE_THREAD: u32 = 1;
const LEVEL_TYPE_CORE: u32 = 2;

fn bits_for(count: u32) -> u32 {
    // Width of an APIC-id field that holds `count` values.
    if count <= 1 {
        0
    } else {
        32 - (count - 1).leading_zeros()
    }
}

/// Adjusts `cpuid` (from KVM_GET_SUPPORTED_CPUID) for the vCPU with `apic_id`.
pub fn normalize(cpuid: &mut CpuId, apic_id: u32, topo: CpuTopology, tsc_deadline: bool) {
    let threads = topo.threads_per_core.max(1);
    let cores = topo.cores_per_socket.max(1);
    let logical_per_package = threads * cores;
    let thread_bits = bits_for(threads);
    let core_bits = bits_for(cores);
    for entry in cpuid.as_mut_slice() {
        match entry.function {
            0x1 => {
                entry.ebx = (apic_id << 24) | (logical_per_package.min(255) << 16) | (8 << 8);
                entry.ecx |= LEAF1_ECX_HYPERVISOR;
                if tsc_deadline {
                    entry.ecx |= LEAF1_ECX_TSC_DEADLINE;
                }
                if logical_per_package > 1 {
                    entry.edx |= LEAF1_EDX_HTT;
                } else {
                    entry.edx &= !LEAF1_EDX_HTT;
                }
            }
            0x4 => {
                // Cores per package - 1 in 31:26; threads sharing this cache - 1 in 25:14.
                let cache_level = (entry.eax >> 5) & 0x7;
                let sharing = if cache_level >= 3 {
                    logical_per_package
                } else {
                    threads
                };
                entry.eax &= 0x3fff;
                entry.eax |= ((cores - 1).min(63) << 26) | ((sharing - 1).min(4095) << 14);
            }
            0x6 => entry.ecx &= !LEAF6_ECX_EPB,
            // No PMU is virtualised for the guest.
            0xa => {
                entry.eax = 0;
                entry.ebx = 0;
                entry.ecx = 0;
                entry.edx = 0;
            }
            0xb | 0x1f => {
                entry.edx = apic_id;
                match entry.index {
                    0 => {
                        entry.eax = thread_bits;
                        entry.ebx = threads;
                        entry.ecx = (LEVEL_TYPE_THREAD << 8) | entry.index;
                    }
                    1 => {
                        entry.eax = thread_bits + core_bits;
                        entry.ebx = logical_per_package;
                        entry.ecx = (LEVEL_TYPE_CORE << 8) | entry.index;
                    }
                    _ => {
                        entry.eax = 0;
                        entry.ebx = 0;
                        entry.ecx = entry.index;
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apic_id_width() {
        assert_eq!(bits_for(1), 0);
        assert_eq!(bits_for(2), 1);
        assert_eq!(bits_for(3), 2);
        assert_eq!(bits_for(4), 2);
        assert_eq!(bits_for(5), 3);
    }
}
