//! Throughput of the protocol core alone (no sockets): pipelined requests in 64 KiB reads.
//! Run with `cargo test --release -p monitor qmp_throughput -- --ignored --nocapture`.

use super::harness::Client;
use std::time::Instant;

#[test]
#[ignore = "benchmark"]
fn qmp_throughput() {
    let count = 200_000;
    let input: String = (0..count)
        .map(|i| format!("{{\"execute\":\"query-name\",\"id\":\"__qmp#{i:05}\"}}"))
        .collect();
    let mut client = Client::negotiated(false);
    let start = Instant::now();
    let mut written = 0;
    for chunk in input.as_bytes().chunks(65536) {
        written += client.send_bytes(chunk).len();
    }
    let elapsed = start.elapsed();
    println!(
        "{count} pipelined requests in {elapsed:?}: {:.0} req/s, {:.2} us/request, {written} bytes out",
        count as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / count as f64
    );
}

/// A session behind a real socket, served by the simplest blocking loop: read (only while
/// the session wants input), run, write. Measures pipelined throughput and round trips.
#[test]
#[ignore = "benchmark"]
fn qmp_socket_throughput_and_round_trip() {
    use crate::qmp::{QmpSession, SessionConfig};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::net::UnixStream;

    let (mut server, client) = UnixStream::pair().expect("socketpair");
    let serve = std::thread::spawn(move || {
        let mut session = QmpSession::new(SessionConfig {
            pretty: false,
            oob_offered: true,
        });
        session.queue_greeting(&super::harness::version());
        let mut buf = vec![0u8; 65536];
        loop {
            let pending = session.output().pending();
            if !pending.is_empty() {
                if server.write_all(pending).is_err() {
                    return;
                }
                let n = pending.len();
                session.output().consume(n);
            }
            if session.wants_input() {
                match server.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => session.feed(&buf[..n]),
                }
            }
            while let Some(request) = session.next_request() {
                session.reply(request.id, Ok(serde_json::json!({})));
            }
        }
    });
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut writer = client;
    let mut line = String::new();
    reader.read_line(&mut line).expect("greeting");
    writer
        .write_all(b"{\"execute\":\"qmp_capabilities\"}")
        .expect("write");
    line.clear();
    reader.read_line(&mut line).expect("reply");

    // Round trips, one request in flight (libvirt's way).
    let trips = 20_000;
    let start = Instant::now();
    for i in 0..trips {
        let request = format!("{{\"execute\":\"query-name\",\"id\":\"libvirt-{i}\"}}\r\n");
        writer.write_all(request.as_bytes()).expect("write");
        line.clear();
        reader.read_line(&mut line).expect("reply");
    }
    let rtt = start.elapsed().as_secs_f64() * 1e6 / f64::from(trips);

    // Pipelined: a writer thread sends everything, this one reads the replies.
    let count = 200_000;
    let input: String = (0..count)
        .map(|i| format!("{{\"execute\":\"query-name\",\"id\":\"__qmp#{i:05}\"}}"))
        .collect();
    let start = Instant::now();
    let send = std::thread::spawn(move || {
        writer.write_all(input.as_bytes()).expect("write");
        writer
    });
    for _ in 0..count {
        line.clear();
        reader.read_line(&mut line).expect("reply");
    }
    let rate = f64::from(count) / start.elapsed().as_secs_f64();
    drop(send.join());
    drop(reader);
    let _ = serve.join();
    println!("socket: {rtt:.1} us per round trip, {rate:.0} pipelined req/s");
}
