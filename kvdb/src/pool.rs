//! A connection pool shared by every session with equal connection settings.

use crate::error::Result;
use crate::settings::ConnectionSettings;
use crate::transport::sync::SyncPool;

/// The sync pool and the async connections to one server, created without I/O.
pub(crate) struct Pool {
    pub(crate) settings: ConnectionSettings,
    /// What the transports have seen (for [`health`](crate::KVDBClient::health)).
    pub(crate) observed: std::sync::Arc<crate::health::Observed>,
    pub(crate) sync: SyncPool,
    #[cfg(feature = "async")]
    pub(crate) aio: crate::transport::aio::AsyncPool,
}

impl Pool {
    pub(crate) fn new(settings: ConnectionSettings) -> Result<Self> {
        let observed = std::sync::Arc::default();
        Ok(Pool {
            sync: SyncPool::new(&settings, &observed)?,
            #[cfg(feature = "async")]
            aio: crate::transport::aio::AsyncPool::new(&settings, &observed)?,
            settings,
            observed,
        })
    }

    /// The pool's health, without I/O.
    pub(crate) fn health(&self) -> crate::health::PoolHealth {
        let mut health = self.observed.health(&self.settings);
        let state = self.sync.state();
        health.connections = state.connections;
        health.idle_connections = state.idle_connections;
        health
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
