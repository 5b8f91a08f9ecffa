//! `meridian config check` (and `meridian serve`'s start-up, which loads the same files) on
//! broken copies of the shipped configuration: each is refused with exit 2, naming the file (or
//! the environment variable), the key and the reason.

#![allow(clippy::panic)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// A copy of the shipped configuration in a fresh temporary directory.
fn config_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    copy_dir(&repo_config(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// Replace `from` by `to` in `file` (which must contain it).
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "{}: no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("write");
}

/// `meridian config check --config DIR` with extra environment variables: (exit code,
/// stdout, stderr).
fn check_with_env(dir: &Path, env: &[(&OsStr, &OsStr)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meridian"));
    cmd.args(["config", "check", "--config"]).arg(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run meridian");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check(dir: &Path) -> (Option<i32>, String, String) {
    check_with_env(dir, &[])
}

/// Exit 2 and every one of `needles` in stderr.
fn assert_refused(res: (Option<i32>, String, String), needles: &[&str]) {
    let (code, out, err) = res;
    assert_eq!(code, Some(2), "stdout: {out} stderr: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} missing from: {err}");
    }
}

const ADMIN_HASH: &str = "259831e9b63e659cafc5ec65ecd0f76972eb4b9b21e8a41a5134e465ff279720";
const DEMO_HASH: &str = "33d4a3b180ff371b2381e3cb64f4f55a24a5a71b05ab4b26c41aeea79863cd0a";
const DEMO2_HASH: &str = "3e95d31c7f2a903fdbc4818d12124c763eb87710686236bcb4c3bdfed3a2265d";

#[test]
fn shipped_config_checks_ok_with_its_admin_key() {
    let (code, out, err) = check(&repo_config());
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("2 tenants, admin key set"), "{out}");
}

/// An admin key hash that is not 64 hex digits used to be dropped silently ("admin key set",
/// exit 0, and a hub with no working admin key).
#[test]
fn malformed_admin_key_hash_is_refused() {
    for bad in [
        "not-a-hash".to_string(),
        format!("0x{ADMIN_HASH}"),
        ADMIN_HASH[1..].to_string(),
        String::new(),
    ] {
        let dir = config_copy();
        let tenants = dir.path().join("tenants.toml");
        edit(&tenants, ADMIN_HASH, &bad);
        assert_refused(
            check(dir.path()),
            &["tenants.toml", "admin_key_sha256", "64 hex digits"],
        );
    }
    // Either case is a hash.
    let dir = config_copy();
    edit(
        &dir.path().join("tenants.toml"),
        ADMIN_HASH,
        &ADMIN_HASH.to_uppercase(),
    );
    assert_eq!(check(dir.path()).0, Some(0));
}

/// Two tenants with one id, or one key hash (in any case), or a tenant holding the admin's
/// key: one entry silently replaced the other.
#[test]
fn duplicate_tenant_ids_and_key_hashes_are_refused() {
    let dir = config_copy();
    edit(
        &dir.path().join("tenants.toml"),
        "id = \"demo2\"",
        "id = \"demo\"",
    );
    assert_refused(
        check(dir.path()),
        &["tenants.toml", "tenant[1].id", "\"demo\""],
    );
    let dir = config_copy();
    edit(
        &dir.path().join("tenants.toml"),
        DEMO2_HASH,
        &DEMO_HASH.to_uppercase(),
    );
    assert_refused(
        check(dir.path()),
        &["tenants.toml", "tenant[1].key_sha256", "demo"],
    );
    let dir = config_copy();
    edit(&dir.path().join("tenants.toml"), DEMO2_HASH, ADMIN_HASH);
    assert_refused(
        check(dir.path()),
        &["tenants.toml", "admin_key_sha256", "demo2"],
    );
    // The empty id is the operator's in the hub: a tenant so named would see every transfer.
    for empty in ["id = \"\"", "id = \"  \""] {
        let dir = config_copy();
        edit(&dir.path().join("tenants.toml"), "id = \"demo2\"", empty);
        assert_refused(
            check(dir.path()),
            &["tenants.toml", "tenant[1].id", "must not be empty"],
        );
    }
}

#[test]
fn chain_ids_that_are_not_plain_names_are_refused() {
    let long = "a".repeat(65);
    for bad in [
        "../../escaped",
        ".hidden",
        "a/b",
        "",
        "bad id",
        "é",
        long.as_str(),
    ] {
        let dir = config_copy();
        edit(
            &dir.path().join("chains/mock-a.toml"),
            "id = \"mock-a\"",
            &format!("id = \"{bad}\""),
        );
        assert_refused(check(dir.path()), &["mock-a.toml", "`id`"]);
    }
    let dir = config_copy();
    let ok = format!("A.b_c-{}", "9".repeat(58));
    edit(
        &dir.path().join("chains/mock-a.toml"),
        "id = \"mock-a\"",
        &format!("id = \"{ok}\""),
    );
    let (code, _, err) = check(dir.path());
    assert_eq!(code, Some(0), "{ok}: {err}");
}

/// A copy of the shipped configuration with `from` replaced by `to` in `file` is refused,
/// naming the file and `key`.
fn refused_after_edit(file: &str, from: &str, to: &str, key: &str) {
    let dir = config_copy();
    edit(&dir.path().join(file), from, to);
    assert_refused(check(dir.path()), &[file, key]);
}

#[test]
fn capacities_have_upper_bounds() {
    for (from, to, key) in [
        (
            "queue_capacity = 65536",
            "queue_capacity = 9223372036854775807",
            "log.queue_capacity",
        ),
        (
            "queue_capacity = 65536",
            "queue_capacity = 0",
            "log.queue_capacity",
        ),
        (
            "max_batch_entries = 8192",
            "max_batch_entries = 9223372036854775807",
            "log.max_batch_entries",
        ),
        (
            "events_queue = 65536",
            "events_queue = 0",
            "hub.events_queue",
        ),
        (
            "events_queue = 65536",
            "events_queue = 1048577",
            "hub.events_queue",
        ),
        // Every transfer would time out at once.
        (
            "default_timeout_secs = 600",
            "default_timeout_secs = 0",
            "router.default_timeout_secs",
        ),
        // Longer than a submitted timeout may be.
        (
            "default_timeout_secs = 600",
            "default_timeout_secs = 604801",
            "router.default_timeout_secs",
        ),
        // Nothing would ever be final.
        (
            "seal_interval_ms = 500",
            "seal_interval_ms = 9223372036854775807",
            "refchain.seal_interval_ms",
        ),
        // The log would go into the working directory.
        ("data_dir = \"./data\"", "data_dir = \"\"", "hub.data_dir"),
    ] {
        refused_after_edit("hub.toml", from, to, key);
    }
}

#[test]
fn cities_need_distinct_printable_names_and_country_codes() {
    // One name in two regions is two cities (Taizhou, Zhejiang and Taizhou, Jiangsu).
    let dir = config_copy();
    edit(
        &dir.path().join("cities.toml"),
        "name = \"Shanghai\"",
        "name = \"Beijing\"",
    );
    let (code, _, err) = check(dir.path());
    assert_eq!(code, Some(0), "{err}");
    // In one region it is a mistake.
    edit(
        &dir.path().join("cities.toml"),
        "region = \"Shanghai\"",
        "region = \"Beijing\"",
    );
    assert_refused(check(dir.path()), &["cities.toml", "city[1].name"]);
    for (to, key) in [
        ("name = \"\"", "city[1].name"),
        ("name = \"Shang\\u001bhai\"", "city[1].name"),
    ] {
        refused_after_edit("cities.toml", "name = \"Shanghai\"", to, key);
    }
    refused_after_edit(
        "cities.toml",
        "country = \"CN\"",
        "country = \"China!\"",
        "city[0].country",
    );
}

#[test]
fn tenant_rates_must_be_positive() {
    for (from, to, key) in [
        (
            "rate_per_sec = 50000",
            "rate_per_sec = 0",
            "tenant[0].rate_per_sec",
        ),
        ("burst = 100000", "burst = 0", "tenant[0].burst"),
    ] {
        refused_after_edit("tenants.toml", from, to, key);
    }
}

#[cfg(unix)]
#[test]
fn environment_overrides_are_checked_and_named() {
    use std::os::unix::ffi::OsStrExt;
    let dir = repo_config();
    let s = OsStr::new;
    // Someone else's variable that is not UTF-8 is none of our business.
    let (code, _, err) = check_with_env(&dir, &[(OsStr::from_bytes(b"JUNK_\xff"), s("1"))]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = check_with_env(&dir, &[(s("JUNK"), OsStr::from_bytes(b"\xff"))]);
    assert_eq!(code, Some(0), "{err}");
    // One of ours that is not UTF-8 is refused by name.
    assert_refused(
        check_with_env(
            &dir,
            &[(s("MERIDIAN_HUB_LISTEN"), OsStr::from_bytes(b"\xff"))],
        ),
        &["MERIDIAN_HUB_LISTEN", "UTF-8"],
    );
    assert_refused(
        check_with_env(&dir, &[(OsStr::from_bytes(b"MERIDIAN_\xff"), s("1"))]),
        &["MERIDIAN_", "UTF-8"],
    );
    // A bad value names the variable, not hub.toml.
    let (code, _, err) = check_with_env(&dir, &[(s("MERIDIAN_HUB_LISTEN"), s("bogus"))]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("MERIDIAN_HUB_LISTEN: \"bogus\" is not IP:PORT") && !err.contains("hub.toml"),
        "{err}"
    );
    let (code, _, err) = check_with_env(&dir, &[(s("MERIDIAN_LOG_QUEUE_CAPACITY"), s("lots"))]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("MERIDIAN_LOG_QUEUE_CAPACITY") && !err.contains("hub.toml"),
        "{err}"
    );
    assert_refused(
        check_with_env(
            &dir,
            &[(s("MERIDIAN_LOG_QUEUE_CAPACITY"), s("9223372036854775807"))],
        ),
        &["MERIDIAN_LOG_QUEUE_CAPACITY"],
    );
    // A variable that overrides nothing is a typo, not a no-op.
    for typo in ["MERIDIAN_HUB_LISTN", "MERIDIAN_ROUTERS_BURST", "MERIDIAN_X"] {
        assert_refused(check_with_env(&dir, &[(s(typo), s("1"))]), &[typo]);
    }
    // Good overrides still apply; the client's key variable is not a hub.toml key.
    let (code, out, err) = check_with_env(
        &dir,
        &[
            (s("MERIDIAN_HUB_LISTEN"), s("127.0.0.1:9")),
            (s("MERIDIAN_REFCHAIN_SEAL_INTERVAL_MS"), s("250")),
            (s("MERIDIAN_API_KEY"), s("meridian-demo-key")),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("listen 127.0.0.1:9"), "{out}");
}

/// Run `meridian serve` on `config` until it exits (at most `secs` seconds, then kill it):
/// its exit code (`None` if it had to be killed) and stderr.
fn serve_until_exit(config: &Path, data_dir: &Path, secs: u64) -> (Option<i32>, String) {
    let err_path = data_dir.with_extension("stderr");
    if let Some(parent) = err_path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let err_file = std::fs::File::create(&err_path).expect("stderr file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .expect("spawn meridian serve");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let code = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (code, std::fs::read_to_string(&err_path).unwrap_or_default())
}

/// `serve` refuses what `config check` refuses, before it writes anything: a chain id of
/// `../../escaped` used to put `escaped.journal` outside the data directory, and a malformed
/// admin key hash used to start a hub without a working admin key.
#[test]
fn serve_refuses_an_escaping_chain_id_and_a_bad_admin_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = config_copy();
    edit(
        &dir.path().join("chains/mock-a.toml"),
        "id = \"mock-a\"",
        "id = \"../../escaped\"",
    );
    let data = tmp.path().join("a/b/data");
    let (code, err) = serve_until_exit(dir.path(), &data, 20);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("mock-a.toml") && err.contains("`id`"), "{err}");
    assert!(!tmp.path().join("a/b/escaped.journal").exists());
    assert!(!tmp.path().join("a/escaped.journal").exists());

    let dir = config_copy();
    edit(&dir.path().join("tenants.toml"), ADMIN_HASH, "not-a-hash");
    let (code, err) = serve_until_exit(dir.path(), &tmp.path().join("data2"), 20);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("tenants.toml") && err.contains("admin_key_sha256"),
        "{err}"
    );
}
