//! Hex fields of proof documents: `0x` prefix optional, either case; written back as `0x` + lowercase.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Parse a hex string with an optional `0x`/`0X` prefix, either case.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let body = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    decode_hex(body.as_bytes()).ok_or_else(|| {
        // The slow path only to name the fault the way `hex` does.
        match hex::decode(body) {
            Err(e) => format!("bad hex {:?}: {e}", truncate(s)),
            Ok(_) => format!("bad hex {:?}", truncate(s)),
        }
    })
}

/// Hex decoding with SIMD where the CPU has it (`faster-hex`; the request path decodes
/// kilobytes of hex per transfer, and a table-driven scalar loop was ~3% of the hub's CPU).
/// `None` on an odd length or a non-hex character.
fn decode_hex(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let mut out = vec![0u8; digits.len() / 2];
    faster_hex::hex_decode(digits, &mut out).ok()?;
    Some(out)
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
        struct V;
        impl de::Visitor<'_> for V {
            type Value = HexBytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a hex string")
            }
            // Borrowed or transient: no copy of the string before decoding it.
            fn visit_str<E: de::Error>(self, s: &str) -> Result<HexBytes, E> {
                parse_hex(s).map(HexBytes).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
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
        assert!(parse_hex("0x0g").is_err());
        assert!(parse_hex("g0").is_err());
        assert!(parse_hex("0x\u{e9}0").is_err());
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(parse_hex(&hex::encode(&all)), Ok(all.clone()));
        assert_eq!(parse_hex(&hex::encode_upper(&all)), Ok(all));
        let h: HexBytes = serde_json::from_str("\"0xAb\"").expect("hex");
        assert_eq!(h.0, vec![0xab]);
        assert!(serde_json::from_str::<HexBytes>("12").is_err());
    }

    proptest::proptest! {
        /// The SIMD decoder agrees with the `hex` crate on any string of hex digits with a few
        /// non-hex characters mixed in, at lengths that cross its 16/32/64-byte blocks.
        #[test]
        fn decoding_agrees_with_the_hex_crate(s in "[0-9a-fA-FgGx: \u{e9}]{0,200}") {
            proptest::prop_assert_eq!(decode_hex(s.as_bytes()), hex::decode(&s).ok());
        }

        #[test]
        fn valid_hex_round_trips(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), upper: bool) {
            let s = if upper { hex::encode_upper(&bytes) } else { hex::encode(&bytes) };
            proptest::prop_assert_eq!(decode_hex(s.as_bytes()), Some(bytes));
        }
    }
}
