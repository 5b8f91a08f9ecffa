//! Receipts and logs in go-ethereum's consensus encoding (what the receipts trie holds):
//! legacy `rlp([status, cumulativeGasUsed, logsBloom, logs])`, typed (EIP-2718)
//! `type ‖ rlp([...])`; a log is `rlp([address, [topic…], data])`.

use super::clique::Address;
use crate::AdapterError;
use crate::RlpStrict;
use meridian_proofs::hash::{keccak256, Hash32};
use rlp::{Rlp, RlpStream};

/// A log as a receipt holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Topics (topic0 is the event signature hash).
    pub topics: Vec<Hash32>,
    /// ABI-encoded non-indexed fields.
    pub data: Vec<u8>,
}

fn bad(what: &'static str, reason: impl std::fmt::Display) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

/// Parse exactly one RLP item (no trailing bytes).
pub fn rlp_exact<'a>(bytes: &'a [u8], what: &'static str) -> Result<Rlp<'a>, AdapterError> {
    let r = Rlp::new(bytes);
    let info = r.payload_info().map_err(|e| bad(what, e))?;
    if info.total() != bytes.len() {
        return Err(bad(what, "trailing or missing bytes"));
    }
    Ok(r)
}

fn fixed<const N: usize>(r: &Rlp<'_>, what: &'static str) -> Result<[u8; N], AdapterError> {
    let d = r.strict_data().map_err(|e| bad(what, e))?;
    let mut a = [0u8; N];
    if d.len() != N {
        return Err(bad(what, format!("{} bytes, expected {N}", d.len())));
    }
    a.copy_from_slice(d);
    Ok(a)
}

impl Log {
    /// `rlp([address, [topics], data])`.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(3);
        s.append(&self.address.as_slice());
        s.begin_list(self.topics.len());
        for t in &self.topics {
            s.append(&t.as_slice());
        }
        s.append(&self.data);
        s.out().to_vec()
    }

    /// Decode one log (strict: exact sizes, no trailing bytes).
    pub fn decode(bytes: &[u8]) -> Result<Self, AdapterError> {
        let r = rlp_exact(bytes, "event")?;
        if !r.is_list() || r.item_count().map_err(|e| bad("event", e))? != 3 {
            return Err(bad("event", "a log is a 3-item list"));
        }
        let at = |i| r.at(i).map_err(|e| bad("event", e));
        let address = fixed::<20>(&at(0)?, "event")?;
        let tl = at(1)?;
        if !tl.is_list() {
            return Err(bad("event", "topics are not a list"));
        }
        let topics = tl
            .iter()
            .map(|t| fixed::<32>(&t, "event"))
            .collect::<Result<Vec<_>, _>>()?;
        let data = at(2)?.strict_data().map_err(|e| bad("event", e))?.to_vec();
        Ok(Log {
            address,
            topics,
            data,
        })
    }
}

/// Add `item` to a 2048-bit logs bloom (go-ethereum `types.Bloom.add`).
pub fn bloom_add(bloom: &mut [u8; 256], item: &[u8]) {
    let h = keccak256(&[item]);
    for i in [0usize, 2, 4] {
        let bit = ((usize::from(h[i]) << 8) | usize::from(h[i + 1])) & 0x7ff;
        bloom[255 - bit / 8] |= 1 << (bit % 8);
    }
}

/// The bloom of `logs`.
pub fn logs_bloom(logs: &[Log]) -> [u8; 256] {
    let mut b = [0u8; 256];
    for l in logs {
        bloom_add(&mut b, &l.address);
        for t in &l.topics {
            bloom_add(&mut b, t);
        }
    }
    b
}

/// Consensus encoding of a post-Byzantium receipt; `tx_type` 0 is legacy.
pub fn encode_receipt(tx_type: u8, success: bool, cumulative_gas: u64, logs: &[Log]) -> Vec<u8> {
    let mut s = RlpStream::new_list(4);
    if success {
        s.append(&1u8);
    } else {
        s.append_empty_data();
    }
    s.append(&cumulative_gas);
    s.append(&logs_bloom(logs).as_slice());
    s.begin_list(logs.len());
    for l in logs {
        s.append_raw(&l.encode(), 1);
    }
    let body = s.out().to_vec();
    if tx_type == 0 {
        body
    } else {
        [&[tx_type][..], &body].concat()
    }
}

/// The raw RLP of every log of a successful receipt (legacy or typed). A failed receipt, a
/// pre-Byzantium one (state root instead of status) or a malformed one is an error.
pub fn receipt_logs(receipt: &[u8]) -> Result<Vec<Vec<u8>>, AdapterError> {
    let body = match receipt.first() {
        Some(b) if *b >= 0xc0 => receipt,
        Some(1..=0x7f) => &receipt[1..],
        _ => return Err(bad("proof", "receipt is neither legacy nor typed")),
    };
    let r = rlp_exact(body, "proof")?;
    if !r.is_list() || r.item_count().map_err(|e| bad("proof", e))? != 4 {
        return Err(bad("proof", "a receipt is a 4-item list"));
    }
    let at = |i| r.at(i).map_err(|e| bad("proof", e));
    if at(0)?.strict_data().map_err(|e| bad("proof", e))? != [1u8] {
        return Err(bad("proof", "the receipt's transaction did not succeed"));
    }
    fixed::<256>(&at(2)?, "proof")?;
    let logs = at(3)?;
    if !logs.is_list() {
        return Err(bad("proof", "logs are not a list"));
    }
    Ok(logs.iter().map(|l| l.as_raw().to_vec()).collect())
}
