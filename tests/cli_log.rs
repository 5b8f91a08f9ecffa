//! `meridian log inspect` on the real binary: it reads a hub's data directory after a `kill -9`
//! without changing a byte of it, and refuses at once, naming the cause, while the hub runs.

#![allow(clippy::panic)]

mod common;

use common::{call, Server, KEY};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Every file under `dir` with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("read file");
                out.push((p.display().to_string(), bytes));
            }
        }
    }
    out.sort();
    out
}

fn inspect(data_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["log", "inspect", "--limit", "100000", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run log inspect")
}

#[test]
fn log_inspect_reads_a_killed_hubs_log_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut s = Server::start(&data);
    let bodies = s.lock_batch(20, "inspect");
    for b in &bodies {
        let (code, resp) = call(
            ureq::post(&s.url("/v1/transfers")).set("Authorization", KEY),
            Some(&b.to_string()),
        );
        assert_eq!(code, 202, "{resp}");
    }
    // While the hub runs: refused at once, naming why.
    let started = Instant::now();
    let out = inspect(&data);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("running hub"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );

    s.kill9();
    let before = snapshot(&data);
    let out = inspect(&data);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let accepted = stdout.lines().filter(|l| l.contains(" accepted ")).count();
    assert_eq!(accepted, bodies.len(), "{stdout}");
    assert!(
        stdout.contains(&format!("messages: {}", bodies.len())),
        "{stdout}"
    );
    assert!(
        before == snapshot(&data),
        "log inspect changed the data directory"
    );
}
