//! Proof documents: the JSON contract of `meridian proof verify` (see PROOFS.md).
//!
//! A document is a JSON object whose `format` field picks one of the structs below; the rest
//! of its fields are that format's claim. [`verify_document`] separates the two failure kinds
//! the CLI reports differently: a malformed document ([`DocumentError`], exit 2) and a
//! well-formed claim that does not hold ([`Verdict::Invalid`], exit 1). Anything about the
//! *content* of well-formed bytes (a node that does not decode, a count that does not fit) is
//! an invalid claim, not a malformed document.

mod hex;

mod eosio;
mod eth;
mod fabric;
mod fisco;
mod rfc6962;
mod xrpl;
mod xuper;

pub use self::eosio::{EosioLegacyDoc, EosioSavannaDoc};
pub use self::eth::{EthHeaderDoc, EthMptDoc};
pub use self::fabric::FabricBlockDoc;
pub use self::fisco::{FiscoV2Doc, FiscoV2Level, FiscoV3Doc};
pub use self::hex::{parse_hex, Hex32, HexBytes};
pub use self::rfc6962::{Rfc6962ConsistencyDoc, Rfc6962Doc};
pub use self::xrpl::{XrplLeaf, XrplLedgerHeaderDoc, XrplShamapDoc};
pub use self::xuper::XuperDoc;

use crate::ProofError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// A document that could not be read as a claim: bad JSON, a missing or extra field, bad hex,
/// a wrong-length hash, an unknown format.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// The text is not JSON, or not a JSON object.
    #[error("not a JSON object: {0}")]
    Json(String),
    /// No `format` field, or it is not a string.
    #[error("missing or non-string field `format`")]
    MissingFormat,
    /// `format` names no known proof format.
    #[error("unknown format {0:?} (known: {known})", known = FORMATS.join(", "))]
    UnknownFormat(String),
    /// The fields do not fit the format (serde's message names the field).
    #[error("{format}: {reason}")]
    Fields {
        /// The document's format.
        format: &'static str,
        /// What was wrong, naming the field.
        reason: String,
    },
}

/// The outcome of a well-formed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The claim holds.
    Valid,
    /// The claim is false; the error says what did not match.
    Invalid(ProofError),
}

impl Verdict {
    /// Whether the claim holds.
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid)
    }
}

/// A parsed claim of one format.
pub trait Claim: DeserializeOwned + Serialize {
    /// The value of the document's `format` field.
    const FORMAT: &'static str;
    /// Check the claim.
    fn verify(&self) -> Result<(), ProofError>;
}

/// Every format name [`verify_document`] accepts.
pub const FORMATS: &[&str] = &[
    Rfc6962Doc::FORMAT,
    Rfc6962ConsistencyDoc::FORMAT,
    EthHeaderDoc::FORMAT,
    EthMptDoc::FORMAT,
    FiscoV2Doc::FORMAT,
    FiscoV3Doc::FORMAT,
    EosioLegacyDoc::FORMAT,
    EosioSavannaDoc::FORMAT,
    XuperDoc::FORMAT,
    FabricBlockDoc::FORMAT,
    XrplLedgerHeaderDoc::FORMAT,
    XrplShamapDoc::FORMAT,
];

/// Parse and check one proof document.
pub fn verify_document(text: &str) -> Result<Verdict, DocumentError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| DocumentError::Json(e.to_string()))?;
    verify_value(value)
}

/// Parse and check one proof document already read as JSON.
pub fn verify_value(value: serde_json::Value) -> Result<Verdict, DocumentError> {
    let serde_json::Value::Object(mut map) = value else {
        return Err(DocumentError::Json("expected a JSON object".into()));
    };
    let format = match map.remove("format") {
        Some(serde_json::Value::String(s)) => s,
        _ => return Err(DocumentError::MissingFormat),
    };
    let rest = serde_json::Value::Object(map);
    match format.as_str() {
        Rfc6962Doc::FORMAT => check::<Rfc6962Doc>(rest),
        Rfc6962ConsistencyDoc::FORMAT => check::<Rfc6962ConsistencyDoc>(rest),
        EthHeaderDoc::FORMAT => check::<EthHeaderDoc>(rest),
        EthMptDoc::FORMAT => check::<EthMptDoc>(rest),
        FiscoV2Doc::FORMAT => check::<FiscoV2Doc>(rest),
        FiscoV3Doc::FORMAT => check::<FiscoV3Doc>(rest),
        EosioLegacyDoc::FORMAT => check::<EosioLegacyDoc>(rest),
        EosioSavannaDoc::FORMAT => check::<EosioSavannaDoc>(rest),
        XuperDoc::FORMAT => check::<XuperDoc>(rest),
        FabricBlockDoc::FORMAT => check::<FabricBlockDoc>(rest),
        XrplLedgerHeaderDoc::FORMAT => check::<XrplLedgerHeaderDoc>(rest),
        XrplShamapDoc::FORMAT => check::<XrplShamapDoc>(rest),
        _ => Err(DocumentError::UnknownFormat(format)),
    }
}

fn check<C: Claim>(rest: serde_json::Value) -> Result<Verdict, DocumentError> {
    let claim: C = serde_json::from_value(rest).map_err(|e| DocumentError::Fields {
        format: C::FORMAT,
        reason: e.to_string(),
    })?;
    Ok(match claim.verify() {
        Ok(()) => Verdict::Valid,
        Err(e) => Verdict::Invalid(e),
    })
}

/// Render a claim as a complete document (with its `format` field), e.g. for a proof bundle.
pub fn to_document<C: Claim>(claim: &C) -> serde_json::Value {
    let mut v = serde_json::to_value(claim).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut v {
        map.insert(
            "format".into(),
            serde_json::Value::String(C::FORMAT.to_string()),
        );
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_documents_are_errors() {
        assert!(matches!(verify_document("{"), Err(DocumentError::Json(_))));
        assert!(matches!(verify_document("[]"), Err(DocumentError::Json(_))));
        assert_eq!(verify_document("{}"), Err(DocumentError::MissingFormat));
        assert!(matches!(
            verify_document(r#"{"format":"nope"}"#),
            Err(DocumentError::UnknownFormat(_))
        ));
        for f in FORMATS {
            let r = verify_document(&format!(r#"{{"format":"{f}"}}"#));
            assert!(
                matches!(r, Err(DocumentError::Fields { .. })),
                "{f}: empty document must be malformed, got {r:?}"
            );
        }
    }
}
