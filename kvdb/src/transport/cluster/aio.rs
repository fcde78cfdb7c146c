//! The async cluster transport: requests on a `redis::cluster_async::ClusterConnection`,
//! which multiplexes one connection per node and follows redirections and failovers itself.
//! A split request's commands are all sent at once; the connection pipelines those bound for
//! the same node, and the nodes work in parallel.

use redis::aio::ConnectionLike;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{RedisResult, Value};

use super::Primaries;
use super::plan::{self, Prepared};
use crate::error::Result;
use crate::transport::Request;

/// Sends `request` on `conn`; the outer `Err` is for a request refused before sending.
pub(crate) async fn send(
    conn: &mut ClusterConnection,
    primaries: &Primaries,
    request: &Request<'_>,
) -> Result<RedisResult<Value>> {
    Ok(match (plan::prepare(request)?, request) {
        (Prepared::Direct, Request::Cmd(cmd)) => conn.req_packed_command(cmd).await,
        // An atomic pipeline whose keys are in one slot: the connection sends it to that
        // slot's node.
        (Prepared::Direct, Request::Pipe(pipe)) => pipe.query_async::<Value>(conn).await,
        (Prepared::Info, Request::Cmd(cmd)) => {
            conn.req_packed_command(cmd).await.map(plan::info_reply)
        }
        (Prepared::Info, Request::Pipe(_)) => Ok(Value::Nil),
        (Prepared::Split(plan), _) => {
            let replies = futures_util::future::join_all(plan.cmds.iter().map(|cmd| {
                let mut conn = conn.clone();
                async move { conn.req_packed_command(cmd).await }
            }))
            .await;
            plan.combine(replies)
        }
        (Prepared::Scan { node, cmd }, _) => scan(conn, primaries, node, cmd).await,
    })
}

/// `SCAN` on one primary.
async fn scan(
    conn: &mut ClusterConnection,
    primaries: &Primaries,
    node: usize,
    cmd: redis::Cmd,
) -> RedisResult<Value> {
    let fresh = if primaries.needs_refresh(node, &cmd) {
        Some(conn.req_packed_command(&super::cluster_slots()).await?)
    } else {
        None
    };
    let ((host, port), count) = primaries.get(node, fresh.as_ref())?;
    let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
    let reply = conn.route_command(cmd, routing).await?;
    plan::scan_reply(node, count, reply)
}
