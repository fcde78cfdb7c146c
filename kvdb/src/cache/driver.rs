//! The two drivers of a cache-aside [`Flow`]: each joins the process's single flight, then
//! carries out the flow's actions on its transport. Only the transport calls and the user's
//! computation (a closure, or a closure returning a future) differ.
//!
//! A computation that is `Send + 'static` (the `*_owned` entry points) lets a due
//! refresh-ahead run in the background: the flow detaches a refresh flow holding the lock,
//! which runs on a thread (sync) or a tokio task (async) while the caller returns the cached
//! value. A borrowed computation refreshes inline (the flow is then not detachable).

use std::panic::AssertUnwindSafe;

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
    Error::Internal("the cache flow asked to compute twice".into())
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

/// Runs `flow` on the blocking pool, computing with `compute` when it asks; a due refresh is
/// computed by this caller.
pub(crate) fn run_sync<T, E>(
    session: &crate::Session,
    flow: Flow<T>,
    compute: impl FnOnce() -> std::result::Result<T, E>,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned,
{
    drive_sync(session, flow, compute, None::<fn(Flow<T>, _)>)
}

/// As [`run_sync`], with a computation that can move to a thread: a due refresh runs there.
pub(crate) fn run_sync_owned<T, E, C>(
    session: &crate::Session,
    flow: Flow<T>,
    compute: C,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    C: FnOnce() -> std::result::Result<T, E> + Send + 'static,
{
    let detach = |bg: Flow<T>, compute: C| refresh_on_thread(session.clone(), bg, compute);
    drive_sync(session, flow.detachable(), compute, Some(detach))
}

/// Runs a detached refresh on a thread of its own; if no thread can be started, here.
fn refresh_on_thread<T, E, C>(session: crate::Session, flow: Flow<T>, compute: C)
where
    T: Serialize + DeserializeOwned + Send + 'static,
    C: FnOnce() -> std::result::Result<T, E> + Send + 'static,
{
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some((session, flow, compute))));
    let mine = slot.clone();
    let run = move || {
        let taken = mine.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((session, flow, compute)) = taken {
            // A panicking computation is a failed refresh, reported by the flow.
            let compute = move || match std::panic::catch_unwind(AssertUnwindSafe(compute)) {
                Ok(Ok(v)) => Ok(v),
                _ => Err(()),
            };
            let _ = drive_sync(&session, flow, compute, None::<fn(Flow<T>, _)>);
        }
    };
    let spawned = std::thread::Builder::new()
        .name("kvdb-cache-refresh".into())
        .spawn(run.clone());
    if spawned.is_err() {
        run();
    }
}

fn drive_sync<T, E, C, D>(
    session: &crate::Session,
    mut flow: Flow<T>,
    compute: C,
    detach: Option<D>,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned,
    C: FnOnce() -> std::result::Result<T, E>,
    D: FnOnce(Flow<T>, C),
{
    let pool = session.pool();
    let mut leader = None;
    let mut compute = Some(compute);
    let mut detach = detach;
    let mut error = None;
    let mut input = Input::Start;
    loop {
        input = match flow.next(input)? {
            Action::Send(cmd, safety) => Input::Reply(
                pool.sync
                    .run(raw(cmd), session.op_info("cached").with_safety(safety)),
            ),
            Action::Wait(cmd, wait) => Input::Reply(pool.sync.blocking(
                Blocking {
                    op: raw(cmd),
                    wait: Some(wait),
                },
                session.op_info("cached"),
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
            Action::Detach(bg) => {
                let (d, c) = detach.take().zip(compute.take()).ok_or_else(internal)?;
                d(*bg, c);
                Input::Detached
            }
            Action::Return(v) => return returned(v, error, leader),
        }
    }
}

/// Runs `flow` on the async connections, awaiting `compute()` when it asks; a due refresh is
/// computed by this caller.
#[cfg(feature = "async")]
pub(crate) async fn run_async<T, E, F, Fut>(
    session: &crate::AsyncSession,
    flow: Flow<T>,
    compute: F,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
{
    drive_async(session, flow, compute, None::<fn(Flow<T>, F)>).await
}

/// As [`run_async`], with a computation that can move to a task: a due refresh is spawned on
/// the current tokio runtime (inline if there is none).
#[cfg(feature = "async")]
pub(crate) async fn run_async_owned<T, E, F, Fut>(
    session: &crate::AsyncSession,
    flow: Flow<T>,
    compute: F,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = std::result::Result<T, E>> + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return run_async(session, flow, compute).await;
    };
    let owned = session.clone();
    let detach = move |bg: Flow<T>, compute: F| {
        runtime.spawn(async move {
            // The computation in a task of its own: a panic there is a failed refresh.
            let compute = move || async move {
                match tokio::spawn(async move { compute().await.map_err(|_| ()) }).await {
                    Ok(r) => r,
                    Err(_) => Err(()),
                }
            };
            let _ = drive_async(&owned, bg, compute, None::<fn(Flow<T>, _)>).await;
        });
    };
    drive_async(session, flow.detachable(), compute, Some(detach)).await
}

#[cfg(feature = "async")]
async fn drive_async<T, E, F, Fut, D>(
    session: &crate::AsyncSession,
    mut flow: Flow<T>,
    compute: F,
    detach: Option<D>,
) -> std::result::Result<T, Failure<E>>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, E>>,
    D: FnOnce(Flow<T>, F),
{
    let pool = session.pool();
    let mut leader = None;
    let mut compute = Some(compute);
    let mut detach = detach;
    let mut error = None;
    let mut input = Input::Start;
    loop {
        input = match flow.next(input)? {
            // Each request's future is boxed: the transport's futures (observation, retries,
            // cluster routing) nested inside the user's own async code otherwise exceed
            // rustc's layout depth limit in the user's crate. One allocation per round trip.
            Action::Send(cmd, safety) => Input::Reply(
                Box::pin(
                    pool.aio
                        .run(raw(cmd), session.op_info("cached").with_safety(safety)),
                )
                .await,
            ),
            Action::Wait(cmd, wait) => Input::Reply(
                Box::pin(pool.aio.blocking(
                    Blocking {
                        op: raw(cmd),
                        wait: Some(wait),
                    },
                    session.op_info("cached"),
                ))
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
            Action::Detach(bg) => {
                let (d, c) = detach.take().zip(compute.take()).ok_or_else(internal)?;
                d(*bg, c);
                Input::Detached
            }
            Action::Return(v) => return returned(v, error, leader),
        }
    }
}
