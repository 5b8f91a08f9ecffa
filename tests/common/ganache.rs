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

/// A JSON-RPC front of a node that refuses the dev methods (`evm_*`, as a production node
/// does: "method not found") and passes every other call through: the node as a hub sees a
/// real network, whose blocks come when they come, while the test still mines and reorganises
/// on the node behind it. Stops with the test process.
pub struct ProductionFront {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl ProductionFront {
    /// A front of the node at `node_url`.
    pub fn of(node_url: &str) -> ProductionFront {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the front's address")
        );
        let node = std::sync::Arc::new(Rpc::new(node_url, Duration::from_secs(30)));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let node = node.clone();
                std::thread::spawn(move || serve_front(conn, &node));
            }
        });
        ProductionFront { url }
    }
}

/// One keep-alive connection of the front: each request answered until the client closes.
fn serve_front(conn: std::net::TcpStream, node: &Rpc) {
    use meridian_adapters::ethereum::rpc::RpcError;
    use std::io::{BufRead, BufReader, Read, Write};
    let mut out = match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    };
    let mut reader = BufReader::new(conn);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let method = request["method"].as_str().unwrap_or_default();
        let id = request["id"].clone();
        let answer = if method.starts_with("evm_") {
            json!({"jsonrpc": "2.0", "id": id,
                   "error": {"code": -32601, "message": format!("the method {method} does not exist/is not available")}})
        } else {
            match node.call(method, request["params"].clone()) {
                Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                Err(RpcError::Node { code, message, .. }) => {
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
                }
                Err(e) => {
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": e.to_string()}})
                }
            }
        };
        let text = answer.to_string();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            text.len()
        );
        if out.write_all(head.as_bytes()).is_err() || out.write_all(text.as_bytes()).is_err() {
            return;
        }
    }
}
