//! A real `meridian serve` process on a free loopback port, for the black-box HTTP tests.

#![allow(dead_code, clippy::panic)]

pub mod ganache;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The demo tenant's key (config/tenants.toml).
pub const KEY: &str = "Bearer meridian-demo-key";
/// Another tenant's key.
pub const OTHER: &str = "Bearer meridian-demo-key-2";
/// The operator key.
pub const ADMIN: &str = "Bearer meridian-admin-key";

/// A running server; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    pub log: PathBuf,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Server {
    /// Start `meridian serve` on `data_dir` and wait until `/healthz` answers.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with_config(
            data_dir,
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        )
    }

    /// [`Server::start`] with another configuration directory.
    pub fn start_with_config(data_dir: &Path, config: &Path) -> Server {
        Self::start_with_env(data_dir, config, &[])
    }

    /// [`Server::start_with_config`] with these environment variables set (hub.toml overrides).
    pub fn start_with_env(data_dir: &Path, config: &Path, env: &[(&str, &str)]) -> Server {
        Self::spawn(
            Command::new(env!("CARGO_BIN_EXE_meridian")),
            data_dir,
            config,
            env,
        )
    }

    /// [`Server::start`] with no file allowed to grow beyond `bytes` (`prlimit --fsize`; the
    /// signal such a write raises is ignored, so the write fails with `EFBIG` as on a full
    /// disk).
    pub fn start_file_size_limited(data_dir: &Path, bytes: u64) -> Server {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--fsize={bytes}")).args([
            "--",
            "sh",
            "-c",
            "trap '' XFSZ; exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_meridian"),
        ]);
        Self::spawn(
            cmd,
            data_dir,
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
            &[],
        )
    }

    /// `cmd` (the binary, or a wrapper that runs it) with `serve`'s arguments.
    fn spawn(mut cmd: Command, data_dir: &Path, config: &Path, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = data_dir.with_extension(format!("{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data_dir)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("spawn meridian serve");
        let mut s = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_path_buf(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if ureq::get(&format!("{}/healthz", s.base)).call().is_ok() {
                return s;
            }
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!("server exited with {status}: {}", s.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "server did not start: {}",
                s.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The end of the server's log.
    pub fn log_tail(&self) -> String {
        let t = std::fs::read_to_string(&self.log).unwrap_or_default();
        t.chars()
            .rev()
            .take(2000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    }

    /// `kill -TERM`, then wait (≤ 30 s) for it to stop; its exit status.
    #[allow(dead_code)] // not every test binary stops a server this way
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "not stopped 30 s after SIGTERM: {}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kill -9`.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Wait (≤ 30 s) until the demo tenant's transfer `id` reads delivered; a transfer that
    /// ends otherwise, or an answer other than 200, fails the test at once.
    pub fn wait_delivered(&self, id: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (code, body) = call(
                ureq::get(&self.url(&format!("/v1/transfers/{id}"))).set("Authorization", KEY),
                None,
            );
            assert_eq!(code, 200, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            if v["status"] == "delivered" {
                return;
            }
            assert!(
                !["rejected", "timed_out", "refunded"]
                    .contains(&v["status"].as_str().unwrap_or("")),
                "transfer {id} failed: {v}"
            );
            assert!(
                Instant::now() < deadline,
                "transfer {id} not delivered within 30 s: {v}\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Lock `count` transfers on mock-a for mock-b; the request bodies for `POST /v1/transfers`.
    pub fn lock_batch(&self, count: usize, tag: &str) -> Vec<serde_json::Value> {
        let r = ureq::post(&self.url("/v1/dev/lock-batch"))
            .set("Authorization", KEY)
            .send_json(serde_json::json!({
                "source": "mock-a", "destination": "mock-b", "sender": format!("s{tag}-"),
                "recipient": format!("r{tag}-"), "asset": "CNY", "amount": "5", "count": count
            }))
            .expect("lock batch");
        let v: serde_json::Value = r.into_json().expect("json");
        v.as_array().expect("array").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// How many times the destination mock chain `mock-b` applied each message (by id, `0x…`),
/// read from its journal in `data_dir` (it survives kills as the hub's log does).
pub fn applied_deliveries(data_dir: &Path) -> std::collections::HashMap<String, usize> {
    let journal = std::fs::read_to_string(data_dir.join("mock-chains").join("mock-b.journal"))
        .expect("mock-b journal");
    let mut applied = std::collections::HashMap::new();
    for line in journal.lines() {
        if let Some(rest) = line.strip_prefix("D ") {
            let json = rest.split_once(' ').map(|(_, j)| j).expect("D line");
            let d: serde_json::Value = serde_json::from_str(json).expect("delivery json");
            let bytes: Vec<u8> = d["message_id"]
                .as_array()
                .expect("id bytes")
                .iter()
                .map(|b| b.as_u64().unwrap_or(0) as u8)
                .collect();
            *applied
                .entry(format!("0x{}", hex::encode(bytes)))
                .or_default() += 1;
        }
    }
    applied
}

/// (status, body) of a request, whatever the status.
pub fn call(req: ureq::Request, body: Option<&str>) -> (u16, String) {
    let r = match body {
        Some(b) => req.set("Content-Type", "application/json").send_string(b),
        None => req.call(),
    };
    match r {
        Ok(resp) => (resp.status(), resp.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, resp)) => (code, resp.into_string().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}
