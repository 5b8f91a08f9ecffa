//! The HTTP API over real HTTP against the spawned binary: a DApp's whole flow, and bad input
//! of every kind answered with a 4xx whose JSON body names the field — never a 5xx.

#![allow(clippy::panic)]

mod common;

use common::{call, Server, ADMIN, KEY, OTHER};
use proptest::prelude::*;
use std::io::BufRead;
use std::time::{Duration, Instant};

fn error_field(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v["error"]["field"].as_str().map(str::to_string)
}

#[test]
fn dapp_flow_submit_stream_deliver_and_verify_the_proof() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    // Before any transfer, every series whose labels are known exists at zero (a series that
    // appears with its first event is missed by rate() and cannot be told from a missing one).
    let (_, first) = call(ureq::get(&s.url("/metrics")), None);
    for series in [
        "meridian_transfer_transitions_total{source=\"mock-a\",destination=\"mock-b\",state=\"delivered\"} 0",
        "meridian_transfer_transitions_total{source=\"eos-main\",destination=\"eth-main\",state=\"refunded\"} 0",
        "meridian_verify_seconds_count{chain=\"mock-a\"} 0",
        "meridian_submit_seconds_count{source=\"fabric-channel\"} 0",
        "meridian_end_to_end_seconds_count{source=\"mock-a\",destination=\"mock-b\"} 0",
        "meridian_deliveries_undeliverable_total{destination=\"eos-main\"} 0",
        "meridian_event_streams 0",
    ] {
        assert!(first.contains(series), "{series} missing:\n{first}");
    }
    // Follow the event stream from before the submission.
    let events = ureq::get(&s.url("/v1/events"))
        .set("Authorization", KEY)
        .call()
        .expect("events");
    assert_eq!(events.header("content-type"), Some("text/event-stream"));
    let rx = lines_of(events);
    let req = s.lock_batch(1, "flow").remove(0);
    let body = req.to_string();
    let (code, resp) = call(
        ureq::post(&s.url("/v1/transfers"))
            .set("Authorization", KEY)
            .set("Idempotency-Key", "k-1"),
        Some(&body),
    );
    assert_eq!(code, 202, "{resp}");
    let accepted: serde_json::Value = serde_json::from_str(&resp).expect("json");
    let id = accepted["id"].as_str().expect("id").to_string();
    assert_eq!(accepted["status"], "committed");
    // A scrape now sets the committed gauge; once delivered it must read 0 again, not stay.
    let (_, early) = call(ureq::get(&s.url("/metrics")), None);
    assert!(
        early.contains("meridian_transfers{state=\"committed\"}"),
        "{early}"
    );
    // The same Idempotency-Key and body replay the answer; the same evidence is the same message.
    let (code2, resp2) = call(
        ureq::post(&s.url("/v1/transfers"))
            .set("Authorization", KEY)
            .set("Idempotency-Key", "k-1"),
        Some(&body),
    );
    assert_eq!((code2, resp2.clone()), (202, resp.clone()));
    let (code3, resp3) = call(
        ureq::post(&s.url("/v1/transfers")).set("Authorization", KEY),
        Some(&body),
    );
    assert_eq!(code3, 200, "{resp3}");
    assert!(resp3.contains("\"existing\":true") && resp3.contains(&id));
    // The stream shows it reaching Delivered.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !seen.iter().any(|s: &String| s == "delivered") {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("status events until delivered");
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(data).expect("event json");
        if v["id"] == id.as_str() {
            seen.push(v["status"].as_str().unwrap_or_default().to_string());
        }
    }
    assert_eq!(seen, ["committed", "finalized", "delivered"]);
    let (code, t) = call(
        ureq::get(&s.url(&format!("/v1/transfers/{id}"))).set("Authorization", KEY),
        None,
    );
    assert_eq!(code, 200);
    let t: serde_json::Value = serde_json::from_str(&t).expect("json");
    assert_eq!(t["status"], "delivered");
    assert_eq!(t["timeline"].as_array().map(Vec::len), Some(3));
    // The finality proof bundle verifies offline with the real binary.
    let (code, proof) = call(
        ureq::get(&s.url(&format!("/v1/transfers/{id}/proof"))).set("Authorization", KEY),
        None,
    );
    assert_eq!(code, 200, "{proof}");
    let path = dir.path().join("proof.json");
    std::fs::write(&path, &proof).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["proof", "verify"])
        .arg(&path)
        .output()
        .expect("verify");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "valid\n");
    // Pinned to the relay set the hub names for its blocks it verifies; to another it fails.
    let (_, head) = call(ureq::get(&s.url("/v1/refchain/head")), None);
    let head: serde_json::Value = serde_json::from_str(&head).expect("head json");
    let set = head["relay_set_hash"]
        .as_str()
        .expect("relay_set_hash")
        .to_string();
    assert_eq!(set.len(), 64, "{head}");
    let pinned = |hex: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(["proof", "verify", "--relay-set", hex])
            .arg(&path)
            .output()
            .expect("verify")
            .status
            .code()
    };
    assert_eq!(pinned(&set), Some(0));
    let other = format!(
        "{}{}",
        if set.starts_with('0') { "1" } else { "0" },
        &set[1..]
    );
    assert_eq!(pinned(&other), Some(1));
    // Listing: the tenant sees it; the other tenant does not.
    let (_, page) = call(
        ureq::get(&s.url("/v1/transfers?limit=10")).set("Authorization", KEY),
        None,
    );
    assert!(page.contains(&id));
    let (_, page) = call(
        ureq::get(&s.url("/v1/transfers")).set("Authorization", OTHER),
        None,
    );
    assert!(!page.contains(&id));
    let (_, page) = call(
        ureq::get(&s.url("/v1/transfers")).set("Authorization", ADMIN),
        None,
    );
    assert!(page.contains(&id));
    // Public network views.
    let (code, cities) = call(ureq::get(&s.url("/v1/cities")), None);
    assert_eq!(code, 200);
    let cities: serde_json::Value = serde_json::from_str(&cities).expect("json");
    assert_eq!(cities.as_array().map(Vec::len), Some(135));
    let (code, head) = call(ureq::get(&s.url("/v1/refchain/head")), None);
    assert_eq!(code, 200);
    assert!(head.contains("\"final\":true"), "{head}");
    let (code, metrics) = call(ureq::get(&s.url("/metrics")), None);
    assert_eq!(code, 200);
    assert!(
        metrics.contains("meridian_http_responses_total"),
        "{metrics}"
    );
    assert!(metrics.contains("meridian_log_fsync_seconds"), "{metrics}");
    for (state, want) in [("committed", 0), ("finalized", 0), ("delivered", 1)] {
        let line = format!("meridian_transfers{{state=\"{state}\"}} {want}");
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}`:\n{metrics}"
        );
    }
    // Latencies are histograms with buckets (not summaries), so they aggregate across hubs.
    for h in [
        "meridian_verify_seconds",
        "meridian_end_to_end_seconds",
        "meridian_log_fsync_seconds",
        "meridian_log_batch_entries",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {h} histogram"))
                && metrics.contains(&format!("{h}_bucket{{")),
            "{h} is not a histogram:\n{metrics}"
        );
    }
    // Every metric exported says what it is (`# HELP`), and verification, which takes
    // microseconds, has buckets below 100 µs.
    for l in metrics.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = l.split_whitespace().nth(2).unwrap_or_default();
        assert!(
            metrics.contains(&format!("# HELP {name} ")),
            "no # HELP for {name}"
        );
    }
    assert!(
        metrics.contains("meridian_verify_seconds_bucket{chain=\"mock-a\",le=\"0.000005\"}"),
        "{metrics}"
    );
    // Each piece of evidence's verification, by source chain.
    assert!(
        metrics.lines().any(
            |l| l.starts_with("meridian_verify_seconds_count{chain=\"mock-a\"}")
                && !l.ends_with(" 0")
        ),
        "{metrics}"
    );
    // The transfer's transitions on its route, and its commit-to-delivery time.
    for state in ["committed", "finalized", "delivered"] {
        let counted = metrics.lines().any(|l| {
            l.starts_with("meridian_transfer_transitions_total{")
                && l.contains(&format!("state=\"{state}\""))
                && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) >= Some(1.0)
        });
        assert!(counted, "no {state} transition counted:\n{metrics}");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("meridian_end_to_end_seconds_count{") && !l.ends_with(" 0")),
        "{metrics}"
    );
    let (code, api) = call(ureq::get(&s.url("/openapi.json")), None);
    assert_eq!(code, 200);
    assert!(api.contains("/v1/transfers/{id}/proof"));
    // Each parameter is where the route takes it: a path parameter only where the path has
    // its `{name}`, filters in the query.
    let api: serde_json::Value = serde_json::from_str(&api).expect("openapi json");
    let paths = api["paths"].as_object().expect("paths");
    let mut query_params = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().expect("name");
                match p["in"].as_str() {
                    Some("path") => assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: path parameter {name} not in the path"
                    ),
                    Some("query") => query_params += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(
        query_params >= 9,
        "the list, events and blocks filters: {query_params}"
    );
    for route in [
        "/metrics",
        "/openapi.json",
        "/v1/dev/lock-batch",
        "/healthz",
    ] {
        assert!(
            paths.contains_key(route),
            "{route} missing from the OpenAPI document"
        );
    }
}

#[test]
fn bad_input_is_a_4xx_naming_the_field() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let good = s.lock_batch(2, "bad");
    let post = |auth: Option<&str>, body: &str| {
        let mut r = ureq::post(&s.url("/v1/transfers"));
        if let Some(a) = auth {
            r = r.set("Authorization", a);
        }
        call(r, Some(body))
    };
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good[0].clone();
        f(&mut v);
        v.to_string()
    };
    let huge = format!("{{\"source\":\"{}\"}}", "x".repeat(300 * 1024));
    // (case, Authorization, body, expected status, expected field)
    type Case<'a> = (&'a str, Option<&'a str>, String, u16, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "no key",
            None,
            good[0].to_string(),
            401,
            Some("Authorization"),
        ),
        (
            "unknown key",
            Some("Bearer nope"),
            good[0].to_string(),
            401,
            Some("Authorization"),
        ),
        (
            "malformed json",
            Some(KEY),
            "{\"source\":".into(),
            400,
            Some("source"),
        ),
        ("not json", Some(KEY), "{bad".into(), 400, Some("body")),
        ("empty body", Some(KEY), String::new(), 400, Some("body")),
        (
            "not an object",
            Some(KEY),
            "[1,2]".into(),
            400,
            Some("body"),
        ),
        ("null", Some(KEY), "null".into(), 400, Some("body")),
        (
            "cut inside the evidence",
            Some(KEY),
            "{\"source\":\"mock-a\",\"evidence\":{\"locator\":\"00\",".into(),
            400,
            Some("evidence"),
        ),
        (
            "duplicate key",
            Some(KEY),
            "{\"source\":\"mock-a\",\"source\":\"mock-b\"}".into(),
            400,
            Some("source"),
        ),
        (
            "wrong type",
            Some(KEY),
            with(&|v| v["timeout_secs"] = "soon".into()),
            400,
            Some("timeout_secs"),
        ),
        (
            "timeout out of range",
            Some(KEY),
            with(&|v| v["timeout_secs"] = 0.into()),
            400,
            Some("timeout_secs"),
        ),
        (
            "bad hex",
            Some(KEY),
            with(&|v| v["evidence"]["proof"] = "0xzz".into()),
            400,
            Some("evidence.proof"),
        ),
        (
            "missing field",
            Some(KEY),
            with(&|v| {
                v["evidence"].as_object_mut().map(|o| o.remove("header"));
            }),
            400,
            Some("evidence.header"),
        ),
        (
            "unknown field",
            Some(KEY),
            with(&|v| v["extra"] = 1.into()),
            400,
            Some("extra"),
        ),
        (
            "unknown chain",
            Some(KEY),
            with(&|v| v["source"] = "nowhere".into()),
            400,
            Some("source"),
        ),
        (
            "forged proof",
            Some(KEY),
            with(&|v| {
                let p = v["evidence"]["proof"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let flipped = format!(
                    "{}{}",
                    &p[..p.len() - 1],
                    if p.ends_with('0') { '1' } else { '0' }
                );
                v["evidence"]["proof"] = flipped.into();
            }),
            422,
            Some("evidence"),
        ),
        (
            "evidence of another event",
            Some(KEY),
            with(&|v| v["evidence"]["event"] = good[1]["evidence"]["event"].clone()),
            422,
            Some("evidence"),
        ),
        ("huge body", Some(KEY), huge, 413, Some("body")),
        (
            "evidence as an array",
            Some(KEY),
            with(&|v| {
                let e = v["evidence"].clone();
                v["evidence"] =
                    serde_json::json!([e["locator"], e["header"], e["proof"], e["event"]]);
            }),
            400,
            Some("evidence"),
        ),
    ];
    for (name, auth, body, want, field) in cases {
        let (code, resp) = post(auth, &body);
        assert_eq!(code, want, "{name}: {resp}");
        let v: serde_json::Value =
            serde_json::from_str(&resp).unwrap_or_else(|_| panic!("{name}: JSON body, got {resp}"));
        assert_eq!(v["error"]["status"], want, "{name}");
        if let Some(f) = field {
            assert_eq!(error_field(&resp).as_deref(), Some(f), "{name}: {resp}");
        }
    }
    // Ids: malformed, unknown, another tenant's.
    let (code, resp) = post(Some(KEY), &good[0].to_string());
    assert_eq!(code, 202, "{resp}");
    let id = serde_json::from_str::<serde_json::Value>(&resp).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    for (auth, path, want) in [
        (KEY, "/v1/transfers/xyz".to_string(), 400),
        (KEY, format!("/v1/transfers/0x{}", "ab".repeat(32)), 404),
        (OTHER, format!("/v1/transfers/{id}"), 404),
        (OTHER, format!("/v1/transfers/{id}/proof"), 404),
        (KEY, "/v1/transfers?limit=0".to_string(), 400),
        (KEY, "/v1/transfers?status=lost".to_string(), 400),
        (KEY, "/v1/transfers?cursor=abc".to_string(), 400),
        (KEY, "/v1/nothing".to_string(), 404),
        (KEY, "/v1/refchain/blocks/999999".to_string(), 404),
        (KEY, "/v1/refchain/blocks/notanumber".to_string(), 400),
    ] {
        let (code, resp) = call(ureq::get(&s.url(&path)).set("Authorization", auth), None);
        assert_eq!(code, want, "{path}: {resp}");
        assert!(error_field(&resp).is_some(), "{path}: {resp}");
    }
    // A known path with a method it does not take: 405 with `Allow`, as JSON.
    for (method, path, allow) in [
        ("DELETE", format!("/v1/transfers/{id}"), "GET"),
        ("PUT", "/v1/transfers".to_string(), "GET, POST"),
        ("POST", "/v1/refchain/head".to_string(), "GET"),
        (
            "GET",
            "/v1/admin/relays/tokyo/rotate-key".to_string(),
            "POST",
        ),
        ("DELETE", "/metrics".to_string(), "GET"),
    ] {
        let r = ureq::request(method, &s.url(&path)).set("Authorization", KEY);
        let resp = match r.call() {
            Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_eq!(resp.header("Allow"), Some(allow), "{method} {path}");
        let body = resp.into_string().unwrap_or_default();
        assert_eq!(error_field(&body).as_deref(), Some("method"), "{body}");
    }
    // Query and path parameters that do not parse are named.
    for (path, field) in [
        ("/v1/transfers?limit=abc", "limit"),
        ("/v1/transfers?limit=", "limit"),
        ("/v1/transfers?limit=1&limit=2", "limit"),
        ("/v1/transfers?colour=red", "colour"),
        ("/v1/refchain/blocks?before=x", "before"),
        ("/v1/refchain/blocks/notanumber", "height"),
    ] {
        let (code, resp) = call(ureq::get(&s.url(path)).set("Authorization", KEY), None);
        assert_eq!(code, 400, "{path}: {resp}");
        assert_eq!(error_field(&resp).as_deref(), Some(field), "{path}: {resp}");
    }
    // Relay key rotation is an operator route.
    let rot = |auth: &str, city: &str| {
        call(
            ureq::post(&s.url(&format!("/v1/admin/relays/{city}/rotate-key")))
                .set("Authorization", auth),
            Some("{}"),
        )
    };
    assert_eq!(rot(KEY, "tokyo").0, 403);
    assert_eq!(rot(ADMIN, "atlantis").0, 404);
    let (code, resp) = rot(ADMIN, "tokyo");
    assert_eq!(code, 200, "{resp}");
    assert!(resp.contains("relay_set_hash"), "{resp}");
    // Operator routes need the admin key.
    let (code, resp) = call(
        ureq::post(&s.url("/v1/admin/routes/mock-a/mock-b/pause")).set("Authorization", KEY),
        Some("{}"),
    );
    assert_eq!(code, 403, "{resp}");
    let (code, _) = call(
        ureq::post(&s.url("/v1/admin/routes/mock-a/mock-b/pause")).set("Authorization", ADMIN),
        Some("{}"),
    );
    assert_eq!(code, 200);
    let (code, resp) = post(Some(KEY), &good[1].to_string());
    assert_eq!(code, 409, "paused route: {resp}");
    let (code, _) = call(
        ureq::post(&s.url("/v1/admin/routes/mock-a/mock-b/resume")).set("Authorization", ADMIN),
        Some("{}"),
    );
    assert_eq!(code, 200);
    let (code, resp) = post(Some(KEY), &good[1].to_string());
    assert_eq!(code, 202, "resumed: {resp}");
}

/// Submit `body` as `auth`: (status, body, whether the answer was an idempotent replay).
fn submit(s: &common::Server, auth: &str, key: Option<&str>, body: &str) -> (u16, String, bool) {
    let mut r = ureq::post(&s.url("/v1/transfers"))
        .set("Authorization", auth)
        .set("Content-Type", "application/json");
    if let Some(k) = key {
        r = r.set("Idempotency-Key", k);
    }
    let resp = match r.send_string(body) {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => return (0, e.to_string(), false),
    };
    let replayed = resp.header("Idempotent-Replayed") == Some("true");
    (
        resp.status(),
        resp.into_string().unwrap_or_default(),
        replayed,
    )
}

/// Evidence already used is the existing message only for the tenant that submitted it and
/// only when it is the same evidence: another tenant learns nothing of it (409, no id), and
/// forged evidence under a used locator is refused as forged (422), whoever sends it.
#[test]
fn replayed_evidence_is_the_message_only_for_its_tenant_and_only_when_identical() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let good = s.lock_batch(2, "replay");
    let body = good[0].to_string();
    let (code, resp, _) = submit(&s, KEY, None, &body);
    assert_eq!(code, 202, "{resp}");
    let id = serde_json::from_str::<serde_json::Value>(&resp).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_string();
    // Once delivered its evidence no longer verifies (relayed): a replay takes the path that
    // looks the message up.
    s.wait_delivered(&id);
    let (code, resp, _) = submit(&s, KEY, None, &body);
    assert_eq!(code, 200, "{resp}");
    assert!(
        resp.contains(&id) && resp.contains("\"existing\":true"),
        "{resp}"
    );
    let (code, resp, _) = submit(&s, OTHER, None, &body);
    assert_eq!(code, 409, "{resp}");
    assert_eq!(
        error_field(&resp).as_deref(),
        Some("evidence.locator"),
        "{resp}"
    );
    assert!(
        !resp.contains(&id[2..]),
        "another tenant's id leaked: {resp}"
    );
    let (code, resp, _) = submit(&s, ADMIN, None, &body);
    assert_eq!(code, 200, "the operator sees every transfer: {resp}");
    // The same locator with other header, proof or event bytes.
    for field in ["header", "proof", "event"] {
        let mut forged = good[0].clone();
        forged["evidence"][field] = "0x00".into();
        for auth in [KEY, OTHER] {
            let (code, resp, _) = submit(&s, auth, None, &forged.to_string());
            assert_eq!(code, 422, "forged {field}: {resp}");
            assert!(
                !resp.contains(&id[2..]),
                "forged {field} got the id: {resp}"
            );
        }
    }
    // Two tenants sending the same fresh evidence at once: one transfer, one owner.
    let second = good[1].to_string();
    let answers: Vec<(u16, String, bool)> = std::thread::scope(|sc| {
        let a = sc.spawn(|| submit(&s, KEY, None, &second));
        let b = sc.spawn(|| submit(&s, OTHER, None, &second));
        vec![a.join().expect("a"), b.join().expect("b")]
    });
    let codes: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert!(codes == [202, 409] || codes == [409, 202], "{answers:?}");
}

/// Concurrent requests with one `Idempotency-Key` commit at most one transfer: while the first
/// is being answered the others get 409 (or, once it is, its replay), never a second transfer.
#[test]
fn an_idempotency_key_commits_once_under_concurrent_requests() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let bodies: Vec<String> = s
        .lock_batch(7, "idem")
        .iter()
        .map(ToString::to_string)
        .collect();
    // Different bodies under one key: one is committed; the rest are refused and stay new.
    let answers: Vec<(u16, String, bool)> = std::thread::scope(|sc| {
        let hs: Vec<_> = bodies[..6]
            .iter()
            .map(|b| sc.spawn(|| submit(&s, KEY, Some("race-1"), b)))
            .collect();
        hs.into_iter().map(|h| h.join().expect("join")).collect()
    });
    let accepted: Vec<usize> = (0..6).filter(|&i| answers[i].0 == 202).collect();
    assert_eq!(accepted.len(), 1, "{answers:?}");
    for (i, a) in answers.iter().enumerate() {
        assert!([202, 409, 422].contains(&a.0), "{a:?}");
        if a.0 != 202 {
            let (code, resp, _) = submit(&s, KEY, None, &bodies[i]);
            assert_eq!(code, 202, "body {i} was committed under the key: {resp}");
        }
    }
    // The same body under one key: one transfer; the others wait (409) or replay its answer.
    let answers: Vec<(u16, String, bool)> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| sc.spawn(|| submit(&s, KEY, Some("race-2"), &bodies[6])))
            .collect();
        hs.into_iter().map(|h| h.join().expect("join")).collect()
    });
    let first: Vec<&(u16, String, bool)> = answers.iter().filter(|a| a.0 == 202 && !a.2).collect();
    assert_eq!(first.len(), 1, "{answers:?}");
    for a in &answers {
        assert!(
            (a.0 == 202 && (!a.2 || a.1 == first[0].1)) || a.0 == 409,
            "{a:?} beside {first:?}"
        );
    }
    // Settled: the key replays the one answer.
    let (code, resp, replayed) = submit(&s, KEY, Some("race-2"), &bodies[6]);
    assert_eq!((code, replayed), (202, true), "{resp}");
    assert_eq!(resp, first[0].1);
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[0-9a-fx]{0,40}".prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("source".to_string()),
                    Just("evidence".to_string()),
                    Just("locator".to_string()),
                    Just("header".to_string()),
                    Just("proof".to_string()),
                    Just("event".to_string()),
                    Just("timeout_secs".to_string()),
                    "[a-z]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn random_bodies_never_get_a_5xx() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(200));
    let result = runner.run(
        &prop_oneof![
            json_value().prop_map(|v| v.to_string()),
            ".{0,200}",
            prop::collection::vec(any::<u8>(), 0..200)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
        |body| {
            let (code, resp) = call(
                ureq::post(&s.url("/v1/transfers")).set("Authorization", KEY),
                Some(&body),
            );
            prop_assert!((400..500).contains(&code), "{code} for {body:?}: {resp}");
            prop_assert!(serde_json::from_str::<serde_json::Value>(&resp).is_ok());
            Ok(())
        },
    );
    assert!(result.is_ok(), "{result:?}");
    let (code, _) = call(ureq::get(&s.url("/healthz")), None);
    assert_eq!(code, 200, "still alive: {}", s.log_tail());
}

/// The repository's `config/` and a copy under `dir` of its hub, cities and the two mock
/// chains (and the tenants when `tenants`), for a test to change.
fn config_copy(dir: &std::path::Path, tenants: bool) -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let cfg = dir.join("config");
    std::fs::create_dir_all(cfg.join("chains")).expect("mkdir");
    let files = [
        "hub.toml",
        "cities.toml",
        "chains/mock-a.toml",
        "chains/mock-b.toml",
    ];
    for f in files.into_iter().chain(tenants.then_some("tenants.toml")) {
        std::fs::copy(repo.join(f), cfg.join(f)).expect("copy");
    }
    (repo, cfg)
}

/// A tenant over its rate gets 429 with `Retry-After`; another tenant is not affected.
#[test]
fn a_tenant_over_its_rate_gets_429_with_retry_after() {
    let dir = tempfile::tempdir().expect("tmp");
    let (repo, cfg) = config_copy(dir.path(), false);
    let tenants = std::fs::read_to_string(repo.join("tenants.toml")).expect("tenants");
    // The first tenant gets 1 request/s with a burst of 3.
    let slow = tenants.replacen(
        "rate_per_sec = 50000\nburst = 100000",
        "rate_per_sec = 1\nburst = 3",
        1,
    );
    assert_ne!(slow, tenants, "tenants.toml layout changed");
    std::fs::write(cfg.join("tenants.toml"), slow).expect("write");
    let s = Server::start_with_config(&dir.path().join("data"), &cfg);
    let get = |auth: &str| {
        let r = ureq::get(&s.url("/v1/transfers"))
            .set("Authorization", auth)
            .call();
        match r {
            Ok(r) => (r.status(), None),
            Err(ureq::Error::Status(code, r)) => {
                (code, r.header("retry-after").map(str::to_string))
            }
            Err(e) => panic!("{e}"),
        }
    };
    let codes: Vec<_> = (0..5).map(|_| get(KEY)).collect();
    assert_eq!(codes[0].0, 200);
    let limited = codes
        .iter()
        .find(|(c, _)| *c == 429)
        .expect("a 429 after the burst");
    assert!(
        limited
            .1
            .as_deref()
            .is_some_and(|v| v.parse::<u64>().is_ok_and(|s| s >= 1)),
        "{codes:?}"
    );
    assert_eq!(get(OTHER).0, 200, "other tenants are not limited");
}

/// A stream whose filter lets nothing through still writes an SSE comment every
/// `SSE_KEEPALIVE` (15 s): proxies keep it open, and a client that went away is noticed
/// instead of being held until the hub stops.
#[test]
fn an_idle_event_stream_writes_keep_alives() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let events = ureq::get(&s.url("/v1/events?chain=nowhere"))
        .set("Authorization", OTHER)
        .call()
        .expect("events");
    let rx = lines_of(events);
    // Traffic the filter drops does not count as writing.
    for b in s.lock_batch(3, "idle") {
        let (code, resp) = call(
            ureq::post(&s.url("/v1/transfers")).set("Authorization", KEY),
            Some(&b.to_string()),
        );
        assert_eq!(code, 202, "{resp}");
    }
    let started = Instant::now();
    let line = rx
        .recv_timeout(Duration::from_secs(25))
        .expect("a keep-alive within 25 s");
    assert_eq!(line, ": keep-alive");
    assert!(
        started.elapsed() >= Duration::from_secs(10),
        "written early: {:?}",
        started.elapsed()
    ); // It also moves the reader's Last-Event-ID past the changes it passed over (an id
       // without data dispatches no event), so a quiet tenant resumes from there.
    let id = rx.recv_timeout(Duration::from_secs(1)).expect("id line");
    let id = id
        .strip_prefix("id: ")
        .expect("an id with the keep-alive")
        .to_string();
    let resumed = sse(&s, "/v1/events", OTHER, Some(&id));
    assert!(
        resumed.recv_timeout(Duration::from_secs(2)).is_err(),
        "nothing after the passed-over changes, not even a reset"
    );
}

/// A chain on a node that does not answer is reported `unreachable`, and asking does not hold
/// the HTTP workers: other requests are answered meanwhile.
#[test]
fn a_chain_whose_node_does_not_answer_is_unreachable_and_holds_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (repo, cfg) = config_copy(dir.path(), true);
    // A node that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let eth = std::fs::read_to_string(repo.join("examples/eth-ganache.toml")).expect("example");
    let eth = eth
        .replace("http://127.0.0.1:8545", &format!("http://127.0.0.1:{port}"))
        .replace("rpc_timeout_ms = 10000", "rpc_timeout_ms = 3000");
    std::fs::write(cfg.join("chains/eth-ganache.toml"), eth).expect("write");
    let s = Server::start_with_config(&dir.path().join("data"), &cfg);
    let (url, health) = (s.url("/v1/chains"), s.url("/healthz"));
    let chains = std::thread::spawn(move || call(ureq::get(&url), None));
    std::thread::sleep(Duration::from_millis(300));
    // Both workers free while the chains are asked.
    for _ in 0..4 {
        let t = Instant::now();
        assert_eq!(call(ureq::get(&health), None).0, 200);
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
    }
    let (code, body) = chains.join().expect("join");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let status = |id: &str| {
        v.as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id))
            .map(|c| c["status"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        status("eth-ganache").as_deref(),
        Some("unreachable"),
        "{body}"
    );
    assert_eq!(status("mock-a").as_deref(), Some("online"), "{body}");
    drop(silent);
}

/// One SSE event: its `id`, `event` and `data` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sse {
    id: String,
    event: String,
    data: String,
}

/// Open `/v1/events…` with `auth` (and `Last-Event-ID` when given); its events, as they come.
fn sse(s: &Server, path: &str, auth: &str, last: Option<&str>) -> std::sync::mpsc::Receiver<Sse> {
    let mut req = ureq::get(&s.url(path)).set("Authorization", auth);
    if let Some(l) = last {
        req = req.set("Last-Event-ID", l);
    }
    let lines = lines_of(req.call().expect("events"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut ev = Sse {
            id: String::new(),
            event: String::new(),
            data: String::new(),
        };
        for line in lines {
            if let Some(v) = line.strip_prefix("id: ") {
                ev.id = v.to_string();
            } else if let Some(v) = line.strip_prefix("event: ") {
                ev.event = v.to_string();
            } else if let Some(v) = line.strip_prefix("data: ") {
                ev.data = v.to_string();
            } else if line.is_empty() && !ev.event.is_empty() {
                let done = std::mem::replace(
                    &mut ev,
                    Sse {
                        id: String::new(),
                        event: String::new(),
                        data: String::new(),
                    },
                );
                if tx.send(done).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

/// The anonymous stream (no key), line by line as they come.
fn anonymous_lines(s: &Server) -> std::sync::mpsc::Receiver<String> {
    lines_of(ureq::get(&s.url("/v1/events")).call().expect("events"))
}

/// A streamed response's lines, as they come (read on a thread of their own).
fn lines_of(resp: ureq::Response) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let reader = std::io::BufReader::new(resp.into_reader());
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `n` events from `rx`, each within 30 s.
fn take(rx: &std::sync::mpsc::Receiver<Sse>, n: usize) -> Vec<Sse> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("event {i} of {n}: {e}"))
        })
        .collect()
}

/// Submit `count` new transfers as KEY's tenant; their ids.
fn submit_new(s: &Server, count: usize, tag: &str) -> Vec<String> {
    s.lock_batch(count, tag)
        .into_iter()
        .map(|b| {
            let (code, resp) = call(
                ureq::post(&s.url("/v1/transfers")).set("Authorization", KEY),
                Some(&b.to_string()),
            );
            assert_eq!(code, 202, "{resp}");
            let v: serde_json::Value = serde_json::from_str(&resp).expect("json");
            v["id"].as_str().expect("id").to_string()
        })
        .collect()
}

/// Every event carries an SSE id in the order of the changes; a stream opened with
/// `Last-Event-ID` (or `?after=`) gets exactly the changes after that one — also those made
/// while no stream was open — and only its tenant's; an id that is malformed or beyond the
/// hub's changes is a 400 naming where it came from.
#[test]
fn an_event_stream_resumes_after_its_last_event_id() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let key = |id: &str| {
        let (_, rest) = id.split_once('.').expect("EPOCH.SEQ.MSG_SEQ");
        let (a, b) = rest.split_once('.').expect("SEQ.MSG_SEQ");
        (
            a.parse::<u64>().expect("seq"),
            b.parse::<u64>().expect("msg seq"),
        )
    };
    let live = sse(&s, "/v1/events", KEY, None);
    let ids = submit_new(&s, 3, "resume");
    // Three changes each: committed, finalized, delivered.
    let first = take(&live, 9);
    assert!(first.iter().all(|e| e.event == "status"), "{first:?}");
    let keys: Vec<_> = first.iter().map(|e| key(&e.id)).collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "ids in order: {keys:?}"
    );
    for id in &ids {
        let states: Vec<String> = first
            .iter()
            .filter_map(|e| {
                let v: serde_json::Value = serde_json::from_str(&e.data).ok()?;
                (v["id"] == id.as_str()).then(|| v["status"].as_str().unwrap_or("").into())
            })
            .collect();
        assert_eq!(states, ["committed", "finalized", "delivered"], "{id}");
    }
    // Ids name this log (its epoch) first.
    let epoch = first[0].id.split('.').next().expect("epoch").to_string();
    assert!(
        first.iter().all(|e| e.id.starts_with(&format!("{epoch}."))),
        "{first:?}"
    );
    let zero = format!("{epoch}.0.0");
    // Resume after the fourth: the last five again, the same ids and data, nothing else.
    let resumed = sse(&s, "/v1/events", KEY, Some(&first[3].id));
    assert_eq!(take(&resumed, 5), first[4..].to_vec());
    let by_query = sse(&s, &format!("/v1/events?after={}", first[3].id), KEY, None);
    assert_eq!(take(&by_query, 5), first[4..].to_vec());
    // The header wins over the query (EventSource keeps the URL and adds the header).
    let both = sse(
        &s,
        &format!("/v1/events?after={zero}"),
        KEY,
        Some(&first[6].id),
    );
    assert_eq!(take(&both, 2), first[7..].to_vec());
    // With the filters applied to the catch-up as well.
    let delivered = sse(
        &s,
        &format!("/v1/events?status=delivered&after={}", first[0].id),
        KEY,
        None,
    );
    let d = take(&delivered, 3);
    assert_eq!(
        d,
        first
            .iter()
            .filter(|e| e.data.contains("\"delivered\""))
            .cloned()
            .collect::<Vec<_>>()
    );
    // Changes made while no stream was open.
    drop((live, resumed, by_query, both, delivered));
    let later = submit_new(&s, 2, "later");
    for id in &later {
        s.wait_delivered(id);
    }
    let back = sse(&s, "/v1/events", KEY, Some(&first[8].id));
    let missed = take(&back, 6);
    let mut seen: Vec<(String, String)> = missed
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_str(&e.data).expect("json");
            (
                v["id"].as_str().unwrap_or("").into(),
                v["status"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    seen.sort();
    let mut want: Vec<(String, String)> = later
        .iter()
        .flat_map(|id| {
            ["committed", "delivered", "finalized"].map(|st| (id.clone(), st.to_string()))
        })
        .collect();
    want.sort();
    assert_eq!(seen, want);
    assert!(
        back.recv_timeout(Duration::from_millis(500)).is_err(),
        "nothing after the missed changes"
    );
    // Another tenant replaying from the start sees none of these.
    let other = sse(&s, &format!("/v1/events?after={zero}"), OTHER, None);
    assert!(
        other.recv_timeout(Duration::from_secs(2)).is_err(),
        "another tenant's changes were replayed"
    );
    // An id this hub never made: another log's (a client of a hub whose data directory was
    // replaced, even at a position this log has passed), or beyond this log. A reset naming
    // it, then the changes from now on.
    let foreign = if epoch == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    for given in [format!("{foreign}.1.1"), format!("{epoch}.99999999.0")] {
        let fresh = sse(&s, "/v1/events", KEY, Some(&given));
        let reset = take(&fresh, 1).remove(0);
        assert_eq!(reset.event, "reset", "{reset:?}");
        let v: serde_json::Value = serde_json::from_str(&reset.data).expect("json");
        assert_eq!(v["missed_after"], given.as_str());
        assert_eq!(reset.id, v["missed_through"].as_str().unwrap_or(""));
        assert!(reset.id.starts_with(&format!("{epoch}.")), "{reset:?}");
        let newer = submit_new(&s, 1, "fresh");
        let e = take(&fresh, 1).remove(0);
        assert!(
            e.data.contains(&newer[0]) && e.data.contains("committed"),
            "{e:?}"
        );
    }
    // Bad resume points; and the anonymous stream, which carries no ids, cannot resume.
    for (path, auth, last, field) in [
        ("/v1/events", KEY, Some("x"), "Last-Event-ID"),
        ("/v1/events", KEY, Some("1"), "Last-Event-ID"),
        ("/v1/events", KEY, Some("1.-2"), "Last-Event-ID"),
        ("/v1/events", KEY, Some("1.2"), "Last-Event-ID"),
        ("/v1/events", KEY, Some("zzzzzzzz.1.2"), "Last-Event-ID"),
        (
            "/v1/events",
            KEY,
            Some(&format!("{epoch}.1.2.3")),
            "Last-Event-ID",
        ),
        ("/v1/events?after=1", KEY, None, "after"),
        (
            &format!("/v1/events?after={zero}"),
            KEY,
            Some("1.x"),
            "Last-Event-ID",
        ),
        (&format!("/v1/events?after={zero}"), "", None, "after"),
        ("/v1/events", "", Some(&zero), "Last-Event-ID"),
    ] {
        let mut req = ureq::get(&s.url(path));
        if !auth.is_empty() {
            req = req.set("Authorization", auth);
        }
        if let Some(l) = last {
            req = req.set("Last-Event-ID", l);
        }
        let (code, body) = call(req, None);
        assert_eq!(code, 400, "{path} {last:?}: {body}");
        assert_eq!(
            error_field(&body).as_deref(),
            Some(field),
            "{path} {last:?}"
        );
    }
    // The anonymous stream's events carry no ids of any kind.
    let lines = anonymous_lines(&s);
    submit_new(&s, 1, "anon");
    let mut got = Vec::new();
    while let Ok(l) = lines.recv_timeout(Duration::from_secs(5)) {
        let done = l.contains("delivered");
        got.push(l);
        if done {
            break;
        }
    }
    assert!(got.iter().any(|l| l.contains("\"delivered\"")), "{got:?}");
    assert!(
        !got.iter()
            .any(|l| l.starts_with("id:") || l.contains("\"id\"")),
        "{got:?}"
    );
}

/// A reader that falls behind its live queue (here 4 changes long, so the twenty changes of
/// one block overrun it at once) is caught up from the hub's history: every change of every
/// transfer arrives, once, in order, and nothing is reported dropped.
#[test]
fn a_reader_behind_its_live_queue_loses_no_change() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start_with_env(
        &dir.path().join("data"),
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        &[("MERIDIAN_HUB_EVENTS_QUEUE", "4")],
    );
    let rx = sse(&s, "/v1/events", KEY, None);
    // The anonymous stream (a live picture, no ids) does not catch up: it says what it skipped.
    let anon_lines = anonymous_lines(&s);
    let ids = submit_new(&s, 20, "lag");
    let events = take(&rx, 60);
    let mut last = (0u64, 0u64);
    let mut seen = std::collections::BTreeMap::<String, Vec<String>>::new();
    for e in &events {
        assert_eq!(e.event, "status", "{e:?}");
        let (_, rest) = e.id.split_once('.').expect("EPOCH.SEQ.MSG_SEQ");
        let (a, b) = rest.split_once('.').expect("SEQ.MSG_SEQ");
        let k = (a.parse().expect("seq"), b.parse().expect("msg seq"));
        assert!(
            k > last,
            "out of order or repeated: {:?} after {last:?}",
            e.id
        );
        last = k;
        let v: serde_json::Value = serde_json::from_str(&e.data).expect("json");
        seen.entry(v["id"].as_str().unwrap_or("").into())
            .or_default()
            .push(v["status"].as_str().unwrap_or("").into());
    }
    for id in &ids {
        assert_eq!(
            seen.get(id).map(Vec::as_slice),
            Some(&["committed", "finalized", "delivered"].map(String::from)[..]),
            "{id}"
        );
    }
    assert_eq!(seen.len(), ids.len());
    let mut skipped = false;
    while let Ok(l) = anon_lines.recv_timeout(Duration::from_secs(2)) {
        assert!(!l.starts_with("id:"), "{l}");
        skipped |= l.starts_with(": ") && l.ends_with("changes skipped (slow reader)");
    }
    assert!(
        skipped,
        "the anonymous stream did not report its skipped changes"
    );
}

/// One raw HTTP/1.1 exchange (what ureq cannot send: repeated headers, a body that stops):
/// the whole answer as text, read until the server closes or `wait` passes.
fn raw(s: &Server, request: &str, wait: std::time::Duration) -> String {
    use std::io::{Read, Write};
    let addr = s.base.trim_start_matches("http://");
    let mut c = std::net::TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(wait)).expect("timeout");
    c.write_all(request.as_bytes()).expect("write");
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The edges of HTTP a DApp or a proxy can reach: the auth scheme in any case, two keys
/// refused, HEAD wherever GET is answered, a compressed body refused by name, a body that
/// stops arriving answered 408 (it held the connection for good), a route from a chain to
/// itself refused.
#[test]
fn http_edges_are_answered_by_name() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let key = KEY.trim_start_matches("Bearer ");
    let (code, body) = call(
        ureq::get(&s.url("/v1/transfers")).set("Authorization", &format!("bearer {key}")),
        None,
    );
    assert_eq!(code, 200, "{body}");
    let two = raw(
        &s,
        &format!(
            "GET /v1/transfers HTTP/1.1\r\nHost: x\r\nAuthorization: {KEY}\r\n\
             Authorization: {OTHER}\r\nConnection: close\r\n\r\n"
        ),
        Duration::from_secs(10),
    );
    assert!(two.starts_with("HTTP/1.1 400"), "{two}");
    assert!(two.contains("\"field\":\"Authorization\""), "{two}");
    for path in ["/", "/metrics", "/healthz", "/v1/chains"] {
        let head = raw(
            &s,
            &format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            Duration::from_secs(10),
        );
        assert!(head.starts_with("HTTP/1.1 200"), "HEAD {path}: {head}");
        let (_, after) = head.split_once("\r\n\r\n").expect("a head");
        assert!(after.is_empty(), "HEAD {path} sent a body: {after:.80}");
    }
    let gz = raw(
        &s,
        &format!(
            "POST /v1/transfers HTTP/1.1\r\nHost: x\r\nAuthorization: {KEY}\r\n\
             Content-Type: application/json\r\nContent-Encoding: gzip\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        ),
        Duration::from_secs(10),
    );
    assert!(gz.starts_with("HTTP/1.1 415"), "{gz}");
    assert!(gz.contains("\"field\":\"Content-Encoding\""), "{gz}");
    let started = std::time::Instant::now();
    let stalled = raw(
        &s,
        &format!(
            "POST /v1/transfers HTTP/1.1\r\nHost: x\r\nAuthorization: {KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"source\""
        ),
        Duration::from_secs(30),
    );
    assert!(stalled.starts_with("HTTP/1.1 408"), "{stalled}");
    assert!(stalled.contains("\"field\":\"body\""), "{stalled}");
    assert!(started.elapsed() < Duration::from_secs(25));
    let (code, body) = call(
        ureq::post(&s.url("/v1/admin/routes/mock-a/mock-a/pause")).set("Authorization", ADMIN),
        Some("{}"),
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(error_field(&body).as_deref(), Some("destination"), "{body}");
}

/// Guessing keys is slowed: after 100 unknown keys from one address, every request from it
/// is 429 with `Retry-After` (a right guess too, or guessing would go as fast as ever), and
/// the address is heard again once its bucket refills (10 per second).
#[test]
fn an_address_guessing_keys_is_slowed_down() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start(&dir.path().join("data"));
    let get = |auth: &str| {
        let r = ureq::get(&s.url("/v1/transfers")).set("Authorization", auth);
        match r.call() {
            Ok(resp) => (
                resp.status(),
                resp.header("Retry-After").map(str::to_string),
            ),
            Err(ureq::Error::Status(code, resp)) => {
                (code, resp.header("Retry-After").map(str::to_string))
            }
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(get(KEY).0, 200);
    let mut codes = Vec::new();
    for i in 0..120 {
        codes.push(get(&format!("Bearer guess-{i}")).0);
    }
    let refused = codes.iter().filter(|c| **c == 429).count();
    assert!(codes[..90].iter().all(|c| *c == 401), "{codes:?}");
    assert!(refused >= 10, "{codes:?}");
    let (code, retry) = get(KEY);
    assert_eq!(code, 429, "a good key from a guessing address");
    assert!(retry.is_some());
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(get(KEY).0, 200, "heard again once its bucket refilled");
}

/// Open `GET /v1/events` from the loopback address `from` (Linux answers on all of 127/8);
/// the status code and the open connection.
fn stream_from(s: &Server, from: [u8; 4]) -> (u16, std::net::TcpStream) {
    use std::io::{Read, Write};
    let to: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().expect("addr");
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&std::net::SocketAddr::from((from, 0)).into())
        .expect("bind");
    sock.connect(&to.into()).expect("connect");
    let mut t: std::net::TcpStream = sock.into();
    t.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    t.write_all(b"GET /v1/events HTTP/1.1\r\nHost: hub\r\nAccept: text/event-stream\r\n\r\n")
        .expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = t.read(&mut byte).expect("read head");
        assert_eq!(
            n,
            1,
            "closed before its head: {}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    if code != 200 {
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 5"),
            "{head}"
        );
    }
    (code, t)
}

#[test]
fn event_streams_cannot_take_every_connection() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start_with_env(
        &dir.path().join("data"),
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        &[
            ("MERIDIAN_HUB_MAX_EVENT_STREAMS", "3"),
            ("MERIDIAN_HUB_MAX_EVENT_STREAMS_PER_ADDRESS", "2"),
        ],
    );
    let (a, _a) = stream_from(&s, [127, 0, 0, 1]);
    let (b, b_conn) = stream_from(&s, [127, 0, 0, 1]);
    assert_eq!((a, b), (200, 200));
    // One address holds its share …
    assert_eq!(stream_from(&s, [127, 0, 0, 1]).0, 429);
    let (c, _c) = stream_from(&s, [127, 0, 0, 2]);
    assert_eq!(c, 200);
    // … and all of them hold every place: the next stream waits, the rest of the API does not.
    assert_eq!(stream_from(&s, [127, 0, 0, 3]).0, 503);
    let (code, body) = call(
        ureq::get(&s.url("/v1/transfers")).set("Authorization", KEY),
        None,
    );
    assert_eq!(code, 200, "{body}");
    let submitted = submit_new(&s, 1, "streams");
    assert_eq!(submitted.len(), 1);
    let (_, metrics) = call(ureq::get(&s.url("/metrics")), None);
    assert!(metrics.contains("meridian_event_streams 3"), "{metrics}");
    // A stream that ends gives its place back.
    drop(b_conn);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, _conn) = stream_from(&s, [127, 0, 0, 3]);
        if code == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the closed stream's place was not given back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_dev_lock_routes_answer_only_where_configured() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Server::start_with_env(
        &dir.path().join("data"),
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        &[("MERIDIAN_HUB_DEV_ROUTES", "false")],
    );
    let lock = serde_json::json!({"source": "mock-a", "destination": "mock-b", "sender": "s",
        "recipient": "r", "asset": "CNY", "amount": "1"});
    let mut batch = lock.clone();
    batch["count"] = 2.into();
    for (path, body) in [("/v1/dev/lock", lock), ("/v1/dev/lock-batch", batch)] {
        let (code, resp) = call(
            ureq::post(&s.url(path)).set("Authorization", KEY),
            Some(&body.to_string()),
        );
        assert_eq!(code, 404, "{path}: {resp}");
        assert!(resp.contains("hub.dev_routes"), "{path}: {resp}");
    }
}
