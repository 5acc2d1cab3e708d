//! Tables measured on QEMU 10.0.2 (names, types, descriptions, defaults and values as its
//! monitor reports them), generated from its replies.

pub(crate) mod cpu_features;
pub(crate) mod cpu_values;
pub(crate) mod machine_lists;
pub(crate) mod qemu_types;
pub(crate) mod type_props;
