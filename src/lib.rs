//! Cairn: an xAPI Learning Record Store with a built-in analytics warehouse.

pub mod api;
pub mod auth;
pub mod config;
pub mod pg_local;
pub mod store;
pub mod telemetry;
pub mod warehouse;
pub mod xapi;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::{middleware, web, App, HttpServer};
use sqlx::PgPool;

use crate::api::AppState;
use crate::auth::Authenticator;
use crate::config::Settings;

/// A bound, not yet running server. Tests build it on port 0 and read the port it got.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `settings.listen` and prepares the server on an existing pool.
    pub fn build(settings: &Settings, pool: PgPool) -> anyhow::Result<Self> {
        Self::build_with_warehouse(settings, pool, None)
    }

    /// [`Application::build`] with the analytics warehouse this process owns (its ETL status
    /// is served at `/api/v1/etl/status`).
    pub fn build_with_warehouse(
        settings: &Settings,
        pool: PgPool,
        warehouse: Option<Arc<warehouse::Warehouse>>,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            auth: Authenticator::new(
                pool.clone(),
                Duration::from_secs(settings.auth_cache_seconds),
            ),
            writes: store::write_pool(&pool),
            pool,
            max_body_bytes: settings.max_body_bytes,
            order: Default::default(),
            known: Default::default(),
            // Writes hold a connection each; twice the pool keeps it busy without queueing
            // more than that in memory.
            write_slots: tokio::sync::Semaphore::new(2 * settings.db_max_connections as usize),
            write_body_kib: tokio::sync::Semaphore::new(api::WRITE_BODY_BUDGET_KIB as usize),
            default_version: settings.default_xapi_version,
        });
        let warehouse = warehouse.map(web::Data::new);
        let server = HttpServer::new(move || {
            let mut app = App::new().app_data(state.clone());
            if let Some(w) = &warehouse {
                app = app.app_data(w.clone());
            }
            app.configure(api::configure)
                .wrap(cors())
                .wrap(tracing_actix_web::TracingLogger::default())
                .wrap(middleware::from_fn(api::version::negotiate))
                .wrap(middleware::from_fn(api::alternate::rewrite))
        })
        .listen(listener)?
        // Signals are handled by `run_until_stopped` so that shutdown is always graceful.
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout_seconds)
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until the server is stopped through its handle.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Runs until SIGINT (Ctrl-C) or SIGTERM, then stops accepting connections and lets
    /// in-flight requests finish.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight requests");
            handle.stop(true).await;
        });
        self.server.await
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// xAPI 1.0.3 Communication §1.3 / 2.0 §2.1: browser content on other origins must be able to
/// call the LRS, read its headers and send the xAPI headers.
fn cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .allow_any_method()
        .allow_any_header()
        .expose_any_header()
        .max_age(86_400)
}
