//! XRPL binary serialization (the `STObject` wire form) as far as the ChainSQL adapter needs it:
//! field ids, a writer, a strict parser of nested objects/arrays, validations, the evidence
//! header, the evidence event, locators, proofs, and classic (base58check) addresses.

use crate::AdapterError;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use meridian_proofs::hash::{dsha256, Hash32};
use meridian_proofs::xrpl::{vl_prefix, LedgerHeader, XrplHash};

/// A field id: (type code, field code), as in rippled's `SField`.
pub type FieldId = (u8, u8);

/// `sfNetworkID` (UInt32 1).
pub const SF_NETWORK_ID: FieldId = (2, 1);
/// `sfFlags` (UInt32 2).
pub const SF_FLAGS: FieldId = (2, 2);
/// `sfSequence` (UInt32 4).
pub const SF_SEQUENCE: FieldId = (2, 4);
/// `sfLedgerSequence` (UInt32 6).
pub const SF_LEDGER_SEQUENCE: FieldId = (2, 6);
/// `sfSigningTime` (UInt32 9).
pub const SF_SIGNING_TIME: FieldId = (2, 9);
/// `sfTransactionIndex` (UInt32 28).
pub const SF_TRANSACTION_INDEX: FieldId = (2, 28);
/// `sfTransactionType` (UInt16 2).
pub const SF_TRANSACTION_TYPE: FieldId = (1, 2);
/// `sfLedgerHash` (Hash256 1).
pub const SF_LEDGER_HASH: FieldId = (5, 1);
/// `sfAmount` (Amount 1).
pub const SF_AMOUNT: FieldId = (6, 1);
/// `sfFee` (Amount 8).
pub const SF_FEE: FieldId = (6, 8);
/// `sfDeliveredAmount` (Amount 18).
pub const SF_DELIVERED_AMOUNT: FieldId = (6, 18);
/// `sfSigningPubKey` (Blob 3).
pub const SF_SIGNING_PUB_KEY: FieldId = (7, 3);
/// `sfTxnSignature` (Blob 4).
pub const SF_TXN_SIGNATURE: FieldId = (7, 4);
/// `sfSignature` (Blob 6).
pub const SF_SIGNATURE: FieldId = (7, 6);
/// `sfMemoType` (Blob 12).
pub const SF_MEMO_TYPE: FieldId = (7, 12);
/// `sfMemoData` (Blob 13).
pub const SF_MEMO_DATA: FieldId = (7, 13);
/// `sfAccount` (AccountID 1).
pub const SF_ACCOUNT: FieldId = (8, 1);
/// `sfDestination` (AccountID 3).
pub const SF_DESTINATION: FieldId = (8, 3);
/// `sfMemo` (STObject 10).
pub const SF_MEMO: FieldId = (14, 10);
/// `sfMemos` (STArray 9).
pub const SF_MEMOS: FieldId = (15, 9);
/// `sfTransactionResult` (UInt8 3).
pub const SF_TRANSACTION_RESULT: FieldId = (16, 3);
/// Object end marker.
const OBJECT_END: FieldId = (14, 1);
/// Array end marker.
const ARRAY_END: FieldId = (15, 1);

/// `VAL\0`: validation signing prefix.
pub const PREFIX_VALIDATION: [u8; 4] = *b"VAL\0";
/// `STX\0`: transaction signing prefix.
pub const PREFIX_TX_SIGN: [u8; 4] = *b"STX\0";
/// `vfFullValidation`.
pub const VF_FULL_VALIDATION: u32 = 0x0000_0001;
/// `vfFullyCanonicalSig`.
pub const VF_FULLY_CANONICAL_SIG: u32 = 0x8000_0000;

pub(crate) fn mal(what: &'static str, reason: impl Into<String>) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.into(),
    }
}

/// The bytes of a field id.
pub fn field_id(id: FieldId) -> Vec<u8> {
    let (t, f) = id;
    match (t < 16, f < 16) {
        (true, true) => vec![(t << 4) | f],
        (true, false) => vec![t << 4, f],
        (false, true) => vec![f, t],
        (false, false) => vec![0, t, f],
    }
}

/// Writes fields in XRPL binary form; callers write them in canonical (type, field) order.
#[derive(Default, Debug, Clone)]
pub struct StWriter(pub Vec<u8>);

impl StWriter {
    fn id(&mut self, id: FieldId) -> &mut Self {
        self.0.extend_from_slice(&field_id(id));
        self
    }
    /// UInt8.
    pub fn u8(&mut self, id: FieldId, v: u8) -> &mut Self {
        self.id(id).0.push(v);
        self
    }
    /// UInt16.
    pub fn u16(&mut self, id: FieldId, v: u16) -> &mut Self {
        self.id(id).0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// UInt32.
    pub fn u32(&mut self, id: FieldId, v: u32) -> &mut Self {
        self.id(id).0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Hash256.
    pub fn h256(&mut self, id: FieldId, v: &Hash32) -> &mut Self {
        self.id(id).0.extend_from_slice(v);
        self
    }
    /// A native (drops) amount; `drops` must be below 2^62.
    pub fn drops(&mut self, id: FieldId, drops: u64) -> Result<&mut Self, AdapterError> {
        if drops >= 1 << 62 {
            return Err(mal(
                "amount",
                format!("{drops} drops do not fit a native amount"),
            ));
        }
        self.id(id)
            .0
            .extend_from_slice(&(drops | 0x4000_0000_0000_0000).to_be_bytes());
        Ok(self)
    }
    /// A VL-prefixed blob (Blob, AccountID).
    pub fn vl(&mut self, id: FieldId, v: &[u8]) -> Result<&mut Self, AdapterError> {
        let p = vl_prefix(v.len()).map_err(|e| mal("blob", e.to_string()))?;
        self.id(id).0.extend_from_slice(&p);
        self.0.extend_from_slice(v);
        Ok(self)
    }
    /// Start an inner object field (end it with [`StWriter::end_object`]).
    pub fn begin(&mut self, id: FieldId) -> &mut Self {
        self.id(id)
    }
    /// End an inner object.
    pub fn end_object(&mut self) -> &mut Self {
        self.id(OBJECT_END)
    }
    /// End an array.
    pub fn end_array(&mut self) -> &mut Self {
        self.id(ARRAY_END)
    }
}

/// A parsed field: its id, its raw bytes (id and value) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'a> {
    /// Field id.
    pub id: FieldId,
    /// The field's bytes as serialized, id included.
    pub raw: &'a [u8],
    /// The value.
    pub value: Value<'a>,
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// A fixed-size or VL value's payload bytes.
    Bytes(&'a [u8]),
    /// An inner object's fields.
    Object(Vec<Field<'a>>),
    /// An array's elements (each an object field).
    Array(Vec<Field<'a>>),
}

impl<'a> Value<'a> {
    /// The payload bytes of a scalar value.
    pub fn bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Parser<'a> {
    fn byte(&mut self) -> Result<u8, AdapterError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| mal(self.what, "truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AdapterError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| mal(self.what, "truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn id(&mut self) -> Result<FieldId, AdapterError> {
        let b = self.byte()?;
        let mut t = b >> 4;
        let mut f = b & 0x0f;
        if t == 0 {
            t = self.byte()?;
            if t < 16 {
                return Err(mal(self.what, "non-canonical type code"));
            }
        }
        if f == 0 {
            f = self.byte()?;
            if f < 16 {
                return Err(mal(self.what, "non-canonical field code"));
            }
        }
        Ok((t, f))
    }

    fn vl_len(&mut self) -> Result<usize, AdapterError> {
        let b1 = self.byte()? as usize;
        Ok(match b1 {
            0..=192 => b1,
            193..=240 => 193 + (b1 - 193) * 256 + self.byte()? as usize,
            241..=254 => {
                let b2 = self.byte()? as usize;
                let b3 = self.byte()? as usize;
                12481 + (b1 - 241) * 65536 + b2 * 256 + b3
            }
            _ => return Err(mal(self.what, "bad VL length")),
        })
    }

    /// Fields until `end` (an end marker) or, with `end == None`, the end of the buffer.
    fn fields(
        &mut self,
        end: Option<FieldId>,
        depth: usize,
    ) -> Result<Vec<Field<'a>>, AdapterError> {
        if depth > 16 {
            return Err(mal(self.what, "nested too deeply"));
        }
        let mut out = Vec::new();
        loop {
            if end.is_none() && self.pos == self.buf.len() {
                return Ok(out);
            }
            let start = self.pos;
            let id = self.id()?;
            if Some(id) == end {
                return Ok(out);
            }
            if id == OBJECT_END || id == ARRAY_END {
                return Err(mal(self.what, "unexpected end marker"));
            }
            let value = match id.0 {
                1 => Value::Bytes(self.take(2)?),
                2 => Value::Bytes(self.take(4)?),
                3 => Value::Bytes(self.take(8)?),
                4 => Value::Bytes(self.take(16)?),
                5 => Value::Bytes(self.take(32)?),
                16 => Value::Bytes(self.take(1)?),
                17 => Value::Bytes(self.take(20)?),
                6 => {
                    let first = *self
                        .buf
                        .get(self.pos)
                        .ok_or_else(|| mal(self.what, "truncated"))?;
                    Value::Bytes(self.take(if first & 0x80 != 0 { 48 } else { 8 })?)
                }
                7 | 8 | 19 => {
                    let n = self.vl_len()?;
                    Value::Bytes(self.take(n)?)
                }
                14 => Value::Object(self.fields(Some(OBJECT_END), depth + 1)?),
                15 => {
                    let elems = self.fields(Some(ARRAY_END), depth + 1)?;
                    if elems.iter().any(|e| !matches!(e.value, Value::Object(_))) {
                        return Err(mal(self.what, "array element is not an object"));
                    }
                    Value::Array(elems)
                }
                t => return Err(mal(self.what, format!("unsupported field type {t}"))),
            };
            out.push(Field {
                id,
                raw: &self.buf[start..self.pos],
                value,
            });
        }
    }
}

/// Parse a top-level serialized object (no end marker) strictly: every byte must belong to a field.
pub fn parse_object<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<Vec<Field<'a>>, AdapterError> {
    Parser {
        buf: bytes,
        pos: 0,
        what,
    }
    .fields(None, 0)
}

/// The single value of field `id` among `fields` (`None` if absent; an error if repeated).
pub fn find<'f, 'a>(
    fields: &'f [Field<'a>],
    id: FieldId,
    what: &'static str,
) -> Result<Option<&'f Field<'a>>, AdapterError> {
    let mut it = fields.iter().filter(|f| f.id == id);
    let first = it.next();
    if it.next().is_some() {
        return Err(mal(what, format!("field {id:?} repeated")));
    }
    Ok(first)
}

/// The payload bytes of required scalar field `id`.
pub fn req_bytes<'a>(
    fields: &[Field<'a>],
    id: FieldId,
    what: &'static str,
) -> Result<&'a [u8], AdapterError> {
    find(fields, id, what)?
        .and_then(|f| f.value.bytes())
        .ok_or_else(|| mal(what, format!("missing field {id:?}")))
}

/// A big-endian u32 field.
pub fn req_u32(fields: &[Field<'_>], id: FieldId, what: &'static str) -> Result<u32, AdapterError> {
    let b = req_bytes(fields, id, what)?;
    <[u8; 4]>::try_from(b)
        .map(u32::from_be_bytes)
        .map_err(|_| mal(what, "bad u32"))
}

/// Drops of a native amount; `None` for an issued-currency amount.
pub fn native_drops(amount: &[u8], what: &'static str) -> Result<Option<u64>, AdapterError> {
    if amount.first().is_some_and(|b| b & 0x80 != 0) {
        return Ok(None);
    }
    let a = <[u8; 8]>::try_from(amount).map_err(|_| mal(what, "bad native amount"))?;
    let v = u64::from_be_bytes(a);
    if v & 0x4000_0000_0000_0000 == 0 && v != 0 {
        return Err(mal(what, "negative native amount"));
    }
    Ok(Some(v & 0x3fff_ffff_ffff_ffff))
}

/// An ed25519 public key in XRPL form: `0xED ‖ 32 bytes`.
pub fn xrpl_ed25519_key(key: &VerifyingKey) -> [u8; 33] {
    let mut out = [0xED; 33];
    out[1..].copy_from_slice(key.as_bytes());
    out
}

/// A validation (`STValidation`) in the fields the adapter uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// `sfNetworkID` (absent on networks with id ≤ 1024 in rippled; the adapter requires it).
    pub network_id: Option<u32>,
    /// `sfFlags`.
    pub flags: u32,
    /// `sfLedgerSequence`.
    pub ledger_seq: u32,
    /// `sfSigningTime`.
    pub signing_time: u32,
    /// `sfLedgerHash`.
    pub ledger_hash: Hash32,
    /// `sfSigningPubKey` (33 bytes, `0xED` prefix for ed25519).
    pub signing_pub_key: Vec<u8>,
    /// `sfSignature`.
    pub signature: Vec<u8>,
}

impl Validation {
    fn fields(&self, with_signature: bool) -> Result<Vec<u8>, AdapterError> {
        let mut w = StWriter::default();
        if let Some(n) = self.network_id {
            w.u32(SF_NETWORK_ID, n);
        }
        w.u32(SF_FLAGS, self.flags)
            .u32(SF_LEDGER_SEQUENCE, self.ledger_seq)
            .u32(SF_SIGNING_TIME, self.signing_time)
            .h256(SF_LEDGER_HASH, &self.ledger_hash)
            .vl(SF_SIGNING_PUB_KEY, &self.signing_pub_key)?;
        if with_signature {
            w.vl(SF_SIGNATURE, &self.signature)?;
        }
        Ok(w.0)
    }

    /// The serialized validation.
    pub fn encode(&self) -> Result<Vec<u8>, AdapterError> {
        self.fields(true)
    }

    /// Fill in `signing_pub_key` and `signature` with `key` (ed25519 over the signing hash).
    pub fn sign(&mut self, alg: XrplHash, key: &SigningKey) -> Result<(), AdapterError> {
        self.signing_pub_key = xrpl_ed25519_key(&key.verifying_key()).to_vec();
        let unsigned = self.fields(false)?;
        let h = alg.digest(&[&PREFIX_VALIDATION, &unsigned]);
        self.signature = key.sign(&h).to_bytes().to_vec();
        Ok(())
    }

    /// Parse a serialized validation; returns it with its signing hash
    /// `H("VAL\0" ‖ every field but sfSignature)` (unknown fields are kept in the hash).
    pub fn parse(bytes: &[u8], alg: XrplHash) -> Result<(Validation, Hash32), AdapterError> {
        const W: &str = "validation";
        let fields = parse_object(bytes, W)?;
        let network_id = match find(&fields, SF_NETWORK_ID, W)? {
            Some(_) => Some(req_u32(&fields, SF_NETWORK_ID, W)?),
            None => None,
        };
        let ledger_hash = <[u8; 32]>::try_from(req_bytes(&fields, SF_LEDGER_HASH, W)?)
            .map_err(|_| mal(W, "bad ledger hash"))?;
        let v = Validation {
            network_id,
            flags: req_u32(&fields, SF_FLAGS, W)?,
            ledger_seq: req_u32(&fields, SF_LEDGER_SEQUENCE, W)?,
            signing_time: req_u32(&fields, SF_SIGNING_TIME, W)?,
            ledger_hash,
            signing_pub_key: req_bytes(&fields, SF_SIGNING_PUB_KEY, W)?.to_vec(),
            signature: req_bytes(&fields, SF_SIGNATURE, W)?.to_vec(),
        };
        let mut parts: Vec<&[u8]> = vec![&PREFIX_VALIDATION];
        parts.extend(
            fields
                .iter()
                .filter(|f| f.id != SF_SIGNATURE)
                .map(|f| f.raw),
        );
        Ok((v, alg.digest(&parts)))
    }
}

/// The 118 bytes of a ledger header that its hash covers, after the `LWR\0` prefix.
pub fn encode_ledger_header(h: &LedgerHeader) -> Vec<u8> {
    let mut out = Vec::with_capacity(118);
    out.extend_from_slice(&h.seq.to_be_bytes());
    out.extend_from_slice(&h.total_coins.to_be_bytes());
    out.extend_from_slice(&h.parent_hash);
    out.extend_from_slice(&h.transaction_hash);
    out.extend_from_slice(&h.account_hash);
    out.extend_from_slice(&h.parent_close_time.to_be_bytes());
    out.extend_from_slice(&h.close_time.to_be_bytes());
    out.push(h.close_time_resolution);
    out.push(h.close_flags);
    out
}

/// Decode [`encode_ledger_header`] output.
pub fn decode_ledger_header(b: &[u8]) -> Result<LedgerHeader, AdapterError> {
    if b.len() != 118 {
        return Err(mal(
            "header",
            format!("ledger header is {} bytes, not 118", b.len()),
        ));
    }
    let h32 = |o: usize| {
        let mut a = [0u8; 32];
        a.copy_from_slice(&b[o..o + 32]);
        a
    };
    let u32_at = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let mut coins = [0u8; 8];
    coins.copy_from_slice(&b[4..12]);
    Ok(LedgerHeader {
        seq: u32_at(0),
        total_coins: u64::from_be_bytes(coins),
        parent_hash: h32(12),
        transaction_hash: h32(44),
        account_hash: h32(76),
        parent_close_time: u32_at(108),
        close_time: u32_at(112),
        close_time_resolution: b[116],
        close_flags: b[117],
    })
}

/// Evidence header: the 118-byte ledger header, then a u16 count of validations, each a u16
/// length and the serialized `STValidation`. No trailing bytes.
pub fn encode_evidence_header(h: &LedgerHeader, validations: &[Vec<u8>]) -> Vec<u8> {
    let mut out = encode_ledger_header(h);
    out.extend_from_slice(&(validations.len().min(u16::MAX as usize) as u16).to_be_bytes());
    for v in validations.iter().take(u16::MAX as usize) {
        out.extend_from_slice(&(v.len().min(u16::MAX as usize) as u16).to_be_bytes());
        out.extend_from_slice(&v[..v.len().min(u16::MAX as usize)]);
    }
    out
}

fn split_u16<'a>(b: &'a [u8], what: &'static str) -> Result<(u16, &'a [u8]), AdapterError> {
    if b.len() < 2 {
        return Err(mal(what, "truncated"));
    }
    Ok((u16::from_be_bytes([b[0], b[1]]), &b[2..]))
}

/// Decode [`encode_evidence_header`] output.
pub fn decode_evidence_header(b: &[u8]) -> Result<(LedgerHeader, Vec<&[u8]>), AdapterError> {
    if b.len() < 118 {
        return Err(mal("header", "truncated"));
    }
    let header = decode_ledger_header(&b[..118])?;
    let (n, mut rest) = split_u16(&b[118..], "header")?;
    let mut vals = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let (len, r) = split_u16(rest, "header")?;
        let len = len as usize;
        if r.len() < len {
            return Err(mal("header", "truncated validation"));
        }
        vals.push(&r[..len]);
        rest = &r[len..];
    }
    if !rest.is_empty() {
        return Err(mal("header", "trailing bytes"));
    }
    Ok((header, vals))
}

/// Locator: ledger sequence (u32 BE) ‖ txid (32 bytes).
pub fn encode_locator(seq: u32, txid: &Hash32) -> Vec<u8> {
    let mut out = seq.to_be_bytes().to_vec();
    out.extend_from_slice(txid);
    out
}

/// Decode a locator.
pub fn decode_locator(b: &[u8]) -> Result<(u32, Hash32), AdapterError> {
    if b.len() != 36 {
        return Err(mal("locator", "not 36 bytes"));
    }
    let mut id = [0u8; 32];
    id.copy_from_slice(&b[4..]);
    Ok((u32::from_be_bytes([b[0], b[1], b[2], b[3]]), id))
}

/// Event: u32 BE length of the transaction blob ‖ tx ‖ u32 BE length of the metadata ‖ meta.
pub fn encode_event(tx: &[u8], meta: &[u8]) -> Vec<u8> {
    let mut out = (tx.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(tx);
    out.extend_from_slice(&(meta.len() as u32).to_be_bytes());
    out.extend_from_slice(meta);
    out
}

fn split_u32<'a>(b: &'a [u8], what: &'static str) -> Result<(&'a [u8], &'a [u8]), AdapterError> {
    if b.len() < 4 {
        return Err(mal(what, "truncated"));
    }
    let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if b.len() - 4 < n {
        return Err(mal(what, "truncated"));
    }
    Ok((&b[4..4 + n], &b[4 + n..]))
}

/// Decode an event into (tx, meta).
pub fn decode_event(b: &[u8]) -> Result<(&[u8], &[u8]), AdapterError> {
    let (tx, rest) = split_u32(b, "event")?;
    let (meta, rest) = split_u32(rest, "event")?;
    if !rest.is_empty() {
        return Err(mal("event", "trailing bytes"));
    }
    Ok((tx, meta))
}

/// Proof: one byte n (1..=64), then n inner nodes (leaf's parent first), each 16 × 32 bytes.
pub fn encode_proof(path: &[[Hash32; 16]]) -> Vec<u8> {
    let mut out = vec![path.len().min(255) as u8];
    for node in path {
        for c in node {
            out.extend_from_slice(c);
        }
    }
    out
}

/// Decode a proof.
pub fn decode_proof(b: &[u8]) -> Result<Vec<[Hash32; 16]>, AdapterError> {
    let n = *b.first().ok_or_else(|| mal("proof", "empty"))? as usize;
    if n == 0 || n > 64 || b.len() != 1 + n * 512 {
        return Err(mal("proof", "bad depth or length"));
    }
    Ok(b[1..]
        .chunks_exact(512)
        .map(|node| {
            let mut out = [[0u8; 32]; 16];
            for (i, c) in node.chunks_exact(32).enumerate() {
                out[i].copy_from_slice(c);
            }
            out
        })
        .collect())
}

const ALPHABET: &[u8; 58] = b"rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz";

/// The classic address of a 20-byte account id (base58check, version 0, the XRPL alphabet).
pub fn classic_address(account: &[u8]) -> String {
    let mut payload = vec![0u8];
    payload.extend_from_slice(account);
    let check = dsha256(&[&payload]);
    payload.extend_from_slice(&check[..4]);
    let zeros = payload.iter().take_while(|b| **b == 0).count();
    let mut digits: Vec<u8> = Vec::new();
    for &b in &payload {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut s = String::with_capacity(zeros + digits.len());
    s.extend(std::iter::repeat_n(ALPHABET[0] as char, zeros));
    s.extend(digits.iter().rev().map(|d| ALPHABET[*d as usize] as char));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses() {
        assert_eq!(classic_address(&[0u8; 20]), "rrrrrrrrrrrrrrrrrrrrrhoLvTp");
        let mut one = [0u8; 20];
        one[19] = 1;
        assert_eq!(classic_address(&one), "rrrrrrrrrrrrrrrrrrrrBZbvji");
    }

    #[test]
    fn field_ids() {
        assert_eq!(field_id(SF_FLAGS), vec![0x22]);
        assert_eq!(field_id(SF_TRANSACTION_INDEX), vec![0x20, 0x1c]);
        assert_eq!(field_id(SF_TRANSACTION_RESULT), vec![0x03, 0x10]);
        assert_eq!(field_id((16, 20)), vec![0x00, 0x10, 0x14]);
    }
}
