//! Model commands: typed models at the keys their key schema gives (see [`crate::model`]).
//!
//! Models are always stored with a header carrying their tag and schema version, encoded with
//! the session's serializer and compression; a session with `Serializer::None` refuses them
//! with [`Error::SerializerRequired`](crate::Error::SerializerRequired).

use std::convert::Infallible;
use std::time::Duration;

use redis::Value;

use super::decode;
use super::model_conv::{ModelPages, Once, Update, decode_at};
use crate::core::{Core, stored_bytes, unexpected};
use crate::error::{Error, Result};
use crate::model::ttl::ttl_arg;
use crate::model::{AnyModel, AsKey, KvModel, decode_any, key_of, model_key};
use crate::transport::{Command, Decoder, Step, map_conversation};

/// Appends `EX seconds`, or `PX milliseconds` when the TTL is not whole seconds.
fn push_ttl(cmd: &mut redis::Cmd, key: &str, ttl: Option<Duration>) -> Result<()> {
    if let Some(t) = ttl {
        let (option, n) = ttl_arg("set_model", key, t)?.set_option();
        cmd.arg(option).arg(n);
    }
    Ok(())
}

/// `SET key value [EX|PX ttl]` for `model`.
fn set_cmd<T: KvModel>(core: &Core, model: &T, ttl: Option<Duration>) -> Result<redis::Cmd> {
    let key = model_key(model)?;
    let mut cmd = redis::cmd("SET");
    cmd.arg(&key);
    core.encode_model_arg(&mut cmd, model)
        .map_err(|e| e.at_key(&key))?;
    push_ttl(&mut cmd, &key, ttl)?;
    Ok(cmd)
}

fn set<T: KvModel>(
    core: &Core,
    model: &T,
    ttl: Option<Duration>,
) -> Result<Command<impl Decoder<()> + use<T>>> {
    Ok(Command::new(set_cmd(core, model, ttl)?, |reply| {
        decode::ok(reply, "SET")
    }))
}

/// `GET key` read as a `T` (the key is formatted by the caller: builders do not depend on
/// the borrowed form it was given in).
fn get<T: KvModel>(core: &Core, key: String) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("GET");
    cmd.arg(&key);
    Ok(Command::new(cmd, move |reply| {
        stored_bytes(reply, "GET")?
            .map(|bytes| decode_at(&core, &bytes, &key))
            .transpose()
    }))
}

fn key_cmd(name: &'static str, key: String) -> Result<Command<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd(name);
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| decode::count(reply, name)))
}

/// What `get_models` returns: each model, or `None` where there is none.
type Found<T> = Vec<Option<T>>;

fn get_many<T: KvModel>(
    core: &Core,
    keys: Vec<String>,
) -> Result<Once<Found<T>, impl Decoder<Found<T>> + use<T>>> {
    let core = *core;
    let first = if keys.is_empty() {
        Step::Done(Vec::new())
    } else {
        let mut cmd = redis::cmd("MGET");
        cmd.arg(&keys);
        Step::Send(cmd)
    };
    Ok(Once::new(first, move |reply| match reply {
        Value::Array(values) if values.len() == keys.len() => keys
            .iter()
            .zip(values)
            .map(|(key, v)| {
                stored_bytes(v, "MGET")
                    .map_err(|e| e.at_key(key))?
                    .map(|bytes| decode_at(&core, &bytes, key))
                    .transpose()
            })
            .collect(),
        other => Err(unexpected("MGET", &other)),
    }))
}

fn set_many<T: KvModel>(
    core: &Core,
    models: &[T],
    ttl: Option<Duration>,
) -> Result<Once<(), impl Decoder<()> + use<T>>> {
    let first = if models.is_empty() {
        Step::Done(())
    } else {
        let mut pipe = redis::pipe();
        for m in models {
            pipe.add_command(set_cmd(core, m, ttl)?);
        }
        Step::SendPipe(pipe)
    };
    Ok(Once::new(first, |reply| match reply {
        Value::Array(replies) => replies.into_iter().try_for_each(|r| decode::ok(r, "SET")),
        other => Err(unexpected("SET", &other)),
    }))
}

fn get_any(core: &Core, key: &str) -> Result<Command<impl Decoder<Option<AnyModel>> + use<>>> {
    let limit = core.limits.max_decompressed_size;
    let mut cmd = redis::cmd("GET");
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        stored_bytes(reply, "GET")?
            .map(|bytes| decode_any(&bytes, limit))
            .transpose()
    }))
}

/// The keys of `T` for `keys`, in order.
fn keys_of<T: KvModel>(keys: &[impl AsKey<T::Key>]) -> Result<Vec<String>> {
    keys.iter().map(|k| key_of::<T>(k)).collect()
}

session_methods! {
    /// Stores `model` at its key (`SET`), with the model's default TTL
    /// (`#[kv(ttl = ...)]`) if it has one.
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, KvModel)]
    /// #[kv(prefix = "users")]
    /// struct User { #[kv(key)] id: u64, name: String }
    ///
    /// # let session: kvdb::Session = todo!();
    /// session.set_model(&User { id: 42, name: "Ann".into() })?; // at "users:42"
    /// let ann: Option<User> = session.get_model::<User>(&42)?;
    ///
    /// // Several at once, in one round trip:
    /// let mut p = session.pipeline();
    /// let bo = p.set_model(&User { id: 7, name: "Bo".into() });
    /// let ann = p.get_model::<User>(&42);
    /// let mut results = session.execute(p)?;
    /// results.take(bo)?;
    /// assert_eq!(results.take(ann)?.map(|u| u.name).as_deref(), Some("Ann"));
    /// # Ok::<(), kvdb::Error>(())
    /// ```
    fn set_model[T](model: &T) -> () where [T: KvModel] = [pipe, idempotent] run |core| set(core, model, T::TTL);

    /// Stores `model` at its key with this TTL instead of the model's default (whole seconds
    /// are sent as `EX`, anything finer as `PX`; less than a millisecond is an
    /// [`InvalidTtl`](crate::Error::InvalidTtl) and nothing is sent).
    fn set_model_ex[T](model: &T, ttl: Duration) -> () where [T: KvModel]
        = [pipe, idempotent] run |core| set(core, model, Some(ttl));

    /// Reads the `T` at `key` (its key fields: a value, or a tuple of them, each as owned or
    /// borrowed as you hold it: `"a@b.com"` for a `String` key, `&(7, "acme")` for
    /// `(u64, String)`; see [`AsKey`]); `Ok(None)` if there is none. A value of another model type is an
    /// [`Error::TypeMismatch`](crate::Error::TypeMismatch); an older schema version is
    /// migrated if `T` declares a migration, else an
    /// [`Error::SchemaVersion`](crate::Error::SchemaVersion).
    fn get_model[T](key: &(impl AsKey<T::Key> + ?Sized)) -> Option<T> where [T: KvModel]
        = [pipe, read] run |core| get::<T>(core, key_of::<T>(key)?);

    /// Deletes the `T` at `key`; returns whether it existed.
    fn delete_model[T](key: &(impl AsKey<T::Key> + ?Sized)) -> bool where [T: KvModel]
        = [pipe, idempotent] run |_| key_cmd("DEL", key_of::<T>(key)?).map(|op| op.map(|n| n > 0));

    /// Whether a `T` is stored at `key` (the key exists; its type is not checked).
    fn exists_model[T](key: &(impl AsKey<T::Key> + ?Sized)) -> bool where [T: KvModel]
        = [pipe, read] run |_| key_cmd("EXISTS", key_of::<T>(key)?).map(|op| op.map(|n| n > 0));

    /// Reads the models at `keys` in one round trip (`MGET`), in order; `None` where there is
    /// none. Any value that is not a `T` fails the whole call, naming its key.
    fn get_models[T](keys: &[impl AsKey<T::Key>]) -> Vec<Option<T>> where [T: KvModel]
        = [read] converse |core| get_many::<T>(core, keys_of::<T>(keys)?);

    /// Stores `models` in one round trip (a pipeline of `SET`s), each with the model's
    /// default TTL. Not atomic: after a connection failure some may be stored.
    fn set_models[T](models: &[T]) -> () where [T: KvModel] = [idempotent] converse |core| set_many(core, models, T::TTL);

    /// Reads the model at `key`, whatever its type: the stored tag names a registered model
    /// type (see [`registry`](crate::registry)), which is decoded and returned as an
    /// [`AnyModel`]. An unregistered tag is an [`Error::UnknownTag`](crate::Error::UnknownTag).
    fn get_any(key: &str) -> Option<AnyModel> = [pipe, read] run |core| get_any(core, key);

    /// Changes the `T` at `key` with `change` and stores it, without losing concurrent
    /// writes: `WATCH`, `GET`, `change`, then `MULTI`/`SET`/`EXEC`; if another client wrote
    /// the key in between, it starts over (so `change` may run several times), and gives up
    /// with [`Error::Conflict`](crate::Error::Conflict) after 1000 lost races. The key's TTL is
    /// kept. Returns the stored model, or `None` (and stores nothing) if there is none.
    /// `change` must not change the key fields. To refuse a change, see
    /// [`try_update_model`](Self::try_update_model); for several keys,
    /// [`transaction`](Self::transaction).
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, KvModel)] #[kv(prefix = "counters")]
    /// # struct Counter { #[kv(key)] name: String, hits: u64 }
    /// # let session: kvdb::Session = todo!();
    /// let c = session.update_model::<Counter, _>("home", |c| c.hits += 1)?;
    /// # Ok::<(), kvdb::Error>(())
    /// ```
    fn update_model[T, F](key: &(impl AsKey<T::Key> + ?Sized), change: F) -> Option<T>
        where [T: KvModel, F: FnMut(&mut T)] async [F: Send]
        = [once] converse |core: &Core| Ok::<_, Error>(Update::<T, Infallible, _>::new(*core, key_of::<T>(key)?, infallible(change)))
            .map(|up| map_conversation(up, |outcome| Ok(outcome.unwrap_or_else(|never| match never {}))));

    /// [`update_model`](Self::update_model) with a change that can refuse: when `change`
    /// returns `Err(e)`, nothing is written and the call returns `Err(e)`, the caller's own
    /// error. `E` is any error type that kvdb's errors convert into (`From<kvdb::Error>`): your
    /// application's error enum with a `#[from] kvdb::Error` variant, `anyhow::Error`, or
    /// `kvdb::Error` itself; so a refusal and a failure come back through one `?`, and a
    /// refusal is told apart by matching your own variant.
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Serialize, Deserialize, KvModel)]
    /// #[kv(prefix = "stock")]
    /// struct Stock { #[kv(key)] sku: String, qty: u32 }
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// enum OrderError {
    ///     #[error("only {0} left")]
    ///     OutOfStock(u32),
    ///     #[error(transparent)]
    ///     Store(#[from] kvdb::Error),
    /// }
    ///
    /// # fn demo(session: &kvdb::Session) -> Result<(), OrderError> {
    /// let taken = session.try_update_model::<Stock, _, OrderError>("sku-1", |s| {
    ///     if s.qty < 3 {
    ///         return Err(OrderError::OutOfStock(s.qty)); // nothing is written
    ///     }
    ///     s.qty -= 3;
    ///     Ok(())
    /// })?;
    /// # Ok(()) }
    /// ```
    fn try_update_model[T, F, E](key: &(impl AsKey<T::Key> + ?Sized), change: F)
        -> std::result::Result<Option<T>, E>
        where [T: KvModel, F: FnMut(&mut T) -> std::result::Result<(), E>, E: From<Error>]
        async [F: Send, E: Send]
        = [once] fallible |core: &Core| Ok::<_, Error>(Update::<T, E, F>::new(*core, key_of::<T>(key)?, change));

    /// Iterates over every stored `T`, a page at a time (each page one `SCAN` with the
    /// model's key pattern and one `MGET`): an iterator (sync) or a stream (async). Keys that
    /// match the pattern but not the model's key shape are skipped; a value at a key of the
    /// right shape that is not a `T` is an `Err` item, and iteration goes on. As with any
    /// `SCAN`, a model stored or deleted during the scan may or may not be seen, and one may be
    /// seen twice if Redis resizes its table meanwhile. Nothing is sent until the first item
    /// is asked for.
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, KvModel)] #[kv(prefix = "users")]
    /// # struct User { #[kv(key)] id: u64, name: String }
    /// # fn demo(session: &kvdb::Session) -> kvdb::Result<()> {
    /// for user in session.scan_models::<User>()? {
    ///     println!("{}", user?.name);
    /// }
    /// # Ok(()) }
    /// # async fn demo_async(session: &kvdb::AsyncSession) -> kvdb::Result<()> {
    /// use kvdb::StreamExt; // `next()` on streams
    /// let mut users = session.scan_models::<User>()?;
    /// while let Some(user) = users.next().await {
    ///     println!("{}", user?.name);
    /// }
    /// # Ok(()) }
    /// ```
    fn scan_models[T]() -> T where [T: KvModel] = [read] pages |core: &Core| Ok::<_, Error>(ModelPages::<T>::new(*core));
}

/// `change` as a change that never refuses.
fn infallible<T, F: FnMut(&mut T)>(
    mut change: F,
) -> impl FnMut(&mut T) -> std::result::Result<(), Infallible> {
    move |m| {
        change(m);
        Ok(())
    }
}
