//! Generates the QMP schema code (see codegen/) into OUT_DIR: once for
//! the real schema, once for the test schema that exercises what the
//! real one does not use yet.

mod codegen;

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=codegen");
    println!("cargo::rerun-if-changed=schema");
    let (Some(manifest), Some(out)) = (
        std::env::var_os("CARGO_MANIFEST_DIR"),
        std::env::var_os("OUT_DIR"),
    ) else {
        eprintln!("error: cargo did not set CARGO_MANIFEST_DIR and OUT_DIR");
        std::process::exit(1);
    };
    let schema = PathBuf::from(manifest).join("schema");
    let out = PathBuf::from(out);
    for (root, stem) in [
        (schema.join("qapi-schema.json"), "qapi_schema"),
        (
            schema.join("test").join("qapi-schema-test.json"),
            "qapi_test_schema",
        ),
    ] {
        if let Err(e) = codegen::run(&root, &out, stem) {
            eprintln!("error: QAPI schema: {e}");
            std::process::exit(1);
        }
    }
}
