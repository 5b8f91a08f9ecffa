//! The operator status page, end to end: start the real `meridian serve` on a free port, load `/`
//! in headless Chromium with a virtual-time budget, and check the DOM it dumps: all 135 city
//! relays drawn, at least one connected chain placed on the map, and at least two successful
//! poll rounds of the JSON API (`body[data-updates]`).
//!
//! Needs Chromium (`/usr/bin/chromium`). Without it the test is skipped, unless `CI` is set, in
//! which case a missing browser is a failure (`.ci/run` installs it).

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CITIES: usize = 135;

/// Kills (and reaps) a child process when dropped, so the server never outlives the test, even
/// when an assertion fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// One raw HTTP/1.1 GET; the status code, or None if the server is not answering (yet).
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 32];
    let mut n = 0;
    while n < 12 {
        match s.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let line = std::str::from_utf8(&head[..n]).ok()?;
    line.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The integer value of `attr="N"` on the first element that has it.
fn int_attr(dom: &str, attr: &str) -> Option<u64> {
    let key = format!("{attr}=\"");
    let start = dom.find(&key)? + key.len();
    let rest = &dom[start..];
    rest[..rest.find('"')?].parse().ok()
}

#[test]
fn status_page_draws_every_city_and_updates() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium not found (/usr/bin/chromium): CI must install it (see .ci/run)"
        );
        eprintln!("skipping status_page: chromium not found (install chromium to run it)");
        return;
    };

    let dir = tempfile::tempdir().expect("temporary directory");
    let data_dir = dir.path().join("data");
    let browser_dir = dir.path().join("chromium");
    let server_log = dir.path().join("server.log");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let port = free_port();

    let log = std::fs::File::create(&server_log).expect("server log file");
    let server = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("server log handle"))
        .stderr(log)
        .spawn()
        .expect("start meridian serve");
    let mut server = KillOnDrop(server);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http_status(port, "/healthz") == Some(200) {
            break;
        }
        let exited = server.0.try_wait().expect("poll server process");
        assert!(
            exited.is_none(),
            "meridian serve exited ({exited:?}) before /healthz answered:\n{}",
            log_tail(&server_log)
        );
        assert!(
            Instant::now() < deadline,
            "/healthz did not answer 200 within 60 s:\n{}",
            log_tail(&server_log)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let dom_path = dir.path().join("dom.html");
    let browser_log = dir.path().join("chromium.log");
    let browser = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", browser_dir.display()))
        .arg("--virtual-time-budget=6000")
        .arg("--dump-dom")
        .arg(format!("http://127.0.0.1:{port}/"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&dom_path).expect("dom file"))
        .stderr(std::fs::File::create(&browser_log).expect("chromium log file"))
        .spawn()
        .expect("start chromium");
    let mut browser = KillOnDrop(browser);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = browser.0.try_wait().expect("poll chromium") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "chromium did not finish within 120 s:\n{}",
            log_tail(&browser_log)
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "chromium failed ({status}):\n{}",
        log_tail(&browser_log)
    );

    let dom = std::fs::read_to_string(&dom_path).expect("read dumped DOM");
    let context = || {
        format!(
            "dumped DOM ({} bytes), first 2000:\n{}\nserver log:\n{}",
            dom.len(),
            dom.chars().take(2000).collect::<String>(),
            log_tail(&server_log)
        )
    };
    assert_eq!(
        dom.matches("class=\"city\"").count(),
        CITIES,
        "city dots; {}",
        context()
    );
    assert_eq!(
        int_attr(&dom, "data-cities"),
        Some(CITIES as u64),
        "body[data-cities]; {}",
        context()
    );
    assert!(
        dom.contains("class=\"chain\""),
        "no chain on the map; {}",
        context()
    );
    let updates = int_attr(&dom, "data-updates");
    assert!(
        updates.is_some_and(|n| n >= 2),
        "body[data-updates] = {updates:?}, want at least 2 poll rounds; {}",
        context()
    );
    drop(browser);
    drop(server);
}
