//! What the hidden phone commands (`phone-sync`, `phone-unlock`) share: a phone in its own process,
//! reaching the running simulator's backend over HTTP and its virtual locks over the in-memory link,
//! through its own view of the simulator's SQLite file (WAL and a busy timeout make two processes safe).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use latchkey::SystemClock;
use latchkey_sim::backend::db::Db;
use latchkey_sim::link::MemoryTransport;
use latchkey_sim::locks::LockRegistry;

/// Where the phone finds the simulator, and where it keeps its store.
#[derive(Debug, clap::Args)]
pub struct PhoneArgs {
    /// The simulator's base URL.
    #[arg(long)]
    pub api: String,
    /// The simulator's SQLite file (its virtual locks).
    #[arg(long)]
    pub sim_db: String,
    /// The phone's store file.
    #[arg(long)]
    pub store: PathBuf,
}

impl PhoneArgs {
    /// The in-memory link to the virtual locks of the simulator's database file.
    pub fn memory_transport(&self) -> anyhow::Result<MemoryTransport> {
        let db = Db::open(&self.sim_db)
            .with_context(|| format!("could not open the simulator database {}", self.sim_db))?;
        Ok(MemoryTransport::new(LockRegistry::new(db, Arc::new(SystemClock))))
    }
}
