//! The async cluster transport: requests on a `redis::cluster_async::ClusterConnection`,
//! which multiplexes one connection per node and follows redirections and failovers itself.
//! A split request's commands that may be sent twice (reads, plain `SET`s) go as one pipeline
//! per node, all nodes at once ([`super::by_node`]); a command a node redirects is sent again
//! on its own, following the redirection. Other split commands are sent one by one, all at
//! once.

use redis::aio::ConnectionLike;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{RedisResult, Value};

use super::plan::{self, Prepared};
use super::{Primaries, by_node};
use crate::error::Result;
use crate::transport::Request;

/// Sends `request` on `conn`; the outer `Err` is for a request refused before sending.
pub(crate) async fn send(
    conn: &mut ClusterConnection,
    batch: Option<&ClusterConnection>,
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
            let replies = match batch {
                Some(batch) if plan.cmds.len() > 1 && plan.cmds.iter().all(plan::repeatable) => {
                    per_node(conn, batch, primaries, &plan.cmds).await
                }
                _ => one_by_one(conn, plan.cmds.iter()).await,
            };
            plan.combine(replies)
        }
        (Prepared::Scan { node, cmd }, _) => scan(conn, primaries, node, cmd).await,
    })
}

/// Each command on its own (the `redis` crate routes it and follows redirections), all at
/// once.
async fn one_by_one<'a>(
    conn: &ClusterConnection,
    cmds: impl Iterator<Item = &'a redis::Cmd>,
) -> Vec<RedisResult<Value>> {
    futures_util::future::join_all(cmds.map(|cmd| {
        let mut conn = conn.clone();
        async move { conn.req_packed_command(cmd).await }
    }))
    .await
}

/// Repeatable commands as one pipeline per node on `batch`, by the pool's slot table (read
/// first if need be), all nodes at once; replies in the order of `cmds`.
///
/// `batch` does not retry, so a redirection (a slot moved) fails its node's whole pipeline:
/// the table is then read again and the failed nodes' commands are sent again by it, once.
/// Whatever still fails goes one command at a time on `conn`, which follows redirections.
/// (The `redis` crate follows a redirection inside a pipeline by sending the whole pipeline
/// to the new node, whose other commands then bounce back: batches cannot rely on it.)
async fn per_node(
    conn: &mut ClusterConnection,
    batch: &ClusterConnection,
    primaries: &Primaries,
    cmds: &[redis::Cmd],
) -> Vec<RedisResult<Value>> {
    let mut out: Vec<Option<RedisResult<Value>>> = (0..cmds.len()).map(|_| None).collect();
    let mut pending: Vec<usize> = (0..cmds.len()).collect();
    for fresh in [false, true] {
        let cached = if fresh { None } else { primaries.slot_table() };
        let table = match cached {
            Some(t) => t,
            None => match batch
                .clone()
                .req_packed_command(&super::cluster_slots())
                .await
            {
                Ok(reply) => primaries.set_slots(&reply),
                Err(_) => break,
            },
        };
        let Some(groups) = table.group(cmds, pending.iter().copied()) else {
            break;
        };
        let sent = futures_util::future::join_all(groups.iter().map(|(node, indexes)| {
            let mut conn = batch.clone();
            let (host, port) = table.node(*node).cloned().unwrap_or_default();
            let mut pipe = redis::pipe();
            for &i in indexes {
                pipe.add_command(cmds[i].clone());
            }
            async move {
                let routing = SingleNodeRoutingInfo::ByAddress { host, port };
                conn.route_pipeline(pipe, 0, indexes.len(), routing).await
            }
        }))
        .await;
        pending.clear();
        for ((_, indexes), replies) in groups.iter().zip(sent) {
            match replies {
                Ok(values) if values.len() == indexes.len() => {
                    for (&i, v) in indexes.iter().zip(values) {
                        if by_node::redirected(&v) {
                            pending.push(i);
                        } else {
                            out[i] = Some(Ok(v));
                        }
                    }
                }
                _ => pending.extend_from_slice(indexes),
            }
        }
        if pending.is_empty() {
            break;
        }
        primaries.forget_slots();
    }
    if !pending.is_empty() {
        let replies = one_by_one(conn, pending.iter().map(|&i| &cmds[i])).await;
        for (i, r) in pending.into_iter().zip(replies) {
            out[i] = Some(r);
        }
    }
    out.into_iter()
        .map(|r| r.unwrap_or(Ok(Value::Nil)))
        .collect()
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
