//! Helpers shared by the test suites of this and other crates (feature `test-utils`):
//! loading the committed vectors and producing every single-byte tampering of a document.

use crate::document::parse_hex;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Fields that carry no hash, node or leaf bytes: never tampered with.
const NOT_TAMPERED: &[&str] = &["format", "hash_alg", "total_coins"];

/// One tampered copy of a document.
#[derive(Debug, Clone)]
pub struct Tampered {
    /// JSON-pointer-like path of the changed field, with the byte offset.
    pub what: String,
    /// The changed document.
    pub doc: Value,
}

/// Every copy of `doc` with exactly one byte of one hex field XOR-ed with `mask`.
///
/// Skipped: fields in `NOT_TAMPERED`, and the `key` of an exclusion claim (`"value": null`),
/// since a different key may be just as absent.
pub fn tamper_all(doc: &Value, mask: u8) -> Vec<Tampered> {
    let mut out = Vec::new();
    let exclusion = doc.get("value").is_some_and(Value::is_null);
    walk(doc, doc, String::new(), exclusion, mask, &mut out);
    out
}

fn walk(
    root: &Value,
    here: &Value,
    path: String,
    exclusion: bool,
    mask: u8,
    out: &mut Vec<Tampered>,
) {
    match here {
        Value::Object(map) => {
            for (k, v) in map {
                if NOT_TAMPERED.contains(&k.as_str())
                    || (exclusion && path.is_empty() && k == "key")
                {
                    continue;
                }
                walk(root, v, format!("{path}/{k}"), exclusion, mask, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(root, v, format!("{path}/{i}"), exclusion, mask, out);
            }
        }
        Value::String(s) => {
            let Ok(bytes) = parse_hex(s) else { return };
            for i in 0..bytes.len() {
                let mut b = bytes.clone();
                b[i] ^= mask;
                let mut doc = root.clone();
                if let Some(slot) = doc.pointer_mut(&path) {
                    *slot = Value::String(format!("0x{}", hex::encode(&b)));
                }
                out.push(Tampered {
                    what: format!("{path}[{i}]"),
                    doc,
                });
            }
        }
        _ => {}
    }
}

/// The committed vectors directory (`tests/vectors` at the workspace root).
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

/// A vector file: its path and its parsed JSON.
#[derive(Debug, Clone)]
pub struct Vector {
    /// Where it lives.
    pub path: PathBuf,
    /// The proof document.
    pub doc: Value,
}

/// All vectors: `(valid, invalid)`. Valid ones are `tests/vectors/<format>/*.json`; documents whose
/// claim is false are `tests/vectors/<format>/invalid/*.json`.
pub fn load_vectors() -> std::io::Result<(Vec<Vector>, Vec<Vector>)> {
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(vectors_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        read_json_files(&dir, &mut valid)?;
        let inv = dir.join("invalid");
        if inv.is_dir() {
            read_json_files(&inv, &mut invalid)?;
        }
    }
    Ok((valid, invalid))
}

/// Documents that must be reported malformed (exit 2): `tests/vectors/<format>/malformed/*.json`.
pub fn load_malformed() -> std::io::Result<Vec<Vector>> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(vectors_dir())?
        .filter_map(|e| e.ok().map(|e| e.path().join("malformed")))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        read_json_files(&dir, &mut out)?;
    }
    Ok(out)
}

fn read_json_files(dir: &Path, out: &mut Vec<Vector>) -> std::io::Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let doc = serde_json::from_str(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        out.push(Vector { path, doc });
    }
    Ok(())
}
