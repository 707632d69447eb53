//! Running the simulator on a socket: [`Simulator::start`] binds, serves in the background and shuts down
//! gracefully on [`Simulator::stop`] (tests, the demo); [`serve`] runs until Ctrl-C (`latchkey sim serve`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use latchkey::{Clock, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::backend::app;
use crate::backend::db::Db;
use crate::backend::state::{AppState, BackendConfig};

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The address to listen on; port 0 picks a free one.
    pub addr: SocketAddr,
    /// A SQLite file path, or `:memory:`.
    pub db: String,
    /// Backend settings.
    pub backend: BackendConfig,
    /// The clock every time rule reads.
    pub clock: Arc<dyn Clock>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            db: ":memory:".into(),
            backend: BackendConfig::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// A simulator serving in the background.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    pruner: JoinHandle<()>,
    pusher: JoinHandle<()>,
    deliverer: JoinHandle<()>,
}

impl Simulator {
    /// Opens the database, binds the address and starts serving.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        let db =
            Db::open(&config.db).with_context(|| format!("could not open the database {}", config.db))?;
        let state =
            AppState::new(db, config.clock, config.backend).context("could not initialize the database")?;
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("could not listen on {}", config.addr))?;
        let addr = listener.local_addr()?;
        let (shutdown, signal) = oneshot::channel::<()>();
        let router = app(state.clone());
        let pruning = state.clone();
        let pruner = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                every.tick().await;
                if let Err(error) = crate::backend::idempotency::prune(&pruning) {
                    tracing::warn!(%error, "could not prune stored idempotent responses");
                }
            }
        });
        let pusher = tokio::spawn(state.locks.clone().run_pushes());
        let deliverer = tokio::spawn(crate::backend::events::delivery::run(state.clone()));
        let task = tokio::spawn(async move {
            // The client's address reaches the rate limiter (sign-in attempts are limited per IP).
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = signal.await;
                })
                .await
        });
        Ok(Simulator { addr, state, shutdown: Some(shutdown), task: Some(task), pruner, pusher, deliverer })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The backend's shared state (database, clock), for tests and tools in the same process.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, finishes in-flight requests and waits for the server to end.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.pruner.abort();
        self.deliverer.abort();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.context("the server task failed")??;
        }
        // Connected locks get the changes of the last requests before the simulator goes.
        self.pusher.abort();
        let locks = self.state.locks.clone();
        tokio::task::spawn_blocking(move || locks.push_scheduled())
            .await
            .context("the last pushes to connected locks failed")??;
        Ok(())
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.pruner.abort();
        self.deliverer.abort();
        self.pusher.abort();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Serves until Ctrl-C, logging the address once ready.
pub async fn serve(config: SimConfig) -> anyhow::Result<()> {
    let simulator = Simulator::start(config).await?;
    tracing::info!(addr = %simulator.addr(), "simulator ready");
    tokio::signal::ctrl_c().await.context("could not wait for Ctrl-C")?;
    tracing::info!("shutting down");
    simulator.stop().await
}
