//! The two drivers of a cache-aside [`Flow`]: each joins the process's single flight, then
//! carries out the flow's actions on its transport. Only the transport calls and the user's
//! computation (a closure, or a closure returning a future) differ.

use crate::retry::Safety;
use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::flight::{self, Role};
use super::flow::{Action, Flow, Input};
use crate::error::Error;
use crate::transport::{Blocking, Command};

/// Why a cache-aside call failed: the cache, or the computation (whose error is the caller's).
pub(crate) enum Failure<E> {
    Cache(Error),
    Compute(E),
}

impl<E> From<Error> for Failure<E> {
    fn from(e: Error) -> Self {
        Failure::Cache(e)
    }
}

fn raw(cmd: redis::Cmd) -> Command<impl crate::transport::Decoder<Value>> {
    Command::new(cmd, Ok)
}

fn internal() -> Error {
    Error::Unsupported("internal: the cache flow asked to compute twice".into())
}

/// The answer of a finished flow: its value, or the computation's error; the process's flight
/// (if this call led it) ends here, after the value is stored.
fn returned<T, E>(
    value: Option<T>,
    error: Option<E>,
    leader: Option<flight::Leader>,
) -> std::result::Result<T, Failure<E>> {
    drop(leader);
    value.ok_or_else(|| error.map_or_else(|| Failure::Cache(internal()), Failure::Compute))
}

/// The identity of a pool, for the process's single flight.
fn pool_id(pool: &crate::pool::Pool) -> usize {
    pool as *const crate::pool::Pool as usize
}

/// Runs `flow` on the blocking pool, computing with `compute` when it asks.
pub(crate) fn run_sync<T, E>(
    session: &crate::Session,
    mut flow: Flow<T>,
    compute: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned,
{
    let pool = session.pool();
    let mut leader = None;
    let mut compute = Some(compute);
    let mut error = None;
    let mut input = Input::Start;
    loop {
        input = match flow.next(input)? {
            Action::Send(cmd, safety) => Input::Reply(pool.sync.run(raw(cmd), safety)),
            Action::Wait(cmd, wait) => Input::Reply(pool.sync.blocking(
                Blocking {
                    op: raw(cmd),
                    wait: Some(wait),
                },
                Safety::Once,
            )),
            Action::Join => match flight::join(pool_id(pool), flow.key()) {
                Role::Leader(l) => {
                    leader = Some(l);
                    Input::Joined { leader: true }
                }
                Role::Follower(f) => {
                    f.wait(flow.deadline());
                    Input::Joined { leader: false }
                }
            },
            Action::Compute => match (compute.take().ok_or_else(internal)?)() {
                Ok(v) => Input::Computed(v),
                Err(e) => {
                    error = Some(e);
                    Input::ComputeFailed
                }
            },
            Action::Return(v) => return returned(v, error, leader),
        }
    }
}

/// Runs `flow` on the async connections, awaiting `compute()` when it asks.
#[cfg(feature = "async")]
pub(crate) async fn run_async<T, E, F, Fut>(
    session: &crate::AsyncSession,
    mut flow: Flow<T>,
    compute: F,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
{
    let pool = session.pool();
    let mut leader = None;
    let mut compute = Some(compute);
    let mut error = None;
    let mut input = Input::Start;
    loop {
        input = match flow.next(input)? {
            Action::Send(cmd, safety) => Input::Reply(pool.aio.run(raw(cmd), safety).await),
            Action::Wait(cmd, wait) => Input::Reply(
                pool.aio
                    .blocking(
                        Blocking {
                            op: raw(cmd),
                            wait: Some(wait),
                        },
                        Safety::Once,
                    )
                    .await,
            ),
            Action::Join => match flight::join(pool_id(pool), flow.key()) {
                Role::Leader(l) => {
                    leader = Some(l);
                    Input::Joined { leader: true }
                }
                Role::Follower(f) => {
                    f.wait_async(flow.deadline()).await;
                    Input::Joined { leader: false }
                }
            },
            Action::Compute => match (compute.take().ok_or_else(internal)?)().await {
                Ok(v) => Input::Computed(v),
                Err(e) => {
                    error = Some(e);
                    Input::ComputeFailed
                }
            },
            Action::Return(v) => return returned(v, error, leader),
        }
    }
}
