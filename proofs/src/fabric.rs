//! Hyperledger Fabric blocks: the data hash (SHA-256 of the concatenated envelopes, no tree)
//! and the header hash (SHA-256 of the ASN.1 DER `SEQUENCE { INTEGER number, OCTET STRING
//! previous_hash, OCTET STRING data_hash }`, as `protoutil.BlockHeaderBytes` marshals it).

use crate::hash::{sha256, Hash32, HexHash};
use thiserror::Error;

/// Why a Fabric block was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FabricError {
    /// SHA-256 of the data differs from the header's data hash.
    #[error("data hash mismatch: header says {claimed}, the data hashes to {computed}")]
    DataHashMismatch {
        /// Data hash in the header.
        claimed: HexHash,
        /// Hash of the data.
        computed: HexHash,
    },
    /// The header hashes to something else.
    #[error("header hash mismatch: claimed {claimed}, the header hashes to {computed}")]
    HeaderHashMismatch {
        /// Claimed header hash.
        claimed: HexHash,
        /// Hash of the DER header.
        computed: HexHash,
    },
}

/// The data hash of a block's envelopes.
pub fn data_hash<D: AsRef<[u8]>>(data: &[D]) -> Hash32 {
    let parts: Vec<&[u8]> = data.iter().map(AsRef::as_ref).collect();
    sha256(&parts)
}

fn der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der_tlv(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    der_len(out, body.len());
    out.extend_from_slice(body);
}

/// The DER bytes of a block header.
pub fn header_der(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> Vec<u8> {
    // INTEGER: minimal big-endian two's complement of a non-negative number.
    let be = number.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count().min(7);
    let mut int = Vec::with_capacity(9);
    if be[skip] & 0x80 != 0 {
        int.push(0);
    }
    int.extend_from_slice(&be[skip..]);
    let mut body = Vec::with_capacity(int.len() + previous_hash.len() + data_hash.len() + 12);
    der_tlv(&mut body, 0x02, &int);
    der_tlv(&mut body, 0x04, previous_hash);
    der_tlv(&mut body, 0x04, data_hash);
    let mut out = Vec::with_capacity(body.len() + 4);
    der_tlv(&mut out, 0x30, &body);
    out
}

/// The header hash (what the next block's `previous_hash` holds).
pub fn header_hash(number: u64, previous_hash: &[u8], data_hash: &[u8]) -> Hash32 {
    sha256(&[&header_der(number, previous_hash, data_hash)])
}

/// Check a block: its data against its data hash, and its header against its hash.
pub fn verify_block<D: AsRef<[u8]>>(
    number: u64,
    previous_hash: &[u8],
    data: &[D],
    claimed_data_hash: &Hash32,
    claimed_header_hash: &Hash32,
) -> Result<(), FabricError> {
    let dh = data_hash(data);
    if &dh != claimed_data_hash {
        return Err(FabricError::DataHashMismatch {
            claimed: HexHash(*claimed_data_hash),
            computed: HexHash(dh),
        });
    }
    let hh = header_hash(number, previous_hash, &dh);
    if &hh != claimed_header_hash {
        return Err(FabricError::HeaderHashMismatch {
            claimed: HexHash(*claimed_header_hash),
            computed: HexHash(hh),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_integers_and_lengths() {
        let d = header_der(0, &[], &[]);
        assert_eq!(d, [0x30, 0x07, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00]);
        assert_eq!(&header_der(128, &[], &[])[2..6], &[0x02, 0x02, 0x00, 0x80]);
        assert_eq!(&header_der(255, &[], &[])[2..6], &[0x02, 0x02, 0x00, 0xff]);
        assert_eq!(&header_der(256, &[], &[])[2..6], &[0x02, 0x02, 0x01, 0x00]);
        let long = header_der(1, &[7; 200], &[]);
        assert_eq!(&long[..3], &[0x30, 0x81, 0xd0]);
    }
}
