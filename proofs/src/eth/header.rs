//! Ethereum block headers: RLP shape per fork and the keccak-256 block hash.

use super::{rlp_err, rlp_item, EthError};
use crate::hash::{keccak256, Hash32, HexHash};

/// The fields of a header the hub uses (the whole header is hashed as given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthHeader {
    /// keccak256 of the header's RLP.
    pub hash: Hash32,
    /// Parent block hash.
    pub parent_hash: Hash32,
    /// Block beneficiary.
    pub coinbase: [u8; 20],
    /// State trie root.
    pub state_root: Hash32,
    /// Transaction trie root.
    pub transactions_root: Hash32,
    /// Receipt trie root.
    pub receipts_root: Hash32,
    /// Block number.
    pub number: u64,
    /// Unix time in seconds.
    pub timestamp: u64,
    /// Extra data (for clique: vanity, signers, seal).
    pub extra_data: Vec<u8>,
    /// Number of RLP fields (15 before London, up to 21 after Prague).
    pub field_count: usize,
}

/// Field names in RLP order, with their exact size (`Some(n)`) or maximum integer size.
const FIELDS: [(&str, Size); 21] = [
    ("parentHash", Size::Exact(32)),
    ("sha3Uncles", Size::Exact(32)),
    ("coinbase", Size::Exact(20)),
    ("stateRoot", Size::Exact(32)),
    ("transactionsRoot", Size::Exact(32)),
    ("receiptsRoot", Size::Exact(32)),
    ("logsBloom", Size::Exact(256)),
    ("difficulty", Size::Int(32)),
    ("number", Size::Int(8)),
    ("gasLimit", Size::Int(8)),
    ("gasUsed", Size::Int(8)),
    ("timestamp", Size::Int(8)),
    ("extraData", Size::Any),
    ("mixHash", Size::Exact(32)),
    ("nonce", Size::Exact(8)),
    ("baseFeePerGas", Size::Int(32)),
    ("withdrawalsRoot", Size::Exact(32)),
    ("blobGasUsed", Size::Int(8)),
    ("excessBlobGas", Size::Int(8)),
    ("parentBeaconBlockRoot", Size::Exact(32)),
    ("requestsHash", Size::Exact(32)),
];

#[derive(Clone, Copy)]
enum Size {
    Exact(usize),
    Int(usize),
    Any,
}

/// keccak256 of a header's RLP: its block hash.
pub fn header_hash(rlp: &[u8]) -> Hash32 {
    keccak256(&[rlp])
}

/// Decode a header's RLP, checking every field's kind and size for its fork.
pub fn parse_header(bytes: &[u8]) -> Result<EthHeader, EthError> {
    let r = rlp_item(bytes, "header")?;
    if !r.is_list() {
        return Err(EthError::Rlp {
            what: "header",
            reason: "not a list".into(),
        });
    }
    let n = r.item_count().map_err(rlp_err("header"))?;
    if !(15..=21).contains(&n) {
        return Err(EthError::HeaderFieldCount(n));
    }
    let mut fields: Vec<&[u8]> = Vec::with_capacity(n);
    for (i, (name, size)) in FIELDS.iter().take(n).enumerate() {
        let item = r.at(i).map_err(rlp_err("header"))?;
        if !item.is_data() {
            return Err(EthError::HeaderField {
                field: name,
                reason: "is a list, expected bytes".into(),
            });
        }
        let data = item.data().map_err(rlp_err("header"))?;
        match *size {
            Size::Exact(len) if data.len() != len => {
                return Err(EthError::HeaderField {
                    field: name,
                    reason: format!("{} bytes, expected {len}", data.len()),
                })
            }
            Size::Int(max) if data.len() > max || data.first() == Some(&0) => {
                return Err(EthError::HeaderField {
                    field: name,
                    reason: "not a canonical integer of its width".into(),
                })
            }
            _ => {}
        }
        fields.push(data);
    }
    let h32 = |i: usize| -> Hash32 {
        let mut out = [0u8; 32];
        out.copy_from_slice(fields[i]);
        out
    };
    let int = |i: usize| -> u64 { fields[i].iter().fold(0u64, |a, b| (a << 8) | u64::from(*b)) };
    let mut coinbase = [0u8; 20];
    coinbase.copy_from_slice(fields[2]);
    Ok(EthHeader {
        hash: header_hash(bytes),
        parent_hash: h32(0),
        coinbase,
        state_root: h32(3),
        transactions_root: h32(4),
        receipts_root: h32(5),
        number: int(8),
        timestamp: int(11),
        extra_data: fields[12].to_vec(),
        field_count: n,
    })
}

/// Check that `rlp` is a well-formed header whose keccak-256 is `hash`.
pub fn verify_header(rlp: &[u8], hash: &Hash32) -> Result<EthHeader, EthError> {
    let computed = header_hash(rlp);
    if &computed != hash {
        return Err(EthError::HeaderHashMismatch {
            claimed: HexHash(*hash),
            computed: HexHash(computed),
        });
    }
    parse_header(rlp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_headers() {
        assert!(parse_header(&[0xc0]).is_err());
        assert!(parse_header(&[0x80]).is_err());
        assert!(parse_header(&[]).is_err());
        let mut s = rlp::RlpStream::new_list(15);
        for (_, size) in FIELDS.iter().take(15) {
            match size {
                Size::Exact(n) => s.append(&vec![0u8; *n]),
                _ => s.append(&1u64),
            };
        }
        let ok = s.out().to_vec();
        assert!(parse_header(&ok).is_ok());
        let mut trailing = ok.clone();
        trailing.push(0);
        assert!(parse_header(&trailing).is_err());
    }
}
