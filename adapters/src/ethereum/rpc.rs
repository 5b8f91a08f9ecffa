//! A JSON-RPC 2.0 client for an Ethereum node over HTTP (`ureq`, a timeout on every call), and
//! the consensus encodings rebuilt from what a node answers: a header's RLP from the fields of
//! a block object (with the fields later forks append), a receipt's encoding and its logs.
//!
//! The node's hash fields are never taken for the hashes of what is rebuilt here:
//! [`header_rlp`] re-hashes the encoding and refuses a block whose fields do not hash to its
//! `hash`.

use super::clique::Address;
use super::receipt::Log;
use crate::AdapterError;
use meridian_proofs::hash::{keccak256, Hash32};
use rlp::RlpStream;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;

/// Why a JSON-RPC call failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RpcError {
    /// The node could not be reached (connection refused, timeout, HTTP error without a
    /// JSON-RPC body).
    #[error("{method}: {reason}")]
    Transport {
        /// The method called.
        method: String,
        /// What went wrong.
        reason: String,
    },
    /// The node answered with a JSON-RPC error (a revert, an unknown method, …).
    #[error("{method}: node error {code}: {message}")]
    Node {
        /// The method called.
        method: String,
        /// JSON-RPC error code (-32601: method not found).
        code: i64,
        /// The node's message.
        message: String,
    },
    /// The node's answer is not what the method returns.
    #[error("{method}: unexpected answer: {reason}")]
    Response {
        /// The method (or field) concerned.
        method: String,
        /// What did not match.
        reason: String,
    },
}

impl From<RpcError> for AdapterError {
    fn from(e: RpcError) -> Self {
        AdapterError::Unavailable(format!("Ethereum node: {e}"))
    }
}

fn response(method: &str, reason: impl std::fmt::Display) -> RpcError {
    RpcError::Response {
        method: method.to_string(),
        reason: reason.to_string(),
    }
}

/// A JSON-RPC 2.0 client of one node.
#[derive(Debug)]
pub struct Rpc {
    url: String,
    agent: ureq::Agent,
    next_id: AtomicU64,
}

impl Rpc {
    /// A client of the node at `url` (`http://host:port`); every call gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Self {
        Rpc {
            url: url.to_string(),
            agent: ureq::AgentBuilder::new()
                .timeout_connect(timeout)
                .timeout(timeout)
                .build(),
            next_id: AtomicU64::new(1),
        }
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One call: the result, or the node's JSON-RPC error, or the transport error.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let transport = |reason: String| RpcError::Transport {
            method: method.to_string(),
            reason,
        };
        let answer: Value = match self.agent.post(&self.url).send_json(request) {
            Ok(r) => r
                .into_json()
                .map_err(|e| response(method, format!("not JSON: {e}")))?,
            Err(ureq::Error::Status(code, r)) => {
                let text = r.into_string().unwrap_or_default();
                serde_json::from_str(&text)
                    .map_err(|_| transport(format!("HTTP {code}: {text}")))?
            }
            Err(e) => return Err(transport(e.to_string())),
        };
        if answer.get("id") != Some(&json!(id)) {
            return Err(response(method, "the response's id is not the request's"));
        }
        if let Some(error) = answer.get("error") {
            return Err(RpcError::Node {
                method: method.to_string(),
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| response(method, "no result"))
    }

    /// `eth_chainId`.
    pub fn chain_id(&self) -> Result<u64, RpcError> {
        let v = self.call("eth_chainId", json!([]))?;
        quantity_u64(&v, "eth_chainId")
    }

    /// `eth_blockNumber`: the head's number.
    pub fn block_number(&self) -> Result<u64, RpcError> {
        let v = self.call("eth_blockNumber", json!([]))?;
        quantity_u64(&v, "eth_blockNumber")
    }

    /// `eth_getBlockByNumber(number, full)`; `None` above the head.
    pub fn block(&self, number: u64, full: bool) -> Result<Option<Value>, RpcError> {
        let v = self.call("eth_getBlockByNumber", json!([qty(number), full]))?;
        Ok((!v.is_null()).then_some(v))
    }

    /// `eth_getTransactionReceipt`; `None` while not mined.
    pub fn receipt(&self, tx_hash: &str) -> Result<Option<Value>, RpcError> {
        let v = self.call("eth_getTransactionReceipt", json!([tx_hash]))?;
        Ok((!v.is_null()).then_some(v))
    }

    /// The receipt of `tx_hash`, polling until it is mined or `timeout` passes.
    pub fn wait_receipt(&self, tx_hash: &str, timeout: Duration) -> Result<Value, RpcError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.receipt(tx_hash)? {
                return Ok(r);
            }
            if Instant::now() >= deadline {
                return Err(RpcError::Transport {
                    method: "eth_getTransactionReceipt".into(),
                    reason: format!("{tx_hash} not mined within {timeout:?}"),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `eth_sendTransaction` (from an account the node holds unlocked): the transaction hash.
    pub fn send_transaction(&self, tx: Value) -> Result<String, RpcError> {
        let v = self.call("eth_sendTransaction", json!([tx]))?;
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| response("eth_sendTransaction", "no transaction hash"))
    }

    /// `eth_call` of `data` on `to` from `from`, at the latest block: the return data.
    pub fn eth_call(&self, from: &Address, to: &Address, data: &[u8]) -> Result<Vec<u8>, RpcError> {
        self.eth_call_in(from, to, data, "latest")
    }

    /// [`Rpc::eth_call`] as of the block `block` (a quantity, or a tag such as `latest`).
    pub fn eth_call_in(
        &self,
        from: &Address,
        to: &Address,
        data: &[u8],
        block: &str,
    ) -> Result<Vec<u8>, RpcError> {
        let v = self.call(
            "eth_call",
            json!([{"from": hex0x(from), "to": hex0x(to), "data": hex0x(data)}, block]),
        )?;
        hex_value(&v, "eth_call")
    }
}

/// `0x`-prefixed lower-case hex.
pub fn hex0x(b: &[u8]) -> String {
    format!("0x{}", hex::encode(b))
}

/// A JSON-RPC quantity (`0x` hex without leading zeros).
pub fn qty(n: u64) -> String {
    format!("0x{n:x}")
}

/// The bytes of a `0x` hex string (an odd digit count is padded on the left).
pub fn hex_bytes(s: &str, what: &str) -> Result<Vec<u8>, RpcError> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| response(what, format!("{s:?} has no 0x prefix")))?;
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    hex::decode(padded).map_err(|e| response(what, format!("{s:?}: {e}")))
}

fn hex_value(v: &Value, what: &str) -> Result<Vec<u8>, RpcError> {
    let s = v
        .as_str()
        .ok_or_else(|| response(what, format!("{v} is not a hex string")))?;
    hex_bytes(s, what)
}

fn quantity_u64(v: &Value, what: &str) -> Result<u64, RpcError> {
    let b = strip_zeros(hex_value(v, what)?);
    if b.len() > 8 {
        return Err(response(what, "quantity above 64 bits"));
    }
    Ok(b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x)))
}

fn strip_zeros(b: Vec<u8>) -> Vec<u8> {
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    b[first..].to_vec()
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, RpcError> {
    v.get(name)
        .filter(|x| !x.is_null())
        .ok_or_else(|| response(name, "field missing"))
}

/// The bytes of the hex field `name` of `v`.
pub fn field_bytes(v: &Value, name: &str) -> Result<Vec<u8>, RpcError> {
    hex_value(field(v, name)?, name)
}

/// The quantity field `name` as RLP wants an integer: big-endian, no leading zeros.
pub fn field_quantity(v: &Value, name: &str) -> Result<Vec<u8>, RpcError> {
    field_bytes(v, name).map(strip_zeros)
}

/// The quantity field `name` as a `u64`.
pub fn field_u64(v: &Value, name: &str) -> Result<u64, RpcError> {
    quantity_u64(field(v, name)?, name)
}

/// The hex field `name`, exactly `N` bytes.
pub fn field_fixed<const N: usize>(v: &Value, name: &str) -> Result<[u8; N], RpcError> {
    let b = field_bytes(v, name)?;
    b.as_slice()
        .try_into()
        .map_err(|_| response(name, format!("{} bytes, expected {N}", b.len())))
}

/// One header field as an RLP item, with its JSON-RPC name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderField {
    /// The block object's field name.
    pub name: &'static str,
    /// Whether it is an integer (a quantity) rather than a byte string.
    pub int: bool,
    /// The RLP item's payload.
    pub value: Vec<u8>,
}

/// The 15 fields every header has, in RLP order, with their JSON-RPC names (`true`: integer).
const BASE_FIELDS: [(&str, bool); 15] = [
    ("parentHash", false),
    ("sha3Uncles", false),
    ("miner", false),
    ("stateRoot", false),
    ("transactionsRoot", false),
    ("receiptsRoot", false),
    ("logsBloom", false),
    ("difficulty", true),
    ("number", true),
    ("gasLimit", true),
    ("gasUsed", true),
    ("timestamp", true),
    ("extraData", false),
    ("mixHash", false),
    ("nonce", false),
];

/// Fields later forks append (London, Shanghai, Cancun ×3, Prague), in order.
const FORK_FIELDS: [(&str, bool); 6] = [
    ("baseFeePerGas", true),
    ("withdrawalsRoot", false),
    ("blobGasUsed", true),
    ("excessBlobGas", true),
    ("parentBeaconBlockRoot", false),
    ("requestsHash", false),
];

/// The header's fields as RLP items, from a block object (fork fields while present; one
/// after a missing one is refused).
pub fn header_fields(block: &Value) -> Result<Vec<HeaderField>, RpcError> {
    let item = |name: &'static str, int: bool| -> Result<HeaderField, RpcError> {
        Ok(HeaderField {
            name,
            int,
            value: if int {
                field_quantity(block, name)?
            } else {
                field_bytes(block, name)?
            },
        })
    };
    let mut out = BASE_FIELDS
        .iter()
        .map(|(n, i)| item(n, *i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut missing = None;
    for (name, int) in FORK_FIELDS {
        match (block.get(name).filter(|v| !v.is_null()), missing) {
            (None, _) => missing = missing.or(Some(name)),
            (Some(_), Some(m)) => {
                return Err(response(
                    name,
                    format!("present without the earlier fork field {m}"),
                ))
            }
            (Some(_), None) => out.push(item(name, int)?),
        }
    }
    Ok(out)
}

/// The header RLP of `fields`.
pub fn encode_header(fields: &[HeaderField]) -> Vec<u8> {
    let mut s = RlpStream::new_list(fields.len());
    for f in fields {
        s.append(&f.value.as_slice());
    }
    s.out().to_vec()
}

/// The header RLP of a block object, checked: keccak256 of it must be the block's `hash`.
pub fn header_rlp(block: &Value) -> Result<Vec<u8>, RpcError> {
    let rlp = encode_header(&header_fields(block)?);
    let hash: Hash32 = field_fixed(block, "hash")?;
    if keccak256(&[&rlp]) != hash {
        return Err(response(
            "hash",
            format!(
                "block {}: the header rebuilt from its fields does not hash to {}",
                field(block, "number")
                    .map(Value::to_string)
                    .unwrap_or_default(),
                hex0x(&hash)
            ),
        ));
    }
    Ok(rlp)
}

/// The logs of a receipt object.
pub fn rpc_logs(receipt: &Value) -> Result<Vec<Log>, RpcError> {
    field(receipt, "logs")?
        .as_array()
        .ok_or_else(|| response("logs", "not an array"))?
        .iter()
        .map(|l| {
            Ok(Log {
                address: field_fixed(l, "address")?,
                topics: field(l, "topics")?
                    .as_array()
                    .ok_or_else(|| response("topics", "not an array"))?
                    .iter()
                    .map(|t| {
                        hex_value(t, "topics")?
                            .as_slice()
                            .try_into()
                            .map_err(|_| response("topics", "a topic is not 32 bytes"))
                    })
                    .collect::<Result<Vec<Hash32>, _>>()?,
                data: field_bytes(l, "data")?,
            })
        })
        .collect()
}

/// A receipt's consensus encoding from a receipt object: `[type ‖] rlp([status,
/// cumulativeGasUsed, logsBloom, [[address, [topics], data], …]])` with the node's bloom;
/// the type (0 = legacy) and the encoding.
pub fn encode_rpc_receipt(receipt: &Value) -> Result<(u8, Vec<u8>), RpcError> {
    let ty = match receipt.get("type").filter(|v| !v.is_null()) {
        Some(_) => {
            u8::try_from(field_u64(receipt, "type")?).map_err(|_| response("type", "above 255"))?
        }
        None => 0,
    };
    let logs = rpc_logs(receipt)?;
    let mut s = RlpStream::new_list(4);
    s.append(&field_quantity(receipt, "status")?.as_slice());
    s.append(&field_quantity(receipt, "cumulativeGasUsed")?.as_slice());
    s.append(&field_bytes(receipt, "logsBloom")?.as_slice());
    s.begin_list(logs.len());
    for l in &logs {
        s.append_raw(&l.encode(), 1);
    }
    let body = s.out().to_vec();
    let enc = if ty == 0 {
        body
    } else {
        [&[ty][..], &body].concat()
    };
    Ok((ty, enc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_quantities() {
        assert_eq!(hex_bytes("0x1", "t"), Ok(vec![1]));
        assert_eq!(hex_bytes("0x", "t"), Ok(vec![]));
        assert!(hex_bytes("12", "t").is_err());
        assert!(hex_bytes("0xzz", "t").is_err());
        let v = json!({"n": "0x0102", "z": "0x0", "big": "0x010000000000000000"});
        assert_eq!(field_u64(&v, "n"), Ok(0x102));
        assert_eq!(field_quantity(&v, "z"), Ok(vec![]));
        assert!(field_u64(&v, "big").is_err());
        assert!(field_u64(&v, "missing").is_err());
        assert_eq!(qty(255), "0xff");
    }

    #[test]
    fn a_fork_field_after_a_missing_one_is_refused() {
        let mut block = serde_json::Map::new();
        for (name, int) in BASE_FIELDS {
            block.insert(name.into(), json!(if int { "0x1" } else { "0x00" }));
        }
        let ok = Value::Object(block.clone());
        assert_eq!(header_fields(&ok).map(|f| f.len()), Ok(15));
        block.insert("withdrawalsRoot".into(), json!("0x00"));
        assert!(header_fields(&Value::Object(block.clone())).is_err());
        block.insert("baseFeePerGas".into(), json!("0x7"));
        let f = header_fields(&Value::Object(block)).expect("fields");
        assert_eq!(f.len(), 17);
        assert_eq!(f[15].value, vec![7]);
    }

    #[test]
    fn unreachable_node_is_a_transport_error() {
        // Port 9 on loopback: nothing listens (discard is not run in test environments).
        let rpc = Rpc::new("http://127.0.0.1:9", Duration::from_millis(500));
        let e = rpc.block_number().expect_err("nothing listens");
        assert!(matches!(e, RpcError::Transport { .. }), "{e}");
        assert!(matches!(
            AdapterError::from(e),
            AdapterError::Unavailable(_)
        ));
    }
}
