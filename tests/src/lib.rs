//! Helpers for the end-to-end tests in `tests/tests/`: find the `vmm` binary, run it as a user
//! would, talk to its serial console through pipes.

pub mod bench_stats;
pub mod command_line_support;
pub mod process;
pub mod qmp_client;
pub mod qmp_harness;

#[path = "../../guest/src/abi.rs"]
pub mod guest_abi;

use std::path::PathBuf;

/// The `vmm` binary cargo built for this test run (target/<profile>/vmm).
pub fn vmm_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // Tests live in target/<profile>/deps/, binaries in target/<profile>/.
    let dir = exe.parent().expect("executable has a directory");
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().expect("deps has a parent")
    } else {
        dir
    };
    let bin = profile_dir.join("vmm");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so cargo builds the vmm binary",
        bin.display()
    );
    bin
}

/// Where `needle` (not empty) first occurs in `haystack`.
pub fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The workspace root (for scripts and fixtures).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The built-in test guest written to a file (for `-kernel`, or to boot it under QEMU).
pub fn builtin_guest_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("vmm-test-guest-{}.elf", std::process::id()));
    if !path.exists() {
        std::fs::write(&path, vmm::BUILTIN_GUEST).expect("write the guest image");
    }
    path
}
