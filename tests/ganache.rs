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

mod common;

use common::ganache::{self, CHAIN_ID};

use meridian_adapters::ethereum::abi::{lock_call, lock_topic, LockData};
use meridian_adapters::ethereum::bridge;
use meridian_adapters::ethereum::receipt::{encode_receipt, logs_bloom, receipt_logs, Log};
use meridian_adapters::ethereum::rpc::{
    encode_header, encode_rpc_receipt, header_fields, header_rlp, rpc_logs, HeaderField,
};
use meridian_proofs::eth::{
    parse_header, verify_header, verify_proof, EthError, ProofOutcome, Trie, EMPTY_TRIE_ROOT,
};
use meridian_proofs::hash::{keccak256, Hash32};
use rlp::RlpStream;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// JSON-RPC 2.0 over HTTP: the adapters crate's client, failing the test on errors.

struct Rpc(meridian_adapters::ethereum::rpc::Rpc);

impl Rpc {
    fn new(url: &str) -> Self {
        Rpc(meridian_adapters::ethereum::rpc::Rpc::new(
            url,
            Duration::from_secs(30),
        ))
    }

    /// One call; `Err` carries the node's JSON-RPC error (or the transport error).
    fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.0.call(method, params).map_err(|e| e.to_string())
    }

    fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Mine `n` blocks (`evm_mine`).
    fn mine(&self, n: usize) {
        for _ in 0..n {
            self.call("evm_mine", json!([]));
        }
    }

    /// The receipt of `tx`, waiting (up to 30 s) for it to be mined.
    fn receipt(&self, tx: &str) -> Value {
        self.0
            .wait_receipt(tx, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"))
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
// The contract: the bridge (hand-assembled EVM bytecode, `meridian_adapters::ethereum::bridge`).

// ---------------------------------------------------------------------------------------------
// Headers

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
    let fields = header_fields(block).unwrap_or_else(|e| panic!("header fields: {e}"));
    let rlp = encode_header(&fields);
    assert_eq!(
        header_rlp(block).as_ref(),
        Ok(&rlp),
        "the library's checked header encoding"
    );
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
        let HeaderField { name, int, value } = &mut t[i];
        let name = *name;
        *value = match (*int, value.is_empty()) {
            (true, _) => increment(value),
            (false, true) => vec![0],
            (false, false) => {
                let mut b = value.clone();
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
    fields.iter().map(|f| f.name).collect()
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
        let (ty, enc) = encode_rpc_receipt(&receipt).unwrap_or_else(|e| panic!("receipt: {e}"));
        // The adapter's encoding (which computes the bloom itself) is byte-identical.
        let logs = rpc_logs(&receipt).unwrap_or_else(|e| panic!("logs: {e}"));
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

    // Storage slot 0 (the bridge's lock nonce; empty for the other accounts): a proven
    // inclusion of rlp(value) under storageHash, or a proven exclusion.
    let sp = &p["storageProof"][0];
    let snodes: Vec<Vec<u8>> = sp["proof"]
        .as_array()
        .expect("storage proof array")
        .iter()
        .map(|n| hex_str(n.as_str().expect("storage proof node")))
        .collect();
    let value = quantity(sp, "value");
    let expected = if value.is_empty() {
        ProofOutcome::Absent
    } else {
        ProofOutcome::Present(rlp::encode(&value.as_slice()).to_vec())
    };
    assert_eq!(
        verify_proof(&storage_hash, &keccak256(&[&[0u8; 32]]), &snodes),
        Ok(expected),
        "storage slot 0 of {addr}"
    );
    if code.is_empty() {
        assert_eq!(storage_hash, EMPTY_TRIE_ROOT, "storageHash of {addr}");
    }

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

#[test]
fn ethereum_proofs_against_ganache() {
    let started = Instant::now();
    let Some(bin) = ganache::bin_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let node = ganache::start(&bin, dir.path());
    let rpc = Rpc::new(&node.url);
    eprintln!("node: {}", node.version);
    assert_eq!(
        num(&json!({"id": rpc.call("eth_chainId", json!([]))}), "id"),
        CHAIN_ID
    );

    let accounts = rpc.call("eth_accounts", json!([]));
    let alice = accounts[0].as_str().expect("account 0").to_string();
    let bob = accounts[1].as_str().expect("account 1").to_string();
    let payee = "0x00000000000000000000000000000000000c0ffe";

    // Block 1: deploy the bridge (a legacy transaction).
    let runtime = bridge::runtime_code();
    let deploy = rpc.call(
        "eth_sendTransaction",
        json!([{"from": alice, "data": hex0x(&bridge::init_code()),
                "gas": "0x100000", "gasPrice": "0x77359400"}]),
    );
    let deploy = rpc.receipt(deploy.as_str().expect("deploy hash"));
    assert_eq!(deploy["status"], "0x1", "deployment failed: {deploy}");
    let contract = str_field(&deploy, "contractAddress").to_string();
    let code = rpc.call("eth_getCode", json!([contract, "latest"]));
    assert_eq!(code.as_str(), Some(hex0x(&runtime).as_str()));

    // One block with three transactions: a typed (EIP-1559) bridge call, a legacy value
    // transfer and a legacy bridge call from another account. The bridge numbers the locks and
    // fills in the chain id and the sender itself.
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
        json!([{"from": alice, "to": contract, "gas": "0x100000",
                "data": hex0x(&lock_call(&lock_a.destination, &lock_a.recipient, &lock_a.asset,
                    lock_a.amount)),
                "maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x3b9aca00"}]),
    );
    let tx_pay = rpc.call(
        "eth_sendTransaction",
        json!([{"from": alice, "to": payee, "value": "0x2a", "gas": "0x5208",
                "gasPrice": "0x77359400"}]),
    );
    let tx_b = rpc.call(
        "eth_sendTransaction",
        json!([{"from": bob, "to": contract, "gas": "0x100000",
                "data": hex0x(&lock_call(&lock_b.destination, &lock_b.recipient, &lock_b.asset,
                    lock_b.amount)),
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
    // The bridge numbers locks in execution order.
    let (mut lock_a, mut lock_b) = (lock_a, lock_b);
    if num(&receipt_b, "transactionIndex") < num(&receipt_a, "transactionIndex") {
        (lock_a.nonce, lock_b.nonce) = (2, 1);
    }

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

/// A fresh node in its own temporary directory, its client and its first accounts; `None`
/// (the test skipped) without ganache.
fn node_with_accounts() -> Option<(tempfile::TempDir, ganache::Ganache, Rpc, Vec<[u8; 20]>)> {
    let bin = ganache::bin_or_skip()?;
    let dir = tempfile::tempdir().expect("temporary directory");
    let node = ganache::start(&bin, dir.path());
    let rpc = Rpc::new(&node.url);
    let accounts = rpc.call("eth_accounts", json!([]));
    let accounts = accounts
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| address(a.as_str().expect("account")))
        .collect();
    Some((dir, node, rpc, accounts))
}

/// The bridge deployed on `rpc`'s node from `owner`, and the chain that releases from it
/// (two confirmations).
fn deploy_bridge(rpc: &Rpc, owner: [u8; 20]) -> meridian_adapters::ethereum::RpcChainConfig {
    let bridge_address =
        bridge::deploy(&rpc.0, &owner, Duration::from_secs(30)).expect("bridge deployed");
    meridian_adapters::ethereum::RpcChainConfig {
        chain_id: "eth-ganache".into(),
        rpc_url: rpc.0.url().to_string(),
        eip155_chain_id: CHAIN_ID,
        bridge: bridge_address,
        sender: owner,
        confirmations: 2,
        genesis_hash: None,
        timeout: Duration::from_secs(30),
    }
}

/// A chain whose bridge `owner` deploys on `node`, reached through a production front (no
/// `evm_*`: its blocks come when the test mines them on the node behind it); and its front.
fn chain_behind_front(
    node: &ganache::Ganache,
    rpc: &Rpc,
    owner: [u8; 20],
    timeout: Duration,
) -> (
    meridian_adapters::ethereum::RpcChain,
    ganache::ProductionFront,
) {
    let front = ganache::ProductionFront::of(&node.url);
    let chain =
        meridian_adapters::ethereum::RpcChain::new(meridian_adapters::ethereum::RpcChainConfig {
            rpc_url: front.url.clone(),
            timeout,
            ..deploy_bridge(rpc, owner)
        });
    (chain, front)
}

/// The transactions whose `Release` log for `message_id` the node's canonical chain holds.
fn release_txs(rpc: &Rpc, bridge: &[u8; 20], message_id: &[u8; 32]) -> Vec<String> {
    rpc.call(
        "eth_getLogs",
        json!([{"address": hex0x(bridge), "fromBlock": "0x0", "toBlock": "latest",
                "topics": [hex0x(&meridian_adapters::ethereum::abi::release_topic()),
                           hex0x(message_id)]}]),
    )
    .as_array()
    .expect("logs")
    .iter()
    .map(|l| str_field(l, "transactionHash").to_string())
    .collect()
}

/// The bridge contract on a real EVM, and the adapter in node-finality mode against the node:
/// locks decode as the adapter expects, evidence rebuilt from RPC data verifies once the node
/// has buried the block, releases apply once and respect the deadline.
#[test]
fn bridge_and_node_finality_against_ganache() {
    use meridian_adapters::demo::DemoChain;
    use meridian_adapters::ethereum::{RpcChain, RpcChainConfig};
    use meridian_adapters::{AdapterError, Delivery};

    let Some((_dir, _node, rpc, accounts)) = node_with_accounts() else {
        return;
    };
    let (owner, other) = (accounts[0], accounts[1]);
    let config = deploy_bridge(&rpc, owner);
    let bridge_address = config.bridge;
    let chain = RpcChain::new(config.clone());
    let mut adapter = chain.adapter().expect("node-mode adapter");

    // A lock from another account: the event names that account and the node's chain id.
    let ev = chain
        .lock("mock-b", &hex0x(&other), "bob", "CNY", 42)
        .expect("lock and confirmations");
    let lock = adapter.verify_event(&ev).expect("final on the node");
    assert_eq!(
        (
            lock.destination.as_str(),
            lock.recipient.as_str(),
            lock.asset.as_str()
        ),
        ("mock-b", "bob", "CNY")
    );
    assert_eq!(lock.amount, 42);
    assert_eq!(lock.sender, hex0x(&other));
    let data = LockData::decode(&Log::decode(&ev.event).expect("log").data).expect("Lock");
    assert_eq!((data.chain_id, data.nonce), (u128::from(CHAIN_ID), 1));
    // Every changed proof byte is refused.
    for i in 0..ev.proof.len() {
        let mut t = ev.clone();
        t.proof[i] ^= 0x01;
        assert!(adapter.verify_event(&t).is_err(), "proof byte {i} flipped");
    }

    // A lock whose block the node has not buried yet is not final; mining makes it final.
    let receipt = chain
        .send_lock(&owner, "mock-b", "carol", "CNY", 5)
        .expect("lock");
    let shallow = chain.evidence(&receipt).expect("evidence");
    assert!(matches!(
        adapter.verify_event(&shallow),
        Err(AdapterError::NotFinal { .. })
    ));
    let number = num(&receipt, "blockNumber");
    chain.mine_until(number + 2).expect("mined");
    assert!(adapter.verify_event(&shallow).is_ok());

    // The calldata's string padding is the caller's; the event is canonical regardless.
    let mut call = lock_call("mock-b", "dave", "CNY", 1);
    call[4 + 160 + 10] = 0xff; // inside the padding of "mock-b"
    let tx = rpc.call(
        "eth_sendTransaction",
        json!([{"from": hex0x(&owner), "to": hex0x(&bridge_address), "data": hex0x(&call),
                "gas": "0x100000"}]),
    );
    let r = rpc.receipt(tx.as_str().expect("hash"));
    assert_eq!(r["status"], "0x1");
    let logs = rpc_logs(&r).expect("logs");
    let d = LockData::decode(&logs[0].data).expect("canonical Lock data");
    assert_eq!((d.destination.as_str(), d.nonce), ("mock-b", 3));
    // An amount above 128 bits reverts.
    let mut call = lock_call("mock-b", "dave", "CNY", 1);
    call[4 + 96] = 1;
    let tx = rpc.call(
        "eth_sendTransaction",
        json!([{"from": hex0x(&owner), "to": hex0x(&bridge_address), "data": hex0x(&call),
                "gas": "0x100000"}]),
    );
    assert_eq!(rpc.receipt(tx.as_str().expect("hash"))["status"], "0x0");

    // Releases: once per id, a repeat is a duplicate with the first transaction.
    let d = Delivery {
        message_id: keccak256(&[b"message 1"]),
        refund: false,
        account: "0xabc".into(),
        asset: "CNY".into(),
        amount: 42,
        refchain_height: 7,
        deadline_ms: u64::MAX / 2,
    };
    assert_eq!(adapter.applied(&d.message_id), Ok(None));
    let first = adapter.deliver(&d).expect("released");
    assert!(!first.duplicate);
    assert_eq!(first.reference.len(), 32, "a transaction hash");
    let again = adapter.deliver(&d).expect("repeat");
    assert!(again.duplicate);
    assert_eq!(again.reference, first.reference);
    assert_eq!(
        adapter
            .applied(&d.message_id)
            .expect("applied")
            .map(|r| r.reference),
        Some(first.reference.clone())
    );
    let r = rpc.receipt(&hex0x(&first.reference));
    let logs = rpc_logs(&r).expect("logs");
    assert_eq!(logs.len(), 1);
    assert_eq!(
        logs[0].topics,
        vec![
            meridian_adapters::ethereum::abi::release_topic(),
            d.message_id
        ]
    );
    // A late release is refused as expired; a late refund is not.
    let late = Delivery {
        message_id: keccak256(&[b"message 2"]),
        deadline_ms: 1,
        ..d.clone()
    };
    assert!(matches!(
        adapter.deliver(&late),
        Err(AdapterError::Expired { .. })
    ));
    assert_eq!(adapter.applied(&late.message_id), Ok(None));
    let refund = Delivery {
        refund: true,
        ..late.clone()
    };
    assert!(!adapter.deliver(&refund).expect("refund").duplicate);
    // Only the owner (the deployer) releases.
    let stranger = RpcChain::new(RpcChainConfig {
        sender: other,
        ..config
    });
    let mut a2 = stranger.adapter().expect("adapter");
    let d3 = Delivery {
        message_id: keccak256(&[b"message 3"]),
        ..d
    };
    assert!(matches!(a2.deliver(&d3), Err(AdapterError::Unavailable(_))));
    assert_eq!(a2.applied(&d3.message_id), Ok(None));
}

/// The bridge refuses a release by the node's block times, so the hub may refund only once a
/// final block there is past the deadline, whatever its own clock says: before that a release
/// still lands (the node's clock here is an hour behind the hub's, as a lagging node, a slow
/// block or a pending transaction would make it). Asked by the hub's clock alone, the refund
/// went out while the release could still land: one lock paid twice.
#[test]
fn a_refund_waits_for_a_final_block_past_the_deadline() {
    use meridian_adapters::demo::DemoChain;
    use meridian_adapters::ethereum::RpcChain;
    use meridian_adapters::{AdapterError, Delivery, Settlement};

    let Some((_dir, _node, rpc, accounts)) = node_with_accounts() else {
        return;
    };
    let hub_now_ms = meridian_adapters::mock::now_ms();
    rpc.call("evm_setTime", json!([hub_now_ms - 3_600_000]));
    let owner = accounts[0];
    let chain = RpcChain::new(deploy_bridge(&rpc, owner));
    let mut adapter = chain.adapter().expect("node-mode adapter");
    let mine = |n: usize| rpc.mine(n);
    mine(3);
    let latest = rpc.call("eth_getBlockByNumber", json!(["latest", false]));
    let deadline_ms = num(&latest, "timestamp") * 1000 + 60_000;
    assert!(
        deadline_ms < meridian_adapters::mock::now_ms(),
        "past on the hub's clock"
    );
    let delivery = |what: &[u8]| Delivery {
        message_id: keccak256(&[what]),
        refund: false,
        account: "0xabc".into(),
        asset: "CNY".into(),
        amount: 5,
        refchain_height: 1,
        deadline_ms,
    };
    let (early, late, never) = (
        delivery(b"released early"),
        delivery(b"released late"),
        delivery(b"never released"),
    );
    let first = adapter.deliver(&early).expect("released");
    // Past the deadline for the hub, not for the node: nothing is settled yet.
    for d in [&early, &late, &never] {
        assert_eq!(
            adapter.settlement(&d.message_id, d.deadline_ms),
            Ok(Settlement::Open)
        );
    }
    // And rightly so: a release sent now still lands.
    let second = adapter.deliver(&late).expect("still released");
    // Two minutes on, and buried under the confirmations: settled by what the bridge holds.
    rpc.call("evm_increaseTime", json!([120]));
    mine(3);
    assert_eq!(
        adapter.settlement(&early.message_id, deadline_ms),
        Ok(Settlement::Applied(first))
    );
    assert_eq!(
        adapter.settlement(&late.message_id, deadline_ms),
        Ok(Settlement::Applied(second))
    );
    assert_eq!(
        adapter.settlement(&never.message_id, deadline_ms),
        Ok(Settlement::Never)
    );
    assert!(matches!(
        adapter.deliver(&never),
        Err(AdapterError::Expired { .. })
    ));
}

/// A release is a delivery only once it is final: on a node whose blocks come when they come
/// (the production front refuses `evm_mine`), the adapter answers Pending while the release
/// is in a block with fewer than `confirmations` on top, and a reorganisation that drops the
/// release makes the next ask send it again. Answered with the receipt at once, the hub
/// recorded Delivered for a release the reorganisation then took away: the recipient was
/// never paid and, the message being delivered, the sender never refunded.
#[test]
fn a_release_is_delivered_only_once_final() {
    use meridian_adapters::demo::DemoChain;
    use meridian_adapters::ethereum::{RpcChain, RpcChainConfig};
    use meridian_adapters::{AdapterError, Delivery};

    let Some((_dir, node, rpc, accounts)) = node_with_accounts() else {
        return;
    };
    let (chain, _front) = chain_behind_front(&node, &rpc, accounts[0], Duration::from_secs(30));
    let bridge_address = chain.config().bridge;
    let mut adapter = chain.adapter().expect("node-mode adapter");
    let mine = |n: usize| rpc.mine(n);
    let d = Delivery {
        message_id: keccak256(&[b"reorganised away"]),
        refund: false,
        account: "0xabc".into(),
        asset: "CNY".into(),
        amount: 9,
        refchain_height: 1,
        deadline_ms: u64::MAX / 2,
    };
    let releases = || release_txs(&rpc, &bridge_address, &d.message_id);

    let snapshot = rpc.call("evm_snapshot", json!([]));
    let pending = |a: &mut Box<dyn meridian_adapters::ChainAdapter>| {
        matches!(a.deliver(&d), Err(AdapterError::Pending(_)))
    };
    assert!(pending(&mut adapter), "mined, with no block on top");
    mine(1);
    assert!(pending(&mut adapter), "one confirmation of two");
    assert_eq!(releases().len(), 1, "asked again, not sent again");

    // The release's block is reorganised away (the node goes back to before it and builds
    // other blocks): asked again, the adapter sends it again.
    assert_eq!(rpc.call("evm_revert", json!([snapshot])), json!(true));
    mine(3);
    assert!(
        releases().is_empty(),
        "the reorganisation dropped the release"
    );
    // Unknown to the node at one ask is not yet gone (a node may put a reorganised block's
    // transactions back in its pool); unknown at the next, it is sent again.
    assert!(pending(&mut adapter), "asked once more");
    assert!(
        releases().is_empty(),
        "not sent again at the first unknown answer"
    );
    assert!(pending(&mut adapter), "sent again");
    let again = releases();
    assert_eq!(again.len(), 1);
    mine(2);
    let receipt = adapter.deliver(&d).expect("final");
    assert_eq!(hex0x(&receipt.reference), again[0]);
    assert_eq!(releases().len(), 1, "released once");
    // And a dev node's own deliveries mine their confirmations (as its dev locks do).
    let dev = RpcChain::new(RpcChainConfig {
        rpc_url: node.url.clone(),
        ..chain.config().clone()
    });
    let d2 = Delivery {
        message_id: keccak256(&[b"on a dev node"]),
        ..d.clone()
    };
    let head = num(
        &rpc.call("eth_getBlockByNumber", json!(["latest", false])),
        "number",
    );
    let r = dev
        .adapter()
        .expect("adapter")
        .deliver(&d2)
        .expect("final at once");
    assert!(!r.duplicate);
    let now = num(
        &rpc.call("eth_getBlockByNumber", json!(["latest", false])),
        "number",
    );
    assert_eq!(now, head + 3, "the release's block and two on top");
}

/// Releases sent to a node that has not mined them yet answer Pending at once, and asked again
/// they are looked up by their transaction, not sent again: a chain actor delivering a batch
/// does not hold each release until its block (on a 12 s chain, about five releases a minute,
/// with that chain's verifications waiting behind them). Before, each release waited for its
/// receipt: with the node not mining, each failed only after the chain's timeout.
#[test]
fn a_batch_of_releases_waits_for_no_block() {
    use meridian_adapters::demo::DemoChain;
    use meridian_adapters::{AdapterError, Delivery};

    let Some((_dir, node, rpc, accounts)) = node_with_accounts() else {
        return;
    };
    let (chain, _front) = chain_behind_front(&node, &rpc, accounts[0], Duration::from_secs(5));
    let bridge_address = chain.config().bridge;
    let mut adapter = chain.adapter().expect("node-mode adapter");
    let batch: Vec<Delivery> = (0u8..3)
        .map(|i| Delivery {
            message_id: keccak256(&[b"batched release ", &[i]]),
            refund: false,
            account: "0xabc".into(),
            asset: "CNY".into(),
            amount: 7 + u128::from(i),
            refchain_height: 1,
            deadline_ms: u64::MAX / 2,
        })
        .collect();
    // Transactions waiting in the node's pool.
    let pooled = || -> usize {
        let content = rpc.call("txpool_content", json!([]));
        content["pending"]
            .as_object()
            .map(|by_sender| {
                by_sender
                    .values()
                    .filter_map(Value::as_object)
                    .map(|txs| txs.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    let releases = |d: &Delivery| release_txs(&rpc, &bridge_address, &d.message_id);
    let all_pending = |results: &[Result<_, AdapterError>]| {
        results
            .iter()
            .all(|r| matches!(r, Err(AdapterError::Pending(_))))
    };

    rpc.call("miner_stop", json!([]));
    for ask in 0..2 {
        let results = adapter.deliver_batch(&batch);
        assert!(all_pending(&results), "ask {ask}: {results:?}");
        assert_eq!(pooled(), batch.len(), "ask {ask}: each release sent once");
    }
    rpc.mine(1);
    assert_eq!(pooled(), 0, "mined");
    let results = adapter.deliver_batch(&batch);
    assert!(all_pending(&results), "no confirmation yet: {results:?}");
    rpc.mine(2);
    for (d, r) in batch.iter().zip(adapter.deliver_batch(&batch)) {
        let receipt = r.expect("final");
        assert!(!receipt.duplicate, "sent by this adapter");
        assert_eq!(
            vec![hex0x(&receipt.reference)],
            releases(d),
            "released once"
        );
    }
}
