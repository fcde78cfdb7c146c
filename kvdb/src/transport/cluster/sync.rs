//! The sync cluster transport: a pool of `redis::cluster::ClusterConnection`s.
//!
//! A `ClusterConnection` holds one blocking connection per node and is not `Sync` (it uses
//! `RefCell`s), so it cannot be shared between threads without a lock; a pool gives each
//! calling thread one of its own, with no lock held while a request is in flight, exactly as
//! for a single server.

use std::time::Duration;

use redis::cluster::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, ConnectionLike, RedisResult, Value};

use super::plan::{self, Prepared};
use super::{Primaries, cluster_slots};
use crate::error::Result;
use crate::settings::ConnectionSettings;
use crate::transport::Request;
use crate::transport::checkout::Connector;
use crate::transport::conn::Link;

/// Opens cluster connections (each to every node it needs, lazily after the first).
#[derive(Clone)]
pub(crate) struct ClusterManager {
    client: redis::cluster::ClusterClient,
    settings: ConnectionSettings,
    primaries: Primaries,
}

impl ClusterManager {
    pub(crate) fn new(
        settings: &ConnectionSettings,
        observed: &crate::health::Observed,
    ) -> Result<Self> {
        Ok(ClusterManager {
            client: super::client(settings, false)?,
            settings: settings.clone(),
            primaries: observed.primaries.clone(),
        })
    }

    /// The primaries known, shared with the async side.
    pub(crate) fn primaries(&self) -> &Primaries {
        &self.primaries
    }

    /// A plain connection to the first seed node that answers (for pub/sub, whose messages
    /// a cluster broadcasts to every node).
    pub(crate) fn node_connection(&self) -> Result<redis::Connection> {
        let mut last = None;
        for info in crate::transport::connect::node_infos(&self.settings) {
            match crate::transport::connect::node_client(info, &self.settings)?
                .get_connection_with_timeout(self.settings.connect_timeout)
            {
                Ok(conn) => return Ok(conn),
                Err(e) => last = Some(e),
            }
        }
        Err(last
            .unwrap_or_else(|| (redis::ErrorKind::Client, "no cluster node is known").into())
            .into())
    }
}

impl Connector for ClusterManager {
    type Conn = ClusterConn;

    fn connect(&self) -> RedisResult<ClusterConn> {
        let inner = self.client.get_connection()?;
        inner.set_read_timeout(self.settings.response_timeout)?;
        inner.set_write_timeout(self.settings.response_timeout)?;
        Ok(ClusterConn {
            inner,
            suspect: false,
            primaries: self.primaries.clone(),
        })
    }

    fn is_usable(&self, conn: &mut ClusterConn) -> bool {
        !conn.suspect
    }

    fn has_broken(&self, conn: &mut ClusterConn) -> bool {
        conn.suspect || !conn.inner.is_open()
    }
}

/// A pooled cluster connection, dropped by the pool after a connection or cluster error
/// (a new one starts with a fresh slot map).
pub(crate) struct ClusterConn {
    inner: ClusterConnection,
    suspect: bool,
    primaries: Primaries,
}

impl ClusterConn {
    fn watch(&mut self, r: &RedisResult<Value>) {
        if let Err(e) = r
            && (e.is_io_error()
                || e.is_timeout()
                || e.is_connection_dropped()
                || e.is_cluster_error()
                || e.kind() == redis::ErrorKind::ClusterConnectionNotFound)
        {
            self.suspect = true;
        }
    }

    /// An atomic pipeline whose keys are in one slot: sent to that slot's node.
    fn atomic(&mut self, pipe: &redis::Pipeline) -> RedisResult<Value> {
        let mut replies =
            self.inner
                .req_packed_commands(&pipe.get_packed_pipeline(), pipe.len() + 1, 1)?;
        Ok(replies.pop().unwrap_or(Value::Nil))
    }

    /// Single-slot commands, replies in order. Commands that are safe to send twice go as one
    /// pipeline per node, all nodes at once (one round trip); if one of them fails (a
    /// redirection during a failover, a `WRONGTYPE`), the `redis` crate's cluster pipeline
    /// keeps no other reply, so they are sent again one by one. Other commands go one by one,
    /// each following redirections.
    fn batch(&mut self, cmds: &[Cmd]) -> RedisResult<Vec<RedisResult<Value>>> {
        if cmds.len() > 1 && cmds.iter().all(plan::repeatable) {
            let mut pipe = redis::cluster::cluster_pipe();
            for cmd in cmds {
                pipe.add_command(cmd.clone());
            }
            match pipe.query::<Vec<Value>>(&mut self.inner) {
                Ok(values) if values.len() == cmds.len() => {
                    return Ok(values.into_iter().map(Ok).collect());
                }
                Err(e) if e.clone().into_server_errors().is_none() => return Err(e),
                _ => {}
            }
        }
        let mut out = Vec::with_capacity(cmds.len());
        for cmd in cmds {
            match self.inner.req_command(cmd) {
                Err(e) if e.code().is_none() => return Err(e),
                r => out.push(r),
            }
        }
        Ok(out)
    }

    /// `SCAN` on one primary.
    fn scan(&mut self, node: usize, cmd: &Cmd) -> RedisResult<Value> {
        let fresh = if self.primaries.needs_refresh(node, cmd) {
            Some(self.inner.req_command(&cluster_slots())?)
        } else {
            None
        };
        let ((host, port), count) = self.primaries.get(node, fresh.as_ref())?;
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
        let reply = self.inner.route_command(cmd, routing)?;
        plan::scan_reply(node, count, reply)
    }
}

impl Link for ClusterConn {
    fn send(&mut self, request: &Request<'_>) -> Result<RedisResult<Value>> {
        let reply = match (plan::prepare(request)?, request) {
            (Prepared::Direct, Request::Cmd(cmd)) => self.inner.req_command(cmd),
            (Prepared::Direct, Request::Pipe(pipe)) => self.atomic(pipe),
            (Prepared::Info, Request::Cmd(cmd)) => {
                self.inner.req_command(cmd).map(plan::info_reply)
            }
            (Prepared::Info, Request::Pipe(_)) => Ok(Value::Nil),
            (Prepared::Split(plan), _) => self.batch(&plan.cmds).and_then(|r| plan.combine(r)),
            (Prepared::Scan { node, cmd }, _) => self.scan(node, &cmd),
        };
        self.watch(&reply);
        Ok(reply)
    }

    fn set_read_timeout(&mut self, t: Option<Duration>) -> RedisResult<()> {
        let r = self.inner.set_read_timeout(t);
        if r.is_err() {
            self.suspect = true;
        }
        r
    }
}
