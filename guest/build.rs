//! Links the guest as a freestanding static ELF placed by `link.ld`.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let script = format!("{dir}/link.ld");
    println!("cargo:rerun-if-changed={script}");
    println!("cargo:rerun-if-changed=build.rs");
    for arg in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
        "-Wl,-z,noexecstack",
        "-Wl,-z,max-page-size=4096",
        &format!("-Wl,-T,{script}"),
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}
