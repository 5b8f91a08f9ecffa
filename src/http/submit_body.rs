//! A direct parse of the usual `POST /v1/transfers` body, beside serde_json.
//!
//! A submission is ~2 KB of which nearly all is hex in four strings; serde_json scans each of
//! them for escapes and checks it as UTF-8, then the hex decoder reads it again (~9% of an
//! HTTP worker's time under load). [`parse`] takes the body's usual shape only: one object
//! with the keys `source`, `evidence` (an object of `locator`, `header`, `proof` and `event`)
//! and optionally `timeout_secs` (a whole number or `null`), in any order, JSON whitespace
//! anywhere between tokens, strings without escapes or control characters. It finds each hex
//! string's closing quote with `memchr` and hands the digits straight to the hex decoder, whose
//! check refuses any byte that is not a hex digit (so a backslash or a control character
//! inside never gets through). Anything else (an escape, an unknown or repeated key, a number
//! with a fraction or sign, …) answers `None`, and the caller parses with serde_json, which
//! names what is wrong: this accepts a subset of what serde_json accepts, and yields the same
//! value for it (`tests` compare the two on generated bodies).

use super::transfers::{EvidenceBody, TransferRequest};
use meridian_proofs::document::{parse_hex, HexBytes};

/// The body as a [`TransferRequest`], when it has the usual shape (see the module
/// documentation); `None` otherwise.
pub fn parse(body: &[u8]) -> Option<TransferRequest> {
    let mut c = Cursor { b: body, i: 0 };
    let (mut source, mut evidence, mut timeout) = (None, None, None);
    c.object(|c, key| match key {
        "source" if source.is_none() => {
            source = Some(c.text()?.to_string());
            Some(())
        }
        "evidence" if evidence.is_none() => {
            evidence = Some(c.evidence()?);
            Some(())
        }
        "timeout_secs" if timeout.is_none() => {
            timeout = Some(c.whole_or_null()?);
            Some(())
        }
        _ => None,
    })?;
    c.ws();
    if c.i != body.len() {
        return None;
    }
    Some(TransferRequest {
        source: source?,
        evidence: evidence?,
        timeout_secs: timeout.flatten(),
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// Skip JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next token is `c`: step over it.
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (*self.b.get(self.i)? == c).then(|| self.i += 1)
    }

    /// `{ "key": value, … }`, each value read by `field` given its key.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.text()?;
            self.eat(b':')?;
            field(self, key)?;
            self.ws();
            match self.b.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The raw bytes between the quotes of the next string (the closing quote is the first
    /// one: an escaped quote makes the content end in a backslash, which every caller refuses).
    fn quoted(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let rest = self.b.get(self.i..)?;
        let end = memchr::memchr(b'"', rest)?;
        self.i += end + 1;
        rest.get(..end)
    }

    /// A string without escapes or control characters.
    fn text(&mut self) -> Option<&'a str> {
        let raw = self.quoted()?;
        if raw.iter().any(|&c| c == b'\\' || c < 0x20) {
            return None;
        }
        std::str::from_utf8(raw).ok()
    }

    /// A string of hex digits (optional `0x`), decoded.
    fn hex(&mut self) -> Option<HexBytes> {
        let raw = self.quoted()?;
        // Hex digits and the prefix are ASCII: anything else is refused by the decoder, but
        // `parse_hex` takes a `str`, so non-UTF-8 must be refused first.
        let s = std::str::from_utf8(raw).ok()?;
        parse_hex(s).ok().map(HexBytes)
    }

    /// `null`, or a whole number that fits a u64 written as JSON writes it (no sign, no
    /// leading zero, no fraction or exponent).
    fn whole_or_null(&mut self) -> Option<Option<u64>> {
        self.ws();
        let rest = self.b.get(self.i..)?;
        if rest.starts_with(b"null") {
            self.i += 4;
            return Some(None);
        }
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || (digits > 1 && rest.first() == Some(&b'0')) {
            return None;
        }
        if matches!(rest.get(digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let n = std::str::from_utf8(rest.get(..digits)?)
            .ok()?
            .parse()
            .ok()?;
        self.i += digits;
        Some(Some(n))
    }

    /// The `evidence` object.
    fn evidence(&mut self) -> Option<EvidenceBody> {
        let (mut locator, mut header, mut proof, mut event) = (None, None, None, None);
        self.object(|c, key| {
            let slot = match key {
                "locator" => &mut locator,
                "header" => &mut header,
                "proof" => &mut proof,
                "event" => &mut event,
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(c.hex()?);
            Some(())
        })?;
        Some(EvidenceBody {
            locator: locator?,
            header: header?,
            proof: proof?,
            event: event?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn serde_parse(body: &[u8]) -> Option<TransferRequest> {
        serde_json::from_slice(body).ok()
    }

    fn same(a: &TransferRequest, b: &TransferRequest) -> bool {
        a.source == b.source
            && a.timeout_secs == b.timeout_secs
            && a.evidence.locator == b.evidence.locator
            && a.evidence.header == b.evidence.header
            && a.evidence.proof == b.evidence.proof
            && a.evidence.event == b.evidence.event
    }

    const USUAL: &str = r#"{"source":"mock-a","evidence":{"locator":"0x0000000100000002","header":"0xAbCd00ff","proof":"","event":"0x00"},"timeout_secs":600}"#;

    #[test]
    fn the_usual_shapes_are_taken() {
        let spaced = "\n{ \"timeout_secs\" : null ,\t\"evidence\": {\"event\":\"00\", \"proof\":\"0X01\",\r\n\"header\":\"\",\"locator\":\"ff\"} , \"source\" : \"é\" }  ";
        for body in [
            USUAL,
            spaced,
            r#"{"source":"","evidence":{"locator":"","header":"","proof":"","event":""}}"#,
        ] {
            let fast = parse(body.as_bytes()).expect(body);
            let slow = serde_parse(body.as_bytes()).expect(body);
            assert!(same(&fast, &slow), "{body}");
        }
        let r = parse(USUAL.as_bytes()).expect("usual");
        assert_eq!(r.evidence.header.0, vec![0xab, 0xcd, 0x00, 0xff]);
        assert_eq!(r.timeout_secs, Some(600));
    }

    #[test]
    fn anything_unusual_is_left_to_serde() {
        let cases = [
            // escapes, in a hex string and in the source
            USUAL.replace("0xAbCd00ff", r"0xAbCd\u0030"),
            USUAL.replace("mock-a", r"mock\u002da"),
            USUAL.replace("mock-a", r#"mock\"a"#),
            // unknown and repeated keys, a missing one
            USUAL.replace(r#""timeout_secs""#, r#""timeout""#),
            USUAL.replace(r#""proof":"""#, r#""proof":"","proof":"""#),
            USUAL.replace(r#""event":"0x00""#, r#""extra":"0x00""#),
            USUAL.replace(
                r#","timeout_secs":600"#,
                r#","timeout_secs":600,"source":"x""#,
            ),
            // numbers JSON or u64 do not take this way
            USUAL.replace("600", "0600"),
            USUAL.replace("600", "-1"),
            USUAL.replace("600", "6.0"),
            USUAL.replace("600", "6e2"),
            USUAL.replace("600", "18446744073709551616"),
            // bad hex, trailing bytes, a truncated body, a control character
            USUAL.replace("0xAbCd00ff", "0xAbCd00f"),
            USUAL.replace("0xAbCd00ff", "0xAbCd00fg"),
            format!("{USUAL}x"),
            USUAL[..USUAL.len() - 1].to_string(),
            USUAL.replace("mock-a", "mock\ta"),
        ];
        for body in cases {
            assert!(parse(body.as_bytes()).is_none(), "taken: {body}");
        }
    }

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just(",".to_string()),
            Just(":".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just(" ".to_string()),
            Just("null".to_string()),
            Just("0".to_string()),
            Just("\"source\"".to_string()),
            Just("\"evidence\"".to_string()),
            Just("\"proof\"".to_string()),
            "[0-9a-fA-Fx\\\\\"\u{0}-\u{1f} é.eE+-]{0,4}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// On any body the direct parse either declines or agrees with serde_json.
        #[test]
        fn agrees_with_serde_or_declines(
            cut in 0usize..200,
            at in 0usize..200,
            insert in token(),
            remove in 0usize..4,
        ) {
            let mut body = USUAL.to_string();
            let at = at.min(body.len());
            let at = (0..=at).rev().find(|i| body.is_char_boundary(*i)).unwrap_or(0);
            let end = (at + remove).min(body.len());
            let end = (end..=body.len()).find(|i| body.is_char_boundary(*i)).unwrap_or(body.len());
            body.replace_range(at..end, &insert);
            if cut % 7 == 0 {
                let c = cut.min(body.len());
                let c = (0..=c).rev().find(|i| body.is_char_boundary(*i)).unwrap_or(0);
                body.truncate(c);
            }
            if let Some(fast) = parse(body.as_bytes()) {
                let slow = serde_parse(body.as_bytes());
                prop_assert!(slow.as_ref().is_some_and(|s| same(&fast, s)), "{body:?}: {slow:?}");
            }
        }
    }
}
