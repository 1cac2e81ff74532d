//! `concord serve`: starts the web application on SQLite (default) or PostgreSQL.

use crate::{CliError, DataArgs, demo, setup};
use concord_domain::clock::SystemClock;
use concord_web::{AppConfig, AppState};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Address to listen on.
    #[arg(long, env = "CONCORD_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Run a throwaway demo practice (fictional clients) in a temporary data dir.
    #[arg(long)]
    demo: bool,
    /// The address users reach Concord at; an https:// address turns on Secure cookies and HSTS
    /// (use it when a TLS proxy terminates HTTPS in front of Concord).
    #[arg(long, env = "CONCORD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Sign a session out after this many idle minutes.
    #[arg(long, env = "CONCORD_SESSION_IDLE_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(i64).range(1..=1440))]
    session_idle_minutes: i64,
    /// Sign a session out after this many hours, active or not.
    #[arg(long, env = "CONCORD_SESSION_ABSOLUTE_HOURS", default_value_t = 12, value_parser = clap::value_parser!(i64).range(1..=168))]
    session_absolute_hours: i64,
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, env = "CONCORD_LOG_JSON")]
    log_json: bool,
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONCORD_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

pub async fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    init_logging(args.log_json);
    let listen: SocketAddr =
        args.listen.parse().map_err(|_| CliError::usage(format!("--listen {} is not an address like 127.0.0.1:8080", args.listen)))?;
    let secure_cookies = match args.public_url.as_deref() {
        None => false,
        Some(u) if u.starts_with("https://") => true,
        Some(u) if u.starts_with("http://") => false,
        Some(u) => return Err(CliError::usage(format!("--public-url {u} must start with http:// or https://"))),
    };
    // The demo's data dir lives as long as this process and is deleted after.
    let mut _demo_dir = None;
    let (store, demo_logins) = if args.demo {
        if args.data.database_url.is_some() {
            return Err(CliError::usage("--demo runs on a throwaway SQLite database; leave out --database-url"));
        }
        let dir = tempfile::Builder::new()
            .prefix("concord-demo-")
            .tempdir()
            .map_err(|e| CliError::failed(format!("cannot create a demo data dir: {e}")))?;
        let (store, logins, portal) = demo::create(dir.path()).await?;
        _demo_dir = Some(dir);
        (store, Some((logins, portal)))
    } else {
        (setup::open(&args.data).await?, None)
    };
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().ok();
    let config = AppConfig {
        session_idle: time::Duration::minutes(args.session_idle_minutes),
        session_absolute: time::Duration::hours(args.session_absolute_hours),
        secure_cookies,
        public_url: args.public_url.clone(),
        ..AppConfig::default()
    };
    let state = AppState {
        store: store.clone(),
        clock: Arc::new(SystemClock),
        config,
        metrics,
        evaluator: Default::default(),
        views: Default::default(),
    };
    let app = concord_web::build_router(state).map_err(CliError::failed)?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| CliError::failed(format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr().map_err(|e| CliError::failed(e.to_string()))?;
    let url = args.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    tracing::info!(engine = store.engine().as_str(), listen = %addr, startup_ms = started.elapsed().as_millis() as u64, "Concord is ready");
    println!("Concord is running at {url}");
    if let Some((logins, portal)) = &demo_logins {
        if let Some(secret) = portal {
            println!("Client portal (demo): {url}/portal/{secret}");
        }
        println!("{logins}");
    }
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| CliError::failed(format!("server error: {e}")))?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
