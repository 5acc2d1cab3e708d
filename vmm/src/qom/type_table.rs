//! The order QEMU walks its type table in, for lists built from that walk (`query-machines`:
//! `object_class_get_list` prepends each class, then the command prepends each machine, so
//! machines come in the table's slot order).
//!
//! The table is a GLib `GHashTable` of every registered type name, so the order depends on all
//! of QEMU's types and the order it registered them; [`GHashOrder`] replays those insertions.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::data::qemu_types::QEMU_TYPES;
use qapi::ghash::GHashOrder;

/// Each QEMU type name's position in the walk of QEMU's type table.
fn slot_ranks() -> &'static HashMap<&'static str, usize> {
    static RANKS: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    RANKS.get_or_init(|| {
        let mut table = GHashOrder::new();
        for name in QEMU_TYPES {
            table.insert(name);
        }
        let by_name: HashMap<&str, &'static str> = QEMU_TYPES.iter().map(|n| (*n, *n)).collect();
        table
            .slot_order()
            .filter_map(|n| by_name.get(n).copied())
            .enumerate()
            .map(|(i, n)| (n, i))
            .collect()
    })
}

/// Sorts `items` into the order QEMU's type-table walk visits their types (`type_name` of
/// each); types QEMU does not have go last, in their given order.
pub fn sort_by_walk<T>(items: &mut [T], type_name: impl Fn(&T) -> String) {
    let ranks = slot_ranks();
    items.sort_by_key(|t| {
        ranks
            .get(type_name(t).as_str())
            .copied()
            .unwrap_or(usize::MAX)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_in_qemu_10_order() {
        // The head of `query-machines` on QEMU 10.0.2.
        let mut names: Vec<String> = [
            "pc-i440fx-4.2",
            "pc-i440fx-2.5",
            "pc-q35-4.2",
            "pc-i440fx-6.2",
            "pc-i440fx-2.12",
            "pc-q35-5.2",
        ]
        .map(str::to_string)
        .to_vec();
        sort_by_walk(&mut names, |n| format!("{n}-machine"));
        assert_eq!(
            names,
            [
                "pc-q35-5.2",
                "pc-i440fx-2.12",
                "pc-i440fx-6.2",
                "pc-q35-4.2",
                "pc-i440fx-2.5",
                "pc-i440fx-4.2"
            ]
        );
    }
}
