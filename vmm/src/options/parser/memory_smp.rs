//! Memory and CPU topology: `-m` (QemuOpts; a size without suffix is in MiB) and `-smp` (keyval
//! merged into the machine options), then QEMU's `parse_memory_options()` and
//! `qemu_resolve_machine_memdev()` (`-machine memory-backend=`).

use crate::options::error::ErrorKind;
use crate::options::keyval;
use crate::options::machine;
use crate::options::qemuopts::{d, OptType, OptsList};
use crate::options::value::Value;

use super::option_syntax::Store;
use super::report::{plain, Step};
use super::Parser;

static MEMORY_OPTS: OptsList = OptsList {
    name: "memory",
    implied: Some("size"),
    merge: true,
    desc: Some(&[
        d("size", OptType::Size),
        d("slots", OptType::Number),
        d("maxmem", OptType::Size),
    ]),
};

/// What `-smp help` prints.
fn smp_help() -> String {
    let mut s = String::from("smp-opts options:\n");
    for n in [
        "books", "clusters", "cores", "cpus", "dies", "drawers", "maxcpus", "modules", "sockets",
        "threads",
    ] {
        s.push_str(&format!("  {n}=<num>\n"));
    }
    s
}

impl Parser {
    /// `-m`.
    pub(super) fn memory_option(&mut self, arg: &str, loc: &str) -> Step {
        self.qemuopts(&MEMORY_OPTS, Store::Memory, arg, true, loc)
    }

    /// `-smp`: the machine's `smp` property.
    pub(super) fn smp_option(&mut self, arg: &str, loc: &str) -> Step {
        self.machine_property_opt(arg, "cpus", "smp", smp_help, loc)
    }

    /// `parse_memory_options()`: `-m` into the machine's `memory` property, with the legacy
    /// rule that a size without suffix is in MiB.
    pub(super) fn memory_into_machine_dict(&mut self) -> Step {
        let opts = self.memory.merged().cloned().unwrap_or_default();
        let mut prop: Vec<(String, Value)> = Vec::new();
        if opts.get_size("size", 0) != 0 {
            let s = opts.get("size").unwrap_or("");
            let v = if s.ends_with(|c: char| c.is_ascii_digit()) {
                format!("{s}M")
            } else {
                s.to_string()
            };
            prop.push(("size".into(), Value::Str(v)));
        }
        if let Some(m) = opts.get("maxmem") {
            prop.push(("max-size".into(), Value::Str(m.to_string())));
        }
        if let Some(s) = opts.get("slots") {
            prop.push(("slots".into(), Value::Str(s.to_string())));
        }
        keyval::merge(
            &mut self.machine_dict,
            vec![("memory".into(), Value::Dict(prop))],
            "",
        )
        .map_err(plain)
    }

    /// `qemu_resolve_machine_memdev()`: the memory backend's size is the RAM size, unless one
    /// was given, which must then be the same.
    pub(super) fn resolve_machine_memdev(
        &self,
        memory: &mut machine::Memory,
        have_custom_ram_size: bool,
    ) -> Step {
        if let Some(Value::Str(id)) = Value::get(&self.machine_dict, "memory-backend") {
            let backend = self
                .objects
                .iter()
                .find(|o| o.spec.id == *id && o.spec.is_memory_backend())
                .ok_or_else(|| plain(ErrorKind::MemoryBackendNotFound { id: id.clone() }))?;
            let backend_size = backend
                .spec
                .props
                .iter()
                .find(|(k, _)| k == "size")
                .and_then(|(_, v)| v.parse::<u64>().ok())
                .unwrap_or(0);
            if !have_custom_ram_size {
                memory.size = backend_size;
            } else if backend_size != memory.size {
                return Err(plain(ErrorKind::MemorySizeMismatch));
            }
        }
        Ok(())
    }
}
