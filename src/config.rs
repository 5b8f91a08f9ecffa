//! Configuration: `hub.toml`, `cities.toml` and `chains/*.toml` under one config directory,
//! read with `deny_unknown_fields`, then checked once by [`Config::validate`] before anything
//! starts. Errors name the file, the key and the reason.

use crate::http::{configured_hash, TenantsFile};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why the configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A file could not be read.
    // Not `source`: as the error's source, `{:#}` would print the reason twice.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
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
    /// A `MERIDIAN_*` environment variable is not a hub.toml override, or its value is not
    /// acceptable.
    #[error("{var}: {reason}")]
    Env {
        /// The variable's name (lossily decoded when it is not UTF-8).
        var: String,
        /// Why.
        reason: String,
    },
    /// tenants.toml could not be read or parsed (the message names the file).
    #[error("{0}")]
    Tenants(String),
}

/// `[hub]` of hub.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSection {
    /// HTTP listen address.
    pub listen: String,
    /// Data directory (relative paths are relative to the working directory).
    pub data_dir: PathBuf,
    /// Status changes each event-stream reader may have queued; a reader further behind is
    /// caught up from the state's history of changes instead.
    #[serde(default = "default_events_queue")]
    pub events_queue: usize,
    /// Event streams (`GET /v1/events`, the status page's included) open at once; beyond it a
    /// new one gets a 503. Lowered at start-up to what the open-file limit leaves room for.
    #[serde(default = "default_max_event_streams")]
    pub max_event_streams: usize,
    /// Event streams one client address may hold open at once (429 beyond; behind a proxy
    /// every client has the proxy's address).
    #[serde(default = "default_max_event_streams_per_address")]
    pub max_event_streams_per_address: usize,
    /// `POST /v1/dev/lock` and `/v1/dev/lock-batch`: any tenant makes locks on the source
    /// chains (on a chain with a node, real transactions from its configured `sender`). Off
    /// unless set: the shipped demo configuration sets it for `meridian send`.
    #[serde(default)]
    pub dev_routes: bool,
}

/// The default `hub.max_event_streams`.
pub const fn default_max_event_streams() -> usize {
    10_000
}

/// The default `hub.max_event_streams_per_address`.
pub const fn default_max_event_streams_per_address() -> usize {
    256
}

/// Largest `hub.max_event_streams` (each stream holds a connection, so an open file).
pub const MAX_EVENT_STREAMS: usize = 1 << 20;

/// The default `hub.events_queue`.
pub const fn default_events_queue() -> usize {
    65_536
}

/// Largest `hub.events_queue`: the queue's slots are allocated when the hub starts.
pub const MAX_EVENTS_QUEUE: usize = 1 << 20;

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

/// Largest `log.queue_capacity`: the queue's slots are allocated when the log opens.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;
/// Longest delivery timeout a transfer may ask for (7 days), and the longest
/// `router.default_timeout_secs`.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;
/// Largest `refchain.seal_interval_ms` (10 minutes): transfers are final only once sealed.
pub const MAX_SEAL_INTERVAL_MS: u64 = 600_000;
/// Largest `log.max_batch_entries`.
pub const MAX_BATCH_ENTRIES: usize = 1 << 20;

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
/// `meridian serve`, except an `ethereum` chain with `rpc_url`, which is a real node).
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
    /// Ethereum over JSON-RPC: the node's URL (`http://…`). Absent: the built-in mock chain.
    /// The node is trusted for finality (a dev or permissioned node the operator runs).
    pub rpc_url: Option<String>,
    /// With `rpc_url`: the bridge contract's address (`0x` + 40 hex digits).
    pub bridge: Option<String>,
    /// With `rpc_url`: the EIP-155 chain id the bridge reports in `Lock` events.
    pub eip155_chain_id: Option<u64>,
    /// With `rpc_url`: blocks the node must have on top of an event's block (default 2).
    pub confirmations: Option<u64>,
    /// With `rpc_url`: the account (unlocked on the node, the bridge's owner) releases and
    /// dev locks are sent from.
    pub sender: Option<String>,
    /// With `rpc_url`: keccak256 of the genesis header (`0x` + 64 hex digits); absent: the
    /// node's block 0.
    pub genesis_hash: Option<String>,
    /// With `rpc_url`: timeout of each JSON-RPC call and of waiting for a transaction, in ms
    /// (default 10000).
    pub rpc_timeout_ms: Option<u64>,
}

impl Default for ChainConfig {
    /// An empty mock chain entry with the file defaults (tests fill in id, family, city).
    fn default() -> Self {
        ChainConfig {
            id: String::new(),
            family: "mock".into(),
            home_city: String::new(),
            validators: default_validators(),
            block_interval_ms: default_block_interval(),
            rpc_url: None,
            bridge: None,
            eip155_chain_id: None,
            confirmations: None,
            sender: None,
            genesis_hash: None,
            rpc_timeout_ms: None,
        }
    }
}

/// Default `confirmations` of an RPC-backed Ethereum chain.
pub const DEFAULT_RPC_CONFIRMATIONS: u64 = 2;
/// Default `rpc_timeout_ms`.
pub const DEFAULT_RPC_TIMEOUT_MS: u64 = 10_000;

fn hex_fixed<const N: usize>(key: &str, value: &str) -> Result<[u8; N], (String, String)> {
    let bad = || {
        (
            key.to_string(),
            format!("{value:?} is not 0x followed by {} hex digits", 2 * N),
        )
    };
    let digits = value.strip_prefix("0x").ok_or_else(bad)?;
    if digits.len() != 2 * N {
        return Err(bad());
    }
    hex::decode(digits)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)
}

impl ChainConfig {
    /// The node settings of an `ethereum` chain with `rpc_url` (`None`: a built-in mock chain);
    /// `Err((key, reason))` when they are incomplete or malformed.
    pub fn ethereum_rpc(
        &self,
    ) -> Result<Option<meridian_adapters::ethereum::RpcChainConfig>, (String, String)> {
        let rpc_only = [
            ("bridge", self.bridge.is_some()),
            ("eip155_chain_id", self.eip155_chain_id.is_some()),
            ("confirmations", self.confirmations.is_some()),
            ("sender", self.sender.is_some()),
            ("genesis_hash", self.genesis_hash.is_some()),
            ("rpc_timeout_ms", self.rpc_timeout_ms.is_some()),
        ];
        let Some(url) = &self.rpc_url else {
            if let Some((key, _)) = rpc_only.iter().find(|(_, set)| *set) {
                return Err((
                    key.to_string(),
                    "only for a chain with rpc_url (an Ethereum node)".into(),
                ));
            }
            return Ok(None);
        };
        if self.family != "ethereum" {
            return Err((
                "rpc_url".into(),
                format!(
                    "only the ethereum family connects to a node, not {:?}",
                    self.family
                ),
            ));
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(("rpc_url".into(), format!("{url:?} is not an http(s) URL")));
        }
        let required = |key: &str, v: &Option<String>| {
            v.clone()
                .ok_or_else(|| (key.to_string(), "required with rpc_url".to_string()))
        };
        let bridge = hex_fixed::<20>("bridge", &required("bridge", &self.bridge)?)?;
        let sender = hex_fixed::<20>("sender", &required("sender", &self.sender)?)?;
        let eip155_chain_id = self.eip155_chain_id.ok_or_else(|| {
            (
                "eip155_chain_id".to_string(),
                "required with rpc_url".to_string(),
            )
        })?;
        let genesis_hash = self
            .genesis_hash
            .as_deref()
            .map(|g| hex_fixed::<32>("genesis_hash", g))
            .transpose()?;
        let timeout_ms = self.rpc_timeout_ms.unwrap_or(DEFAULT_RPC_TIMEOUT_MS);
        if timeout_ms == 0 {
            return Err(("rpc_timeout_ms".into(), "must be positive".into()));
        }
        Ok(Some(meridian_adapters::ethereum::RpcChainConfig {
            chain_id: self.id.clone(),
            rpc_url: url.clone(),
            eip155_chain_id,
            bridge,
            sender,
            confirmations: self.confirmations.unwrap_or(DEFAULT_RPC_CONFIRMATIONS),
            genesis_hash,
            timeout: std::time::Duration::from_millis(timeout_ms),
        }))
    }
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
    std::fs::read_to_string(path).map_err(|error| ConfigError::Io {
        path: path.to_path_buf(),
        error,
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
        Self::load_with_env(dir, std::env::vars_os())
    }

    /// [`Config::load`] with the environment given as `vars`.
    pub fn load_with_env(
        dir: &Path,
        vars: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<Self, ConfigError> {
        let hub_path = dir.join("hub.toml");
        let mut hub_value: toml::Table = parse(&hub_path, &read(&hub_path)?)?;
        let overrides = apply_env_overrides(&mut hub_value, vars)?;
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
            Err(error) => {
                return Err(ConfigError::Io {
                    path: chains_dir,
                    error,
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
        cfg.validate(&hub_path, &overrides, &cities_path, &chains)?;
        Ok(cfg)
    }

    /// `overrides`: the hub.toml keys set from the environment, with the variable that set each.
    fn validate(
        &self,
        hub_path: &Path,
        overrides: &Overrides,
        cities_path: &Path,
        chains: &[(PathBuf, ChainConfig)],
    ) -> Result<(), ConfigError> {
        let bad = |path: &Path, key: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            reason,
        };
        // A hub.toml value that came from the environment is blamed on its variable.
        let bad_hub = |key: &str, reason: String| match overrides.get(key) {
            Some(var) => ConfigError::Env {
                var: var.clone(),
                reason,
            },
            None => bad(hub_path, key, reason),
        };
        let h = &self.hub;
        if h.hub.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(bad_hub(
                "hub.listen",
                format!("{:?} is not IP:PORT", h.hub.listen),
            ));
        }
        if h.hub.data_dir.as_os_str().is_empty() {
            return Err(bad_hub(
                "hub.data_dir",
                "must not be empty (the hub would write its log into the working directory)".into(),
            ));
        }
        if h.log.backend != "redb" {
            return Err(bad_hub(
                "log.backend",
                format!("{:?}: only \"redb\" is available", h.log.backend),
            ));
        }
        for (key, value, max) in [
            (
                "log.max_batch_entries",
                h.log.max_batch_entries,
                MAX_BATCH_ENTRIES,
            ),
            (
                "log.queue_capacity",
                h.log.queue_capacity,
                MAX_QUEUE_CAPACITY,
            ),
            ("hub.events_queue", h.hub.events_queue, MAX_EVENTS_QUEUE),
            (
                "hub.max_event_streams",
                h.hub.max_event_streams,
                MAX_EVENT_STREAMS,
            ),
            (
                "hub.max_event_streams_per_address",
                h.hub.max_event_streams_per_address,
                h.hub.max_event_streams,
            ),
        ] {
            if value == 0 || value > max {
                return Err(bad_hub(key, format!("{value}: must be 1..={max}")));
            }
        }
        for (key, value, max) in [
            (
                "refchain.seal_interval_ms",
                h.refchain.seal_interval_ms,
                MAX_SEAL_INTERVAL_MS,
            ),
            (
                "router.default_timeout_secs",
                h.router.default_timeout_secs,
                MAX_TIMEOUT_SECS,
            ),
        ] {
            if value == 0 || value > max {
                return Err(bad_hub(key, format!("{value}: must be 1..={max}")));
            }
        }
        for (key, value) in [
            ("refchain.seal_max_entries", h.refchain.seal_max_entries),
            ("router.route_rate_per_sec", h.router.route_rate_per_sec),
            ("router.route_burst", h.router.route_burst),
        ] {
            if value == 0 {
                return Err(bad_hub(key, "must be positive".into()));
            }
        }
        if self.cities.is_empty() || self.cities.len() > usize::from(u16::MAX) {
            return Err(bad(
                cities_path,
                "city",
                format!("{} cities; need 1..=65535", self.cities.len()),
            ));
        }
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
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
            if c.name.trim().is_empty() || c.name.chars().any(char::is_control) {
                return Err(bad(
                    cities_path,
                    &format!("{key}.name"),
                    format!("{:?}: a city needs a printable name", c.name),
                ));
            }
            // Two cities may share a name (Taizhou in Zhejiang and in Jiangsu), not a region.
            if !names.insert((c.name.as_str(), c.region.as_str(), c.country.as_str())) {
                return Err(bad(
                    cities_path,
                    &format!("{key}.name"),
                    format!(
                        "{:?} in {:?}, {:?} is named twice",
                        c.name, c.region, c.country
                    ),
                ));
            }
            if c.country.len() != 2 || !c.country.chars().all(|ch| ch.is_ascii_uppercase()) {
                return Err(bad(
                    cities_path,
                    &format!("{key}.country"),
                    format!(
                        "{:?}: an ISO 3166-1 alpha-2 code (two capital letters)",
                        c.country
                    ),
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
            if let Err(reason) = check_chain_id(&c.id) {
                return Err(bad(path, "id", reason));
            }
            if !chain_ids.insert(c.id.as_str()) {
                return Err(bad(path, "id", format!("{:?} is used twice", c.id)));
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
            if let Err((key, reason)) = c.ethereum_rpc() {
                return Err(bad(path, &key, reason));
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

/// Longest chain id (it names files and URL path segments).
pub const MAX_CHAIN_ID_LEN: usize = 64;

/// A chain id is a plain name: 1 to [`MAX_CHAIN_ID_LEN`] of `A-Z a-z 0-9 . _ -`, not starting
/// with `.` (it names the chain's journal file under the data directory, and URL segments).
pub fn check_chain_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_CHAIN_ID_LEN {
        return Err(format!(
            "{id:?}: must be 1 to {MAX_CHAIN_ID_LEN} characters"
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!("{id:?}: use only A-Z, a-z, 0-9, '.', '_' and '-'"));
    }
    if id.starts_with('.') {
        return Err(format!("{id:?}: must not start with '.'"));
    }
    Ok(())
}

/// The environment variables named `MERIDIAN_*` that are not hub.toml overrides.
const NOT_OVERRIDES: &[&str] = &["MERIDIAN_API_KEY"];

/// What a hub.toml key takes from its environment variable.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// Taken as it is.
    Text,
    /// A whole number, 0 or more.
    Count,
    /// `true` or `false`.
    Bool,
}

/// Every key of hub.toml, by section: what `MERIDIAN_<SECTION>_<KEY>` may override.
const HUB_KEYS: &[(&str, &str, Kind)] = &[
    ("hub", "listen", Kind::Text),
    ("hub", "data_dir", Kind::Text),
    ("hub", "events_queue", Kind::Count),
    ("hub", "max_event_streams", Kind::Count),
    ("hub", "max_event_streams_per_address", Kind::Count),
    ("hub", "dev_routes", Kind::Bool),
    ("log", "backend", Kind::Text),
    ("log", "max_batch_entries", Kind::Count),
    ("log", "queue_capacity", Kind::Count),
    ("refchain", "seal_interval_ms", Kind::Count),
    ("refchain", "seal_max_entries", Kind::Count),
    ("router", "default_timeout_secs", Kind::Count),
    ("router", "route_rate_per_sec", Kind::Count),
    ("router", "route_burst", Kind::Count),
];

/// The hub.toml keys (`section.key`) set from the environment, with the variable that set each.
pub type Overrides = BTreeMap<String, String>;

/// Apply `MERIDIAN_<SECTION>_<KEY>=value` overrides to hub.toml's `table`: a text key takes the
/// value as it is, a numeric one a whole number. Variables not named `MERIDIAN_*` are none of
/// ours and are skipped (also when not UTF-8); a `MERIDIAN_*` one that is not UTF-8, names no
/// hub.toml key or has a malformed value is an error naming it.
pub fn apply_env_overrides(
    table: &mut toml::Table,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Overrides, ConfigError> {
    let by_var: HashMap<String, (&str, &str, Kind)> = HUB_KEYS
        .iter()
        .map(|&(section, key, kind)| {
            (
                format!("MERIDIAN_{section}_{key}").to_ascii_uppercase(),
                (section, key, kind),
            )
        })
        .collect();
    let mut applied = Overrides::new();
    for (name, value) in vars {
        if !name.as_encoded_bytes().starts_with(b"MERIDIAN_") {
            continue;
        }
        let env_err = |reason: String| ConfigError::Env {
            var: name.to_string_lossy().into_owned(),
            reason,
        };
        let Some(var) = name.to_str() else {
            return Err(env_err("the variable's name is not UTF-8".into()));
        };
        if NOT_OVERRIDES.contains(&var) {
            continue;
        }
        let Some(&(section, key, kind)) = by_var.get(var) else {
            return Err(env_err(format!(
                "not a hub.toml key (MERIDIAN_<SECTION>_<KEY>, one of: {})",
                HUB_KEYS
                    .iter()
                    .map(|(s, k, _)| format!("{s}.{k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let Some(text) = value.to_str() else {
            return Err(env_err("the value is not UTF-8".into()));
        };
        let value = match kind {
            Kind::Text => toml::Value::String(text.to_string()),
            Kind::Bool => match text.trim() {
                "true" => toml::Value::Boolean(true),
                "false" => toml::Value::Boolean(false),
                _ => return Err(env_err(format!("{text:?} is not true or false"))),
            },
            Kind::Count => match text.trim().parse::<i64>() {
                Ok(n) if n >= 0 => toml::Value::Integer(n),
                _ => {
                    return Err(env_err(format!(
                        "{text:?} is not a whole number (0 to {})",
                        i64::MAX
                    )))
                }
            },
        };
        match table.get_mut(section) {
            Some(toml::Value::Table(t)) => {
                t.insert(key.to_string(), value);
            }
            _ => {
                let mut t = toml::Table::new();
                t.insert(key.to_string(), value);
                table.insert(section.to_string(), toml::Value::Table(t));
            }
        }
        applied.insert(format!("{section}.{key}"), var.to_string());
    }
    Ok(applied)
}

/// Load `dir/tenants.toml` as `serve` uses it, refusing what [`TenantsFile::load`] lets
/// through (see [`check_tenants`]).
pub fn load_tenants(dir: &Path) -> Result<TenantsFile, ConfigError> {
    let tenants = TenantsFile::load(dir).map_err(ConfigError::Tenants)?;
    check_tenants(&dir.join("tenants.toml"), &tenants)?;
    Ok(tenants)
}

/// Check tenants.toml (`path`, for the messages): the admin key hash is 64 hex digits, no two
/// tenants share an id or a key hash, and no tenant has the admin's key hash. (The API keys
/// tenants by key hash, so of two with one hash the last silently replaced the other, and the
/// admin's hash shadows a tenant's; two with one id share its rate limit and its transfers.)
pub fn check_tenants(path: &Path, t: &TenantsFile) -> Result<(), ConfigError> {
    let bad = |key: String, reason: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key,
        reason,
    };
    let admin = match &t.admin_key_sha256 {
        Some(h) => Some(configured_hash(h).ok_or_else(|| {
            bad(
                "admin_key_sha256".into(),
                format!("{h:?} is not 64 hex digits (the key's SHA-256, without 0x)"),
            )
        })?),
        None => None,
    };
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut hashes: HashMap<[u8; 32], (usize, &str)> = HashMap::new();
    for (i, tenant) in t.tenants.iter().enumerate() {
        // The empty tenant is the operator's (and in-process callers') in the hub: a tenant
        // named so would see every tenant's transfers.
        if tenant.id.trim().is_empty() {
            return Err(bad(
                format!("tenant[{i}].id"),
                "a tenant id must not be empty (the empty id stands for the operator)".into(),
            ));
        }
        for (key, value) in [
            ("rate_per_sec", tenant.rate_per_sec),
            ("burst", tenant.burst),
        ] {
            if value == 0 {
                return Err(bad(
                    format!("tenant[{i}].{key}"),
                    format!("tenant {:?}: must be positive", tenant.id),
                ));
            }
        }
        if let Some(j) = ids.insert(tenant.id.as_str(), i) {
            return Err(bad(
                format!("tenant[{i}].id"),
                format!("{:?} is also tenant[{j}]'s id", tenant.id),
            ));
        }
        let hash = configured_hash(&tenant.key_sha256).ok_or_else(|| {
            bad(
                format!("tenant[{i}].key_sha256"),
                format!(
                    "tenant {:?}: {:?} is not 64 hex digits",
                    tenant.id, tenant.key_sha256
                ),
            )
        })?;
        if admin == Some(hash) {
            return Err(bad(
                format!("tenant[{i}].key_sha256"),
                format!(
                    "tenant {:?} has the admin's key (admin_key_sha256): its key would be the operator's",
                    tenant.id
                ),
            ));
        }
        if let Some((j, other)) = hashes.insert(hash, (i, tenant.id.as_str())) {
            return Err(bad(
                format!("tenant[{i}].key_sha256"),
                format!(
                    "tenant {:?} has the same key hash as tenant[{j}] {other:?}",
                    tenant.id
                ),
            ));
        }
    }
    Ok(())
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

    fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        vars.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn env_overrides_apply_typed_values() {
        let mut t: toml::Table = "[refchain]\nseal_interval_ms = 500\n[hub]\nlisten = \"x\""
            .parse()
            .expect("toml");
        let applied = apply_env_overrides(
            &mut t,
            env(&[
                ("MERIDIAN_REFCHAIN_SEAL_INTERVAL_MS", "250"),
                ("MERIDIAN_HUB_LISTEN", "127.0.0.1:9"),
                ("MERIDIAN_API_KEY", "not an override"),
                ("OTHER", "1"),
            ]),
        )
        .expect("overrides");
        assert_eq!(t["refchain"]["seal_interval_ms"].as_integer(), Some(250));
        assert_eq!(t["hub"]["listen"].as_str(), Some("127.0.0.1:9"));
        assert_eq!(
            applied.get("hub.listen").map(String::as_str),
            Some("MERIDIAN_HUB_LISTEN")
        );
        assert_eq!(applied.len(), 2);
    }

    /// Every key of the shipped hub.toml can be overridden, and only those.
    #[test]
    fn every_hub_toml_key_has_its_variable() {
        let t: toml::Table = parse(
            &repo_config().join("hub.toml"),
            &read(&repo_config().join("hub.toml")).expect("read"),
        )
        .expect("parse");
        let mut in_file: Vec<String> = t
            .iter()
            .flat_map(|(s, v)| {
                v.as_table()
                    .into_iter()
                    .flat_map(|t| t.keys())
                    .map(move |k| format!("{s}.{k}"))
            })
            .collect();
        let mut listed: Vec<String> = HUB_KEYS
            .iter()
            .map(|(s, k, _)| format!("{s}.{k}"))
            .collect();
        in_file.sort();
        listed.sort();
        assert_eq!(in_file, listed);
    }

    #[cfg(unix)]
    #[test]
    fn env_overrides_name_the_variable() {
        use std::os::unix::ffi::OsStringExt;
        let load = |vars: Vec<(OsString, OsString)>| Config::load_with_env(&repo_config(), vars);
        let junk = OsString::from_vec(b"\xff\xfe".to_vec());
        // Not ours: skipped, whatever the bytes.
        load(vec![
            (junk.clone(), OsString::from("1")),
            (OsString::from("PATHISH"), junk.clone()),
        ])
        .expect("foreign variables are skipped");
        for (vars, var, needle) in [
            (
                vec![(OsString::from("MERIDIAN_HUB_LISTEN"), junk.clone())],
                "MERIDIAN_HUB_LISTEN",
                "not UTF-8",
            ),
            (
                vec![(
                    OsString::from_vec(b"MERIDIAN_\xff".to_vec()),
                    OsString::from("1"),
                )],
                "MERIDIAN_",
                "not UTF-8",
            ),
            (
                env(&[("MERIDIAN_HUB_LISTEN", "bogus")]),
                "MERIDIAN_HUB_LISTEN",
                "\"bogus\" is not IP:PORT",
            ),
            (
                env(&[("MERIDIAN_LOG_QUEUE_CAPACITY", "-1")]),
                "MERIDIAN_LOG_QUEUE_CAPACITY",
                "whole number",
            ),
            (
                env(&[("MERIDIAN_LOG_QUEUE_CAPACITY", "9223372036854775807")]),
                "MERIDIAN_LOG_QUEUE_CAPACITY",
                "1..=",
            ),
            (
                env(&[("MERIDIAN_HUB_MAX_EVENT_STREAMS", "0")]),
                "MERIDIAN_HUB_MAX_EVENT_STREAMS",
                "1..=",
            ),
            (
                env(&[
                    ("MERIDIAN_HUB_MAX_EVENT_STREAMS", "3"),
                    ("MERIDIAN_HUB_MAX_EVENT_STREAMS_PER_ADDRESS", "5"),
                ]),
                "MERIDIAN_HUB_MAX_EVENT_STREAMS_PER_ADDRESS",
                "must be 1..=3",
            ),
            (
                env(&[("MERIDIAN_HUB_DEV_ROUTES", "yes")]),
                "MERIDIAN_HUB_DEV_ROUTES",
                "not true or false",
            ),
            (
                env(&[("MERIDIAN_ROUTER_ROUTE_BURST", "0")]),
                "MERIDIAN_ROUTER_ROUTE_BURST",
                "positive",
            ),
            (
                env(&[("MERIDIAN_LOG_BAKCEND", "redb")]),
                "MERIDIAN_LOG_BAKCEND",
                "not a hub.toml key",
            ),
        ] {
            let e = load(vars).expect_err(var);
            assert!(matches!(e, ConfigError::Env { .. }), "{var}: {e:?}");
            if let ConfigError::Env { var: v, reason } = e {
                assert!(v.starts_with(var), "{v}");
                assert!(reason.contains(needle), "{v}: {reason}");
            }
        }
        let c = load(env(&[("MERIDIAN_HUB_DEV_ROUTES", "false")])).expect("valid override");
        assert!(!c.hub.hub.dev_routes);
        let c = load(env(&[("MERIDIAN_LOG_QUEUE_CAPACITY", "1024")])).expect("valid override");
        assert_eq!(c.hub.log.queue_capacity, 1024);
    }

    #[test]
    fn chain_ids_are_plain_names() {
        for good in ["a", "mock-a", "Eth_1.main", &"x".repeat(64)] {
            assert_eq!(check_chain_id(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../../escaped",
            ".hidden",
            "a/b",
            "a\\b",
            "a b",
            "é",
            "a\0",
            &"x".repeat(65),
        ] {
            assert!(check_chain_id(bad).is_err(), "{bad:?}");
        }
    }

    fn tenants(text: &str) -> Result<(), ConfigError> {
        let t: TenantsFile = toml::from_str(text).expect("toml");
        check_tenants(Path::new("tenants.toml"), &t)
    }

    #[test]
    fn tenants_are_checked() {
        let (a, b) = ("aa".repeat(32), "bb".repeat(32));
        let tenant =
            |id: &str, h: &str| format!("[[tenant]]\nid = \"{id}\"\nkey_sha256 = \"{h}\"\n");
        let ok = format!("admin_key_sha256 = \"{a}\"\n{}", tenant("x", &b));
        assert!(tenants(&ok).is_ok());
        assert!(tenants(&tenant("x", &b)).is_ok(), "no admin key is fine");
        for (text, key) in [
            (
                "admin_key_sha256 = \"not-a-hash\"\n".to_string(),
                "admin_key_sha256",
            ),
            (
                format!("admin_key_sha256 = \"0x{a}\"\n"),
                "admin_key_sha256",
            ),
            (
                format!("admin_key_sha256 = \"{}\"\n", &a[2..]),
                "admin_key_sha256",
            ),
            (
                format!("{}{}", tenant("x", &a), tenant("x", &b)),
                "tenant[1].id",
            ),
            (
                format!("{}{}", tenant("x", &a), tenant("y", &a.to_uppercase())),
                "tenant[1].key_sha256",
            ),
            (
                format!("admin_key_sha256 = \"{a}\"\n{}", tenant("x", &a)),
                "tenant[0].key_sha256",
            ),
        ] {
            let e = tenants(&text).expect_err(&text);
            assert!(matches!(e, ConfigError::Invalid { .. }), "{text}: {e:?}");
            if let ConfigError::Invalid { path, key: k, .. } = e {
                assert_eq!(k, key, "{text}");
                assert_eq!(path, Path::new("tenants.toml"));
            }
        }
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

    #[test]
    fn ethereum_node_keys_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in ["hub.toml", "cities.toml"] {
            std::fs::copy(repo_config().join(f), dir.path().join(f)).expect("copy");
        }
        std::fs::create_dir(dir.path().join("chains")).expect("mkdir");
        let base = "id = \"g\"\nhome_city = \"beijing\"\n";
        let good = "family = \"ethereum\"\nrpc_url = \"http://127.0.0.1:8545\"\n\
                    bridge = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"\n\
                    sender = \"0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1\"\n\
                    eip155_chain_id = 1337\n";
        let write = |extra: &str| {
            std::fs::write(dir.path().join("chains/g.toml"), format!("{base}{extra}"))
                .expect("write");
            Config::load(dir.path())
        };
        let c = write(good).expect("valid");
        let rpc = c.chains[0]
            .ethereum_rpc()
            .expect("valid")
            .expect("an RPC chain");
        assert_eq!(rpc.confirmations, DEFAULT_RPC_CONFIRMATIONS);
        assert_eq!(rpc.eip155_chain_id, 1337);
        assert_eq!(rpc.genesis_hash, None);
        assert_eq!(
            hex::encode(rpc.bridge),
            "5fbdb2315678afecb367f032d93f642f64180aa3"
        );
        for (extra, key) in [
            (
                good.replace("family = \"ethereum\"", "family = \"mock\""),
                "rpc_url",
            ),
            (good.replace("http://", "ftp://"), "rpc_url"),
            (
                good.replace("0x5fbdb2315678afecb367f032d93f642f64180aa3", "0x12"),
                "bridge",
            ),
            (
                good.replace("eip155_chain_id = 1337\n", ""),
                "eip155_chain_id",
            ),
            (format!("{good}genesis_hash = \"0xzz\"\n"), "genesis_hash"),
            (format!("{good}rpc_timeout_ms = 0\n"), "rpc_timeout_ms"),
            (
                "family = \"ethereum\"\nconfirmations = 3\n".to_string(),
                "confirmations",
            ),
        ] {
            let e = write(&extra).expect_err(key).to_string();
            assert!(e.contains("g.toml") && e.contains(key), "{key}: {e}");
        }
    }
}
