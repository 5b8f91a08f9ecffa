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

/// Nibble value of an ASCII hex digit, 0xff for anything else.
const NIBBLE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Table-driven hex decoding (the request path decodes kilobytes of hex per transfer; the
/// `hex` crate's iterator decoder was a visible share of it). `None` on an odd length or a
/// non-hex character.
fn decode_hex(digits: &[u8]) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() / 2);
    let mut bad = 0u8;
    for pair in digits.chunks_exact(2) {
        let hi = NIBBLE[usize::from(pair[0])];
        let lo = NIBBLE[usize::from(pair[1])];
        bad |= (hi | lo) & 0xf0;
        out.push((hi << 4) | (lo & 0x0f));
    }
    (bad == 0).then_some(out)
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
}
