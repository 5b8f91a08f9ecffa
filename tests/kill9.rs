//! `kill -9` of the real binary under a stream of transfers, then a restart on the same data
//! directory: every transfer that got a `202` is still there and is delivered exactly once
//! (counted in the destination mock chain's journal, which survives the kills too).
//! `KILLS=50 cargo test --release --test kill9` (see `scripts/kill9.sh`) runs 50 kills.

#![allow(clippy::panic)]

mod common;

use common::{call, Server, ADMIN, KEY};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[test]
fn accepted_transfers_survive_kill_9_and_are_delivered_once() {
    let kills: usize = std::env::var("KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let accepted: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    for life in 0..kills {
        let mut s = Server::start(&data);
        let before = accepted.lock().expect("lock").len();
        let reqs = s.lock_batch(300, &format!("life{life}"));
        let stop = Arc::new(AtomicBool::new(false));
        let chunks: Vec<Vec<serde_json::Value>> = reqs.chunks(300 / 6).map(<[_]>::to_vec).collect();
        let mut threads = Vec::new();
        for chunk in chunks {
            let (url, accepted, stop) = (s.url("/v1/transfers"), accepted.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                for body in chunk {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (code, resp) = call(
                        ureq::post(&url).set("Authorization", KEY),
                        Some(&body.to_string()),
                    );
                    if code == 202 {
                        let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
                        let id = v["id"].as_str().expect("id").to_string();
                        accepted.lock().expect("lock").insert(id);
                    }
                }
            }));
        }
        // Kill while submissions are still flowing.
        let deadline = Instant::now() + Duration::from_secs(30);
        while accepted.lock().expect("lock").len() < before + 40 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("poster");
        }
        let now = accepted.lock().expect("lock").len();
        assert!(
            now > before,
            "life {life}: nothing accepted before the kill"
        );
        assert!(
            now < before + 300,
            "life {life}: the kill came after the stream ended"
        );
    }
    let accepted = accepted.lock().expect("lock").clone();

    // Last life: everything that got a 202 is there and reaches Delivered.
    let s = Server::start(&data);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pending: BTreeSet<String> = accepted.clone();
    while !pending.is_empty() {
        assert!(
            Instant::now() < deadline,
            "{} accepted transfers not delivered, e.g. {:?}: {}",
            pending.len(),
            pending.iter().next(),
            s.log_tail()
        );
        let mut still = BTreeSet::new();
        for id in &pending {
            let (code, body) = call(
                ureq::get(&s.url(&format!("/v1/transfers/{id}"))).set("Authorization", ADMIN),
                None,
            );
            assert_ne!(code, 404, "accepted transfer {id} lost");
            if !body.contains("\"status\":\"delivered\"") {
                still.insert(id.clone());
            }
        }
        pending = still;
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Exactly once on the destination chain: one applied delivery per accepted transfer.
    let applied = common::applied_deliveries(&data);
    for id in &accepted {
        assert_eq!(applied.get(id), Some(&1), "{id} delivered once");
    }
    assert!(
        applied.values().all(|n| *n == 1),
        "no message applied twice"
    );
    eprintln!(
        "{kills} kills: {} transfers accepted (202), all delivered exactly once",
        accepted.len()
    );
}
