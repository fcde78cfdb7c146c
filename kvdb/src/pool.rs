//! A connection pool shared by every session with equal connection settings.

use crate::error::Result;
use crate::settings::ConnectionSettings;
use crate::transport::sync::SyncPool;

/// The sync pool and the async connections to one server, created without I/O.
pub(crate) struct Pool {
    pub(crate) settings: ConnectionSettings,
    pub(crate) sync: SyncPool,
    #[cfg(feature = "async")]
    pub(crate) aio: crate::transport::aio::AsyncPool,
}

impl Pool {
    pub(crate) fn new(settings: ConnectionSettings) -> Result<Self> {
        Ok(Pool {
            sync: SyncPool::new(&settings)?,
            #[cfg(feature = "async")]
            aio: crate::transport::aio::AsyncPool::new(&settings)?,
            settings,
        })
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
