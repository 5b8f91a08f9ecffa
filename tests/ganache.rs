//! Ethereum against a real node: start ganache (the version pinned in `tests/ganache/`), make
//! real transactions through its JSON-RPC interface, and check what the node returns with
//! `meridian-proofs` and the Ethereum adapter's encodings:
//!
//! - every block header, RLP-encoded from the RPC fields the way go-ethereum/ethereumjs do,
//!   passes `verify_header` against the node's `hash`, and any changed field fails;
//! - the receipts, encoded as the consensus encoding (typed `type ‖ rlp(...)`, legacy bare),
//!   built into a `Trie`, give the block's `receiptsRoot`; the proof of the bridge call's
//!   receipt verifies and carries the `Lock` event the contract emitted;
//! - the transactions, re-encoded from their fields, hash to their `hash` and give the block's
//!   `transactionsRoot`;
//! - `eth_getProof` account proofs verify against the block's `stateRoot` (inclusion and
//!   exclusion), and any changed proof byte fails.
//!
//! The RPC client is a plain JSON-RPC 2.0 client over HTTP (`ureq` + `serde_json`).
//!
//! Needs `tests/ganache/node_modules/.bin/ganache` (`npm ci --prefix tests/ganache`). Without it
//! the test is skipped, unless `CI` is set, in which case it fails (`.ci/run` installs it).

#![allow(clippy::panic)]

use meridian_adapters::ethereum::abi::{lock_topic, LockData};
use meridian_adapters::ethereum::receipt::{encode_receipt, logs_bloom, receipt_logs, Log};
use meridian_proofs::eth::{
    parse_header, verify_header, verify_proof, EthError, ProofOutcome, Trie, EMPTY_TRIE_ROOT,
};
use meridian_proofs::hash::{keccak256, Hash32};
use rlp::RlpStream;
use serde_json::{json, Value};
use std::cell::Cell;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHAIN_ID: u64 = 1337;

/// Kills (and reaps) the node when dropped, so it never outlives the test.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC 2.0 over HTTP

struct Rpc {
    url: String,
    agent: ureq::Agent,
    next_id: Cell<u64>,
}

impl Rpc {
    fn new(port: u16) -> Self {
        Rpc {
            url: format!("http://127.0.0.1:{port}"),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
            next_id: Cell::new(1),
        }
    }

    /// One call; `Err` carries the node's JSON-RPC error (or the transport error).
    fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response: Value = match self.agent.post(&self.url).send_json(request) {
            Ok(r) => r
                .into_json()
                .map_err(|e| format!("{method}: response is not JSON: {e}"))?,
            Err(ureq::Error::Status(code, r)) => {
                let text = r.into_string().unwrap_or_default();
                serde_json::from_str(&text).map_err(|_| format!("{method}: HTTP {code}: {text}"))?
            }
            Err(e) => return Err(format!("{method}: {e}")),
        };
        assert_eq!(response["jsonrpc"], "2.0", "{method}: not JSON-RPC 2.0");
        assert_eq!(response["id"], json!(id), "{method}: response id");
        if let Some(error) = response.get("error") {
            return Err(format!(
                "{method}: error {}: {}",
                error["code"], error["message"]
            ));
        }
        response
            .get("result")
            .cloned()
            .ok_or_else(|| format!("{method}: response without result"))
    }

    fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The receipt of `tx`, waiting (up to 30 s) for it to be mined.
    fn receipt(&self, tx: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.call("eth_getTransactionReceipt", json!([tx]));
            if !r.is_null() {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "transaction {tx} was never mined"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hex and RLP helpers

fn str_field<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} is not a string in {v}"))
}

/// The bytes of a hex string (`0x` prefix, an odd digit count padded on the left).
fn hex_str(s: &str) -> Vec<u8> {
    let digits = s
        .strip_prefix("0x")
        .unwrap_or_else(|| panic!("{s}: no 0x prefix"));
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    hex::decode(&padded).unwrap_or_else(|e| panic!("{s}: bad hex: {e}"))
}

fn bytes(v: &Value, field: &str) -> Vec<u8> {
    hex_str(str_field(v, field))
}

/// A quantity as RLP wants an integer: big-endian without leading zeros (zero is empty).
fn quantity(v: &Value, field: &str) -> Vec<u8> {
    let b = bytes(v, field);
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[first..].to_vec()
}

fn num(v: &Value, field: &str) -> u64 {
    let s = str_field(v, field);
    let digits = s
        .strip_prefix("0x")
        .unwrap_or_else(|| panic!("{field} {s}: no 0x prefix"));
    u64::from_str_radix(digits, 16).unwrap_or_else(|e| panic!("{field} {s}: {e}"))
}

fn fixed<const N: usize>(v: &Value, field: &str) -> [u8; N] {
    let b = bytes(v, field);
    b.as_slice()
        .try_into()
        .unwrap_or_else(|_| panic!("{field}: {} bytes, expected {N}", b.len()))
}

fn h32(v: &Value, field: &str) -> Hash32 {
    fixed::<32>(v, field)
}

fn address(s: &str) -> [u8; 20] {
    hex_str(s)
        .as_slice()
        .try_into()
        .unwrap_or_else(|_| panic!("{s}: not a 20-byte address"))
}

fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// A trie key for a transaction or receipt: `rlp(index)`.
fn index_key(i: usize) -> Vec<u8> {
    rlp::encode(&(i as u64)).to_vec()
}

fn rlp_list(items: &[Vec<u8>]) -> Vec<u8> {
    let mut s = RlpStream::new_list(items.len());
    for i in items {
        s.append(&i.as_slice());
    }
    s.out().to_vec()
}

/// Every copy of `nodes` with one byte XORed with 0x01, as (node, byte, tampered nodes).
fn single_byte_flips(nodes: &[Vec<u8>]) -> Vec<(usize, usize, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    for (n, node) in nodes.iter().enumerate() {
        for b in 0..node.len() {
            let mut t = nodes.to_vec();
            t[n][b] ^= 0x01;
            out.push((n, b, t));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The contract: hand-assembled EVM bytecode.

/// Runtime: `LOG1(topic = keccak256(Lock signature), data = calldata)`, then `STOP`.
fn runtime_code() -> Vec<u8> {
    let mut c = vec![
        0x36, // CALLDATASIZE
        0x60, 0x00, // PUSH1 0 (calldata offset)
        0x60, 0x00, // PUSH1 0 (memory offset)
        0x37, // CALLDATACOPY
        0x7f, // PUSH32 topic0
    ];
    c.extend_from_slice(&lock_topic());
    c.extend_from_slice(&[
        0x36, // CALLDATASIZE (size)
        0x60, 0x00, // PUSH1 0 (offset)
        0xa1, // LOG1
        0x00, // STOP
    ]);
    c
}

/// Init code: copy the runtime (which follows these 12 bytes) to memory and return it.
fn init_code(runtime: &[u8]) -> Vec<u8> {
    let n = u8::try_from(runtime.len()).expect("runtime shorter than 256 bytes");
    let mut c = vec![
        0x60, n, // PUSH1 size
        0x60, 0x0c, // PUSH1 12 (code offset of the runtime)
        0x60, 0x00, // PUSH1 0 (memory offset)
        0x39, // CODECOPY
        0x60, n, // PUSH1 size
        0x60, 0x00, // PUSH1 0
        0xf3, // RETURN
    ];
    c.extend_from_slice(runtime);
    c
}

// ---------------------------------------------------------------------------------------------
// Headers

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bytes,
    Int,
}

/// The 15 fields every header has, in RLP order, with their JSON-RPC names.
const BASE_FIELDS: [(&str, Kind); 15] = [
    ("parentHash", Kind::Bytes),
    ("sha3Uncles", Kind::Bytes),
    ("miner", Kind::Bytes),
    ("stateRoot", Kind::Bytes),
    ("transactionsRoot", Kind::Bytes),
    ("receiptsRoot", Kind::Bytes),
    ("logsBloom", Kind::Bytes),
    ("difficulty", Kind::Int),
    ("number", Kind::Int),
    ("gasLimit", Kind::Int),
    ("gasUsed", Kind::Int),
    ("timestamp", Kind::Int),
    ("extraData", Kind::Bytes),
    ("mixHash", Kind::Bytes),
    ("nonce", Kind::Bytes),
];

/// Fields later forks append (London, Shanghai, Cancun ×3, Prague), in order.
const FORK_FIELDS: [(&str, Kind); 6] = [
    ("baseFeePerGas", Kind::Int),
    ("withdrawalsRoot", Kind::Bytes),
    ("blobGasUsed", Kind::Int),
    ("excessBlobGas", Kind::Int),
    ("parentBeaconBlockRoot", Kind::Bytes),
    ("requestsHash", Kind::Bytes),
];

/// The header's fields as RLP items, from a block object: (name, kind, bytes).
fn header_fields(block: &Value) -> Vec<(&'static str, Kind, Vec<u8>)> {
    let mut out = Vec::new();
    for (name, kind) in BASE_FIELDS {
        let v = match kind {
            Kind::Bytes => bytes(block, name),
            Kind::Int => quantity(block, name),
        };
        out.push((name, kind, v));
    }
    let mut ended = None;
    for (name, kind) in FORK_FIELDS {
        match (block.get(name), ended) {
            (None, _) => ended = ended.or(Some(name)),
            (Some(_), Some(missing)) => {
                panic!("block has {name} but not the earlier fork field {missing}")
            }
            (Some(_), None) => {
                let v = match kind {
                    Kind::Bytes => bytes(block, name),
                    Kind::Int => quantity(block, name),
                };
                out.push((name, kind, v));
            }
        }
    }
    out
}

fn encode_header(fields: &[(&'static str, Kind, Vec<u8>)]) -> Vec<u8> {
    let items: Vec<Vec<u8>> = fields.iter().map(|(_, _, v)| v.clone()).collect();
    rlp_list(&items)
}

/// Big-endian `+1` of a canonical integer (stays canonical).
fn increment(int: &[u8]) -> Vec<u8> {
    let mut v = int.to_vec();
    for b in v.iter_mut().rev() {
        let (s, carry) = b.overflowing_add(1);
        *b = s;
        if !carry {
            return v;
        }
    }
    let mut out = vec![1];
    out.extend(v);
    out
}

/// Check one block's header; returns the field names it has (for the report).
fn check_header(block: &Value) -> Vec<&'static str> {
    let hash = h32(block, "hash");
    let fields = header_fields(block);
    let rlp = encode_header(&fields);
    let header = verify_header(&rlp, &hash).unwrap_or_else(|e| {
        panic!(
            "block {}: header RLP from the RPC fields does not verify: {e}",
            str_field(block, "number")
        )
    });
    assert_eq!(header.number, num(block, "number"));
    assert_eq!(header.parent_hash, h32(block, "parentHash"));
    assert_eq!(header.state_root, h32(block, "stateRoot"));
    assert_eq!(header.transactions_root, h32(block, "transactionsRoot"));
    assert_eq!(header.receipts_root, h32(block, "receiptsRoot"));
    assert_eq!(header.timestamp, num(block, "timestamp"));
    assert_eq!(header.coinbase, address(str_field(block, "miner")));
    assert_eq!(header.field_count, fields.len());

    // Any changed field (still a well-formed header) fails.
    for i in 0..fields.len() {
        let mut t = fields.clone();
        let (name, kind, v) = &mut t[i];
        let name = *name;
        *v = match (*kind, v.is_empty()) {
            (Kind::Int, _) => increment(v),
            (Kind::Bytes, true) => vec![0],
            (Kind::Bytes, false) => {
                let mut b = v.clone();
                if let Some(last) = b.last_mut() {
                    *last ^= 0x01;
                }
                b
            }
        };
        let tampered = encode_header(&t);
        assert!(
            parse_header(&tampered).is_ok(),
            "tampered {name} must still be a well-formed header"
        );
        assert!(
            matches!(
                verify_header(&tampered, &hash),
                Err(EthError::HeaderHashMismatch { .. })
            ),
            "header with a changed {name} verified"
        );
    }
    // Dropping the newest fork field (e.g. encoding a Shanghai header as London) fails too.
    if fields.len() > 15 {
        let shorter = encode_header(&fields[..fields.len() - 1]);
        assert!(verify_header(&shorter, &hash).is_err());
    }
    fields.iter().map(|(n, _, _)| *n).collect()
}

// ---------------------------------------------------------------------------------------------
// Transactions

fn access_list(tx: &Value) -> Vec<u8> {
    let list = tx["accessList"]
        .as_array()
        .unwrap_or_else(|| panic!("typed transaction without accessList: {tx}"));
    let mut s = RlpStream::new_list(list.len());
    for entry in list {
        s.begin_list(2);
        s.append(&bytes(entry, "address").as_slice());
        let keys = entry["storageKeys"]
            .as_array()
            .unwrap_or_else(|| panic!("access list entry without storageKeys: {entry}"));
        s.begin_list(keys.len());
        for k in keys {
            s.append(&hex_str(k.as_str().expect("storage key string")).as_slice());
        }
    }
    s.out().to_vec()
}

/// The signature parity of a typed transaction (`yParity`, or `v` where a node only has that).
fn y_parity(tx: &Value) -> Vec<u8> {
    if tx.get("yParity").is_some() {
        quantity(tx, "yParity")
    } else {
        quantity(tx, "v")
    }
}

fn to_field(tx: &Value) -> Vec<u8> {
    match tx["to"].as_str() {
        Some(to) => hex_str(to),
        None => Vec::new(), // contract creation
    }
}

/// The transaction's canonical (EIP-2718) encoding, from the fields of a full block.
fn encode_transaction(tx: &Value) -> Vec<u8> {
    let ty = tx.get("type").map_or(0, |_| num(tx, "type"));
    let mut s;
    match ty {
        0 => {
            s = RlpStream::new_list(9);
            for (f, is_int) in [("nonce", true), ("gasPrice", true), ("gas", true)] {
                s.append(
                    &if is_int {
                        quantity(tx, f)
                    } else {
                        bytes(tx, f)
                    }
                    .as_slice(),
                );
            }
            s.append(&to_field(tx).as_slice());
            s.append(&quantity(tx, "value").as_slice());
            s.append(&bytes(tx, "input").as_slice());
            for f in ["v", "r", "s"] {
                s.append(&quantity(tx, f).as_slice());
            }
        }
        1 | 2 => {
            s = RlpStream::new_list(if ty == 1 { 11 } else { 12 });
            s.append(&quantity(tx, "chainId").as_slice());
            s.append(&quantity(tx, "nonce").as_slice());
            if ty == 1 {
                s.append(&quantity(tx, "gasPrice").as_slice());
            } else {
                s.append(&quantity(tx, "maxPriorityFeePerGas").as_slice());
                s.append(&quantity(tx, "maxFeePerGas").as_slice());
            }
            s.append(&quantity(tx, "gas").as_slice());
            s.append(&to_field(tx).as_slice());
            s.append(&quantity(tx, "value").as_slice());
            s.append(&bytes(tx, "input").as_slice());
            s.append_raw(&access_list(tx), 1);
            s.append(&y_parity(tx).as_slice());
            s.append(&quantity(tx, "r").as_slice());
            s.append(&quantity(tx, "s").as_slice());
        }
        other => panic!("transaction type {other} not handled by this test"),
    }
    let body = s.out().to_vec();
    if ty == 0 {
        body
    } else {
        [&[ty as u8][..], &body].concat()
    }
}

/// Re-encode every transaction of `block` (checking each against its hash, and against
/// `eth_getRawTransactionByHash` where the node has it) and check `transactionsRoot`.
/// Returns whether the node served raw transactions.
fn check_transactions(rpc: &Rpc, block: &Value) -> bool {
    let txs = block["transactions"]
        .as_array()
        .expect("transactions array");
    let mut trie = Trie::new();
    let mut raw_served = false;
    for (i, tx) in txs.iter().enumerate() {
        assert_eq!(num(tx, "transactionIndex"), i as u64);
        let enc = encode_transaction(tx);
        assert_eq!(
            keccak256(&[&enc]),
            h32(tx, "hash"),
            "transaction {i} re-encoded from its fields does not hash to its hash: {tx}"
        );
        if let Ok(raw) = rpc.try_call("eth_getRawTransactionByHash", json!([tx["hash"]])) {
            let raw = hex_str(raw.as_str().expect("raw transaction hex"));
            assert_eq!(
                raw, enc,
                "eth_getRawTransactionByHash differs from the fields"
            );
            raw_served = true;
        }
        trie.insert(&index_key(i), &enc);
    }
    assert_eq!(trie.len(), txs.len());
    assert_eq!(
        trie.root(),
        h32(block, "transactionsRoot"),
        "transactions trie of block {}",
        str_field(block, "number")
    );
    raw_served
}

// ---------------------------------------------------------------------------------------------
// Receipts

fn rpc_logs(receipt: &Value) -> Vec<Log> {
    receipt["logs"]
        .as_array()
        .expect("logs array")
        .iter()
        .map(|l| Log {
            address: address(str_field(l, "address")),
            topics: l["topics"]
                .as_array()
                .expect("topics array")
                .iter()
                .map(|t| {
                    hex_str(t.as_str().expect("topic string"))
                        .as_slice()
                        .try_into()
                        .expect("32-byte topic")
                })
                .collect(),
            data: bytes(l, "data"),
        })
        .collect()
}

/// The receipt's consensus encoding, written out independently of the adapter:
/// `[type ‖] rlp([status, cumulativeGasUsed, logsBloom, [[address, [topics], data], …]])`.
fn encode_rpc_receipt(receipt: &Value) -> (u8, Vec<u8>) {
    let ty = receipt.get("type").map_or(0, |_| num(receipt, "type"));
    let ty = u8::try_from(ty).expect("receipt type fits a byte");
    let logs = rpc_logs(receipt);
    let mut s = RlpStream::new_list(4);
    s.append(&quantity(receipt, "status").as_slice());
    s.append(&quantity(receipt, "cumulativeGasUsed").as_slice());
    s.append(&bytes(receipt, "logsBloom").as_slice());
    s.begin_list(logs.len());
    for l in &logs {
        s.begin_list(3);
        s.append(&l.address.as_slice());
        s.begin_list(l.topics.len());
        for t in &l.topics {
            s.append(&t.as_slice());
        }
        s.append(&l.data);
    }
    let body = s.out().to_vec();
    let enc = if ty == 0 {
        body
    } else {
        [&[ty][..], &body].concat()
    };
    (ty, enc)
}

/// Build the receipts trie of `block`, check it against `receiptsRoot`, and return it with
/// every receipt's encoding (by transaction index).
fn check_receipts(rpc: &Rpc, block: &Value) -> (Trie, Vec<Vec<u8>>) {
    let txs = block["transactions"]
        .as_array()
        .expect("transactions array");
    let mut trie = Trie::new();
    let mut encodings = Vec::new();
    let mut block_bloom = [0u8; 256];
    for (i, tx) in txs.iter().enumerate() {
        let receipt = rpc.call("eth_getTransactionReceipt", json!([tx["hash"]]));
        assert_eq!(num(&receipt, "transactionIndex"), i as u64);
        assert_eq!(receipt["blockHash"], block["hash"]);
        let (ty, enc) = encode_rpc_receipt(&receipt);
        // The adapter's encoding (which computes the bloom itself) is byte-identical.
        let logs = rpc_logs(&receipt);
        let success = num(&receipt, "status") == 1;
        let adapter = encode_receipt(ty, success, num(&receipt, "cumulativeGasUsed"), &logs);
        assert_eq!(
            hex::encode(&adapter),
            hex::encode(&enc),
            "adapter receipt encoding of transaction {i}"
        );
        let bloom: [u8; 256] = fixed(&receipt, "logsBloom");
        assert_eq!(logs_bloom(&logs), bloom, "adapter bloom of transaction {i}");
        for (acc, b) in block_bloom.iter_mut().zip(bloom) {
            *acc |= b;
        }
        trie.insert(&index_key(i), &enc);
        encodings.push(enc);
    }
    assert_eq!(block_bloom, fixed::<256>(block, "logsBloom"), "block bloom");
    assert_eq!(
        trie.root(),
        h32(block, "receiptsRoot"),
        "receipts trie of block {}",
        str_field(block, "number")
    );
    (trie, encodings)
}

// ---------------------------------------------------------------------------------------------
// Accounts

/// `eth_getProof` for `addr` at `block` (hex number): check the account proof against
/// `state_root`; returns the proven account RLP (None when absent) and the proof nodes.
fn check_account(
    rpc: &Rpc,
    addr: &str,
    block: &str,
    state_root: &Hash32,
) -> (Option<Vec<u8>>, Vec<Vec<u8>>) {
    let slot0 = hex0x(&[0u8; 32]);
    let p = rpc.call("eth_getProof", json!([addr, [slot0], block]));
    assert_eq!(address(str_field(&p, "address")), address(addr));
    let nodes: Vec<Vec<u8>> = p["accountProof"]
        .as_array()
        .expect("accountProof array")
        .iter()
        .map(|n| hex_str(n.as_str().expect("proof node string")))
        .collect();
    let key = keccak256(&[&address(addr)]);
    let outcome = verify_proof(state_root, &key, &nodes)
        .unwrap_or_else(|e| panic!("account proof of {addr} at {block}: {e}"));

    // The RPC's own view of the account, cross-checked against the plain getters.
    let balance = rpc.call("eth_getBalance", json!([addr, block]));
    assert_eq!(balance, p["balance"], "balance of {addr}");
    let nonce = rpc.call("eth_getTransactionCount", json!([addr, block]));
    assert_eq!(nonce, p["nonce"], "nonce of {addr}");
    let code = rpc.call("eth_getCode", json!([addr, block]));
    let code = hex_str(code.as_str().expect("code hex"));
    assert_eq!(
        h32(&p, "codeHash"),
        keccak256(&[&code]),
        "codeHash of {addr}"
    );
    let storage_hash = h32(&p, "storageHash");

    // Storage: none of these accounts has any, so slot 0 is an exclusion under the empty root.
    let sp = &p["storageProof"][0];
    let snodes: Vec<Vec<u8>> = sp["proof"]
        .as_array()
        .expect("storage proof array")
        .iter()
        .map(|n| hex_str(n.as_str().expect("storage proof node")))
        .collect();
    assert_eq!(storage_hash, EMPTY_TRIE_ROOT, "storageHash of {addr}");
    assert_eq!(
        verify_proof(&storage_hash, &keccak256(&[&[0u8; 32]]), &snodes),
        Ok(ProofOutcome::Absent),
        "storage slot 0 of {addr}"
    );
    assert!(quantity(sp, "value").is_empty());

    let account = match outcome {
        ProofOutcome::Present(v) => {
            let expected = rlp_list(&[
                quantity(&p, "nonce"),
                quantity(&p, "balance"),
                storage_hash.to_vec(),
                h32(&p, "codeHash").to_vec(),
            ]);
            assert_eq!(
                hex::encode(&v),
                hex::encode(&expected),
                "account {addr}: proven rlp([nonce, balance, storageHash, codeHash])"
            );
            Some(v)
        }
        ProofOutcome::Absent => {
            assert!(quantity(&p, "nonce").is_empty() && quantity(&p, "balance").is_empty());
            assert_eq!(h32(&p, "codeHash"), keccak256(&[b""]));
            None
        }
    };

    // Every single changed byte of the proof fails.
    for (n, b, t) in single_byte_flips(&nodes) {
        assert!(
            verify_proof(state_root, &key, &t).is_err(),
            "account proof of {addr} with node {n} byte {b} flipped verified"
        );
    }
    // So do a dropped node and an extra one.
    if let Some((_, shorter)) = nodes.split_last() {
        assert!(verify_proof(state_root, &key, shorter).is_err());
        let mut longer = nodes.clone();
        longer.push(nodes[0].clone());
        assert!(verify_proof(state_root, &key, &longer).is_err());
    }
    (account, nodes)
}

// ---------------------------------------------------------------------------------------------

fn ganache_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ganache/node_modules/.bin/ganache")
}

fn start_ganache(bin: &Path, dir: &Path) -> (KillOnDrop, Rpc, String) {
    let log_path = dir.join("ganache.log");
    let log = std::fs::File::create(&log_path).expect("ganache log file");
    let port = free_port();
    let child = Command::new(bin)
        .args(["--server.host", "127.0.0.1", "--server.port"])
        .arg(port.to_string())
        .args(["--chain.chainId", &CHAIN_ID.to_string()])
        .args(["--wallet.deterministic", "--logging.quiet"])
        .args(["--miner.instamine", "eager"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("ganache log handle"))
        .stderr(log)
        .spawn()
        .expect("start ganache");
    let mut node = KillOnDrop(child);
    let rpc = Rpc::new(port);
    let deadline = Instant::now() + Duration::from_secs(60);
    let version = loop {
        if let Ok(v) = rpc.try_call("web3_clientVersion", json!([])) {
            break v.as_str().unwrap_or_default().to_string();
        }
        if let Some(status) = node.0.try_wait().expect("poll ganache") {
            panic!(
                "ganache exited ({status}) before answering:\n{}",
                log_tail(&log_path)
            );
        }
        assert!(
            Instant::now() < deadline,
            "ganache did not answer within 60 s:\n{}",
            log_tail(&log_path)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    (node, rpc, version)
}

#[test]
fn ethereum_proofs_against_ganache() {
    let started = Instant::now();
    let bin = ganache_bin();
    if !bin.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} not found: CI must install it (npm ci --prefix tests/ganache, see .ci/run)",
            bin.display()
        );
        eprintln!(
            "skipping ganache: {} not found (run `npm ci --prefix tests/ganache`)",
            bin.display()
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_node, rpc, version) = start_ganache(&bin, dir.path());
    eprintln!("node: {version}");
    assert_eq!(
        num(&json!({"id": rpc.call("eth_chainId", json!([]))}), "id"),
        CHAIN_ID
    );

    let accounts = rpc.call("eth_accounts", json!([]));
    let alice = accounts[0].as_str().expect("account 0").to_string();
    let bob = accounts[1].as_str().expect("account 1").to_string();
    let payee = "0x00000000000000000000000000000000000c0ffe";

    // Block 1: deploy the bridge stand-in (a legacy transaction).
    let runtime = runtime_code();
    let deploy = rpc.call(
        "eth_sendTransaction",
        json!([{"from": alice, "data": hex0x(&init_code(&runtime)),
                "gas": "0x30000", "gasPrice": "0x77359400"}]),
    );
    let deploy = rpc.receipt(deploy.as_str().expect("deploy hash"));
    assert_eq!(deploy["status"], "0x1", "deployment failed: {deploy}");
    let contract = str_field(&deploy, "contractAddress").to_string();
    let code = rpc.call("eth_getCode", json!([contract, "latest"]));
    assert_eq!(code.as_str(), Some(hex0x(&runtime).as_str()));

    // One block with three transactions: a typed (EIP-1559) bridge call, a legacy value
    // transfer and a legacy bridge call from another account.
    let lock_a = LockData {
        chain_id: u128::from(CHAIN_ID),
        nonce: 1,
        destination: "fabric-channel".into(),
        sender: address(&alice),
        recipient: "x509::CN=alice".into(),
        asset: "CNY".into(),
        amount: 42,
    };
    let lock_b = LockData {
        nonce: 2,
        sender: address(&bob),
        recipient: "bob".into(),
        amount: 7,
        ..lock_a.clone()
    };
    assert_eq!(rpc.call("miner_stop", json!([])), json!(true));
    let tx_a = rpc.call(
        "eth_sendTransaction",
        json!([{"from": alice, "to": contract, "data": hex0x(&lock_a.encode()), "gas": "0x30000",
                "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00"}]),
    );
    let tx_pay = rpc.call(
        "eth_sendTransaction",
        json!([{"from": alice, "to": payee, "value": "0x2a", "gas": "0x5208",
                "gasPrice": "0x77359400"}]),
    );
    let tx_b = rpc.call(
        "eth_sendTransaction",
        json!([{"from": bob, "to": contract, "data": hex0x(&lock_b.encode()), "gas": "0x30000",
                "gasPrice": "0x77359400"}]),
    );
    assert_eq!(rpc.call("miner_start", json!([])), json!(true));
    let receipt_a = rpc.receipt(tx_a.as_str().expect("tx hash"));
    let receipt_pay = rpc.receipt(tx_pay.as_str().expect("tx hash"));
    let receipt_b = rpc.receipt(tx_b.as_str().expect("tx hash"));
    let block_number = str_field(&receipt_a, "blockNumber").to_string();
    for r in [&receipt_pay, &receipt_b] {
        assert_eq!(r["blockNumber"], json!(block_number), "not mined together");
    }
    for r in [&receipt_a, &receipt_pay, &receipt_b] {
        assert_eq!(r["status"], "0x1", "transaction failed: {r}");
    }
    assert_eq!(receipt_a["type"], "0x2");
    assert_eq!(receipt_b["type"], "0x0");

    // Every header of the chain, linked by parentHash, plus both tries of every block.
    let latest = num(&json!({"n": rpc.call("eth_blockNumber", json!([]))}), "n");
    let mut parent = [0u8; 32];
    let mut header_fields_seen = Vec::new();
    let mut raw_served = false;
    for n in 0..=latest {
        let block = rpc.call("eth_getBlockByNumber", json!([format!("0x{n:x}"), true]));
        header_fields_seen = check_header(&block);
        assert_eq!(h32(&block, "parentHash"), parent, "block {n} parent link");
        parent = h32(&block, "hash");
        raw_served |= check_transactions(&rpc, &block);
        check_receipts(&rpc, &block);
        if block["transactions"].as_array().is_some_and(Vec::is_empty) {
            assert_eq!(h32(&block, "receiptsRoot"), EMPTY_TRIE_ROOT);
            assert_eq!(h32(&block, "transactionsRoot"), EMPTY_TRIE_ROOT);
        }
    }
    eprintln!(
        "headers 0..={latest} verified ({} fields: {})",
        header_fields_seen.len(),
        header_fields_seen.join(", ")
    );
    if !raw_served {
        eprintln!("eth_getRawTransactionByHash not served: transactions re-encoded from fields");
    }

    // The bridge call's receipt: proof from the receipts trie, and the Lock event inside it.
    let block = rpc.call("eth_getBlockByNumber", json!([block_number, true]));
    let receipts_root = h32(&block, "receiptsRoot");
    let (mut trie, encodings) = check_receipts(&rpc, &block);
    assert_eq!(encodings.len(), 3);
    for (receipt, lock) in [(&receipt_a, &lock_a), (&receipt_b, &lock_b)] {
        let index = usize::try_from(num(receipt, "transactionIndex")).expect("index");
        let key = index_key(index);
        let proof = trie.proof(&key);
        let value = match verify_proof(&receipts_root, &key, &proof) {
            Ok(ProofOutcome::Present(v)) => v,
            other => panic!("receipt {index} proof: {other:?}"),
        };
        assert_eq!(value, encodings[index]);
        let logs = receipt_logs(&value).expect("a successful receipt's logs");
        assert_eq!(logs.len(), 1, "the bridge call emits one log");
        let log = Log::decode(&logs[0]).expect("the log decodes");
        assert_eq!(log.address, address(&contract));
        assert_eq!(log.topics, vec![lock_topic()]);
        assert_eq!(
            hex0x(&log.topics[0]),
            receipt["logs"][0]["topics"][0].as_str().unwrap_or_default()
        );
        assert_eq!(&LockData::decode(&log.data).expect("Lock data"), lock);
        // Each changed proof byte fails; another index's key does not give this receipt.
        for (n, b, t) in single_byte_flips(&proof) {
            assert!(
                verify_proof(&receipts_root, &key, &t).is_err(),
                "receipt proof with node {n} byte {b} flipped verified"
            );
        }
        for other in (0..encodings.len()).filter(|o| *o != index) {
            assert_ne!(
                verify_proof(&receipts_root, &index_key(other), &proof),
                Ok(ProofOutcome::Present(value.clone())),
            );
        }
    }
    eprintln!(
        "receipts trie of block {block_number} verified (3 receipts, typed and legacy), \
         Lock events proven"
    );

    // Accounts at the transactions' block: the contract, both senders, the payee; a never-used
    // address is a proven exclusion.
    let state_root = h32(&block, "stateRoot");
    let (contract_rlp, _) = check_account(&rpc, &contract, &block_number, &state_root);
    assert!(contract_rlp.is_some());
    let contract_now = rpc.call("eth_getProof", json!([contract, [], block_number]));
    assert_eq!(h32(&contract_now, "codeHash"), keccak256(&[&runtime]));
    for who in [&alice, &bob] {
        assert!(check_account(&rpc, who, &block_number, &state_root)
            .0
            .is_some());
    }
    let (payee_rlp, _) = check_account(&rpc, payee, &block_number, &state_root);
    assert!(payee_rlp.is_some());
    let payee_now = rpc.call("eth_getProof", json!([payee, [], block_number]));
    assert_eq!(payee_now["balance"], "0x2a");
    let (absent, _) = check_account(
        &rpc,
        "0x000000000000000000000000000000000000dead",
        &block_number,
        &state_root,
    );
    assert!(absent.is_none(), "an unused address is proven absent");

    // A block earlier: the payee did not exist yet, and the contract's older proof does not
    // verify against the newer state root.
    let before = rpc.call("eth_getBlockByNumber", json!(["0x1", false]));
    let before_root = h32(&before, "stateRoot");
    assert!(check_account(&rpc, payee, "0x1", &before_root).0.is_none());
    let (_, old_nodes) = check_account(&rpc, &contract, "0x1", &before_root);
    assert!(verify_proof(&state_root, &keccak256(&[&address(&contract)]), &old_nodes).is_err());
    eprintln!("eth_getProof account proofs verified (7 proofs: 5 inclusions, 2 exclusions)");

    eprintln!("ganache test took {:.1?}", started.elapsed());
}
