//! ganache (the version pinned in `tests/ganache/`) on a free loopback port, for the tests that
//! need a real Ethereum node. Without the binary a test is skipped, unless `CI` is set, in which
//! case it fails (`.ci/run` installs it).

use meridian_adapters::ethereum::rpc::Rpc;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The EIP-155 chain id ganache is started with.
pub const CHAIN_ID: u64 = 1337;

/// A running node; killed (and reaped) when dropped, so it never outlives the test.
pub struct Ganache {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `web3_clientVersion`.
    pub version: String,
}

impl Drop for Ganache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `npm ci --prefix tests/ganache` puts the binary.
pub fn bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ganache/node_modules/.bin/ganache")
}

/// The binary, or `None` after printing that the test is skipped (failing under `CI`).
pub fn bin_or_skip() -> Option<PathBuf> {
    let bin = bin();
    if bin.exists() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} not found: CI must install it (npm ci --prefix tests/ganache, see .ci/run)",
        bin.display()
    );
    eprintln!(
        "skipping ganache: {} not found (run `npm ci --prefix tests/ganache`)",
        bin.display()
    );
    None
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Start ganache (deterministic wallet, instant mining) logging into `dir`, and wait until it
/// answers.
pub fn start(bin: &Path, dir: &Path) -> Ganache {
    let log_path = dir.join("ganache.log");
    let log = std::fs::File::create(&log_path).expect("ganache log file");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(bin)
        .args(["--server.host", "127.0.0.1", "--server.port"])
        .arg(port.to_string())
        .args(["--chain.chainId", &CHAIN_ID.to_string()])
        .args(["--wallet.deterministic", "--logging.quiet"])
        .args(["--miner.instamine", "eager"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("ganache log handle"))
        .stderr(log)
        .spawn()
        .expect("start ganache");
    let mut node = Ganache {
        child,
        url: format!("http://127.0.0.1:{port}"),
        version: String::new(),
    };
    let rpc = Rpc::new(&node.url, Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(v) = rpc.call("web3_clientVersion", json!([])) {
            node.version = v.as_str().unwrap_or_default().to_string();
            return node;
        }
        if let Some(status) = node.child.try_wait().expect("poll ganache") {
            panic!(
                "ganache exited ({status}) before answering:\n{}",
                log_tail(&log_path)
            );
        }
        assert!(
            Instant::now() < deadline,
            "ganache did not answer within 60 s:\n{}",
            log_tail(&log_path)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
