//! Feeds arbitrary bytes to the QMP JSON streamer in two chunkings and checks that the items
//! agree, that nothing panics, and that the writer's output of every value parses back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use monitor::json::{to_qmp_pretty_string, to_qmp_string, JsonStreamer};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size of the second feeding.
    let Some((&split, input)) = data.split_first() else {
        return;
    };
    let whole = JsonStreamer::new().feed(input);
    let mut streamer = JsonStreamer::new();
    let chunked: Vec<_> = input
        .chunks(usize::from(split % 16) + 1)
        .flat_map(|c| streamer.feed(c))
        .collect();
    assert_eq!(whole, chunked);

    for value in whole.iter().flatten() {
        let text = to_qmp_string(value);
        let _ = to_qmp_pretty_string(value);
        assert!(text.is_ascii());
        // `inf` is what QEMU writes for infinities; it is not JSON, so skip those.
        if !text.contains("inf") {
            let again = JsonStreamer::new().feed(format!("[{text}]").as_bytes());
            assert!(matches!(again.as_slice(), [Ok(Value::Array(_))]), "{text}");
        }
    }

    // 0xFF and a newline resynchronise from any state.
    streamer.feed(b"\xff\n");
    assert_eq!(streamer.feed(b"{}").len(), 1);
    assert!(streamer.is_idle());
});
