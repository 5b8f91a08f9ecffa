//! Hex fields of proof documents: `0x` prefix optional, either case; written back as `0x` + lowercase.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Parse a hex string with an optional `0x`/`0X` prefix, either case.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let body = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    hex::decode(body).map_err(|e| format!("bad hex {:?}: {e}", truncate(s)))
}

fn truncate(s: &str) -> String {
    if s.len() > 24 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(24).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s.to_string()
    }
}

/// Arbitrary-length bytes written as hex.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct HexBytes(pub Vec<u8>);

/// Exactly 32 bytes written as hex (a hash).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hex32(pub [u8; 32]);

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl fmt::Debug for Hex32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl From<Vec<u8>> for HexBytes {
    fn from(v: Vec<u8>) -> Self {
        HexBytes(v)
    }
}

impl From<[u8; 32]> for Hex32 {
    fn from(v: [u8; 32]) -> Self {
        Hex32(v)
    }
}

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(&self.0)))
    }
}

impl Serialize for Hex32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(self.0)))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_hex(&s).map(HexBytes).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Hex32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let v = parse_hex(&s).map_err(de::Error::custom)?;
        let arr: [u8; 32] = v.as_slice().try_into().map_err(|_| {
            de::Error::custom(format!("expected 32 bytes of hex, got {} bytes", v.len()))
        })?;
        Ok(Hex32(arr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_case() {
        assert_eq!(parse_hex("0xABcd"), Ok(vec![0xab, 0xcd]));
        assert_eq!(parse_hex("0XabCD"), Ok(vec![0xab, 0xcd]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert!(parse_hex("0xabc").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(serde_json::from_str::<Hex32>("\"0x00\"").is_err());
    }
}
