//! Builds the test guest (../guest, its own cargo workspace) and places the ELF at
//! `$OUT_DIR/guest.elf`, the vmm's default payload when no -kernel is given.
//!
//! The guest is freestanding (no_std, panic=abort, its own linker script), so it
//! cannot be a member of this workspace: this script runs `cargo build --release`
//! on it, with its own target directory under OUT_DIR and without the environment
//! the outer cargo gave this script.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest's binary name (guest/Cargo.toml) and target (guest/.cargo/config.toml).
const GUEST_BIN: &str = "vmm-test-guest";
const GUEST_TARGET: &str = "x86_64-unknown-linux-gnu";

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let guest_dir = manifest_dir.parent().expect("workspace root").join("guest");

    watch(&guest_dir);
    let elf = build_guest(&guest_dir, &out_dir.join("guest-target"));
    check_emulable(&elf);
    fs::copy(&elf, out_dir.join("guest.elf"))
        .unwrap_or_else(|e| panic!("copying {} to OUT_DIR: {e}", elf.display()));
}

/// Rebuild when any guest source, manifest or build file changes.
fn watch(guest_dir: &Path) {
    for name in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "link.ld",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", guest_dir.join(name).display());
    }
    watch_dir(&guest_dir.join("src"));
}

fn watch_dir(dir: &Path) {
    // The directory itself: catches files added or removed.
    println!("cargo:rerun-if-changed={}", dir.display());
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            watch_dir(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

/// Variables of the outer build that would change or break the inner one: flags
/// and wrappers meant for this workspace (RUSTFLAGS, clippy's or a coverage
/// tool's RUSTC_WORKSPACE_WRAPPER/RUSTC_WRAPPER), its target dir, target and
/// profile settings, the jobserver of the outer cargo, and what cargo sets for
/// build scripts. CARGO_HOME and cargo's network/terminal settings stay.
fn scrubbed(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "MAKEFLAGS",
        "MFLAGS",
        "CARGO",
        "OUT_DIR",
        "TARGET",
        "HOST",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "NUM_JOBS",
    ];
    const KEEP_PREFIXES: &[&str] = &["CARGO_HOME", "CARGO_NET_", "CARGO_HTTP_", "CARGO_TERM_"];
    EXACT.contains(&name)
        || name.starts_with("__CARGO")
        || name.starts_with("DEP_")
        || (name.starts_with("CARGO_") && !KEEP_PREFIXES.iter().any(|p| name.starts_with(p)))
}

fn build_guest(guest_dir: &Path, target_dir: &Path) -> PathBuf {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(&cargo);
    // From the guest directory, so that guest/.cargo/config.toml applies.
    cmd.current_dir(guest_dir)
        .args([
            "build",
            "--release",
            "--locked",
            "--offline",
            "--target",
            GUEST_TARGET,
        ])
        .arg("--manifest-path")
        .arg(guest_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for (name, _) in env::vars_os() {
        if name.to_str().is_some_and(scrubbed) {
            cmd.env_remove(&name);
        }
    }
    let output = cmd.output().unwrap_or_else(|e| {
        panic!(
            "running {} for the test guest: {e}",
            Path::new(&cargo).display()
        )
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        panic!(
            "building the test guest (guest/) failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            stderr
        );
    }
    for line in stderr.lines().filter(|l| l.starts_with("warning")) {
        println!("cargo:warning=guest: {line}");
    }
    let elf = target_dir
        .join(GUEST_TARGET)
        .join("release")
        .join(GUEST_BIN);
    let head = fs::read(&elf).unwrap_or_else(|e| panic!("reading {}: {e}", elf.display()));
    assert!(
        head.starts_with(b"\x7fELF\x02\x01"),
        "{} is not a 64-bit little-endian ELF",
        elf.display()
    );
    elf
}

/// The guest's kernel-mode code is executed by KVM's instruction emulator on
/// hosts without hardware virtualization. The emulator knows SSE moves but no
/// other SSE instruction (e.g. the `xorps` compilers use to zero memory): such an
/// instruction stops the guest with an emulation failure. Fails the build if the
/// code has one (guest/README.md, "SSE"). Skipped with a warning without objdump.
fn check_emulable(elf: &Path) {
    const MOVES: &[&str] = &["movups", "movaps", "movupd", "movapd", "movdqu", "movdqa"];
    let output = match Command::new("objdump")
        .args([
            "-d",
            "--no-show-raw-insn",
            "-j",
            ".text",
            "-j",
            ".text.vectors",
        ])
        .arg(elf)
        .output()
    {
        Ok(output) if output.status.success() => output,
        _ => {
            println!("cargo:warning=objdump unavailable: the guest's code was not checked for SSE instructions");
            return;
        }
    };
    let listing = String::from_utf8_lossy(&output.stdout);
    let mut function = "";
    let mut bad = Vec::new();
    for line in listing.lines() {
        if line.ends_with(">:") {
            function = line;
        } else if line.contains("%xmm") || line.contains("%ymm") || line.contains("%mm") {
            let mnemonic = line
                .split('\t')
                .nth(1)
                .and_then(|i| i.split_whitespace().next())
                .unwrap_or("");
            if !MOVES.contains(&mnemonic) {
                bad.push(format!("{function} {}", line.trim()));
            }
        }
    }
    if !bad.is_empty() {
        panic!(
            "the test guest uses SSE instructions KVM's emulator cannot run at CPL0 (see guest/README.md, \"SSE\"):\n{}",
            bad.join("\n")
        );
    }
}
