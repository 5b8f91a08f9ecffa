//! EOSIO native encodings (`fc::raw`): little-endian integers, `varuint32` lengths, names as
//! `u64`; block headers, signed headers, action receipts, actions and `eosio.token::transfer`.

use crate::AdapterError;
use meridian_proofs::hash::{sha256, Hash32};

fn bad(what: &'static str, reason: impl Into<String>) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.into(),
    }
}

/// An `fc::raw` reader.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Read `buf`, naming `what` in errors.
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], AdapterError> {
        if self.buf.len() < n {
            return Err(bad(self.what, "truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], AdapterError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    /// `uint8`.
    pub fn u8(&mut self) -> Result<u8, AdapterError> {
        Ok(self.arr::<1>()?[0])
    }
    /// `uint16` (LE).
    pub fn u16(&mut self) -> Result<u16, AdapterError> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    /// `uint32` (LE).
    pub fn u32(&mut self) -> Result<u32, AdapterError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    /// `uint64` (LE).
    pub fn u64(&mut self) -> Result<u64, AdapterError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    /// `uint128` (LE).
    pub fn u128(&mut self) -> Result<u128, AdapterError> {
        Ok(u128::from_le_bytes(self.arr()?))
    }
    /// A 32-byte digest.
    pub fn h32(&mut self) -> Result<Hash32, AdapterError> {
        self.arr()
    }
    /// `fc::unsigned_int` (LEB128, at most 5 bytes, canonical).
    pub fn varuint(&mut self) -> Result<u32, AdapterError> {
        let mut v: u64 = 0;
        for i in 0..5 {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return Err(bad(self.what, "non-canonical varuint32"));
                }
                return u32::try_from(v).map_err(|_| bad(self.what, "varuint32 overflow"));
            }
        }
        Err(bad(self.what, "varuint32 too long"))
    }
    /// A length-prefixed byte string.
    pub fn bytes(&mut self) -> Result<&'a [u8], AdapterError> {
        let n = self.varuint()? as usize;
        self.take(n)
    }
    /// Bytes left.
    pub fn rest(&self) -> usize {
        self.buf.len()
    }
    /// Fail unless everything was read.
    pub fn finish(self) -> Result<(), AdapterError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(bad(self.what, format!("{} trailing bytes", self.buf.len())))
        }
    }
}

/// Append `fc::unsigned_int`.
pub fn put_varuint(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Append a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varuint(out, b.len() as u32);
    out.extend_from_slice(b);
}

const CHARMAP: &[u8; 32] = b".12345abcdefghijklmnopqrstuvwxyz";

/// `eosio::name` from its string form (up to 12 chars of `.1-5a-z`, a 13th of `.1-5a-j`).
pub fn name(s: &str) -> Result<u64, AdapterError> {
    let b = s.as_bytes();
    if b.len() > 13 {
        return Err(bad("name", format!("{s:?} is longer than 13 characters")));
    }
    let mut v: u64 = 0;
    for (i, c) in b.iter().enumerate() {
        let sym = CHARMAP
            .iter()
            .position(|m| m == c)
            .ok_or_else(|| bad("name", format!("{s:?} has an invalid character")))?
            as u64;
        if i < 12 {
            v |= sym << (64 - 5 * (i + 1));
        } else {
            if sym > 0x0f {
                return Err(bad("name", format!("{s:?}: invalid 13th character")));
            }
            v |= sym;
        }
    }
    if name_string(v) != s.trim_end_matches('.') || s.ends_with('.') {
        return Err(bad("name", format!("{s:?} is not canonical")));
    }
    Ok(v)
}

/// The string form of an `eosio::name`.
pub fn name_string(v: u64) -> String {
    let mut out = [b'.'; 13];
    let mut tmp = v;
    for i in 0..13 {
        let (mask, shift) = if i == 0 { (0x0f, 4) } else { (0x1f, 5) };
        out[12 - i] = CHARMAP[(tmp & mask) as usize];
        tmp >>= shift;
    }
    String::from_utf8_lossy(&out)
        .trim_end_matches('.')
        .to_string()
}

/// `eosio::chain::block_header`. `new_producers` must be absent (schedule changes are not
/// followed); `header_extensions` are carried opaquely.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockHeader {
    /// `block_timestamp_type`: 500 ms slots since 2000-01-01.
    pub timestamp: u32,
    /// The producer's name.
    pub producer: u64,
    /// Blocks this producer confirms (legacy DPoS).
    pub confirmed: u16,
    /// The previous block's id (its first 4 bytes: that block's number).
    pub previous: Hash32,
    /// Transaction merkle root.
    pub transaction_mroot: Hash32,
    /// Action merkle root.
    pub action_mroot: Hash32,
    /// Producer schedule version.
    pub schedule_version: u32,
    /// `header_extensions`: `(type, data)`.
    pub extensions: Vec<(u16, Vec<u8>)>,
}

impl BlockHeader {
    /// `fc::raw::pack(block_header)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(120);
        out.extend_from_slice(&self.timestamp.to_le_bytes());
        out.extend_from_slice(&self.producer.to_le_bytes());
        out.extend_from_slice(&self.confirmed.to_le_bytes());
        out.extend_from_slice(&self.previous);
        out.extend_from_slice(&self.transaction_mroot);
        out.extend_from_slice(&self.action_mroot);
        out.extend_from_slice(&self.schedule_version.to_le_bytes());
        out.push(0); // new_producers: none
        put_varuint(&mut out, self.extensions.len() as u32);
        for (t, d) in &self.extensions {
            out.extend_from_slice(&t.to_le_bytes());
            put_bytes(&mut out, d);
        }
        out
    }

    /// Read one header.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, AdapterError> {
        let mut h = BlockHeader {
            timestamp: r.u32()?,
            producer: r.u64()?,
            confirmed: r.u16()?,
            previous: r.h32()?,
            transaction_mroot: r.h32()?,
            action_mroot: r.h32()?,
            schedule_version: r.u32()?,
            extensions: vec![],
        };
        match r.u8()? {
            0 => {}
            1 => {
                return Err(AdapterError::Unsupported(
                    "a producer schedule change (new_producers)",
                    crate::Family::Eos,
                ))
            }
            _ => return Err(bad("header", "bad optional flag")),
        }
        let n = r.varuint()?;
        for _ in 0..n {
            let t = r.u16()?;
            let d = r.bytes()?.to_vec();
            h.extensions.push((t, d));
        }
        Ok(h)
    }

    /// `sha256(fc::raw::pack(header))`.
    pub fn digest(&self) -> Hash32 {
        sha256(&[&self.encode()])
    }

    /// The block number: the previous block's number + 1.
    pub fn block_num(&self) -> u32 {
        meridian_proofs::eosio::block_num(&self.previous).wrapping_add(1)
    }

    /// `block_header::calculate_id`.
    pub fn id(&self) -> Hash32 {
        meridian_proofs::eosio::block_id(&self.digest(), self.block_num())
    }
}

/// A K1 signature as `fc::raw` packs it: type 0 (K1), then the 65-byte compact signature
/// `[27 + 4 + recid, r, s]`.
pub type K1Sig = [u8; 65];

/// `signed_block_header`: the header and its producer's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeader {
    /// The header.
    pub header: BlockHeader,
    /// `producer_signature`.
    pub sig: K1Sig,
}

impl SignedHeader {
    /// Append `fc::raw::pack(signed_block_header)`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend(self.header.encode());
        out.push(0); // signature variant: K1
        out.extend_from_slice(&self.sig);
    }

    /// Read one signed header.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, AdapterError> {
        let header = BlockHeader::read(r)?;
        if r.u8()? != 0 {
            return Err(AdapterError::Unsupported(
                "non-K1 producer signatures",
                crate::Family::Eos,
            ));
        }
        let mut sig = [0u8; 65];
        sig.copy_from_slice(r.take(65)?);
        Ok(SignedHeader { header, sig })
    }
}

/// `Evidence.header`: `fc::raw::pack(vector<signed_block_header>)`, the block first, then the
/// blocks built on it.
pub fn encode_headers(hs: &[SignedHeader]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varuint(&mut out, hs.len() as u32);
    for h in hs {
        h.write(&mut out);
    }
    out
}

/// Decode `Evidence.header`.
pub fn decode_headers(b: &[u8]) -> Result<Vec<SignedHeader>, AdapterError> {
    let mut r = Reader::new(b, "header");
    let n = r.varuint()?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(SignedHeader::read(&mut r)?);
    }
    r.finish()?;
    Ok(out)
}

/// `eosio::chain::action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Contract account.
    pub account: u64,
    /// Action name.
    pub name: u64,
    /// `(actor, permission)` pairs.
    pub authorization: Vec<(u64, u64)>,
    /// Action data.
    pub data: Vec<u8>,
}

impl Action {
    /// `fc::raw::pack(action)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.account.to_le_bytes());
        out.extend_from_slice(&self.name.to_le_bytes());
        put_varuint(&mut out, self.authorization.len() as u32);
        for (a, p) in &self.authorization {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&p.to_le_bytes());
        }
        put_bytes(&mut out, &self.data);
        out
    }

    /// Read one action.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, AdapterError> {
        let account = r.u64()?;
        let name = r.u64()?;
        let n = r.varuint()?;
        let mut authorization = Vec::new();
        for _ in 0..n {
            authorization.push((r.u64()?, r.u64()?));
        }
        let data = r.bytes()?.to_vec();
        Ok(Action {
            account,
            name,
            authorization,
            data,
        })
    }
}

/// `eosio::chain::action_receipt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionReceipt {
    /// The account whose code ran (the contract, or a notified account).
    pub receiver: u64,
    /// `sha256(fc::raw::pack(action))`.
    pub act_digest: Hash32,
    /// Chain-wide action sequence number (unique).
    pub global_sequence: u64,
    /// The receiver's sequence.
    pub recv_sequence: u64,
    /// `flat_map<name, uint64>`.
    pub auth_sequence: Vec<(u64, u64)>,
    /// `fc::unsigned_int`.
    pub code_sequence: u32,
    /// `fc::unsigned_int`.
    pub abi_sequence: u32,
}

impl ActionReceipt {
    /// `fc::raw::pack(action_receipt)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.receiver.to_le_bytes());
        out.extend_from_slice(&self.act_digest);
        out.extend_from_slice(&self.global_sequence.to_le_bytes());
        out.extend_from_slice(&self.recv_sequence.to_le_bytes());
        put_varuint(&mut out, self.auth_sequence.len() as u32);
        for (a, s) in &self.auth_sequence {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&s.to_le_bytes());
        }
        put_varuint(&mut out, self.code_sequence);
        put_varuint(&mut out, self.abi_sequence);
        out
    }

    /// Read one receipt.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, AdapterError> {
        let receiver = r.u64()?;
        let act_digest = r.h32()?;
        let global_sequence = r.u64()?;
        let recv_sequence = r.u64()?;
        let n = r.varuint()?;
        let mut auth_sequence = Vec::new();
        for _ in 0..n {
            auth_sequence.push((r.u64()?, r.u64()?));
        }
        Ok(ActionReceipt {
            receiver,
            act_digest,
            global_sequence,
            recv_sequence,
            auth_sequence,
            code_sequence: r.varuint()?,
            abi_sequence: r.varuint()?,
        })
    }

    /// The action merkle leaf: `sha256(fc::raw::pack(receipt))`.
    pub fn digest(&self) -> Hash32 {
        sha256(&[&self.encode()])
    }
}

/// `Evidence.event`: `fc::raw::pack(pair<action_receipt, action>)`.
pub fn encode_event(receipt: &ActionReceipt, action: &Action) -> Vec<u8> {
    let mut out = receipt.encode();
    out.extend(action.encode());
    out
}

/// Decode `Evidence.event`; returns the receipt bytes' digest too.
pub fn decode_event(b: &[u8]) -> Result<(ActionReceipt, Action), AdapterError> {
    let mut r = Reader::new(b, "event");
    let receipt = ActionReceipt::read(&mut r)?;
    let action = Action::read(&mut r)?;
    r.finish()?;
    Ok((receipt, action))
}

/// `eosio.token::transfer` data: `from, to, quantity (asset), memo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Sender.
    pub from: u64,
    /// Recipient account (the bridge, for a lock).
    pub to: u64,
    /// `asset.amount` (in the symbol's smallest unit).
    pub amount: i64,
    /// `asset.symbol`: precision in the low byte, code in the next 7 bytes.
    pub symbol: u64,
    /// Memo.
    pub memo: String,
}

impl Transfer {
    /// `fc::raw::pack(transfer)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.from.to_le_bytes());
        out.extend_from_slice(&self.to.to_le_bytes());
        out.extend_from_slice(&self.amount.to_le_bytes());
        out.extend_from_slice(&self.symbol.to_le_bytes());
        put_bytes(&mut out, self.memo.as_bytes());
        out
    }

    /// Decode transfer data.
    pub fn decode(b: &[u8]) -> Result<Self, AdapterError> {
        let mut r = Reader::new(b, "transfer data");
        let t = Transfer {
            from: r.u64()?,
            to: r.u64()?,
            amount: r.u64()? as i64,
            symbol: r.u64()?,
            memo: String::from_utf8(r.bytes()?.to_vec())
                .map_err(|_| bad("transfer data", "memo is not UTF-8"))?,
        };
        r.finish()?;
        Ok(t)
    }
}

/// An `eosio::symbol` from precision and code (`4,EOS`).
pub fn symbol(precision: u8, code: &str) -> u64 {
    let mut v = u64::from(precision);
    for (i, c) in code.bytes().take(7).enumerate() {
        v |= u64::from(c) << (8 * (i + 1));
    }
    v
}

/// A symbol's code (`EOS`), if well formed (1–7 upper-case letters).
pub fn symbol_code(sym: u64) -> Option<String> {
    let bytes: Vec<u8> = sym.to_le_bytes()[1..]
        .iter()
        .copied()
        .take_while(|b| *b != 0)
        .collect();
    let rest_zero = sym.to_le_bytes()[1 + bytes.len()..].iter().all(|b| *b == 0);
    if bytes.is_empty() || !rest_zero || !bytes.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// `Evidence.locator`: block number, action index in the block's action merkle, number of
/// action receipts in it (each `u32` big-endian).
pub fn encode_locator(block: u32, index: u32, count: u32) -> Vec<u8> {
    let mut out = block.to_be_bytes().to_vec();
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out
}

/// Decode a locator.
pub fn decode_locator(b: &[u8]) -> Result<(u32, u32, u32), AdapterError> {
    if b.len() != 12 {
        return Err(bad("locator", "expected 12 bytes"));
    }
    let w = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Ok((w(0), w(4), w(8)))
}

/// `Evidence.proof`: `fc::raw::pack(vector<digest_type>)`, siblings bottom-up.
pub fn encode_proof(p: &[Hash32]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varuint(&mut out, p.len() as u32);
    for h in p {
        out.extend_from_slice(h);
    }
    out
}

/// Decode a proof.
pub fn decode_proof(b: &[u8]) -> Result<Vec<Hash32>, AdapterError> {
    let mut r = Reader::new(b, "proof");
    let n = r.varuint()?;
    if n as usize > r.rest() / 32 {
        return Err(bad("proof", "truncated"));
    }
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(r.h32()?);
    }
    r.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in [
            "eosio",
            "eosio.token",
            "bridge",
            "alice",
            "a",
            "zzzzzzzzzzzzj",
            "",
        ] {
            let v = name(s).expect("valid name");
            assert_eq!(name_string(v), s);
        }
        assert_eq!(name("eosio").expect("name"), 0x5530_ea00_0000_0000);
        assert!(name("UPPER").is_err());
        assert!(name("abc.").is_err());
    }

    #[test]
    fn symbols() {
        let s = symbol(4, "EOS");
        assert_eq!(s, 0x0000_0000_534f_4504);
        assert_eq!(symbol_code(s).as_deref(), Some("EOS"));
        assert_eq!(symbol_code(4), None);
    }

    #[test]
    fn varuints() {
        for v in [0u32, 1, 127, 128, 300, u32::MAX] {
            let mut b = Vec::new();
            put_varuint(&mut b, v);
            let mut r = Reader::new(&b, "t");
            assert_eq!(r.varuint().expect("decodes"), v);
            r.finish().expect("all read");
        }
        assert!(Reader::new(&[0x80, 0x00], "t").varuint().is_err());
    }
}
