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

/// `meridian send --wait` ends with exit 1 and says so when the transfer ends anything but
/// delivered (it used to exit 0 on a refund, and to wait out `--wait-secs` on a rejection).
#[test]
fn send_wait_exits_1_when_the_transfer_is_not_delivered() {
    for (end, timeline) in [
        (
            "refunded",
            &["committed", "finalized", "timed_out", "refunded"][..],
        ),
        ("rejected", &["committed", "rejected"][..]),
    ] {
        let hub = FakeHub::start(end, timeline);
        let (code, out, err) = meridian(&[
            "send",
            "--hub",
            &hub.base,
            "--from",
            "mock-a",
            "--to",
            "mock-b",
            "--asset",
            "CNY",
            "--amount",
            "5",
            "--wait",
            "--wait-secs",
            "20",
        ]);
        assert_eq!(code, Some(1), "{end}: {out}{err}");
        assert!(
            out.lines()
                .last()
                .is_some_and(|l| l.contains(&format!(": {end}"))),
            "{end}: {out}"
        );
        assert!(
            err.contains(&format!("ended {end}")) && err.contains("not delivered"),
            "{end}: {err}"
        );
    }
    // Delivered is still success.
    let hub = FakeHub::start("delivered", &["committed", "finalized", "delivered"]);
    let (code, out, err) = meridian(&[
        "send", "--hub", &hub.base, "--from", "mock-a", "--to", "mock-b", "--asset", "CNY",
        "--amount", "5", "--wait",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
}

/// What the CLI can check itself it checks before anything is locked (no hub is needed to
/// see that: the hub address here answers nothing).
#[test]
fn send_checks_its_arguments_before_locking() {
    let nowhere = "http://127.0.0.1:9";
    for (args, what) in [
        (vec!["--to", "mock-a", "--amount", "5"], "--to"),
        (vec!["--to", "mock-b", "--amount", "0"], "--amount"),
        (
            vec!["--to", "mock-b", "--amount", "5", "--asset", ""],
            "--asset",
        ),
        (
            vec!["--to", "mock-b", "--amount", "5", "--asset", "X\u{1b}[2J"],
            "--asset",
        ),
        (
            vec!["--to", "mock-b", "--amount", "5", "--recipient", "b\nob"],
            "--recipient",
        ),
        (
            vec!["--to", "mock-b", "--amount", "5", "--sender", ""],
            "--sender",
        ),
        (
            vec!["--to", "mock-b", "--amount", "5", "--hub", "not a url"],
            "--hub",
        ),
    ] {
        let mut all = vec!["send", "--from", "mock-a"];
        if !args.contains(&"--hub") {
            all.extend(["--hub", nowhere]);
        }
        if !args.contains(&"--asset") {
            all.extend(["--asset", "CNY"]);
        }
        all.extend(args);
        let (code, out, err) = meridian(&all);
        assert_eq!(code, Some(2), "{what}: {out}{err}");
        assert!(!out.contains("locked"), "{what}: {out}");
        assert!(
            err.contains(what) && !err.contains("unreachable"),
            "{what}: {err}"
        );
    }
}

/// `POST /v1/dev/lock` refuses a lock whose transfer the hub would refuse, before locking (it
/// used to lock, answer 200, and leave the submission to fail).
#[test]
fn dev_lock_refuses_before_locking() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let lock = |destination: &str, amount: &str| {
        common::call(
            ureq::post(&s.url("/v1/dev/lock")).set("Authorization", common::KEY),
            Some(
                &serde_json::json!({
                    "source": "mock-a", "destination": destination, "sender": "alice",
                    "recipient": "bob", "asset": "CNY", "amount": amount,
                })
                .to_string(),
            ),
        )
    };
    for (destination, amount, field) in [
        ("mock-a", "5", "destination"),
        ("nowhere", "5", "destination"),
        ("mock-b", "0", "amount"),
        ("mock-b", "-1", "amount"),
        ("mock-b", "+7", "amount"),
    ] {
        let (code, body) = lock(destination, amount);
        assert_eq!(code, 400, "{destination} {amount}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["error"]["field"], field, "{body}");
    }
    // Names the chain records and readers print back: not empty, no control characters.
    for (field, value) in [
        ("asset", ""),
        ("asset", "C\nN"),
        ("sender", ""),
        ("recipient", "b\u{1b}[2Job"),
    ] {
        let mut body = serde_json::json!({
            "source": "mock-a", "destination": "mock-b", "sender": "alice",
            "recipient": "bob", "asset": "CNY", "amount": "5",
        });
        body[field] = value.into();
        let (code, answer) = common::call(
            ureq::post(&s.url("/v1/dev/lock")).set("Authorization", common::KEY),
            Some(&body.to_string()),
        );
        assert_eq!(code, 400, "{field} {value:?}: {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer).expect("json");
        assert_eq!(v["error"]["field"], field, "{answer}");
    }
    // A lock-batch names the lock's field too (through `flatten` it named the body).
    let (code, answer) = common::call(
        ureq::post(&s.url("/v1/dev/lock-batch")).set("Authorization", common::KEY),
        Some(
            &serde_json::json!({
                "source": 5, "destination": "mock-b", "sender": "alice", "recipient": "bob",
                "asset": "CNY", "amount": "5", "count": 1,
            })
            .to_string(),
        ),
    );
    assert_eq!(code, 400, "{answer}");
    assert!(answer.contains("\"field\":\"source\""), "{answer}");
    // A paused route: refused before anything is locked (the transfer would be refused).
    let pause = |what: &str| {
        common::call(
            ureq::post(&s.url(&format!("/v1/admin/routes/mock-a/mock-b/{what}")))
                .set("Authorization", common::ADMIN),
            None,
        )
    };
    assert_eq!(pause("pause").0, 200);
    let (code, body) = lock("mock-b", "5");
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("nothing was locked"), "{body}");
    assert_eq!(pause("resume").0, 200);
    let (code, body) = lock("mock-b", "5");
    assert_eq!(code, 200, "{body}");
    // And the CLI, against the hub, says which field.
    let (code, out, err) = meridian(&[
        "send", "--hub", &s.base, "--from", "mock-a", "--to", "mock-a", "--asset", "CNY",
        "--amount", "5",
    ]);
    assert_ne!(code, Some(0));
    assert!(!out.contains("locked"), "{out}");
    assert!(err.contains("--to"), "{err}");
}

/// `meridian status ID` takes a transfer id, not a path: anything else is refused (exit 2)
/// before any request.
#[test]
fn status_refuses_what_is_not_a_transfer_id() {
    let nowhere = "http://127.0.0.1:9";
    let id = "ab".repeat(32);
    for bad in [
        "../../healthz".to_string(),
        "abc".to_string(),
        format!("{id}00"),
        format!("0x{}", &id[1..]),
        format!("{}zz", &id[2..]),
        format!("0X{id}"),
        String::new(),
    ] {
        let (code, out, err) = meridian(&["status", "--hub", nowhere, &bad]);
        assert_eq!(code, Some(2), "{bad:?}: {out}{err}");
        assert!(out.is_empty(), "{bad:?}: {out}");
        assert!(err.contains("64 hex digits"), "{bad:?}: {err}");
    }
    // A well-formed id gets as far as the (absent) hub.
    for good in [id.clone(), format!("0x{id}"), id.to_uppercase()] {
        let (code, _, err) = meridian(&["status", "--hub", nowhere, &good]);
        assert_eq!(code, Some(1), "{good}: {err}");
        assert!(err.contains("unreachable"), "{good}: {err}");
    }
}

/// A stand-in hub on a loopback port: `/v1/dev/lock` and `/v1/transfers` answer a transfer
/// that goes through `timeline` and ends `end`.
struct FakeHub {
    base: String,
}

impl FakeHub {
    fn start(end: &str, timeline: &[&str]) -> FakeHub {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let id = format!("0x{}", "ab".repeat(32));
        let steps: Vec<serde_json::Value> = timeline
            .iter()
            .enumerate()
            .map(|(i, s)| serde_json::json!({"status": s, "seq": i, "at_ms": i}))
            .collect();
        let view = serde_json::json!({
            "id": id, "source": "mock-a", "destination": "mock-b", "amount": "5",
            "asset": "CNY", "sender": "alice", "recipient": "bob", "status": end,
            "timeline": steps,
        })
        .to_string();
        let accepted = serde_json::json!({"id": id, "status": "committed"}).to_string();
        let lock = serde_json::json!({"source": "mock-a", "evidence": {}}).to_string();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let mut reader = BufReader::new(conn);
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let path = request_line.split_whitespace().nth(1).unwrap_or("");
                let answer = match path {
                    "/v1/dev/lock" => &lock,
                    "/v1/transfers" => &accepted,
                    _ => &view,
                };
                let mut conn = reader.into_inner();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        FakeHub { base }
    }
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

/// `serve` binds its address before it writes anything (a bad address or a port in use leaves
/// the data directory untouched), takes `--listen` as `IP:PORT` like `hub.listen`, logs on
/// stderr without colour codes when redirected (stdout carries only the listening line), and
/// stops cleanly on SIGTERM as on Ctrl-C.
#[cfg(unix)]
#[test]
fn serve_binds_before_writing_logs_on_stderr_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let in_use = busy.local_addr().expect("addr").to_string();
    for (listen, needle) in [
        ("bogus", "not IP:PORT"),
        ("localhost:18080", "not IP:PORT"),
        (in_use.as_str(), "listening on"),
    ] {
        let (code, out, err) = meridian(&[
            "serve",
            "--listen",
            listen,
            "--data-dir",
            &data.to_string_lossy(),
            "--config",
            &config.to_string_lossy(),
        ]);
        assert_eq!(code, Some(2), "{listen}: {out}{err}");
        assert!(err.contains(needle), "{listen}: {err}");
        assert!(!data.exists(), "{listen}: the data directory was written");
    }
    drop(busy);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("the listening line");
    assert!(
        first.starts_with("meridian: listening on http://127.0.0.1:"),
        "{first}"
    );
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("stdout");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(rest.is_empty(), "stdout after the listening line: {rest}");
    assert!(err.contains("meridian hub running"), "{err}");
    assert!(
        err.contains("shutting down") && err.contains("SIGTERM"),
        "{err}"
    );
    assert!(err.contains("the commit log is closed"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a redirected log: {err}"
    );
}

/// The in-memory family mocks begin again at their first block when the hub restarts: a send
/// after the restart still makes a new transfer (the dev lock moves past positions the log
/// holds) instead of being answered with an earlier one, or refused.
#[test]
fn sends_from_an_in_memory_chain_after_a_restart_are_new_transfers() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    // Every family whose mock lives in memory, each keying its events its own way (the
    // locator; EOS's global sequence, Xuper's and Fabric's transaction ids).
    let chains = ["eth-main", "eos-main", "xuper", "fabric-channel"];
    let send = |s: &Server, from: &str, amount: &str| {
        let (code, out, err) = meridian(&[
            "send", "--hub", &s.base, "--from", from, "--to", "mock-b", "--asset", "CNY",
            "--amount", amount,
        ]);
        assert_eq!(code, Some(0), "{from}: {out}{err}");
        let id = out
            .lines()
            .find_map(|l| l.strip_prefix("transfer "))
            .and_then(|l| l.split(':').next())
            .expect("a transfer id")
            .to_string();
        assert!(out.contains(": committed"), "{from}: {out}");
        id
    };
    let mut s = Server::start(&data);
    let mut before = Vec::new();
    for from in chains {
        for amount in ["1", "2"] {
            before.push(send(&s, from, amount));
        }
    }
    s.kill9();
    let s = Server::start(&data);
    for from in chains {
        let after = send(&s, from, "3");
        assert!(
            !before.contains(&after),
            "{from}: {after} was an earlier transfer"
        );
    }
}
