//! The hub with a real Ethereum node as a chain: ganache (pinned in `tests/ganache/`) runs the
//! bridge contract, and the real `meridian serve` binary is configured with it (an `ethereum`
//! chain with `rpc_url`, node-trusting finality) beside a built-in mock chain.
//!
//! - ganache → mock: a real `lock` transaction, its evidence rebuilt from RPC data, submitted
//!   over HTTP and by `meridian send --wait`, reaches `delivered`;
//! - mock → ganache: the hub sends `release` to the bridge; the bridge's `applied(id)` is true
//!   over `eth_call` and its `Release` log names the id;
//! - a lock whose block the node has not buried under the confirmations yet is refused (422),
//!   and accepted once it has; a tampered receipt proof is refused;
//! - on a node seen as a production node (no `evm_mine`): a release is delivered only once
//!   buried under the confirmations, and sent again after a reorganisation drops it; a refund
//!   is recorded only once buried too.
//!
//! Skipped without `tests/ganache/node_modules/.bin/ganache`, unless `CI` is set.

#![allow(clippy::panic)]

mod common;

use common::ganache::{self, CHAIN_ID};
use common::{call, Server, KEY};
use meridian_adapters::demo::DemoChain;
use meridian_adapters::ethereum::abi::{applied_call, release_topic};
use meridian_adapters::ethereum::rpc::{hex0x, qty, Rpc};
use meridian_adapters::ethereum::{bridge, RpcChain, RpcChainConfig};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const CONFIRMATIONS: u64 = 2;

fn address(s: &str) -> [u8; 20] {
    hex::decode(s.trim_start_matches("0x"))
        .expect("hex")
        .try_into()
        .expect("20 bytes")
}

/// A configuration directory: the repository's hub, cities and tenants; the ganache chain
/// and the built-in mock-b.
fn write_config(dir: &Path, node: &str, bridge: &[u8; 20], sender: &[u8; 20]) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    std::fs::create_dir_all(dir.join("chains")).expect("config dir");
    for f in ["hub.toml", "cities.toml", "tenants.toml"] {
        std::fs::copy(repo.join(f), dir.join(f)).expect("copy config");
    }
    std::fs::copy(
        repo.join("chains/mock-b.toml"),
        dir.join("chains/mock-b.toml"),
    )
    .expect("copy mock-b");
    std::fs::write(
        dir.join("chains/eth-ganache.toml"),
        format!(
            "id = \"eth-ganache\"\nfamily = \"ethereum\"\nhome_city = \"california\"\n\
             rpc_url = \"{node}\"\nbridge = \"{}\"\nsender = \"{}\"\n\
             eip155_chain_id = {CHAIN_ID}\nconfirmations = {CONFIRMATIONS}\n\
             rpc_timeout_ms = 10000\n",
            hex0x(bridge),
            hex0x(sender)
        ),
    )
    .expect("write eth-ganache.toml");
}

/// ganache with the bridge deployed from its first account (the owner), and a hub serving
/// the configuration of [`write_config`] on it.
struct Setup {
    _dir: tempfile::TempDir,
    node: ganache::Ganache,
    rpc: Rpc,
    owner: [u8; 20],
    bridge: [u8; 20],
    s: Server,
}

impl Setup {
    /// `None` (the test skipped) without ganache. `behind_front`: the hub reaches the node
    /// through a [`ganache::ProductionFront`] (no `evm_mine`: blocks are the test's to make).
    fn start(behind_front: bool) -> Option<Setup> {
        Self::start_with(behind_front, |_| {})
    }

    /// [`Setup::start`], `more` adding to the configuration directory first.
    fn start_with(behind_front: bool, more: impl FnOnce(&Path)) -> Option<Setup> {
        let bin = ganache::bin_or_skip()?;
        let dir = tempfile::tempdir().expect("tmp");
        let node = ganache::start(&bin, dir.path());
        let rpc = Rpc::new(&node.url, Duration::from_secs(30));
        let accounts = rpc.call("eth_accounts", json!([])).expect("accounts");
        let owner = address(accounts[0].as_str().expect("account 0"));
        let bridge =
            bridge::deploy(&rpc, &owner, Duration::from_secs(30)).expect("bridge deployed");
        let url = if behind_front {
            ganache::ProductionFront::of(&node.url).url
        } else {
            node.url.clone()
        };
        let config_dir = dir.path().join("config");
        write_config(&config_dir, &url, &bridge, &owner);
        more(&config_dir);
        let s = Server::start_with_config(&dir.path().join("data"), &config_dir);
        Some(Setup {
            _dir: dir,
            node,
            rpc,
            owner,
            bridge,
            s,
        })
    }
}

/// Mine `n` blocks on the node behind `rpc`.
fn mine(rpc: &Rpc, n: u64) {
    for _ in 0..n {
        rpc.call("evm_mine", json!([])).expect("evm_mine");
    }
}

/// The demo tenant's transfer `id`'s status.
fn status(s: &Server, id: &str) -> String {
    let (code, body) = call(
        ureq::get(&s.url(&format!("/v1/transfers/{id}"))).set("Authorization", KEY),
        None,
    );
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["status"].as_str().expect("status").to_string()
}

/// How many `Release` logs of transfer `id` (hex) the bridge at `bridge` emitted on `rpc`'s
/// node (releases and refunds alike).
fn release_logs(rpc: &Rpc, bridge: &[u8; 20], id: &str) -> usize {
    rpc.call(
        "eth_getLogs",
        json!([{"address": hex0x(bridge), "fromBlock": "0x0", "toBlock": "latest",
                "topics": [hex0x(&release_topic()), id]}]),
    )
    .expect("logs")
    .as_array()
    .expect("logs")
    .len()
}

/// The hub's ganache chain as the test drives it itself, on the node's own URL (its dev
/// locks mine their confirmations).
fn direct_chain(url: &str, bridge: [u8; 20], owner: [u8; 20]) -> RpcChain {
    RpcChain::new(RpcChainConfig {
        chain_id: "eth-ganache".into(),
        rpc_url: url.to_string(),
        eip155_chain_id: CHAIN_ID,
        bridge,
        sender: owner,
        confirmations: CONFIRMATIONS,
        genesis_hash: None,
        timeout: Duration::from_secs(30),
    })
}

/// Wait (≤ 30 s) until `done`; the test fails naming `what`, with the hub's log tail.
fn wait_until(s: &Server, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "not within 30 s: {what}\n{}",
            s.log_tail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn post(s: &Server, path: &str, body: &Value) -> (u16, Value) {
    let (code, text) = call(
        ureq::post(&s.url(path)).set("Authorization", KEY),
        Some(&body.to_string()),
    );
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (code, v)
}

/// `/v1/dev/lock` on `source`: the transfer request, ready to POST.
fn dev_lock(s: &Server, source: &str, destination: &str, amount: u64) -> Value {
    let (code, req) = post(
        s,
        "/v1/dev/lock",
        &json!({"source": source, "destination": destination, "sender": "alice",
                "recipient": "bob", "asset": "CNY", "amount": amount.to_string()}),
    );
    assert_eq!(code, 200, "dev lock on {source}: {req}\n{}", s.log_tail());
    req
}

/// Submit; the message id.
fn submit(s: &Server, req: &Value) -> String {
    let (code, resp) = post(s, "/v1/transfers", req);
    assert_eq!(code, 202, "{resp}\n{}", s.log_tail());
    resp["id"].as_str().expect("id").to_string()
}

fn flip_hex(v: &Value, at: usize) -> Value {
    let s = v.as_str().expect("hex");
    let (prefix, digits) = s.split_at(if s.starts_with("0x") { 2 } else { 0 });
    let mut b = hex::decode(digits).expect("hex");
    let i = at % b.len();
    b[i] ^= 0x01;
    json!(format!("{prefix}{}", hex::encode(b)))
}

#[test]
fn a_hub_carries_transfers_to_and_from_a_ganache_chain() {
    let started = Instant::now();
    let Some(Setup {
        _dir,
        node,
        rpc,
        owner,
        bridge: bridge_address,
        s,
        ..
    }) = Setup::start(false)
    else {
        return;
    };
    let (code, chains) = call(ureq::get(&s.url("/v1/chains")), None);
    assert_eq!(code, 200);
    let chains: Value = serde_json::from_str(&chains).expect("json");
    let eth = chains
        .as_array()
        .expect("chains")
        .iter()
        .find(|c| c["id"] == "eth-ganache")
        .expect("eth-ganache listed");
    assert_eq!(eth["family"], "ethereum");
    assert!(eth["head_height"].as_u64().expect("head") >= 1, "{eth}");

    // (a) ganache → mock-b: a real lock transaction, evidence from RPC data, delivered.
    let head_before = rpc.block_number().expect("head");
    let req = dev_lock(&s, "eth-ganache", "mock-b", 42);
    assert_eq!(req["source"], "eth-ganache");
    let logs = rpc
        .call(
            "eth_getLogs",
            json!([{"address": hex0x(&bridge_address), "fromBlock": qty(head_before + 1),
                    "toBlock": "latest"}]),
        )
        .expect("logs");
    assert_eq!(
        logs.as_array().map(Vec::len),
        Some(1),
        "one Lock log on the node: {logs}"
    );
    assert!(
        rpc.block_number().expect("head") >= head_before + 1 + CONFIRMATIONS,
        "the dev lock mined its confirmations"
    );
    let id = submit(&s, &req);
    s.wait_delivered(&id);
    // The same through the CLI.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args([
            "send",
            "--hub",
            &s.base,
            "--from",
            "eth-ganache",
            "--to",
            "mock-b",
            "--asset",
            "CNY",
            "--amount",
            "7",
            "--wait",
        ])
        .output()
        .expect("meridian send");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|l| l.contains(": delivered")),
        "{stdout}"
    );
    eprintln!("ganache → mock-b delivered ({:.1?})", started.elapsed());

    // (b) mock-b → ganache: the bridge applies the release, once.
    let req = dev_lock(&s, "mock-b", "eth-ganache", 9);
    let id = submit(&s, &req);
    s.wait_delivered(&id);
    let message_id: [u8; 32] = hex::decode(id.trim_start_matches("0x"))
        .expect("id hex")
        .try_into()
        .expect("32-byte id");
    let applied = rpc
        .eth_call(&owner, &bridge_address, &applied_call(&message_id))
        .expect("applied()");
    assert_eq!(applied.last(), Some(&1), "applied({id}) on the node");
    let not_applied = rpc
        .eth_call(&owner, &bridge_address, &applied_call(&[0x42; 32]))
        .expect("applied()");
    assert_eq!(not_applied.last(), Some(&0));
    let releases = rpc
        .call(
            "eth_getLogs",
            json!([{"address": hex0x(&bridge_address), "fromBlock": "0x0", "toBlock": "latest",
                    "topics": [hex0x(&release_topic()), hex0x(&message_id)]}]),
        )
        .expect("logs");
    assert_eq!(
        releases.as_array().map(Vec::len),
        Some(1),
        "one Release log: {releases}"
    );
    eprintln!("mock-b → ganache delivered ({:.1?})", started.elapsed());

    // (c) A lock the node has not buried yet is refused; once it has, it is accepted.
    let chain = direct_chain(&node.url, bridge_address, owner);
    let receipt = chain
        .send_lock(&owner, "mock-b", "carol", "CNY", 5)
        .expect("lock");
    let ev = chain.evidence(&receipt).expect("evidence");
    let shallow = json!({"source": "eth-ganache", "evidence": {
        "locator": hex0x(&ev.locator), "header": hex0x(&ev.header),
        "proof": hex0x(&ev.proof), "event": hex0x(&ev.event)}});
    let (code, body) = post(&s, "/v1/transfers", &shallow);
    assert!(
        (400..500).contains(&code) && body.to_string().contains("not final"),
        "{code} {body}"
    );
    chain
        .mine_until(rpc.block_number().expect("head") + CONFIRMATIONS)
        .expect("mined");
    let id = submit(&s, &shallow);
    s.wait_delivered(&id);

    // A tampered receipt proof is refused, in every node of the proof we try.
    let req = dev_lock(&s, "eth-ganache", "mock-b", 3);
    for at in [0usize, 40, 97, 200, 1000] {
        let mut bad = req.clone();
        bad["evidence"]["proof"] = flip_hex(&req["evidence"]["proof"], at);
        let (code, body) = post(&s, "/v1/transfers", &bad);
        assert!(
            (400..500).contains(&code),
            "tampered proof at {at}: {code} {body}"
        );
    }
    // A header list whose block is not the node's (a changed field re-hashes differently).
    let mut bad = req.clone();
    bad["evidence"]["header"] = flip_hex(&req["evidence"]["header"], 200);
    let (code, body) = post(&s, "/v1/transfers", &bad);
    assert!((400..500).contains(&code), "tampered header: {code} {body}");
    // The untampered evidence still goes through.
    let id = submit(&s, &req);
    s.wait_delivered(&id);
    eprintln!("ganache hub test took {:.1?}", started.elapsed());
}

/// The hub records a release as delivered only once the node has buried it under the
/// confirmations, and a release a reorganisation drops is sent again. The node here is seen
/// through a front that refuses `evm_mine` (a production node: blocks come when they come);
/// the test makes the blocks, and the reorganisation, on the node behind it.
#[test]
fn a_release_is_delivered_once_final_and_sent_again_after_a_reorganisation() {
    let Some(Setup {
        _dir,
        node: _node,
        rpc,
        bridge: bridge_address,
        s,
        ..
    }) = Setup::start(true)
    else {
        return;
    };
    let mine = |n: u64| mine(&rpc, n);
    let status = |id: &str| status(&s, id);

    let snapshot = rpc.call("evm_snapshot", json!([])).expect("snapshot");
    let req = dev_lock(&s, "mock-b", "eth-ganache", 9);
    let id = submit(&s, &req);
    let releases = || release_logs(&rpc, &bridge_address, &id);
    let wait_release = || wait_until(&s, "a release", || releases() > 0);
    wait_release();
    // Mined, with nothing on top: not delivered, however long the hub is given.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(status(&id), "finalized");
    assert_eq!(releases(), 1, "asked again, not sent again");

    // Reorganised away before it was final: sent again, and delivered once that is buried.
    assert_eq!(
        rpc.call("evm_revert", json!([snapshot])).expect("revert"),
        json!(true)
    );
    mine(3);
    assert_eq!(releases(), 0, "the reorganisation dropped the release");
    wait_release();
    assert_eq!(status(&id), "finalized");
    mine(CONFIRMATIONS);
    s.wait_delivered(&id);
    assert_eq!(releases(), 1, "released once");
}

/// A refund on a chain whose blocks can be reorganised is recorded only once final too: a
/// transfer from ganache (seen through the production front) to a second ganache chain whose
/// bridge refuses the hub's releases (the configured sender is not its owner) times out there
/// (its final blocks past the deadline, never applied); the refund on the source is sent and
/// stays `timed_out` until the test buries it, then `refunded`.
#[test]
fn a_refund_is_recorded_once_final() {
    let other = std::cell::RefCell::new(None);
    let Some(Setup {
        _dir,
        node,
        rpc,
        owner,
        bridge: bridge_address,
        s,
    }) = Setup::start_with(true, |config| {
        let bin = ganache::bin();
        let dir = config.parent().expect("test directory").join("b");
        std::fs::create_dir_all(&dir).expect("b");
        let node_b = ganache::start(&bin, &dir);
        let rpc_b = Rpc::new(&node_b.url, Duration::from_secs(30));
        let accounts = rpc_b.call("eth_accounts", json!([])).expect("accounts");
        let owner_b = address(accounts[0].as_str().expect("account 0"));
        let stranger = address(accounts[1].as_str().expect("account 1"));
        let bridge_b =
            bridge::deploy(&rpc_b, &owner_b, Duration::from_secs(30)).expect("bridge on b");
        std::fs::write(
            config.join("chains/eth-b.toml"),
            format!(
                "id = \"eth-b\"\nfamily = \"ethereum\"\nhome_city = \"tokyo\"\n\
                 rpc_url = \"{}\"\nbridge = \"{}\"\nsender = \"{}\"\n\
                 eip155_chain_id = {CHAIN_ID}\nconfirmations = {CONFIRMATIONS}\n\
                 rpc_timeout_ms = 10000\n",
                node_b.url,
                hex0x(&bridge_b),
                hex0x(&stranger)
            ),
        )
        .expect("write eth-b.toml");
        *other.borrow_mut() = Some((node_b, rpc_b));
    })
    else {
        return;
    };
    let (_node_b, rpc_b) = other.into_inner().expect("second node");
    let status = |id: &str| status(&s, id);
    let wait_status =
        |id: &str, want: &str| wait_until(&s, &format!("{id} {want}"), || status(id) == want);

    // The lock on the source, made and buried on the node itself.
    let chain = direct_chain(&node.url, bridge_address, owner);
    let ev = chain
        .lock("eth-b", &hex0x(&owner), "0xabc", "CNY", 5)
        .expect("lock");
    let id = submit(
        &s,
        &json!({"source": "eth-ganache", "timeout_secs": 2, "evidence": {
            "locator": hex0x(&ev.locator), "header": hex0x(&ev.header),
            "proof": hex0x(&ev.proof), "event": hex0x(&ev.event)}}),
    );
    // Past the deadline, blocks on the destination bury it: never applied there.
    std::thread::sleep(Duration::from_secs(3));
    mine(&rpc_b, CONFIRMATIONS + 2);
    wait_status(&id, "timed_out");
    let refunds = || release_logs(&rpc, &bridge_address, &id);
    wait_until(&s, "a refund sent", || refunds() > 0);
    // Sent, with nothing on top: not refunded, however long the hub is given.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(status(&id), "timed_out");
    assert_eq!(refunds(), 1, "asked again, not sent again");
    mine(&rpc, CONFIRMATIONS);
    wait_status(&id, "refunded");
    assert_eq!(refunds(), 1, "refunded once");
}
