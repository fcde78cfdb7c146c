//! Sentinel sessions (feature `sentinel`): the primary is looked up through the sentinels
//! each time a connection is opened, so that connections opened after a failover reach the
//! new primary. Connections to a former primary fail (it is down) or answer `READONLY` (it
//! came back as a replica); either way they are dropped, and the next one is opened through
//! the sentinels again. No failover logic of kvdb's own: the sentinels decide.

use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};

use crate::error::Result;
use crate::settings::ConnectionSettings;

/// A client that asks the sentinels of `settings` for the primary named `master` (and checks
/// with `ROLE` that it is one) whenever a connection is made.
pub(crate) fn client(settings: &ConnectionSettings, master: &str) -> Result<SentinelClient> {
    let node =
        SentinelNodeConnectionInfo::default().set_redis_connection_info(settings.redis_info());
    // `build` takes a `String`, or `impl AsRef<str>` when redis has TLS (feature `tls`).
    #[allow(clippy::unnecessary_to_owned)]
    Ok(SentinelClient::build(
        settings.node_infos(),
        master.to_owned(),
        Some(node),
        SentinelServerType::Master,
    )?)
}
