//! Configuration: `hub.toml`, `cities.toml` and `chains/*.toml` under one config directory,
//! read with `deny_unknown_fields`, then checked once by [`Config::validate`] before anything
//! starts. Errors name the file, the key and the reason.

use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why the configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file is not valid TOML for its schema (the message names the key).
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, naming the key and position.
        reason: String,
    },
    /// A value is well-typed but not acceptable.
    #[error("{path}: `{key}`: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
}

/// `[hub]` of hub.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSection {
    /// HTTP listen address.
    pub listen: String,
    /// Data directory (relative paths are relative to the working directory).
    pub data_dir: PathBuf,
}

/// `[log]` of hub.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSection {
    /// Backend: "redb".
    pub backend: String,
    /// Most entries in one group commit.
    pub max_batch_entries: usize,
    /// Bounded queue of appends waiting for the writer.
    pub queue_capacity: usize,
}

/// `[refchain]` of hub.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefchainSection {
    /// Seal at least this often when entries wait, in ms.
    pub seal_interval_ms: u64,
    /// Seal as soon as this many entries wait.
    pub seal_max_entries: u64,
}

/// `[router]` of hub.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    /// Default delivery timeout in seconds.
    pub default_timeout_secs: u64,
    /// Token-bucket refill per route, messages per second.
    pub route_rate_per_sec: u64,
    /// Token-bucket size per route.
    pub route_burst: u64,
}

/// hub.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubFile {
    /// `[hub]`.
    pub hub: HubSection,
    /// `[log]`.
    pub log: LogSection,
    /// `[refchain]`.
    pub refchain: RefchainSection,
    /// `[router]`.
    pub router: RouterSection,
}

/// One city of cities.toml.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct City {
    /// Stable id (key file name, API id).
    pub id: String,
    /// English name.
    pub name: String,
    /// Name in the local script.
    pub local_name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Province, state or region.
    pub region: String,
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CitiesFile {
    city: Vec<City>,
}

/// Chain families `config/chains/*.toml` may name (each runs as its built-in mock chain in
/// `meridian serve` until real nodes are configured).
pub const FAMILIES: &[&str] = &[
    "mock", "ethereum", "fisco", "chainsql", "eos", "xuper", "fabric",
];

/// One chain of chains/*.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Chain id, unique.
    pub id: String,
    /// Family: "mock" today.
    pub family: String,
    /// City id the chain is homed at.
    pub home_city: String,
    /// Mock chains: number of validators.
    #[serde(default = "default_validators")]
    pub validators: usize,
    /// Mock chains: block interval.
    #[serde(default = "default_block_interval")]
    pub block_interval_ms: u64,
}

fn default_validators() -> usize {
    4
}

fn default_block_interval() -> u64 {
    200
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory it was read from.
    pub dir: PathBuf,
    /// hub.toml.
    pub hub: HubFile,
    /// cities.toml, in file order (relay index = position).
    pub cities: Vec<City>,
    /// chains/*.toml, sorted by file name.
    pub chains: Vec<ChainConfig>,
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string().trim().replace('\n', " "),
    })
}

impl Config {
    /// Read and validate the configuration in `dir`, applying `MERIDIAN_<SECTION>_<KEY>`
    /// environment overrides to hub.toml.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let hub_path = dir.join("hub.toml");
        let mut hub_value: toml::Table = parse(&hub_path, &read(&hub_path)?)?;
        apply_env_overrides(&mut hub_value, std::env::vars());
        let hub: HubFile =
            hub_value
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: hub_path.clone(),
                    reason: e.to_string().trim().replace('\n', " "),
                })?;
        let cities_path = dir.join("cities.toml");
        let cities: CitiesFile = parse(&cities_path, &read(&cities_path)?)?;
        let chains_dir = dir.join("chains");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&chains_dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: chains_dir,
                    source,
                })
            }
        };
        files.sort();
        let mut chains = Vec::new();
        for f in &files {
            let c: ChainConfig = parse(f, &read(f)?)?;
            chains.push((f.clone(), c));
        }
        let cfg = Config {
            dir: dir.to_path_buf(),
            hub,
            cities: cities.city,
            chains: chains.iter().map(|(_, c)| c.clone()).collect(),
        };
        cfg.validate(&hub_path, &cities_path, &chains)?;
        Ok(cfg)
    }

    fn validate(
        &self,
        hub_path: &Path,
        cities_path: &Path,
        chains: &[(PathBuf, ChainConfig)],
    ) -> Result<(), ConfigError> {
        let bad = |path: &Path, key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        let h = &self.hub;
        if h.hub.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(bad(
                hub_path,
                "hub.listen",
                format!("{:?} is not IP:PORT", h.hub.listen),
            ));
        }
        if h.log.backend != "redb" {
            return Err(bad(
                hub_path,
                "log.backend",
                format!("{:?}: only \"redb\" is available", h.log.backend),
            ));
        }
        if h.log.max_batch_entries == 0 || h.log.queue_capacity == 0 {
            return Err(bad(
                hub_path,
                "log.max_batch_entries/queue_capacity",
                "must be positive".into(),
            ));
        }
        if h.refchain.seal_interval_ms == 0 || h.refchain.seal_max_entries == 0 {
            return Err(bad(
                hub_path,
                "refchain.seal_interval_ms/seal_max_entries",
                "must be positive".into(),
            ));
        }
        if h.router.route_rate_per_sec == 0 || h.router.route_burst == 0 {
            return Err(bad(
                hub_path,
                "router.route_rate_per_sec/route_burst",
                "must be positive".into(),
            ));
        }
        if self.cities.is_empty() || self.cities.len() > usize::from(u16::MAX) {
            return Err(bad(
                cities_path,
                "city",
                format!("{} cities; need 1..=65535", self.cities.len()),
            ));
        }
        let mut ids = HashSet::new();
        for (i, c) in self.cities.iter().enumerate() {
            let key = format!("city[{i}]");
            if c.id.is_empty()
                || !c
                    .id
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
            {
                return Err(bad(
                    cities_path,
                    &format!("{key}.id"),
                    format!("{:?}: use a-z, 0-9 and -", c.id),
                ));
            }
            if !ids.insert(c.id.as_str()) {
                return Err(bad(
                    cities_path,
                    &format!("{key}.id"),
                    format!("duplicate id {:?}", c.id),
                ));
            }
            if !(-90.0..=90.0).contains(&c.lat) || !(-180.0..=180.0).contains(&c.lon) {
                return Err(bad(
                    cities_path,
                    &format!("{key}.lat/lon"),
                    "out of range".into(),
                ));
            }
        }
        let mut chain_ids = HashSet::new();
        for (path, c) in chains {
            if c.id.is_empty() || !chain_ids.insert(c.id.as_str()) {
                return Err(bad(
                    path,
                    "id",
                    format!("{:?} is empty or used twice", c.id),
                ));
            }
            if !FAMILIES.contains(&c.family.as_str()) {
                return Err(bad(
                    path,
                    "family",
                    format!(
                        "{:?}: available families: {}",
                        c.family,
                        FAMILIES.join(", ")
                    ),
                ));
            }
            if !ids.contains(c.home_city.as_str()) {
                return Err(bad(
                    path,
                    "home_city",
                    format!("{:?} is not in cities.toml", c.home_city),
                ));
            }
            if c.validators == 0 || c.validators > 1000 {
                return Err(bad(path, "validators", "must be 1..=1000".into()));
            }
        }
        Ok(())
    }

    /// Find the config directory: `--config`, else `config/` in the working directory, else
    /// `config/` beside the binary.
    pub fn locate(explicit: Option<&Path>) -> PathBuf {
        if let Some(p) = explicit {
            return p.to_path_buf();
        }
        let cwd = PathBuf::from("config");
        if cwd.join("hub.toml").is_file() {
            return cwd;
        }
        if let Ok(exe) = std::env::current_exe() {
            for dir in exe.ancestors().skip(1).take(4) {
                let c = dir.join("config");
                if c.join("hub.toml").is_file() {
                    return c;
                }
            }
        }
        cwd
    }
}

/// Apply `MERIDIAN_<SECTION>_<KEY>=value` overrides: the value is parsed as a TOML value when it
/// can be (numbers, booleans), else taken as a string.
pub fn apply_env_overrides(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) {
    for (k, v) in vars {
        let Some(rest) = k.strip_prefix("MERIDIAN_") else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        let sections: Vec<String> = table.keys().cloned().collect();
        for section in sections {
            let Some(key) = lower.strip_prefix(&format!("{section}_")) else {
                continue;
            };
            let value = format!("v = {v}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(v.clone()));
            if let Some(toml::Value::Table(t)) = table.get_mut(&section) {
                t.insert(key.to_string(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_config() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
    }

    #[test]
    fn shipped_config_is_valid_and_has_135_cities() {
        let c = Config::load(&repo_config()).expect("config loads");
        assert_eq!(c.cities.len(), 135);
        assert_eq!(c.cities.iter().filter(|c| c.country == "CN").count(), 128);
        for name in [
            "Tokyo",
            "California",
            "Sydney",
            "Singapore",
            "Paris",
            "São Paulo",
            "Johannesburg",
        ] {
            assert!(
                c.cities.iter().any(|c| c.name == name && c.country != "CN"),
                "{name}"
            );
        }
        assert!(!c.chains.is_empty());
    }

    #[test]
    fn env_overrides_apply_typed_values() {
        let mut t: toml::Table = "[refchain]\nseal_interval_ms = 500\n[hub]\nlisten = \"x\""
            .parse()
            .expect("toml");
        apply_env_overrides(
            &mut t,
            vec![
                (
                    "MERIDIAN_REFCHAIN_SEAL_INTERVAL_MS".to_string(),
                    "250".to_string(),
                ),
                ("MERIDIAN_HUB_LISTEN".to_string(), "127.0.0.1:9".to_string()),
                ("OTHER".to_string(), "1".to_string()),
            ]
            .into_iter(),
        );
        assert_eq!(t["refchain"]["seal_interval_ms"].as_integer(), Some(250));
        assert_eq!(t["hub"]["listen"].as_str(), Some("127.0.0.1:9"));
    }

    #[test]
    fn bad_files_name_file_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["hub.toml", "cities.toml"] {
            std::fs::copy(repo_config().join(f), dir.path().join(f)).expect("copy");
        }
        std::fs::create_dir(dir.path().join("chains")).expect("mkdir");
        std::fs::write(
            dir.path().join("chains/x.toml"),
            "id = \"x\"\nfamily = \"mock\"\nhome_city = \"atlantis\"\n",
        )
        .expect("write");
        let e = Config::load(dir.path()).expect_err("bad city").to_string();
        assert!(
            e.contains("x.toml") && e.contains("home_city") && e.contains("atlantis"),
            "{e}"
        );
        std::fs::write(
            dir.path().join("chains/x.toml"),
            "id = \"x\"\nfamilly = \"mock\"\n",
        )
        .expect("write");
        let e = Config::load(dir.path()).expect_err("typo").to_string();
        assert!(e.contains("x.toml") && e.contains("familly"), "{e}");
    }
}
