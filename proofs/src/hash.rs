//! The hash functions the connected chains use, behind one small API.
//!
//! Every function takes its input as a list of slices so callers can hash `prefix ‖ left ‖ right`
//! without first copying the parts into one buffer.

use sha2::{Digest, Sha256, Sha512};
use sha3::Keccak256;
use sm3::Sm3;

/// A 32-byte digest: every hash in this crate has this width.
pub type Hash32 = [u8; 32];

/// SHA-256 of the concatenation of `parts`.
#[inline]
pub fn sha256(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-256 applied twice (Bitcoin-style), as XuperChain uses it.
#[inline]
pub fn dsha256(parts: &[&[u8]]) -> Hash32 {
    let first = sha256(parts);
    sha256(&[&first])
}

/// Keccak-256 (the pre-standard SHA-3 Ethereum uses) of the concatenation of `parts`.
#[inline]
pub fn keccak256(parts: &[&[u8]]) -> Hash32 {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SM3 (GB/T 32905-2016, the Chinese "guomi" hash) of the concatenation of `parts`.
#[inline]
pub fn sm3(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-512Half: the first 32 bytes of SHA-512, as the XRP Ledger family uses it.
#[inline]
pub fn sha512_half(parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    let full = h.finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(&full[..32]);
    out
}

/// A digest shown as lowercase hex in messages (errors name the hashes that did not match).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct HexHash(pub Hash32);

impl std::fmt::Display for HexHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for HexHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{self}")
    }
}

impl From<Hash32> for HexHash {
    fn from(h: Hash32) -> Self {
        HexHash(h)
    }
}

/// A hash algorithm chosen at run time (FISCO BCOS and ChainSQL chains pick theirs per chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// Keccak-256.
    Keccak256,
    /// SM3 (guomi).
    Sm3,
    /// First half of SHA-512.
    #[serde(rename = "sha512half")]
    Sha512Half,
}

impl HashAlg {
    /// Hash the concatenation of `parts` with this algorithm.
    #[inline]
    pub fn digest(self, parts: &[&[u8]]) -> Hash32 {
        match self {
            HashAlg::Sha256 => sha256(parts),
            HashAlg::Keccak256 => keccak256(parts),
            HashAlg::Sm3 => sm3(parts),
            HashAlg::Sha512Half => sha512_half(parts),
        }
    }

    /// The name used in proof documents.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Keccak256 => "keccak256",
            HashAlg::Sm3 => "sm3",
            HashAlg::Sha512Half => "sha512half",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hx(h: Hash32) -> String {
        hex::encode(h)
    }

    #[test]
    fn known_answers() {
        // FIPS 180-2 "abc" vectors, the Keccak team's empty-string vector and GB/T 32905 "abc".
        assert_eq!(
            hx(sha256(&[b"a", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hx(keccak256(&[])),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
        assert_eq!(
            hx(sm3(&[b"abc"])),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            hx(sha512_half(&[b"abc"])),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        );
        assert_eq!(
            hx(dsha256(&[b"hello"])),
            "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"
        );
    }
}
