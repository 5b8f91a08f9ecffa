//! Serde for fixed-size byte arrays: lowercase hex in human-readable formats (JSON proof
//! documents, the API), raw bytes in binary ones (log records). Use with
//! `#[serde(with = "crate::hexser")]`.

use serde::{de, Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&hex::encode(v))
    } else {
        s.serialize_bytes(v)
    }
}

pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<[u8; N], D::Error> {
    let bytes: Vec<u8> = if d.is_human_readable() {
        let s = String::deserialize(d)?;
        hex::decode(s.trim_start_matches("0x")).map_err(de::Error::custom)?
    } else {
        serde_bytes_vec(d)?
    };
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| de::Error::custom(format!("expected {N} bytes")))
}

fn serde_bytes_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    struct V;
    impl<'de> de::Visitor<'de> for V {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("64 bytes")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(64);
            while let Some(b) = a.next_element::<u8>()? {
                if out.len() >= 64 {
                    return Err(de::Error::custom("signature longer than 64 bytes"));
                }
                out.push(b);
            }
            Ok(out)
        }
    }
    d.deserialize_bytes(V)
}
