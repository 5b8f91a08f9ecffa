//! Hand-written protobuf (proto3) encoding and decoding for the few Fabric messages the adapter
//! reads, with the real field numbers of `fabric-protos` (`common/common.proto`,
//! `peer/transaction.proto`, `peer/proposal_response.proto`, `peer/proposal.proto`,
//! `peer/chaincode_event.proto`, `msp/identities.proto`).
//!
//! Decoding is strict about wire types (a known field with the wrong wire type, groups,
//! truncated varints or lengths are errors) and tolerant of unknown fields, as protobuf is.
//! Encoding is canonical proto3: fields in number order, zero scalars and empty bytes omitted
//! (elements of repeated fields are always written).

use crate::AdapterError;

fn bad(what: &'static str, reason: impl Into<String>) -> AdapterError {
    AdapterError::Malformed {
        what,
        reason: reason.into(),
    }
}

/// Append a base-128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Append a length-delimited field (always, even when empty: for repeated elements).
pub fn put_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    put_varint(out, u64::from(field) << 3 | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Append a length-delimited singular field unless it is empty (proto3 default).
pub fn put_opt_bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    if !b.is_empty() {
        put_bytes(out, field, b);
    }
}

/// Append a varint field unless it is zero (proto3 default).
pub fn put_uint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        put_varint(out, u64::from(field) << 3);
        put_varint(out, v);
    }
}

/// One decoded field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 or 5 (skipped content).
    Fixed,
    /// Wire type 2.
    Bytes(&'a [u8]),
}

fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A decoded message: its fields in wire order.
#[derive(Debug, Clone)]
pub struct Msg<'a> {
    what: &'static str,
    fields: Vec<(u32, Value<'a>)>,
}

impl<'a> Msg<'a> {
    /// Parse `buf` as the message `what` (named in errors).
    pub fn parse(what: &'static str, buf: &'a [u8]) -> Result<Self, AdapterError> {
        let mut fields = Vec::new();
        let mut pos = 0;
        while pos < buf.len() {
            let key = get_varint(buf, &mut pos).ok_or_else(|| bad(what, "truncated tag"))?;
            let field = u32::try_from(key >> 3).map_err(|_| bad(what, "field number too large"))?;
            if field == 0 {
                return Err(bad(what, "field number 0"));
            }
            let value = match key & 7 {
                0 => Value::Varint(
                    get_varint(buf, &mut pos).ok_or_else(|| bad(what, "truncated varint"))?,
                ),
                1 | 5 => {
                    let n = if key & 7 == 1 { 8 } else { 4 };
                    if buf.len() - pos < n {
                        return Err(bad(what, "truncated fixed field"));
                    }
                    pos += n;
                    Value::Fixed
                }
                2 => {
                    let len = get_varint(buf, &mut pos)
                        .and_then(|l| usize::try_from(l).ok())
                        .ok_or_else(|| bad(what, "truncated length"))?;
                    if buf.len() - pos < len {
                        return Err(bad(what, "length past the end"));
                    }
                    let b = &buf[pos..pos + len];
                    pos += len;
                    Value::Bytes(b)
                }
                t => return Err(bad(what, format!("unsupported wire type {t}"))),
            };
            fields.push((field, value));
        }
        Ok(Msg { what, fields })
    }

    /// Every value of a length-delimited field (repeated bytes/messages/strings).
    pub fn all_bytes(&self, field: u32) -> Result<Vec<&'a [u8]>, AdapterError> {
        self.fields
            .iter()
            .filter(|(f, _)| *f == field)
            .map(|(_, v)| match v {
                Value::Bytes(b) => Ok(*b),
                _ => Err(bad(
                    self.what,
                    format!("field {field} is not length-delimited"),
                )),
            })
            .collect()
    }

    /// A singular length-delimited field (last one wins, empty when absent).
    pub fn bytes(&self, field: u32) -> Result<&'a [u8], AdapterError> {
        Ok(self.all_bytes(field)?.last().copied().unwrap_or(&[]))
    }

    /// A singular string field.
    pub fn string(&self, field: u32) -> Result<String, AdapterError> {
        String::from_utf8(self.bytes(field)?.to_vec())
            .map_err(|_| bad(self.what, format!("field {field} is not UTF-8")))
    }

    /// A singular varint field (zero when absent).
    pub fn uint(&self, field: u32) -> Result<u64, AdapterError> {
        let mut out = 0;
        for (f, v) in &self.fields {
            if *f == field {
                match v {
                    Value::Varint(x) => out = *x,
                    _ => return Err(bad(self.what, format!("field {field} is not a varint"))),
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX] {
            let mut b = Vec::new();
            put_uint(&mut b, 3, v);
            let m = Msg::parse("t", &b).expect("parses");
            assert_eq!(m.uint(3).expect("uint"), v);
        }
        let mut b = Vec::new();
        put_bytes(&mut b, 1, b"ab");
        put_bytes(&mut b, 1, b"");
        let m = Msg::parse("t", &b).expect("parses");
        assert_eq!(m.all_bytes(1).expect("bytes"), vec![&b"ab"[..], &b""[..]]);
        assert!(m.uint(1).is_err());
        assert!(Msg::parse("t", &[0x0a, 0x05, 1]).is_err());
        assert!(Msg::parse("t", &[0x0b]).is_err());
        assert!(Msg::parse("t", &[0x08, 0x80]).is_err());
    }
}
