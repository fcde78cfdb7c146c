//! Model commands: typed models at the keys their key schema gives (see [`crate::model`]).
//!
//! Models are always stored with a header carrying their tag and schema version, encoded with
//! the session's serializer and compression; a session with `Serializer::None` refuses them
//! with [`Error::SerializerRequired`](crate::Error::SerializerRequired).

use std::collections::VecDeque;
use std::time::Duration;

use redis::Value;

use super::decode::count as int;
use super::model_conv::{Once, Page, ScanPage, Update, decode_at, value_bytes};
use crate::core::{Core, unexpected};
use crate::error::Result;
use crate::model::ttl::ttl_arg;
use crate::model::{AnyModel, KvModel, decode_any, key_of, model_key};
use crate::retry::Safety;
use crate::transport::{Command, Decoder, Step};

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

fn ok(reply: Value) -> Result<()> {
    match reply {
        Value::Okay => Ok(()),
        other => Err(unexpected("SET", &other)),
    }
}

fn set<T: KvModel>(
    core: &Core,
    model: &T,
    ttl: Option<Duration>,
) -> Result<Command<impl Decoder<()> + use<T>>> {
    Ok(Command::new(set_cmd(core, model, ttl)?, ok))
}

fn get<T: KvModel>(core: &Core, key: &T::Key) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let core = *core;
    let key = key_of::<T>(key)?;
    let mut cmd = redis::cmd("GET");
    cmd.arg(&key);
    Ok(Command::new(cmd, move |reply| {
        value_bytes(reply, "GET")?
            .map(|bytes| decode_at(&core, &bytes, &key))
            .transpose()
    }))
}

fn key_cmd<T: KvModel>(
    name: &'static str,
    key: &T::Key,
) -> Result<Command<impl Decoder<u64> + use<T>>> {
    let mut cmd = redis::cmd(name);
    cmd.arg(key_of::<T>(key)?);
    Ok(Command::new(cmd, move |reply| int(reply, name)))
}

/// What `get_models` returns: each model, or `None` where there is none.
type Found<T> = Vec<Option<T>>;

fn get_many<T: KvModel>(
    core: &Core,
    keys: &[T::Key],
) -> Result<Once<Found<T>, impl Decoder<Found<T>> + use<T>>> {
    let core = *core;
    let keys = keys.iter().map(key_of::<T>).collect::<Result<Vec<_>>>()?;
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
                value_bytes(v, "MGET")
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
        Value::Array(replies) => replies.into_iter().try_for_each(ok),
        other => Err(unexpected("SET", &other)),
    }))
}

fn get_any(core: &Core, key: &str) -> Result<Command<impl Decoder<Option<AnyModel>> + use<>>> {
    let limit = core.limits.max_decompressed_size;
    let mut cmd = redis::cmd("GET");
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        value_bytes(reply, "GET")?
            .map(|bytes| decode_any(&bytes, limit))
            .transpose()
    }))
}

fn update<T: KvModel, F: FnMut(&mut T)>(
    core: &Core,
    key: &T::Key,
    change: F,
) -> Result<Update<T, F>> {
    Ok(Update::new(*core, key_of::<T>(key)?, change))
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
    /// # Ok::<(), kvdb::Error>(())
    /// ```
    fn set_model[T](model: &T) -> () where [T: KvModel] = idempotent run |core| set(core, model, T::TTL);

    /// Stores `model` at its key with this TTL instead of the model's default (whole seconds
    /// are sent as `EX`, anything finer as `PX`; less than a millisecond is an
    /// [`InvalidTtl`](crate::Error::InvalidTtl) and nothing is sent).
    fn set_model_ex[T](model: &T, ttl: Duration) -> () where [T: KvModel]
        = idempotent run |core| set(core, model, Some(ttl));

    /// Reads the `T` at `key` (its key fields: a value, or a tuple of them); `Ok(None)` if
    /// there is none. A value of another model type is an
    /// [`Error::TypeMismatch`](crate::Error::TypeMismatch); an older schema version is
    /// migrated if `T` declares a migration, else an
    /// [`Error::SchemaVersion`](crate::Error::SchemaVersion).
    fn get_model[T](key: &T::Key) -> Option<T> where [T: KvModel] = read run |core| get::<T>(core, key);

    /// Deletes the `T` at `key`; returns whether it existed.
    fn delete_model[T](key: &T::Key) -> bool where [T: KvModel]
        = idempotent run |_| key_cmd::<T>("DEL", key).map(|op| op.map(|n| n > 0));

    /// Whether a `T` is stored at `key` (the key exists; its type is not checked).
    fn exists_model[T](key: &T::Key) -> bool where [T: KvModel]
        = read run |_| key_cmd::<T>("EXISTS", key).map(|op| op.map(|n| n > 0));

    /// Reads the models at `keys` in one round trip (`MGET`), in order; `None` where there is
    /// none. Any value that is not a `T` fails the whole call, naming its key.
    fn get_models[T](keys: &[T::Key]) -> Vec<Option<T>> where [T: KvModel]
        = read converse |core| get_many::<T>(core, keys);

    /// Stores `models` in one round trip (a pipeline of `SET`s), each with the model's
    /// default TTL. Not atomic: after a connection failure some may be stored.
    fn set_models[T](models: &[T]) -> () where [T: KvModel] = idempotent converse |core| set_many(core, models, T::TTL);

    /// Reads the model at `key`, whatever its type: the stored tag names a registered model
    /// type (see [`registry`](crate::registry)), which is decoded and returned as an
    /// [`AnyModel`]. An unregistered tag is an [`Error::UnknownTag`](crate::Error::UnknownTag).
    fn get_any(key: &str) -> Option<AnyModel> = read run |core| get_any(core, key);

    /// Changes the `T` at `key` with `change` and stores it, without losing concurrent
    /// writes: `WATCH`, `GET`, `change`, then `MULTI`/`SET`/`EXEC`; if another client wrote
    /// the key in between, it starts over (so `change` may run several times), and gives up
    /// with [`Error::Conflict`](crate::Error::Conflict) after 1000 lost races. The key's TTL is
    /// kept. Returns the stored model, or `None` (and stores nothing) if there is none.
    /// `change` must not change the key fields.
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, KvModel)] #[kv(prefix = "counters")]
    /// # struct Counter { #[kv(key)] name: String, hits: u64 }
    /// # let session: kvdb::Session = todo!();
    /// let c = session.update_model::<Counter, _>(&"home".into(), |c| c.hits += 1)?;
    /// # Ok::<(), kvdb::Error>(())
    /// ```
    fn update_model[T, F](key: &T::Key, change: F) -> Option<T>
        where [T: KvModel, F: FnMut(&mut T) + Send]
        = once converse |core| update::<T, F>(core, key, change);
}

/// Every stored `T`, read page by page: what [`Session::scan_models`](crate::Session::scan_models)
/// returns.
///
/// Each page is one `SCAN` (with the model's key pattern) and one `MGET`. Keys that match the
/// pattern but not the model's key shape are skipped; a value at a key of the right shape
/// that is not a `T` is an `Err` item, and iteration goes on. As with any `SCAN`, a model
/// stored or deleted during the scan may or may not be seen, and one may be seen twice if
/// Redis resizes its table meanwhile.
pub struct ModelScan<T> {
    session: crate::Session,
    cursor: Option<u64>,
    buffer: VecDeque<Result<T>>,
}

impl<T: KvModel> Iterator for ModelScan<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some(item);
            }
            let cursor = self.cursor?;
            let page = ScanPage::<T>::new(*self.session.core(), cursor);
            match self.session.pool().sync.converse(page, Safety::Read) {
                Ok(Page { next, items }) => {
                    self.cursor = (next != 0).then_some(next);
                    self.buffer.extend(items);
                }
                Err(e) => {
                    self.cursor = None;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<T> std::fmt::Debug for ModelScan<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelScan")
            .field("cursor", &self.cursor)
            .field("buffered", &self.buffer.len())
            .finish()
    }
}

impl crate::Session {
    /// Iterates over every stored `T` (see [`ModelScan`]). Nothing is sent until the first
    /// `next()`.
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, KvModel)] #[kv(prefix = "users")]
    /// # struct User { #[kv(key)] id: u64, name: String }
    /// # let session: kvdb::Session = todo!();
    /// for user in session.scan_models::<User>() {
    ///     println!("{}", user?.name);
    /// }
    /// # Ok::<(), kvdb::Error>(())
    /// ```
    pub fn scan_models<T: KvModel>(&self) -> ModelScan<T> {
        ModelScan {
            session: self.clone(),
            cursor: Some(0),
            buffer: VecDeque::new(),
        }
    }
}

#[cfg(feature = "async")]
impl crate::AsyncSession {
    /// Reads every stored `T` (see [`ModelScan`] for what is read); fails on the first value
    /// that is not a `T`. The blocking [`Session::scan_models`](crate::Session::scan_models)
    /// iterates lazily and lets you skip such values.
    pub async fn scan_models<T: KvModel>(&self) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut cursor = 0;
        loop {
            let page = ScanPage::<T>::new(*self.core(), cursor);
            let Page { next, items } = self.pool().aio.converse(page, Safety::Read).await?;
            for item in items {
                out.push(item?);
            }
            if next == 0 {
                return Ok(out);
            }
            cursor = next;
        }
    }
}
