//! `info qtree` and `info mtree` for `-machine none`, as QEMU 10 prints them: the system bus
//! with nothing on it, and the `system` and `io` address spaces with at most the `ram` block
//! that `-m` maps at 0.

use std::fmt::Write as _;

/// `info qtree`: the main system bus alone.
pub fn info_qtree() -> String {
    "bus: main-system-bus\n  type System\n".into()
}

const IO_ROOT: &str = "0000000000000000-000000000000ffff (prio 0, i/o): io\n";

/// `info mtree [-f]` with `ram` bytes of RAM. (Without `-f` QEMU walks the address spaces in
/// a pointer-keyed hash table, so it lists `I/O` or `memory` first from run to run; this
/// prints the order of its flat views, `memory` first.)
pub fn info_mtree(ram: u64, flatview: bool) -> String {
    let mut out = String::new();
    if flatview {
        out.push_str("FlatView #0\n AS \"memory\", root: system\n");
        if ram == 0 {
            out.push_str(" Root memory region: (none)\n  No rendered FlatView\n");
        } else {
            out.push_str(" Root memory region: ram\n");
            let _ = writeln!(
                out,
                "  0000000000000000-{:016x} (prio 0, ram): ram KVM",
                ram - 1
            );
        }
        out.push_str("\nFlatView #1\n AS \"I/O\", root: io\n Root memory region: io\n  ");
        out.push_str(IO_ROOT);
        out.push('\n');
        return out;
    }
    let memory = {
        let mut m = String::from(
            "address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n",
        );
        if ram > 0 {
            let _ = writeln!(
                m,
                "    0000000000000000-{:016x} (prio 0, ram): ram",
                ram - 1
            );
        }
        m
    };
    let _ = write!(out, "{memory}\naddress-space: I/O\n  {IO_ROOT}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_qemu_10_prints_them() {
        assert_eq!(
            info_mtree(0, false),
            "address-space: memory\n  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n\n\
             address-space: I/O\n  0000000000000000-000000000000ffff (prio 0, i/o): io\n\n"
        );
        assert_eq!(
            info_mtree(256 << 20, true),
            "FlatView #0\n AS \"memory\", root: system\n Root memory region: ram\n  \
             0000000000000000-000000000fffffff (prio 0, ram): ram KVM\n\nFlatView #1\n \
             AS \"I/O\", root: io\n Root memory region: io\n  \
             0000000000000000-000000000000ffff (prio 0, i/o): io\n\n"
        );
    }
}
