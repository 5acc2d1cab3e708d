//! Building the tree for a configuration: QEMU's containers, the machine, its vCPUs, the
//! `-object` objects and the chardevs, each created in the order QEMU creates them (which
//! decides listing order).

use super::backends::{BackendObject, MachineDefaults};
use super::chardev::ChardevObject;
use super::container::Container;
use super::cpu::CpuObject;
use super::error::QomError;
use super::lapic::LapicObject;
use super::machine::MachineObject;
use super::machine_types::{self, Board};
use super::opaque::OpaqueObject;
use super::tree::{ObjectId, ObjectTree};
use super::value::Props;
use crate::config::VmConfig;

/// The `/machine/unattached/device[N]` index QEMU 10 gives vCPU `cpu`: the first vCPU's APIC
/// creates the `kvmvapic` device right after it, taking index 1.
pub fn cpu_device_index(cpu: usize) -> usize {
    if cpu == 0 {
        0
    } else {
        cpu + 1
    }
}

impl ObjectTree {
    /// The tree QEMU would build for `config`.
    pub fn new(config: &VmConfig) -> Self {
        let mut tree = ObjectTree::empty();
        // The containers and the machine get fresh names in a fresh tree, which cannot fail.
        // Names from the configuration were checked unique by the parser; a clash (a mux
        // chardev's `ID-base` taken by another chardev) leaves that one object out.
        let _ = tree.populate(config);
        tree
    }

    fn populate(&mut self, config: &VmConfig) -> Result<(), QomError> {
        let root = ObjectTree::ROOT;
        // QEMU makes /chardevs and /objects while reading options, then the machine, then
        // /backend.
        let chardevs = self.add_child(root, "chardevs", Box::new(Container))?;
        let objects = self.add_child(root, "objects", Box::new(Container))?;

        let (name, board) = machine_types::resolve(&config.machine.type_name)
            .unwrap_or(("pc-i440fx-10.0", Board::I440fx));
        let props = Props(&config.machine.props);
        let defaults = MachineDefaults {
            dump: props.bool("dump-guest-core").unwrap_or(true),
            merge: props.bool("mem-merge").unwrap_or(true),
            prealloc: config.mem_prealloc,
            prealloc_threads: config.smp.cpus,
        };
        let memory_backend = props.str("memory-backend").map(str::to_string);

        for c in &config.chardevs {
            if c.mux {
                let base = format!("{}-base", c.id);
                let _ = self.add_child(
                    chardevs,
                    &base,
                    Box::new(ChardevObject::new(&c.id, &c.backend)),
                );
                let _ = self.add_child(chardevs, &c.id, Box::new(ChardevObject::mux(&c.id)));
            } else {
                let _ = self.add_child(
                    chardevs,
                    &c.id,
                    Box::new(ChardevObject::new(&c.id, &c.backend)),
                );
            }
        }

        // Memory backends come after the other objects (QEMU creates them once the
        // accelerator exists), then the machine's own RAM backend if it uses none of them.
        let (early, late): (Vec<_>, Vec<_>) = config
            .objects
            .iter()
            .partition(|o| !o.qom_type.starts_with("memory-backend-"));
        for o in early.into_iter().chain(late) {
            let _ = self.add_child(
                objects,
                &o.id,
                Box::new(BackendObject::new(&o.qom_type, &o.props, defaults)),
            );
        }
        let ram_id = match &memory_backend {
            Some(id) => Some(id.clone()),
            // `none` without -m has no RAM, so no backend.
            None if config.memory.size == 0 => None,
            None => {
                let id = board.default_ram_id();
                // An -object of that id already there is what the link then names.
                let _ = self.add_child(
                    objects,
                    id,
                    Box::new(BackendObject::machine_ram(config.memory.size, defaults)),
                );
                Some(id.to_string())
            }
        };

        let ram_path = ram_id.map(|id| format!("/objects/{id}"));
        let machine = MachineObject::new(config, name, board, ram_path);
        let machine = self.add_child(root, "machine", Box::new(machine))?;
        let unattached = self.add_child(machine, "unattached", Box::new(Container))?;
        self.add_child(machine, "peripheral", Box::new(Container))?;
        self.add_child(machine, "peripheral-anon", Box::new(Container))?;
        if board == Board::None {
            // The system bus and memory regions every QEMU machine has, created in QEMU's
            // order; other boards' trees here show only their vCPUs.
            for (name, object) in [
                ("sysbus", OpaqueObject::new("System")),
                ("system[0]", OpaqueObject::new("memory-region")),
                ("io[0]", OpaqueObject::new("memory-region")),
            ] {
                self.add_child(unattached, name, Box::new(object))?;
            }
        } else {
            self.add_cpus(unattached, config)?;
        }
        self.add_child(root, "backend", Box::new(Container))?;
        Ok(())
    }

    fn add_cpus(&mut self, unattached: ObjectId, config: &VmConfig) -> Result<(), QomError> {
        let model = config.cpu_model.as_deref();
        for cpu in 0..config.smp.cpus as usize {
            let obj = CpuObject::new(cpu, model, &config.smp);
            let apic_id = obj.apic_id();
            let name = format!("device[{}]", cpu_device_index(cpu));
            let id = self.add_child(unattached, &name, Box::new(obj))?;
            self.add_child(id, "lapic", Box::new(LapicObject::new(apic_id)))?;
            self.cpus.push(id);
        }
        Ok(())
    }
}
