//! The generator's schema checks: a bad schema fails the build with a
//! message that names the file and line.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

// The generator is build.rs's; compile it here too to test it.
#[allow(dead_code)]
#[path = "../../codegen/mod.rs"]
mod gen;

/// Run the generator on `text` as the top schema file; the error
/// message, or "ok".
fn generate(text: &str) -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "qapi-gen-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("s.json"), text).unwrap();
    let result = match gen::run(&dir.join("s.json"), &dir, "out") {
        Ok(_) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[test]
fn good_schema() {
    let text = "##\n# @Foo:\n#\n# A foo.\n#\n# @a: the a\n##\n{ 'struct': 'Foo', 'data': { 'a': 'int' } }\n\
                { 'command': 'get-foo', 'returns': 'Foo' }\n";
    assert_eq!(generate(text), "ok");
}

#[test]
fn schema_errors() {
    let cases = [
        (
            "{ 'struct': 'A', 'data': { 'x': 'Nope' } }",
            "s.json:1: unknown type 'Nope'",
        ),
        (
            "\n{ 'command': 'c', 'alow-oob': true }",
            "s.json:2: unknown key 'alow-oob' in command",
        ),
        (
            "{ 'struct': 'A', 'data': { 'x': 'int' } }\n{ 'command': 'A' }",
            "s.json:2: 'A' is already defined",
        ),
        (
            "{ 'struct': 'B', 'data': { 'k': 'str' } }\n\
             { 'struct': 'C', 'data': {} }\n\
             { 'union': 'U', 'base': 'B', 'discriminator': 'k', 'data': { 'x': 'C' } }",
            "s.json:3: discriminator 'k' must be of an enum type",
        ),
        (
            "{ 'enum': 'E', 'data': [ 'a' ] }\n\
             { 'union': 'U', 'base': { 'k': 'E' }, 'discriminator': 'k', 'data': { 'b': 'E' } }",
            "s.json:2: 'b' is not a value of the discriminator",
        ),
        (
            "{ 'alternate': 'A', 'data': { 'a': 'int', 'b': 'number' } }",
            "s.json:1: branches of A are not distinguishable",
        ),
        (
            "{ 'struct': 'A', 'data': { 'x': 'int' }, 'if': 'CONFIG_X' }",
            "s.json:1: unknown key 'if' in struct",
        ),
        (
            "##\n# @B:\n##\n{ 'struct': 'A' }",
            "s.json:4: doc block for 'B' precedes 'A'",
        ),
        ("{ 'struct': 'A\n }", "s.json:1: unterminated string"),
        (
            "{ 'struct': 'A', 'data': { 'a-b': 'int', 'a_b': 'int' } }",
            "s.json:1: member 'a_b' of A clashes with another",
        ),
        (
            "{ 'struct': 'A', 'base': 'A' }",
            "s.json:1: A is its own base",
        ),
        (
            "{ 'include': 'missing.json' }",
            "missing.json: No such file or directory (os error 2)",
        ),
    ];
    for (text, want) in cases {
        let got = generate(text);
        assert!(got.ends_with(want), "{text}\n got: {got}\nwant: {want}");
    }
}
