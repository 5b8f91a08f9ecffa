//! The city-relay set: who signs reference-chain blocks, their keys, and the quorum rule.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use meridian_proofs::hash::{sha256, Hash32};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use thiserror::Error;

use super::header::BlockHeader;

/// Domain tag of the message a relay signs for a block.
const VOTE_TAG: &[u8] = b"meridian.vote.v1";

/// One city relay as the relay set knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayInfo {
    /// City id from `config/cities.toml`.
    pub id: String,
    /// Its ed25519 public key.
    #[serde(with = "crate::hexser")]
    pub public_key: [u8; 32],
}

/// The ordered set of relays whose signatures finalize blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySet {
    /// Relays in configuration order; a signature names its relay by index here.
    pub relays: Vec<RelayInfo>,
}

impl RelaySet {
    /// `SHA-256("meridian.relayset.v1" ‖ n ‖ (len ‖ id ‖ key)…)`: what block headers commit to.
    pub fn hash(&self) -> Hash32 {
        let mut buf = Vec::with_capacity(32 + self.relays.len() * 64);
        buf.extend_from_slice(b"meridian.relayset.v1");
        buf.extend_from_slice(&(self.relays.len() as u64).to_be_bytes());
        for r in &self.relays {
            buf.extend_from_slice(&(r.id.len() as u64).to_be_bytes());
            buf.extend_from_slice(r.id.as_bytes());
            buf.extend_from_slice(&r.public_key);
        }
        sha256(&[&buf])
    }

    /// Signatures needed for finality: strictly more than two thirds of the relays.
    pub fn quorum(&self) -> usize {
        self.relays.len() * 2 / 3 + 1
    }

    /// Number of relays.
    pub fn len(&self) -> usize {
        self.relays.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.relays.is_empty()
    }
}

/// The bytes a relay signs to vote for a block: `"meridian.vote.v1" ‖ header hash`.
pub fn vote_message(block_hash: &Hash32) -> Vec<u8> {
    let mut m = Vec::with_capacity(VOTE_TAG.len() + 32);
    m.extend_from_slice(VOTE_TAG);
    m.extend_from_slice(block_hash);
    m
}

/// One relay's signature on a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelaySignature {
    /// Index of the relay in the [`RelaySet`].
    pub relay: u16,
    /// ed25519 signature over [`vote_message`].
    #[serde(with = "crate::hexser")]
    pub signature: [u8; 64],
}

impl RelaySignature {
    /// Whether this is relay `relay`'s valid (`verify_strict`) signature on `vote` (a
    /// [`vote_message`]) under `set`.
    pub fn verifies(&self, set: &RelaySet, vote: &[u8]) -> bool {
        let Some(info) = set.relays.get(usize::from(self.relay)) else {
            return false;
        };
        VerifyingKey::from_bytes(&info.public_key).is_ok_and(|key| {
            key.verify_strict(vote, &Signature::from_bytes(&self.signature))
                .is_ok()
        })
    }
}

/// Signatures of more than two thirds of the relay set on one block header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumCertificate {
    /// Height of the block.
    pub height: u64,
    /// Hash of its header.
    #[serde(with = "crate::hexser")]
    pub block_hash: Hash32,
    /// Distinct relays' signatures, by ascending relay index.
    pub signatures: Vec<RelaySignature>,
}

/// Why a quorum certificate does not finalize a header.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum QuorumError {
    /// The certificate is for another block.
    #[error("certificate is for block {cert_height}/{cert_hash}, header is {height}/{hash}")]
    WrongBlock {
        /// Height named by the certificate.
        cert_height: u64,
        /// Hash named by the certificate.
        cert_hash: String,
        /// The header's height.
        height: u64,
        /// The header's hash.
        hash: String,
    },
    /// The header commits to another relay set.
    #[error("header commits to relay set {header}, certificate checked against {set}")]
    WrongRelaySet {
        /// Relay-set hash in the header.
        header: String,
        /// Hash of the set given.
        set: String,
    },
    /// Too few valid signatures from distinct known relays.
    #[error("{valid} valid signatures from distinct relays, {needed} needed")]
    BelowQuorum {
        /// Valid, distinct, known.
        valid: usize,
        /// The quorum.
        needed: usize,
    },
    /// (Strict check) a signature names a relay index the set does not have.
    #[error("signature {position} names relay {relay}, the set has {relays}")]
    UnknownRelay {
        /// Position of the signature in the certificate.
        position: usize,
        /// The index it names.
        relay: u16,
        /// Relays in the set.
        relays: usize,
    },
    /// (Strict check) a relay index repeats, or the indices are not ascending.
    #[error("signature {position} names relay {relay} after relay {previous}: indices must be unique and ascending")]
    Unordered {
        /// Position of the signature in the certificate.
        position: usize,
        /// The index it names.
        relay: u16,
        /// The index before it.
        previous: u16,
    },
    /// (Strict check) a signature does not verify under its relay's key.
    #[error("signature {position} (relay {relay}) does not verify")]
    BadSignature {
        /// Position of the signature in the certificate.
        position: usize,
        /// The index it names.
        relay: u16,
    },
}

impl QuorumCertificate {
    /// Count the valid signatures of distinct relays of `set` on `header`; signatures by
    /// unknown indices, repeated relays or bad signatures are ignored, not trusted.
    pub fn valid_signatures(&self, set: &RelaySet, header: &BlockHeader) -> usize {
        let msg = vote_message(&header.hash());
        let mut seen = BTreeSet::new();
        self.signatures
            .iter()
            .filter(|s| seen.insert(s.relay) && s.verifies(set, &msg))
            .count()
    }

    /// Check that this certificate finalizes `header` under `set`: a quorum of valid signatures
    /// by distinct relays, whatever else it holds (see [`QuorumCertificate::verify_strict`]).
    pub fn verify(&self, set: &RelaySet, header: &BlockHeader) -> Result<(), QuorumError> {
        self.check_binding(set, header)?;
        let valid = self.valid_signatures(set, header);
        if valid < set.quorum() {
            return Err(QuorumError::BelowQuorum {
                valid,
                needed: set.quorum(),
            });
        }
        Ok(())
    }

    /// [`QuorumCertificate::verify`] for a certificate as the hub writes it, where nothing is
    /// ignored: every signature names a relay of `set`, in strictly ascending relay order (so
    /// each relay once), and verifies; and they are a quorum. What proof documents are held to,
    /// so that no byte of a certificate can change without the verdict changing.
    pub fn verify_strict(&self, set: &RelaySet, header: &BlockHeader) -> Result<(), QuorumError> {
        self.check_binding(set, header)?;
        let msg = vote_message(&self.block_hash);
        let mut previous: Option<u16> = None;
        for (position, s) in self.signatures.iter().enumerate() {
            if usize::from(s.relay) >= set.len() {
                return Err(QuorumError::UnknownRelay {
                    position,
                    relay: s.relay,
                    relays: set.len(),
                });
            }
            if let Some(p) = previous.filter(|p| *p >= s.relay) {
                return Err(QuorumError::Unordered {
                    position,
                    relay: s.relay,
                    previous: p,
                });
            }
            previous = Some(s.relay);
            if !s.verifies(set, &msg) {
                return Err(QuorumError::BadSignature {
                    position,
                    relay: s.relay,
                });
            }
        }
        if self.signatures.len() < set.quorum() {
            return Err(QuorumError::BelowQuorum {
                valid: self.signatures.len(),
                needed: set.quorum(),
            });
        }
        Ok(())
    }

    /// The certificate names `header`, and `header` commits to `set`.
    fn check_binding(&self, set: &RelaySet, header: &BlockHeader) -> Result<(), QuorumError> {
        let hash = header.hash();
        if self.height != header.height || self.block_hash != hash {
            return Err(QuorumError::WrongBlock {
                cert_height: self.height,
                cert_hash: hex::encode(self.block_hash),
                height: header.height,
                hash: hex::encode(hash),
            });
        }
        let set_hash = set.hash();
        if header.relay_set_hash != set_hash {
            return Err(QuorumError::WrongRelaySet {
                header: hex::encode(header.relay_set_hash),
                set: hex::encode(set_hash),
            });
        }
        Ok(())
    }
}

/// A relay's signing key.
#[derive(Clone)]
pub struct RelayKey {
    /// City id.
    pub id: String,
    key: SigningKey,
}

impl std::fmt::Debug for RelayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RelayKey({}, {})",
            self.id,
            hex::encode(self.public_key())
        )
    }
}

impl RelayKey {
    /// A key from a 32-byte seed.
    pub fn from_seed(id: &str, seed: [u8; 32]) -> Self {
        RelayKey {
            id: id.to_string(),
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// A fresh random key from the operating system's generator.
    pub fn generate(id: &str) -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_seed(id, seed))
    }

    /// Its public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Sign a vote for `header`.
    pub fn vote(&self, relay_index: u16, header: &BlockHeader) -> RelaySignature {
        RelaySignature {
            relay: relay_index,
            signature: self.key.sign(&vote_message(&header.hash())).to_bytes(),
        }
    }
}

/// Why relay keys could not be loaded or created.
#[derive(Debug, Error)]
pub enum KeyError {
    /// Filesystem error on a key file.
    #[error("{path}: {source}")]
    Io {
        /// The key file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file that is not 64 hex characters.
    #[error("{path}: not a 32-byte hex ed25519 seed")]
    Malformed {
        /// The key file.
        path: PathBuf,
    },
    /// The operating system's random generator failed.
    #[error("random generator: {0}")]
    Random(String),
    /// Two cities with one key (a key file copied): one holder would cast both votes.
    #[error("{second} holds the same key as {first}: each city relay needs its own")]
    Duplicate {
        /// The first city's key file.
        first: PathBuf,
        /// The other one.
        second: PathBuf,
    },
}

/// The relay sets the reference chain has used, by hash, and the current one: blocks sealed
/// before a key rotation stay verifiable under the set they name.
#[derive(Debug, Clone, Default)]
pub struct RelaySets(std::sync::Arc<std::sync::RwLock<SetsInner>>);

#[derive(Debug, Default)]
struct SetsInner {
    current: Option<std::sync::Arc<RelaySet>>,
    known: std::collections::HashMap<Hash32, std::sync::Arc<RelaySet>>,
}

impl RelaySets {
    /// A registry whose current set is `set`.
    pub fn new(set: RelaySet) -> Self {
        let r = RelaySets::default();
        r.adopt(set);
        r
    }

    /// The set new blocks are sealed for.
    pub fn current(&self) -> std::sync::Arc<RelaySet> {
        self.0
            .read()
            .ok()
            .and_then(|g| g.current.clone())
            .unwrap_or_default()
    }

    /// The set with this hash, if it was ever used.
    pub fn get(&self, hash: &Hash32) -> Option<std::sync::Arc<RelaySet>> {
        self.0.read().ok()?.known.get(hash).cloned()
    }

    /// Make `set` the current set (it stays known).
    pub fn adopt(&self, set: RelaySet) {
        if let Ok(mut g) = self.0.write() {
            let set = std::sync::Arc::new(set);
            g.known.insert(set.hash(), set.clone());
            g.current = Some(set);
        }
    }

    /// Remember an earlier set (from the log) without making it current.
    pub fn remember(&self, set: RelaySet) {
        if let Ok(mut g) = self.0.write() {
            g.known.insert(set.hash(), std::sync::Arc::new(set));
        }
    }
}

/// Replace relay `id`'s key with a fresh one in `dir` (atomically, mode 0600).
pub fn rotate_key(dir: &Path, id: &str) -> Result<RelayKey, KeyError> {
    let key = RelayKey::generate(id)?;
    write_key(
        &dir.join(format!("{id}.key")),
        &hex::encode(key.key.to_bytes()),
    )?;
    Ok(key)
}

/// Load each relay's key from `dir/<id>.key`, generating (and saving, mode 0600) the missing ones.
pub fn load_or_generate_keys(dir: &Path, ids: &[String]) -> Result<Vec<RelayKey>, KeyError> {
    std::fs::create_dir_all(dir).map_err(|source| KeyError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut keys = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashMap::new();
    for id in ids {
        let path = dir.join(format!("{id}.key"));
        let key = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = hex::decode(text.trim())
                    .map_err(|_| KeyError::Malformed { path: path.clone() })?;
                let seed: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| KeyError::Malformed { path: path.clone() })?;
                RelayKey::from_seed(id, seed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = RelayKey::generate(id)?;
                write_key(&path, &hex::encode(key.key.to_bytes()))?;
                key
            }
            Err(source) => return Err(KeyError::Io { path, source }),
        };
        if let Some(first) = seen.insert(key.public_key(), path.clone()) {
            return Err(KeyError::Duplicate {
                first,
                second: path,
            });
        }
        keys.push(key);
    }
    Ok(keys)
}

fn write_key(path: &Path, text: &str) -> Result<(), KeyError> {
    use std::io::Write;
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("key.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(n: usize) -> (RelaySet, Vec<RelayKey>) {
        let keys: Vec<RelayKey> = (0..n)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
                RelayKey::from_seed(&format!("city-{i}"), seed)
            })
            .collect();
        let set = RelaySet {
            relays: keys
                .iter()
                .map(|k| RelayInfo {
                    id: k.id.clone(),
                    public_key: k.public_key(),
                })
                .collect(),
        };
        (set, keys)
    }

    fn header(set: &RelaySet) -> BlockHeader {
        BlockHeader {
            height: 7,
            prev_hash: [1; 32],
            log_start: 10,
            log_end: 20,
            entries_root: [2; 32],
            log_root: [4; 32],
            time_ms: 3,
            relay_set_hash: set.hash(),
        }
    }

    #[test]
    fn quorum_of_135_is_91() {
        let (set, _) = set_of(135);
        assert_eq!(set.quorum(), 91);
    }

    #[test]
    fn ninety_one_of_135_finalize_ninety_do_not() {
        let (set, keys) = set_of(135);
        let h = header(&set);
        let mut qc = QuorumCertificate {
            height: h.height,
            block_hash: h.hash(),
            signatures: keys
                .iter()
                .take(90)
                .enumerate()
                .map(|(i, k)| k.vote(i as u16, &h))
                .collect(),
        };
        assert_eq!(
            qc.verify(&set, &h),
            Err(QuorumError::BelowQuorum {
                valid: 90,
                needed: 91
            })
        );
        // A duplicate of an existing signature and a signature by an unknown index add nothing.
        qc.signatures.push(qc.signatures[0].clone());
        qc.signatures.push(RelaySignature {
            relay: 500,
            signature: [0; 64],
        });
        assert!(qc.verify(&set, &h).is_err());
        qc.signatures.push(keys[90].vote(90, &h));
        assert_eq!(qc.verify(&set, &h), Ok(()));
    }

    #[test]
    fn garbage_and_foreign_signatures_do_not_count() {
        let (set, keys) = set_of(135);
        let (_, outsiders) = set_of(200);
        let h = header(&set);
        let mut sigs: Vec<RelaySignature> = keys
            .iter()
            .take(80)
            .enumerate()
            .map(|(i, k)| k.vote(i as u16, &h))
            .collect();
        // 44 byzantine slots: garbage bytes, or a key not in the set signing under their index.
        for i in 80..124u16 {
            if i % 2 == 0 {
                sigs.push(RelaySignature {
                    relay: i,
                    signature: [0xab; 64],
                });
            } else {
                sigs.push(outsiders[150 + usize::from(i) % 50].vote(i, &h));
            }
        }
        let qc = QuorumCertificate {
            height: h.height,
            block_hash: h.hash(),
            signatures: sigs,
        };
        assert_eq!(qc.valid_signatures(&set, &h), 80);
        assert!(qc.verify(&set, &h).is_err());
    }

    #[test]
    fn certificate_binds_block_and_set() {
        let (set, keys) = set_of(4);
        let h = header(&set);
        let qc = QuorumCertificate {
            height: h.height,
            block_hash: h.hash(),
            signatures: keys
                .iter()
                .enumerate()
                .map(|(i, k)| k.vote(i as u16, &h))
                .collect(),
        };
        assert_eq!(qc.verify(&set, &h), Ok(()));
        let other = BlockHeader {
            log_end: 21,
            ..h.clone()
        };
        assert!(matches!(
            qc.verify(&set, &other),
            Err(QuorumError::WrongBlock { .. })
        ));
        let (set5, _) = set_of(5);
        assert!(matches!(
            qc.verify(&set5, &h),
            Err(QuorumError::WrongRelaySet { .. })
        ));
    }

    fn full_qc(keys: &[RelayKey], h: &BlockHeader) -> QuorumCertificate {
        QuorumCertificate {
            height: h.height,
            block_hash: h.hash(),
            signatures: keys
                .iter()
                .enumerate()
                .map(|(i, k)| k.vote(i as u16, h))
                .collect(),
        }
    }

    /// The strict check refuses what the counting one ignores: a bad signature, an unknown
    /// index, a repeated or out-of-order index, even with a quorum of good signatures left.
    #[test]
    fn strict_verification_ignores_nothing() {
        let (set, keys) = set_of(4);
        let h = header(&set);
        let qc = full_qc(&keys, &h);
        assert_eq!(qc.verify_strict(&set, &h), Ok(()));
        let mut three = qc.clone();
        three.signatures.remove(2);
        assert_eq!(three.verify_strict(&set, &h), Ok(()));
        let mut two = three.clone();
        two.signatures.remove(0);
        assert_eq!(
            two.verify_strict(&set, &h),
            Err(QuorumError::BelowQuorum {
                valid: 2,
                needed: 3
            })
        );
        let mut cases: Vec<(QuorumCertificate, QuorumError)> = Vec::new();
        let mut c = qc.clone();
        c.signatures[3].signature[10] ^= 1;
        cases.push((
            c,
            QuorumError::BadSignature {
                position: 3,
                relay: 3,
            },
        ));
        let mut c = qc.clone();
        c.signatures[3].relay = 2;
        cases.push((
            c,
            QuorumError::Unordered {
                position: 3,
                relay: 2,
                previous: 2,
            },
        ));
        let mut c = qc.clone();
        c.signatures.swap(0, 1);
        cases.push((
            c,
            QuorumError::Unordered {
                position: 1,
                relay: 0,
                previous: 1,
            },
        ));
        let mut c = qc.clone();
        c.signatures.push(RelaySignature {
            relay: 500,
            signature: [0; 64],
        });
        cases.push((
            c,
            QuorumError::UnknownRelay {
                position: 4,
                relay: 500,
                relays: 4,
            },
        ));
        for (c, e) in cases {
            // The counting check still finds a quorum in each: only the strict one refuses.
            assert_eq!(c.verify(&set, &h), Ok(()), "{e}");
            assert_eq!(c.verify_strict(&set, &h), Err(e));
        }
        let other = BlockHeader {
            log_end: 21,
            ..h.clone()
        };
        assert!(matches!(
            qc.verify_strict(&set, &other),
            Err(QuorumError::WrongBlock { .. })
        ));
        let (set5, _) = set_of(5);
        assert!(matches!(
            qc.verify_strict(&set5, &h),
            Err(QuorumError::WrongRelaySet { .. })
        ));
    }

    #[test]
    fn keys_persist_across_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ids: Vec<String> = vec!["beijing".into(), "tokyo".into()];
        let a = load_or_generate_keys(dir.path(), &ids).expect("first");
        let b = load_or_generate_keys(dir.path(), &ids).expect("second");
        assert_eq!(a[0].public_key(), b[0].public_key());
        assert_ne!(a[0].public_key(), a[1].public_key());
        std::fs::copy(dir.path().join("beijing.key"), dir.path().join("tokyo.key")).expect("copy");
        let refused = load_or_generate_keys(dir.path(), &ids).map(|_| ());
        assert!(
            matches!(&refused, Err(KeyError::Duplicate { first, second })
                if first.ends_with("beijing.key") && second.ends_with("tokyo.key")),
            "a copied key file was not refused: {refused:?}"
        );
        std::fs::write(dir.path().join("tokyo.key"), "nothex").expect("write");
        assert!(matches!(
            load_or_generate_keys(dir.path(), &ids),
            Err(KeyError::Malformed { .. })
        ));
    }
}
