//! `meridian serve`: start the whole hub on the embedded defaults.

use actix_web::dev::Service as _;
use actix_web::{web, App, HttpServer};
use anyhow::Context as _;
use clap::Args;
use meridian::config::{load_tenants, ChainConfig, Config};
use meridian::http::ApiState;
use meridian::hub::{ChainSpec, Hub, HubOptions};
use meridian_adapters::chainsql::ChainSqlMock;
use meridian_adapters::demo::DemoChain;
use meridian_adapters::eos::EosChain;
use meridian_adapters::ethereum::{EthereumMock, RpcChain};
use meridian_adapters::fabric::FabricChain;
use meridian_adapters::fisco::FiscoChain;
use meridian_adapters::mock::{now_ms, MockChain};
use meridian_adapters::xuper::XuperChain;
use meridian_proofs::xrpl::XrplHash;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// HTTP worker threads (two cores: one per core; 1 and 3 measured slower, README).
const HTTP_WORKERS: u64 = 2;

/// Options of `meridian serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides hub.toml `hub.listen`).
    #[arg(long)]
    pub listen: Option<String>,
    /// Data directory (overrides hub.toml `hub.data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Configuration directory (default: ./config, else config/ beside the binary).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> ExitCode {
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A listening socket on `addr` (an `IP:PORT`, like `hub.listen`), bound before anything is
/// written to the data directory: a bad address or a port in use leaves no files behind.
fn listen_on(addr: &str) -> anyhow::Result<std::net::TcpListener> {
    let sa: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| anyhow::anyhow!("{addr:?} is not IP:PORT"))?;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(sa),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.bind(&sa.into())?;
    // Room for a burst of connections (wrk opens hundreds at once).
    socket.listen(4096)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Ctrl-C (SIGINT) and SIGTERM (what `docker stop`, systemd and `kill` send), listened for
/// from when this is made: made before `serve` says it listens, so a signal sent right after
/// that line finds the handler (else the default action would end the process uncleanly).
struct StopSignals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn new() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                int: signal(SignalKind::interrupt()).context("listening for SIGINT")?,
                term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Until one comes; its name.
    async fn wait(&mut self) -> anyhow::Result<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => Ok("SIGINT"),
                _ = self.term.recv() => Ok("SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .map(|()| "Ctrl-C")
                .context("waiting for Ctrl-C")
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // Logs on stderr (stdout carries the one "listening on" line), coloured only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let dir = Config::locate(args.config.as_deref());
    let mut config =
        Config::load(&dir).with_context(|| format!("configuration in {}", dir.display()))?;
    if let Some(l) = args.listen {
        config.hub.hub.listen = l;
    }
    let tenants = load_tenants(&dir)?;
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| config.hub.hub.data_dir.clone());
    if data_dir.as_os_str().is_empty() {
        anyhow::bail!("--data-dir must not be empty");
    }
    let listener = listen_on(&config.hub.hub.listen)
        .with_context(|| format!("listening on {}", config.hub.hub.listen))?;
    // Bound first (an address that cannot be had leaves the data directory untouched); held
    // until the process ends: nothing else of the data directory is opened before it.
    let _lock = lock_data_dir(&data_dir)?;
    // Every connection is an open file: the soft limit (1,024 under systemd's defaults) would
    // let a thousand idle event streams take every file and stop the hub accepting anything.
    let open_files = meridian::http::raise_open_file_limit();
    let budget = meridian::http::connection_budget(open_files, HTTP_WORKERS);
    if config.hub.hub.max_event_streams > budget.streams {
        tracing::warn!(
            open_files,
            configured = config.hub.hub.max_event_streams,
            lowered_to = budget.streams,
            "hub.max_event_streams lowered to what the connections leave room for (raise the \
             open-file limit, e.g. LimitNOFILE= in a systemd unit, to hold more)"
        );
        let h = &mut config.hub.hub;
        h.max_event_streams = budget.streams;
        h.max_event_streams_per_address = h.max_event_streams_per_address.min(budget.streams);
    }
    let log = actix_rt::System::new().block_on(async move {
        let mut specs = Vec::new();
        let mut mocks = std::collections::HashMap::new();
        for c in &config.chains {
            let chain = connect_chain(c, &data_dir)?;
            mocks.insert(c.id.clone(), chain.clone());
            specs.push(ChainSpec::demo(c.clone(), chain));
        }
        let hub = Hub::start(&config, &data_dir, specs, HubOptions::default())
            .await
            .with_context(|| format!("starting on {}", data_dir.display()))?;
        let hub = std::sync::Arc::new(hub);
        let metrics = meridian::http::metrics_builder()
            .context("configuring the metrics buckets")?
            .install_recorder()
            .ok();
        if let Some(handle) = &metrics {
            meridian::http::describe_metrics();
            meridian::http::register_series(&hub.chain_ids());
            meridian::http::spawn_metrics_upkeep(handle.clone())
                .context("starting the metrics upkeep thread")?;
        }
        let api = web::Data::new(ApiState::new(
            hub.clone(),
            std::sync::Arc::new(config.clone()),
            mocks,
            tenants,
            metrics,
        ));
        let server = HttpServer::new(move || {
            // This worker's counter handle per status code (registering the labelled counter
            // on every response cost a registry lookup and a string).
            let by_status: std::rc::Rc<std::cell::RefCell<std::collections::HashMap<u16, metrics::Counter>>> =
                std::rc::Rc::default();
            App::new()
                .app_data(api.clone())
                .wrap_fn(move |mut req, srv| {
                    // HEAD wherever GET is answered (RFC 9110 §9.3.2): routed as GET, and
                    // actix writes the head without the body (it saw the request's own
                    // method). Not the event stream, which would never end.
                    if req.method() == actix_web::http::Method::HEAD
                        && req.path() != "/v1/events"
                    {
                        req.head_mut().method = actix_web::http::Method::GET;
                    }
                    let fut = srv.call(req);
                    let by_status = by_status.clone();
                    async move {
                        let res = fut.await?;
                        let code = res.status().as_u16();
                        by_status
                            .borrow_mut()
                            .entry(code)
                            .or_insert_with(|| {
                                metrics::counter!(
                                    "meridian_http_responses_total",
                                    "status" => code.to_string()
                                )
                            })
                            .increment(1);
                        Ok(res)
                    }
                })
                .configure(meridian::http::routes)
                .default_service(meridian::http::default_service())
        })
        .workers(HTTP_WORKERS as usize)
        // Connections stay within the open-file limit: at the cap actix stops accepting for
        // a while instead of failing every accept with EMFILE and logging it twice a second.
        .max_connections(budget.per_worker)
        // Open event streams are cut after 5 s on stop (actix waits 30 s by default, longer
        // than `docker stop` waits before it kills).
        .shutdown_timeout(5)
        .disable_signals()
        .listen(listener)
        .with_context(|| format!("listening on {}", config.hub.hub.listen))?;
        let addrs = server.addrs();
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        // Counters, not a copy of the state (which holds every message ever committed).
        let (messages, blocks) = hub.stats().await.map_or((0, 0), |s| {
            (s.by_state.iter().map(|(_, n)| n).sum::<usize>(), s.blocks)
        });
        let listen = addrs
            .iter()
            .map(|a| format!("http://{a}"))
            .collect::<Vec<_>>()
            .join(", ");
        tracing::info!(
            listen = %listen,
            data_dir = %data_dir.display(),
            config = %dir.display(),
            chains = config.chains.len(),
            relays = hub.relay_set().len(),
            quorum = hub.relay_set().quorum(),
            messages,
            blocks,
            "meridian hub running"
        );
        let mut signals = StopSignals::new()?;
        println!(
            "meridian: listening on {listen}; {} chains, {} city relays; data in {}; Ctrl-C or SIGTERM to stop",
            config.chains.len(),
            hub.relay_set().len(),
            data_dir.display()
        );
        let signal = signals.wait().await?;
        tracing::info!(signal, "shutting down");
        handle.stop(true).await;
        let log = hub.log();
        if let Ok(hub) = std::sync::Arc::try_unwrap(hub) {
            hub.stop();
        }
        actix_rt::System::current().stop();
        anyhow::Ok(log)
    })?;
    // The actors are gone: what the log holds goes into redb now. A stop that leaves answered
    // entries only in a journal (the disk failing) is not a clean one: say so, and which files
    // hold them, with a non-zero exit.
    log.close()
        .context("stopping with the commit log incomplete")?;
    tracing::info!("stopped; the commit log is closed");
    Ok(())
}

/// Take `DATA/serve.lock` (an advisory lock the OS drops when the process ends, however it
/// ends) with this process's id in it; another `serve` on the directory is refused at once,
/// naming its id, before anything of the directory is opened: two would append to the same
/// mock chain journals, and the second waited 10 s for the log before it gave up.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let path = data_dir.join("serve.lock");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            anyhow::bail!(
                "{} is in use by another `meridian serve` (process {}): one hub per data \
                 directory",
                data_dir.display(),
                pid.trim()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(file)
}

/// The chain behind one `config/chains` entry. The built-in mock chains live in this process
/// (the generic one journaled under the data dir, producing a block on its interval); an
/// ethereum chain with `rpc_url` is a real node instead (node-trusting finality). Runs inside
/// the actix system (the generic mock's block producer is a task on it).
fn connect_chain(c: &ChainConfig, data_dir: &Path) -> anyhow::Result<Arc<dyn DemoChain>> {
    let rpc = c
        .ethereum_rpc()
        .map_err(|(key, reason)| anyhow::anyhow!("chain {}: `{key}`: {reason}", c.id))?;
    let chain: Arc<dyn DemoChain> = if let Some(r) = rpc {
        tracing::info!(chain = %c.id, node = %r.rpc_url, "ethereum chain on a JSON-RPC node");
        Arc::new(RpcChain::new(r))
    } else {
        match c.family.as_str() {
            "ethereum" => Arc::new(EthereumMock::new(&c.id, 1337, c.validators)),
            "fisco" => Arc::new(FiscoChain::new(&c.id, 1, 1, c.id.as_bytes(), c.validators)),
            "chainsql" => Arc::new(ChainSqlMock::new(&c.id, 0, XrplHash::Sha512Half)),
            "xuper" => Arc::new(XuperChain::new(&c.id, c.id.as_bytes(), c.validators)),
            "fabric" => Arc::new(FabricChain::new(
                &c.id,
                format!("{}-orderers", c.id).as_bytes(),
                format!("{}-peers", c.id).as_bytes(),
            )),
            "eos" => Arc::new(EosChain::new(
                &c.id,
                &c.id,
                "prod",
                c.id.as_bytes(),
                c.validators,
                false,
            )),
            _ => {
                // Journaled under the data dir, so block heights and deliveries survive
                // restarts; produces a block on its interval.
                let mock_dir = data_dir.join("mock-chains");
                std::fs::create_dir_all(&mock_dir)
                    .with_context(|| format!("creating {}", mock_dir.display()))?;
                let chain = MockChain::open(
                    &c.id,
                    c.validators,
                    &mock_dir.join(format!("{}.journal", c.id)),
                )
                .with_context(|| format!("mock chain {}", c.id))?;
                let interval = Duration::from_millis(c.block_interval_ms.max(10));
                let producer = chain.clone();
                actix_rt::spawn(async move {
                    loop {
                        tokio::time::sleep(interval).await;
                        producer.produce_block(now_ms());
                    }
                });
                Arc::new(chain)
            }
        }
    };
    Ok(chain)
}
