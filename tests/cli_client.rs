//! `meridian send`, `meridian status` and `meridian config check`, run as a newcomer would.

#![allow(clippy::panic)]

mod common;

use common::Server;
use std::process::Command;

fn meridian(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(args)
        .output()
        .expect("run meridian");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn send_wait_follows_a_transfer_to_delivered_and_status_shows_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let (code, out, err) = meridian(&[
        "send", "--hub", &s.base, "--from", "mock-a", "--to", "mock-b", "--asset", "CNY",
        "--amount", "42", "--wait",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("locked 42 CNY on mock-a"), "{out}");
    assert!(lines[1].ends_with(": committed"), "{out}");
    assert!(lines.iter().any(|l| l.contains(": finalized")), "{out}");
    assert!(
        lines.last().is_some_and(|l| l.contains(": delivered")),
        "{out}"
    );
    let id = lines[1]
        .split_whitespace()
        .nth(1)
        .map(|s| s.trim_end_matches(':'))
        .expect("id");
    let (code, out, err) = meridian(&["status", "--hub", &s.base, id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("mock-a → mock-b: 42 CNY") && out.contains(": delivered"),
        "{out}"
    );
    // Across families, on the built-in family mocks of config/chains.
    for (from, to) in [
        ("fisco-group1", "eth-main"),
        ("chainsql-main", "mock-b"),
        ("eth-main", "fisco-group1"),
    ] {
        let (code, out, err) = meridian(&[
            "send", "--hub", &s.base, "--from", from, "--to", to, "--asset", "CNY", "--amount",
            "9", "--wait",
        ]);
        assert_eq!(code, Some(0), "{from} → {to}: {out}{err}");
        assert!(
            out.lines()
                .last()
                .is_some_and(|l| l.contains(": delivered")),
            "{out}"
        );
    }
    // A bad destination is the hub's 4xx, reported with its field.
    let (code, _, err) = meridian(&[
        "send", "--hub", &s.base, "--from", "mock-a", "--to", "nowhere", "--asset", "CNY",
        "--amount", "1",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("field destination"), "{err}");
    // A wrong key.
    let (code, _, err) = meridian(&["status", "--hub", &s.base, "--key", "wrong", id]);
    assert_eq!(code, Some(1));
    assert!(err.contains("401"), "{err}");
}

#[test]
fn config_check_names_the_file_the_key_and_the_reason() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let (code, out, err) = meridian(&["config", "check", "--config", &repo.to_string_lossy()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("ok:") && out.contains("135 cities"),
        "{out}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    for entry in walk(&repo) {
        let rel = entry.strip_prefix(&repo).expect("rel");
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &to).expect("copy");
    }
    let hub = dir.path().join("hub.toml");
    let text = std::fs::read_to_string(&hub).expect("hub.toml");
    std::fs::write(
        &hub,
        text.replace("seal_interval_ms = 500", "seal_interval_ms = \"fast\""),
    )
    .expect("write");
    let (code, _, err) = meridian(&["config", "check", "--config", &dir.path().to_string_lossy()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("hub.toml")
            && err.contains("seal_interval_ms")
            && err.contains("invalid type"),
        "{err}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
