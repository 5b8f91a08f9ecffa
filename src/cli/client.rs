//! `meridian send` and `meridian status`: a DApp's view of a running hub, over its HTTP API.

use anyhow::{bail, Context as _};
use clap::Args;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Where the hub is and who is asking.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// The hub's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub hub: String,
    /// API key (default: $MERIDIAN_API_KEY, else the demo tenant's key of config/tenants.toml).
    #[arg(
        long,
        env = "MERIDIAN_API_KEY",
        default_value = "meridian-demo-key",
        hide_env_values = true
    )]
    pub key: String,
}

/// Options of `meridian send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub hub: HubArgs,
    /// Source chain id.
    #[arg(long)]
    pub from: String,
    /// Destination chain id.
    #[arg(long)]
    pub to: String,
    /// Asset symbol.
    #[arg(long)]
    pub asset: String,
    /// Amount in the asset's smallest unit.
    #[arg(long)]
    pub amount: u128,
    /// Sender account on the source chain.
    #[arg(long, default_value = "alice")]
    pub sender: String,
    /// Recipient account on the destination chain.
    #[arg(long, default_value = "bob")]
    pub recipient: String,
    /// Follow the transfer to its end, printing each state; exit 1 unless it is delivered.
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub wait_secs: u64,
}

/// Options of `meridian status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub hub: HubArgs,
    /// The transfer id (64 hex digits, optionally after 0x).
    pub id: String,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// Send a request; a 4xx/5xx becomes an error carrying the hub's reason.
fn request(
    req: ureq::Request,
    key: &str,
    body: Option<&serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let req = req.set("Authorization", &format!("Bearer {key}"));
    let res = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    match res {
        Ok(r) => Ok(r.into_json()?),
        Err(ureq::Error::Status(code, r)) => {
            let text = r.into_string().unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let field = v["error"]["field"].as_str().unwrap_or("-");
            let reason = v["error"]["reason"].as_str().unwrap_or(&text);
            bail!("hub answered {code} (field {field}): {reason}")
        }
        // ureq's message already ends with its cause: as a context it would print twice.
        Err(e) => bail!("the hub is unreachable: {e}"),
    }
}

/// A transfer id as the hub writes it: 64 hex digits, optionally after `0x`.
fn check_transfer_id(id: &str) -> Result<(), String> {
    match super::hex32(id) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{id:?} is not a transfer id (64 hex digits, optionally after 0x)"
        )),
    }
}

/// The hub's base URL: `http://` or `https://` and a host (anything else is a usage error,
/// not an unreachable hub).
fn check_hub_url(hub: &str) -> Result<(), String> {
    let rest = hub
        .strip_prefix("http://")
        .or_else(|| hub.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!(
            "--hub {hub:?} is not a URL like http://127.0.0.1:8080"
        )),
    }
}

/// What `send` can refuse without asking the hub (before anything is locked).
fn check_send_args(a: &SendArgs) -> Result<(), String> {
    check_hub_url(&a.hub.hub)?;
    if a.to == a.from {
        return Err(format!(
            "--to {:?} is the source chain (--from): a transfer goes to another chain",
            a.to
        ));
    }
    if a.amount == 0 {
        return Err("--amount must be positive".into());
    }
    for (flag, value) in [
        ("--asset", &a.asset),
        ("--sender", &a.sender),
        ("--recipient", &a.recipient),
    ] {
        if value.is_empty() || value.chars().any(char::is_control) {
            return Err(format!(
                "{flag} {value:?}: must not be empty or hold control characters"
            ));
        }
    }
    Ok(())
}

/// A value the hub answered, for the terminal: control characters (a line break, a terminal
/// escape) are written as escapes, so what a chain recorded cannot rewrite the operator's
/// screen or forge lines.
pub(super) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        std::borrow::Cow::Owned(s.escape_debug().to_string())
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

pub fn send(args: SendArgs) -> ExitCode {
    if let Err(e) = check_send_args(&args) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    match run_send(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run_send(a: &SendArgs) -> anyhow::Result<()> {
    let hub = a.hub.hub.trim_end_matches('/');
    let agent = agent();
    // Against the built-in mock chains the hub makes the source-chain lock itself.
    let lock = serde_json::json!({
        "source": a.from, "destination": a.to, "sender": a.sender, "recipient": a.recipient,
        "asset": a.asset, "amount": a.amount.to_string(),
    });
    let transfer = request(
        agent.post(&format!("{hub}/v1/dev/lock")),
        &a.hub.key,
        Some(&lock),
    )
    .context("locking on the source chain")?;
    println!(
        "locked {} {} on {} for {} on {}",
        a.amount,
        a.asset,
        printable(&a.from),
        a.recipient,
        printable(&a.to)
    );
    let accepted = request(
        agent.post(&format!("{hub}/v1/transfers")),
        &a.hub.key,
        Some(&transfer),
    )
    .map_err(|e| {
        // The funds are locked: give the operator the evidence to submit again (the hub
        // answers the first message for evidence it already has, so resubmitting is safe).
        anyhow::anyhow!(
            "submitting the transfer: {e:#}\nthe lock stands; submit it again with\n  \
             curl -X POST {hub}/v1/transfers -H 'Authorization: Bearer …' \
             -H 'Content-Type: application/json' -d '{transfer}'"
        )
    })?;
    let id = accepted["id"].as_str().unwrap_or_default().to_string();
    check_transfer_id(&id).map_err(|e| anyhow::anyhow!("the hub answered {e}"))?;
    println!(
        "transfer {id}: {}",
        accepted["status"].as_str().unwrap_or("?")
    );
    if !a.wait {
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(a.wait_secs);
    let mut shown = 1usize;
    loop {
        let t = request(
            agent.get(&format!("{hub}/v1/transfers/{id}")),
            &a.hub.key,
            None,
        )?;
        let timeline = t["timeline"].as_array().cloned().unwrap_or_default();
        for step in timeline.iter().skip(shown) {
            println!(
                "transfer {id}: {} (log seq {})",
                step["status"].as_str().unwrap_or("?"),
                step["seq"]
            );
        }
        shown = shown.max(timeline.len());
        // Timed out is not the end: the refund follows.
        match t["status"].as_str() {
            Some("delivered") => return Ok(()),
            Some(end @ ("refunded" | "rejected")) => {
                bail!("transfer {id} ended {end}, not delivered")
            }
            _ if Instant::now() > deadline => bail!("gave up waiting after {} s", a.wait_secs),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

pub fn status(args: StatusArgs) -> ExitCode {
    if let Err(e) = check_hub_url(&args.hub.hub).and_then(|()| check_transfer_id(&args.id)) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let hub = args.hub.hub.trim_end_matches('/');
    match request(
        agent().get(&format!("{hub}/v1/transfers/{}", args.id)),
        &args.hub.key,
        None,
    ) {
        Ok(t) => {
            let f = |k: &str| printable(t[k].as_str().unwrap_or("?")).into_owned();
            println!(
                "{} {} → {}: {} {} from {} to {}: {}",
                f("id"),
                f("source"),
                f("destination"),
                f("amount"),
                f("asset"),
                f("sender"),
                f("recipient"),
                f("status"),
            );
            for step in t["timeline"].as_array().cloned().unwrap_or_default() {
                println!(
                    "  {:<10} at {} ms (log seq {})",
                    step["status"].as_str().unwrap_or("?"),
                    step["at_ms"],
                    step["seq"]
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
