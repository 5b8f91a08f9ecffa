//! The bridge contract's ABI: the `Lock` event it emits and the `release` call the hub sends
//! (the contract itself: [`super::bridge`]).
//!
//! ```solidity
//! event Lock(uint256 chainId, uint256 nonce, string destination, address sender, string recipient,
//!            string asset, uint256 amount);   // no indexed fields: all in `data`
//! event Release(bytes32 indexed id, bool refund, uint256 amount);
//! function lock(string destination, string recipient, string asset, uint256 amount);
//! function release(bytes32 id, bool refund, string account, string asset, uint256 amount,
//!                  uint256 refchainHeight, uint256 deadlineMs);
//! function applied(bytes32 id) view returns (bool);
//! ```
//! `nonce` is the bridge's lock counter (identical transfers are distinct events);
//! `chainId` is the contract's `block.chainid` (EIP-155): clique headers carry no chain id, so
//! the signed receipt is where the chain names itself.

use super::clique::Address;
use crate::AdapterError;
use meridian_proofs::hash::{keccak256, Hash32};

/// The `Lock` event signature.
pub const LOCK_SIGNATURE: &str = "Lock(uint256,uint256,string,address,string,string,uint256)";
/// The `release` function signature.
pub const RELEASE_SIGNATURE: &str = "release(bytes32,bool,string,string,uint256,uint256,uint256)";

/// The `Release` event signature.
pub const RELEASE_EVENT_SIGNATURE: &str = "Release(bytes32,bool,uint256)";
/// The `lock` function signature.
pub const LOCK_CALL_SIGNATURE: &str = "lock(string,string,string,uint256)";
/// The `applied` function signature.
pub const APPLIED_SIGNATURE: &str = "applied(bytes32)";

/// topic0 of the `Lock` event.
pub fn lock_topic() -> Hash32 {
    keccak256(&[LOCK_SIGNATURE.as_bytes()])
}

/// topic0 of the `Release` event (topic1 is the message id).
pub fn release_topic() -> Hash32 {
    keccak256(&[RELEASE_EVENT_SIGNATURE.as_bytes()])
}

fn selector(signature: &str) -> [u8; 4] {
    let h = keccak256(&[signature.as_bytes()]);
    [h[0], h[1], h[2], h[3]]
}

/// The 4-byte selector of `release`.
pub fn release_selector() -> [u8; 4] {
    selector(RELEASE_SIGNATURE)
}

/// The 4-byte selector of `lock`.
pub fn lock_selector() -> [u8; 4] {
    selector(LOCK_CALL_SIGNATURE)
}

/// The 4-byte selector of `applied`.
pub fn applied_selector() -> [u8; 4] {
    selector(APPLIED_SIGNATURE)
}

/// `lock(destination, recipient, asset, amount)` calldata.
pub fn lock_call(destination: &str, recipient: &str, asset: &str, amount: u128) -> Vec<u8> {
    let args = encode(&[
        Token::Str(destination.to_string()),
        Token::Str(recipient.to_string()),
        Token::Str(asset.to_string()),
        Token::Uint(amount),
    ]);
    [&lock_selector()[..], &args].concat()
}

/// `applied(id)` calldata.
pub fn applied_call(id: &[u8; 32]) -> Vec<u8> {
    [&applied_selector()[..], &id[..]].concat()
}

/// An ABI value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// uint256 (values above u128 are not needed here).
    Uint(u128),
    /// address.
    Address(Address),
    /// bool.
    Bool(bool),
    /// bytes32.
    Bytes32(Hash32),
    /// string (dynamic).
    Str(String),
}

fn uint_word(v: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&v.to_be_bytes());
    w
}

/// Standard ABI encoding of a tuple of `tokens`.
pub fn encode(tokens: &[Token]) -> Vec<u8> {
    let mut head = Vec::with_capacity(tokens.len() * 32);
    let mut tail = Vec::new();
    for t in tokens {
        match t {
            Token::Uint(v) => head.extend_from_slice(&uint_word(*v)),
            Token::Bool(b) => head.extend_from_slice(&uint_word(u128::from(*b))),
            Token::Address(a) => {
                head.extend_from_slice(&[0u8; 12]);
                head.extend_from_slice(a);
            }
            Token::Bytes32(h) => head.extend_from_slice(h),
            Token::Str(s) => {
                head.extend_from_slice(&uint_word((tokens.len() * 32 + tail.len()) as u128));
                tail.extend_from_slice(&uint_word(s.len() as u128));
                tail.extend_from_slice(s.as_bytes());
                tail.resize(tail.len().div_ceil(32) * 32, 0);
            }
        }
    }
    head.extend_from_slice(&tail);
    head
}

/// A decoded `Lock` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockData {
    /// EIP-155 chain id of the chain that emitted it.
    pub chain_id: u128,
    /// The bridge's lock counter.
    pub nonce: u128,
    /// Destination chain id.
    pub destination: String,
    /// The locking account.
    pub sender: Address,
    /// Recipient on the destination chain.
    pub recipient: String,
    /// Asset symbol.
    pub asset: String,
    /// Amount.
    pub amount: u128,
}

impl LockData {
    /// ABI-encode as the event's `data`.
    pub fn encode(&self) -> Vec<u8> {
        encode(&[
            Token::Uint(self.chain_id),
            Token::Uint(self.nonce),
            Token::Str(self.destination.clone()),
            Token::Address(self.sender),
            Token::Str(self.recipient.clone()),
            Token::Str(self.asset.clone()),
            Token::Uint(self.amount),
        ])
    }

    /// Decode the event's `data`; only the canonical encoding is accepted (it must re-encode to
    /// the same bytes), and uint256 values must fit 128 bits.
    pub fn decode(data: &[u8]) -> Result<Self, AdapterError> {
        let bad = |reason: &str| AdapterError::Malformed {
            what: "event",
            reason: format!("Lock data: {reason}"),
        };
        let word = |i: usize| -> Result<&[u8], AdapterError> {
            data.get(i..i.saturating_add(32))
                .filter(|w| w.len() == 32)
                .ok_or_else(|| bad("truncated"))
        };
        let uint = |i: usize| -> Result<u128, AdapterError> {
            let w = word(i)?;
            if w[..16].iter().any(|b| *b != 0) {
                return Err(bad("uint256 above 128 bits"));
            }
            let mut a = [0u8; 16];
            a.copy_from_slice(&w[16..]);
            Ok(u128::from_be_bytes(a))
        };
        let string = |slot: usize| -> Result<String, AdapterError> {
            let off = usize::try_from(uint(slot * 32)?).map_err(|_| bad("offset"))?;
            let len = usize::try_from(uint(off)?).map_err(|_| bad("length"))?;
            let start = off.checked_add(32).ok_or_else(|| bad("offset"))?;
            let bytes = data
                .get(start..start.checked_add(len).ok_or_else(|| bad("length"))?)
                .ok_or_else(|| bad("string past the end"))?;
            String::from_utf8(bytes.to_vec()).map_err(|_| bad("string is not UTF-8"))
        };
        let sw = word(96)?;
        if sw[..12].iter().any(|b| *b != 0) {
            return Err(bad("address with high bytes"));
        }
        let mut sender = [0u8; 20];
        sender.copy_from_slice(&sw[12..]);
        let d = LockData {
            chain_id: uint(0)?,
            nonce: uint(32)?,
            destination: string(2)?,
            sender,
            recipient: string(4)?,
            asset: string(5)?,
            amount: uint(192)?,
        };
        if d.encode() != data {
            return Err(bad("not the canonical encoding"));
        }
        Ok(d)
    }
}
