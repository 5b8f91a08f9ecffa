//! Clique proof-of-authority seals (EIP-225): the signer of a header is recovered from the
//! 65-byte secp256k1 seal at the end of `extraData`, over clique's `SealHash` (keccak256 of the
//! header RLP with the seal cut off `extraData`).

use crate::AdapterError;
use crate::RlpStrict;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use meridian_proofs::hash::{keccak256, Hash32};
use rlp::{Rlp, RlpStream};

/// An Ethereum account address.
pub type Address = [u8; 20];

/// Bytes of signer vanity at the start of `extraData`.
pub const VANITY: usize = 32;
/// Bytes of the seal at the end of `extraData`: `r ‖ s ‖ v` with `v ∈ {0, 1}`.
pub const SEAL: usize = 65;
/// Index of `extraData` in the header list.
const EXTRA: usize = 12;

fn malformed(reason: impl Into<String>) -> AdapterError {
    AdapterError::Malformed {
        what: "header",
        reason: reason.into(),
    }
}

/// Clique's `SealHash`: keccak256 of the header's RLP with the last 65 bytes of `extraData`
/// removed. Clique headers have 15 fields, or 16 after London (baseFeePerGas); go-ethereum's
/// clique refuses the later fork fields, so do we.
pub fn seal_hash(header_rlp: &[u8]) -> Result<Hash32, AdapterError> {
    let r = Rlp::new(header_rlp);
    let n = r.item_count().map_err(|e| malformed(e.to_string()))?;
    if !(15..=16).contains(&n) {
        return Err(malformed(format!(
            "{n} fields; a clique header has 15 or 16"
        )));
    }
    let mut s = RlpStream::new_list(n);
    for i in 0..n {
        let item = r.at(i).map_err(|e| malformed(e.to_string()))?;
        if i == EXTRA {
            let extra = item.strict_data().map_err(|e| malformed(e.to_string()))?;
            if extra.len() < VANITY + SEAL {
                return Err(malformed(format!(
                    "extraData is {} bytes, clique needs at least {}",
                    extra.len(),
                    VANITY + SEAL
                )));
            }
            s.append(&&extra[..extra.len() - SEAL]);
        } else {
            s.append_raw(item.as_raw(), 1);
        }
    }
    Ok(keccak256(&[&s.out()]))
}

/// The address of a public key: the last 20 bytes of keccak256 of its uncompressed point
/// without the 0x04 prefix.
pub fn address(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let h = keccak256(&[&point.as_bytes()[1..]]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

/// Recover the signer of a clique header from the seal in its `extraData`.
/// High-`s` seals (which go-ethereum's signer never makes) are refused.
pub fn recover_signer(header_rlp: &[u8], extra: &[u8]) -> Result<Address, AdapterError> {
    let hash = seal_hash(header_rlp)?;
    let seal = extra
        .get(extra.len().saturating_sub(SEAL)..)
        .filter(|s| s.len() == SEAL)
        .ok_or_else(|| malformed("extraData has no seal"))?;
    let sig = Signature::from_slice(&seal[..64]).map_err(|e| malformed(format!("seal: {e}")))?;
    if sig.normalize_s().is_some() {
        return Err(malformed("seal has a high s"));
    }
    let recid = RecoveryId::from_byte(seal[64])
        .filter(|_| seal[64] < 2)
        .ok_or_else(|| malformed(format!("seal recovery id {}", seal[64])))?;
    let key = VerifyingKey::recover_from_prehash(&hash, &sig, recid)
        .map_err(|e| malformed(format!("seal does not recover: {e}")))?;
    Ok(address(&key))
}

/// The 65-byte clique seal of `key` over a header whose RLP (with any 65 placeholder bytes at
/// the end of `extraData`) is `header_rlp`.
pub fn seal(key: &SigningKey, header_rlp: &[u8]) -> Result<[u8; SEAL], AdapterError> {
    let hash = seal_hash(header_rlp)?;
    let (sig, recid) = key
        .sign_prehash_recoverable(&hash)
        .map_err(|e| malformed(format!("signing: {e}")))?;
    let mut out = [0u8; SEAL];
    out[..64].copy_from_slice(&sig.to_bytes());
    out[64] = recid.to_byte();
    Ok(out)
}
