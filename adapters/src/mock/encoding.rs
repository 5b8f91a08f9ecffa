//! The mock chain's native encodings: fixed-order, length-prefixed, big-endian binary, so
//! hashes are canonical and decoding never guesses.

use crate::AdapterError;

/// Appends fields in the mock chain's wire format.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// A u64, big-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// A u128, big-endian.
    pub fn u128(&mut self, v: u128) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Fixed 32 bytes.
    pub fn h32(&mut self, v: &[u8; 32]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    /// Length-prefixed (u32) bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
        self.0.extend_from_slice(v);
        self
    }
    /// Length-prefixed UTF-8.
    pub fn str(&mut self, v: &str) -> &mut Self {
        self.bytes(v.as_bytes())
    }
}

/// Reads fields in the mock chain's wire format; every read is bounds-checked.
pub struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Read `buf`, naming it `what` in errors.
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    fn err(&self, reason: &str) -> AdapterError {
        AdapterError::Malformed {
            what: self.what,
            reason: reason.to_string(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], AdapterError> {
        if self.buf.len() < n {
            return Err(self.err("truncated"));
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }

    /// A u64.
    pub fn u64(&mut self) -> Result<u64, AdapterError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    /// A u128.
    pub fn u128(&mut self) -> Result<u128, AdapterError> {
        let b = self.take(16)?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ok(u128::from_be_bytes(a))
    }
    /// Fixed 32 bytes.
    pub fn h32(&mut self) -> Result<[u8; 32], AdapterError> {
        let b = self.take(32)?;
        let mut a = [0u8; 32];
        a.copy_from_slice(b);
        Ok(a)
    }
    /// Fixed 64 bytes.
    pub fn h64(&mut self) -> Result<[u8; 64], AdapterError> {
        let b = self.take(64)?;
        let mut a = [0u8; 64];
        a.copy_from_slice(b);
        Ok(a)
    }
    /// Length-prefixed bytes.
    pub fn bytes(&mut self) -> Result<&'a [u8], AdapterError> {
        let n = self.take(4)?;
        let n = u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize;
        self.take(n)
    }
    /// Length-prefixed UTF-8.
    pub fn str(&mut self) -> Result<String, AdapterError> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.err("not UTF-8"))
    }
    /// Fail unless everything was read.
    pub fn finish(self) -> Result<(), AdapterError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(self.err("trailing bytes"))
        }
    }
}
