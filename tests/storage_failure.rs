//! The disk refuses the hub's writes (a file may not grow: `EFBIG`, as `ENOSPC` on a full disk)
//! under a stream of transfers. The hub must then say so: submissions get a 503 naming the
//! commit log, `/readyz` and `/healthz` answer 503 with the cause (a supervisor restarts it),
//! reads keep working. After a restart without the limit, every transfer that got a 202 is
//! delivered exactly once, and the refused ones can be submitted again. And a data directory
//! in use by one hub is refused to a second at once.

#![allow(clippy::panic)]

mod common;

use common::{call, Server, ADMIN, KEY};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Room for the two 8 MiB journal files and a few thousand transfers in the redb file.
const FILE_LIMIT: u64 = 14 << 20;

fn submit(s: &Server, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let (code, resp) = call(
        ureq::post(&s.url("/v1/transfers")).set("Authorization", KEY),
        Some(&body.to_string()),
    );
    let v = serde_json::from_str(&resp).unwrap_or(serde_json::Value::String(resp));
    (code, v)
}

#[test]
fn a_disk_that_refuses_writes_makes_the_hub_unready_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let s = Server::start_file_size_limited(&data, FILE_LIMIT);

    let mut accepted = BTreeSet::new();
    let mut refused = Vec::new();
    let mut refusal = serde_json::Value::Null;
    let deadline = Instant::now() + Duration::from_secs(120);
    'fill: for round in 0.. {
        assert!(
            Instant::now() < deadline,
            "the hub still accepted after {} transfers: {}",
            accepted.len(),
            s.log_tail()
        );
        let (code, locks) = call(
            ureq::post(&s.url("/v1/dev/lock-batch")).set("Authorization", KEY),
            Some(
                &serde_json::json!({
                    "source": "mock-a", "destination": "mock-b", "sender": format!("s{round}-"),
                    "recipient": format!("r{round}-"), "asset": "CNY", "amount": "5",
                    "count": 500
                })
                .to_string(),
            ),
        );
        assert_eq!(code, 200, "lock-batch before the log failed: {locks}");
        let locks: Vec<serde_json::Value> = serde_json::from_str(&locks).expect("json");
        for (i, body) in locks.iter().enumerate() {
            let (code, v) = submit(&s, body);
            match code {
                202 => {
                    accepted.insert(v["id"].as_str().expect("id").to_string());
                }
                503 => {
                    refusal = v;
                    refused.extend(locks[i..].iter().cloned());
                    break 'fill;
                }
                _ => panic!("submission answered {code}: {v}"),
            }
        }
    }
    assert!(!accepted.is_empty(), "nothing accepted before the failure");
    let reason = refusal["error"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("commit log"), "refusal: {refusal}");

    // From now on the hub refuses writes and says why, on both probes.
    let (code, v) = submit(&s, &refused[refused.len() - 1]);
    assert_eq!(code, 503, "{v}");
    for probe in ["/readyz", "/healthz"] {
        let (code, body) = call(ureq::get(&s.url(probe)), None);
        assert_eq!(code, 503, "{probe}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        let why = v["error"]["reason"].as_str().unwrap_or_default();
        assert!(
            why.contains("commit log failed") && why.contains("restart"),
            "{probe}: {body}"
        );
        // The cause itself, not redb's "previous I/O error" that every later write gets.
        assert!(
            why.contains("File too large") || why.contains("os error 27"),
            "{probe} names the cause: {body}"
        );
    }
    // Operators' alerts see it.
    let (code, metrics) = call(ureq::get(&s.url("/metrics")), None);
    assert_eq!(code, 200);
    assert!(metrics.contains("meridian_log_failing 2"), "{metrics}");
    // Reads still work.
    let first = accepted.iter().next().expect("one").clone();
    let (code, body) = call(
        ureq::get(&s.url(&format!("/v1/transfers/{first}"))).set("Authorization", KEY),
        None,
    );
    assert_eq!(code, 200, "{body}");
    // One error line for the redb file, not one per retry.
    std::thread::sleep(Duration::from_millis(600));
    let log = std::fs::read_to_string(&s.log).expect("log");
    let repeats = log.matches("checkpoint into redb failed").count();
    assert!(
        repeats <= 1,
        "{repeats} checkpoint error lines:\n{}",
        s.log_tail()
    );
    // Stopped now, it cannot put what the journal holds into redb: not a clean stop, and it
    // says which files hold the accepted transfers.
    let mut s = s;
    let status = s.terminate();
    let tail = s.log_tail();
    assert_eq!(status.code(), Some(2), "{tail}");
    assert!(
        tail.contains("only in the journal") && tail.contains("log.redb.wal0"),
        "{tail}"
    );
    drop(s);

    // Restarted without the limit: everything accepted is delivered, once; the refused
    // transfers go through when sent again.
    let s = Server::start(&data);
    for body in &refused {
        let (code, v) = submit(&s, body);
        assert!(code == 202 || code == 200, "resubmitted: {code} {v}");
        accepted.insert(v["id"].as_str().expect("id").to_string());
    }
    for id in &accepted {
        s.wait_delivered(id);
    }
    let (code, body) = call(
        ureq::get(&s.url("/v1/stats")).set("Authorization", ADMIN),
        None,
    );
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        v["transfers"]["delivered"].as_u64(),
        Some(accepted.len() as u64),
        "{v}"
    );
    let applied = common::applied_deliveries(&data);
    for id in &accepted {
        assert_eq!(applied.get(id), Some(&1), "{id} applied once");
    }
    assert!(
        applied.values().all(|n| *n == 1),
        "no message applied twice"
    );
    let (code, _) = call(ureq::get(&s.url("/readyz")), None);
    assert_eq!(code, 200);
    let (_, metrics) = call(ureq::get(&s.url("/metrics")), None);
    assert!(metrics.contains("meridian_log_failing 0"), "{metrics}");
}

/// A second `meridian serve` on a data directory in use is refused at once, naming the first's
/// process, before it opens anything there (it used to append to the same mock chain journals
/// and wait 10 s for the log): the first keeps serving, and once it has stopped the directory
/// starts again.
#[test]
fn a_second_hub_on_the_same_data_directory_is_refused_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut first = Server::start(&data);
    let asked = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--config")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"))
        .output()
        .expect("second serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "refused only after {:?}",
        asked.elapsed()
    );
    assert!(
        stderr.contains("in use by another `meridian serve`")
            && stderr.contains(&format!("process {}", first.child.id())),
        "{stderr}"
    );
    let (code, body) = call(ureq::get(&first.url("/readyz")), None);
    assert_eq!(code, 200, "{body}");
    assert!(first.terminate().success());
    let again = Server::start(&data);
    let (code, _) = call(ureq::get(&again.url("/readyz")), None);
    assert_eq!(code, 200);
}

/// A journal file missing at start (`log.redb` restored from a backup without its journal, a
/// cleanup that took it) is made anew, and the hub says so on its log, naming the file and
/// where the log ends: had the hub not stopped cleanly, the transfers it answered after the
/// last copy into redb would be gone, and the operator is the one who can restore them. After
/// a clean stop nothing is lost.
#[test]
fn a_missing_journal_file_is_made_anew_with_a_warning() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let mut s = Server::start(&data);
    let mut ids = Vec::new();
    for body in s.lock_batch(3, "j") {
        let (code, v) = submit(&s, &body);
        assert_eq!(code, 202, "{v}");
        ids.push(v["id"].as_str().expect("id").to_string());
    }
    for id in &ids {
        s.wait_delivered(id);
    }
    assert!(s.terminate().success(), "{}", s.log_tail());
    let whole = |s: &Server| std::fs::read_to_string(&s.log).expect("the server's log");
    assert!(
        !whole(&s).contains("journal file of the commit log was missing"),
        "no warning while the journal is there"
    );
    drop(s);
    let journal = data.join("log.redb.wal0");
    std::fs::remove_file(&journal).expect("remove a journal file");

    let s = Server::start(&data);
    let log = whole(&s);
    assert!(
        log.contains("a journal file of the commit log was missing and is made anew")
            && log.contains(&journal.display().to_string()),
        "{}",
        s.log_tail()
    );
    assert!(journal.exists(), "made anew");
    for id in &ids {
        s.wait_delivered(id);
    }
}
