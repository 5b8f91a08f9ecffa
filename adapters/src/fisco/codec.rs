//! FISCO BCOS 2.x native encodings and Meridian's evidence envelopes around them.
//!
//! Every decoder here re-encodes what it decoded and requires the input to be exactly that
//! canonical encoding, so no byte of the evidence is ignored.

use crate::AdapterError;
use crate::RlpStrict;
use meridian_proofs::fisco::{FiscoHash, HeaderV2, Level};
use meridian_proofs::hash::Hash32;
use rlp::{Rlp, RlpStream};

/// A 65-byte secp256k1 signature `r ‖ s ‖ v` (v = recovery id 0 or 1), as FISCO BCOS 2.x
/// stores it in a block's `sigList`.
pub type Sig65 = [u8; 65];

fn malformed(what: &'static str, reason: impl std::fmt::Display) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

fn rlp_err(what: &'static str) -> impl Fn(rlp::DecoderError) -> AdapterError {
    move |e| malformed(what, e)
}

fn h32(r: &Rlp<'_>, what: &'static str) -> Result<Hash32, AdapterError> {
    let d = r.strict_data().map_err(rlp_err(what))?;
    d.try_into().map_err(|_| {
        malformed(
            what,
            format!("{} bytes where a 32-byte hash is due", d.len()),
        )
    })
}

fn list_of_bytes(r: &Rlp<'_>, what: &'static str) -> Result<Vec<Vec<u8>>, AdapterError> {
    if !r.is_list() {
        return Err(malformed(what, "expected a list"));
    }
    r.iter()
        .map(|i| i.strict_data().map(<[u8]>::to_vec).map_err(rlp_err(what)))
        .collect()
}

fn canonical(what: &'static str, input: &[u8], reencoded: &[u8]) -> Result<(), AdapterError> {
    if input != reencoded {
        return Err(malformed(what, "not the canonical RLP encoding"));
    }
    Ok(())
}

/// Decode the 13-field header RLP (PROOFS.md `fisco-v2`).
pub fn decode_header(bytes: &[u8]) -> Result<HeaderV2, AdapterError> {
    const W: &str = "header";
    let r = Rlp::new(bytes);
    if !r.is_list() || r.item_count().map_err(rlp_err(W))? != 13 {
        return Err(malformed(W, "expected the 13-field header list"));
    }
    let at = |i: usize| r.at(i).map_err(rlp_err(W));
    let u = |i: usize| -> Result<u64, AdapterError> { at(i)?.as_val::<u64>().map_err(rlp_err(W)) };
    let h = HeaderV2 {
        parent_hash: h32(&at(0)?, W)?,
        state_root: h32(&at(1)?, W)?,
        transactions_root: h32(&at(2)?, W)?,
        receipts_root: h32(&at(3)?, W)?,
        db_hash: h32(&at(4)?, W)?,
        logs_bloom: at(5)?.strict_data().map_err(rlp_err(W))?.to_vec(),
        number: u(6)?,
        gas_limit: u(7)?,
        gas_used: u(8)?,
        timestamp: u(9)?,
        extra_data: list_of_bytes(&at(10)?, W)?,
        sealer: u(11)?,
        sealer_list: list_of_bytes(&at(12)?, W)?,
    };
    canonical(W, bytes, &h.rlp())?;
    Ok(h)
}

/// A header with its sealers' signatures: Meridian's `Evidence.header`.
///
/// Encoding: `rlp([header (the 13-field list, inline), [[sealerIndex, sig65], …]])` — the
/// block's `sigList` as FISCO BCOS 2.x stores it in the block RLP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    /// The header.
    pub header: HeaderV2,
    /// `(index into the header's sealerList, signature over the header hash)`.
    pub sigs: Vec<(u64, Sig65)>,
}

impl SignedHeader {
    /// Encode.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(2);
        s.append_raw(&self.header.rlp(), 1);
        s.begin_list(self.sigs.len());
        for (i, sig) in &self.sigs {
            s.begin_list(2);
            s.append(i);
            s.append(&sig.as_slice());
        }
        s.out().to_vec()
    }

    /// Decode (canonical encodings only).
    pub fn decode(bytes: &[u8]) -> Result<Self, AdapterError> {
        const W: &str = "signed header";
        let r = Rlp::new(bytes);
        if !r.is_list() || r.item_count().map_err(rlp_err(W))? != 2 {
            return Err(malformed(W, "expected [header, sigList]"));
        }
        let header = decode_header(r.at(0).map_err(rlp_err(W))?.as_raw())?;
        let list = r.at(1).map_err(rlp_err(W))?;
        if !list.is_list() {
            return Err(malformed(W, "sigList is not a list"));
        }
        let mut sigs = Vec::new();
        for item in list.iter() {
            if !item.is_list() || item.item_count().map_err(rlp_err(W))? != 2 {
                return Err(malformed(W, "a sigList entry is not [index, signature]"));
            }
            let idx: u64 = item.val_at(0).map_err(rlp_err(W))?;
            let sig = item.at(1).map_err(rlp_err(W))?;
            let sig: Sig65 = sig
                .strict_data()
                .map_err(rlp_err(W))?
                .try_into()
                .map_err(|_| malformed(W, "a signature is not 65 bytes r‖s‖v"))?;
            sigs.push((idx, sig));
        }
        let sh = SignedHeader { header, sigs };
        canonical(W, bytes, &sh.encode())?;
        Ok(sh)
    }
}

/// `Evidence.locator`: `rlp([blockNumber, txIndex, logIndex])`.
pub fn encode_locator(number: u64, tx_index: u64, log_index: u64) -> Vec<u8> {
    let mut s = RlpStream::new_list(3);
    s.append(&number).append(&tx_index).append(&log_index);
    s.out().to_vec()
}

/// Decode a locator.
pub fn decode_locator(bytes: &[u8]) -> Result<(u64, u64, u64), AdapterError> {
    const W: &str = "locator";
    let r = Rlp::new(bytes);
    if !r.is_list() || r.item_count().map_err(rlp_err(W))? != 3 {
        return Err(malformed(W, "expected [blockNumber, txIndex, logIndex]"));
    }
    let v = |i| r.val_at::<u64>(i).map_err(rlp_err(W));
    let out = (v(0)?, v(1)?, v(2)?);
    canonical(W, bytes, &encode_locator(out.0, out.1, out.2))?;
    Ok(out)
}

/// `Evidence.proof`: the receipt proof levels of `getTransactionReceiptByHashWithProof`, as
/// `rlp([[[left…], [right…]], …])` (bottom level first, ending with the empty final level).
/// The leaf's index is the locator's `txIndex`.
pub fn encode_proof(levels: &[Level]) -> Vec<u8> {
    let mut s = RlpStream::new_list(levels.len());
    for l in levels {
        s.begin_list(2);
        s.begin_list(l.left.len());
        for x in &l.left {
            s.append(x);
        }
        s.begin_list(l.right.len());
        for x in &l.right {
            s.append(x);
        }
    }
    s.out().to_vec()
}

/// Decode a receipt proof.
pub fn decode_proof(bytes: &[u8]) -> Result<Vec<Level>, AdapterError> {
    const W: &str = "receipt proof";
    let r = Rlp::new(bytes);
    if !r.is_list() {
        return Err(malformed(W, "expected a list of levels"));
    }
    let mut levels = Vec::new();
    for l in r.iter() {
        if !l.is_list() || l.item_count().map_err(rlp_err(W))? != 2 {
            return Err(malformed(W, "a level is not [left, right]"));
        }
        levels.push(Level {
            left: list_of_bytes(&l.at(0).map_err(rlp_err(W))?, W)?,
            right: list_of_bytes(&l.at(1).map_err(rlp_err(W))?, W)?,
        });
    }
    canonical(W, bytes, &encode_proof(&levels))?;
    Ok(levels)
}

/// A FISCO BCOS 2.x log entry: `rlp([address, [topic…], data])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Emitting contract.
    pub address: [u8; 20],
    /// Topics.
    pub topics: Vec<Hash32>,
    /// ABI data.
    pub data: Vec<u8>,
}

/// A FISCO BCOS 2.x transaction receipt: `rlp([stateRoot, gasUsed, contractAddress, logBloom,
/// status, output, [log…]])` (libethcore/TransactionReceipt.cpp); its hash in the receipts
/// tree is `H(this RLP)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptV2 {
    /// State root after the transaction.
    pub state_root: Hash32,
    /// Gas used.
    pub gas_used: u64,
    /// Created contract (zero if none).
    pub contract_address: [u8; 20],
    /// Log bloom (256 bytes).
    pub bloom: Vec<u8>,
    /// Status (0 = success).
    pub status: u64,
    /// Call output.
    pub output: Vec<u8>,
    /// Logs.
    pub logs: Vec<LogEntry>,
}

impl ReceiptV2 {
    /// The receipt RLP.
    pub fn rlp(&self) -> Vec<u8> {
        let mut s = RlpStream::new_list(7);
        s.append(&self.state_root.as_slice());
        s.append(&self.gas_used);
        s.append(&self.contract_address.as_slice());
        s.append(&self.bloom);
        s.append(&self.status);
        s.append(&self.output);
        s.begin_list(self.logs.len());
        for l in &self.logs {
            s.begin_list(3);
            s.append(&l.address.as_slice());
            s.begin_list(l.topics.len());
            for t in &l.topics {
                s.append(&t.as_slice());
            }
            s.append(&l.data);
        }
        s.out().to_vec()
    }

    /// Decode (canonical encodings only).
    pub fn decode(bytes: &[u8]) -> Result<Self, AdapterError> {
        const W: &str = "receipt";
        let r = Rlp::new(bytes);
        if !r.is_list() || r.item_count().map_err(rlp_err(W))? != 7 {
            return Err(malformed(W, "expected the 7-field receipt list"));
        }
        let at = |i: usize| r.at(i).map_err(rlp_err(W));
        let addr = |x: &Rlp<'_>| -> Result<[u8; 20], AdapterError> {
            x.strict_data()
                .map_err(rlp_err(W))?
                .try_into()
                .map_err(|_| malformed(W, "an address is not 20 bytes"))
        };
        let logs_rlp = at(6)?;
        if !logs_rlp.is_list() {
            return Err(malformed(W, "logs is not a list"));
        }
        let mut logs = Vec::new();
        for l in logs_rlp.iter() {
            if !l.is_list() || l.item_count().map_err(rlp_err(W))? != 3 {
                return Err(malformed(W, "a log is not [address, topics, data]"));
            }
            let topics = l.at(1).map_err(rlp_err(W))?;
            if !topics.is_list() {
                return Err(malformed(W, "topics is not a list"));
            }
            logs.push(LogEntry {
                address: addr(&l.at(0).map_err(rlp_err(W))?)?,
                topics: topics
                    .iter()
                    .map(|t| h32(&t, W))
                    .collect::<Result<_, _>>()?,
                data: l
                    .at(2)
                    .map_err(rlp_err(W))?
                    .strict_data()
                    .map_err(rlp_err(W))?
                    .to_vec(),
            });
        }
        let rc = ReceiptV2 {
            state_root: h32(&at(0)?, W)?,
            gas_used: at(1)?.as_val().map_err(rlp_err(W))?,
            contract_address: addr(&at(2)?)?,
            bloom: at(3)?.strict_data().map_err(rlp_err(W))?.to_vec(),
            status: at(4)?.as_val().map_err(rlp_err(W))?,
            output: at(5)?.strict_data().map_err(rlp_err(W))?.to_vec(),
            logs,
        };
        canonical(W, bytes, &rc.rlp())?;
        Ok(rc)
    }
}

/// An ABI value of the few kinds Meridian's bridge contract uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abi {
    /// A static 32-byte word (uint256, address, bool, bytes32, uint64).
    Word([u8; 32]),
    /// A dynamic `string`.
    Str(Vec<u8>),
}

/// A big-endian 32-byte word holding `v`.
pub fn word(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// A 20-byte address as an ABI word.
pub fn addr_word(a: &[u8; 20]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

/// Standard Solidity ABI encoding of a tuple (head/tail).
pub fn abi_encode(values: &[Abi]) -> Vec<u8> {
    let mut head = Vec::new();
    let mut tail = Vec::new();
    let head_len = 32 * values.len();
    for v in values {
        match v {
            Abi::Word(w) => head.extend_from_slice(w),
            Abi::Str(s) => {
                head.extend_from_slice(&word((head_len + tail.len()) as u128));
                tail.extend_from_slice(&word(s.len() as u128));
                tail.extend_from_slice(s);
                tail.resize(tail.len().div_ceil(32) * 32, 0);
            }
        }
    }
    head.extend_from_slice(&tail);
    head
}

/// Decode `data` as a tuple of the given shape (`true` = string); the result must re-encode
/// to `data` exactly.
pub fn abi_decode(data: &[u8], shape: &[bool]) -> Result<Vec<Abi>, AdapterError> {
    const W: &str = "event data";
    let word_at = |off: usize| -> Result<[u8; 32], AdapterError> {
        data.get(off..off + 32)
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
            .ok_or_else(|| malformed(W, format!("no 32-byte word at {off}")))
    };
    let small = |w: [u8; 32]| -> Result<usize, AdapterError> {
        if w[..24].iter().any(|b| *b != 0) {
            return Err(malformed(W, "offset or length out of range"));
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&w[24..]);
        usize::try_from(u64::from_be_bytes(b)).map_err(|_| malformed(W, "offset too large"))
    };
    let mut out = Vec::new();
    for (i, is_str) in shape.iter().enumerate() {
        let w = word_at(32 * i)?;
        if *is_str {
            let off = small(w)?;
            let len = small(word_at(off)?)?;
            let s = data
                .get(off + 32..off + 32 + len)
                .ok_or_else(|| malformed(W, "string runs past the data"))?;
            out.push(Abi::Str(s.to_vec()));
        } else {
            out.push(Abi::Word(w));
        }
    }
    if abi_encode(&out) != data {
        return Err(malformed(W, "not the canonical ABI encoding"));
    }
    Ok(out)
}

/// The 4-byte selector / 32-byte topic of a Solidity signature under the chain's hash.
pub fn sig_hash(alg: FiscoHash, signature: &str) -> Hash32 {
    alg.digest(&[signature.as_bytes()])
}
