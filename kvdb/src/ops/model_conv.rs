//! The multi-step model operations, as [`Conversation`]s: batches that may have nothing to send,
//! one page of a model `SCAN`, and the optimistic read-modify-write of `update_model`.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use redis::Value;

use super::decode;
use crate::core::{Core, stored_bytes, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::model::{KvModel, decode_model, model_key};
use crate::transport::{Conversation, PageOf, Pages, Step, finish_keyed};

/// Decodes stored bytes as a `T`, naming `key` in any error.
pub(super) fn decode_at<T: KvModel>(core: &Core, bytes: &[u8], key: &str) -> Result<T> {
    decode_model(bytes, core.limits.max_decompressed_size).map_err(|e| e.at_key(key))
}

/// At most one round trip: a batch that is empty needs none (Redis refuses `MGET` with no
/// key, and an empty pipeline is pointless).
pub(super) struct Once<O, F> {
    first: Option<Step<O>>,
    decode: Option<F>,
}

impl<O, F: FnOnce(Value) -> Result<O>> Once<O, F> {
    /// Sends `step` (or finishes with it), then decodes the reply with `decode`.
    pub(super) fn new(step: Step<O>, decode: F) -> Self {
        Once {
            first: Some(step),
            decode: Some(decode),
        }
    }
}

impl<O, F: FnOnce(Value) -> Result<O>> Conversation for Once<O, F> {
    type Output = O;

    fn needs_dedicated_connection(&self) -> bool {
        false
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<O>> {
        let internal = || Error::Internal("a one-shot conversation went on".into());
        match reply {
            None => self.first.take().ok_or_else(internal),
            Some(reply) => {
                let decode = self.decode.take().ok_or_else(internal)?;
                decode(finish_keyed(reply, || None)?).map(Step::Done)
            }
        }
    }
}

/// `SCAN cursor MATCH pattern`, then `MGET` of the keys that have the model's key shape.
pub(crate) struct ScanPage<T> {
    core: Core,
    cursor: u64,
    /// After the SCAN: the next cursor and the keys being fetched.
    scanned: Option<(u64, Vec<String>)>,
    _model: std::marker::PhantomData<fn() -> T>,
}

/// Keys asked for per `SCAN` call.
const SCAN_COUNT: u64 = 256;

impl<T: KvModel> ScanPage<T> {
    pub(super) fn new(core: Core, cursor: u64) -> Self {
        ScanPage {
            core,
            cursor,
            scanned: None,
            _model: std::marker::PhantomData,
        }
    }

    fn on_scan(&mut self, reply: Value) -> Result<Step<PageOf<T>>> {
        let (next, keys) = decode::cursor_page(reply, "SCAN")?;
        // A key that is not UTF-8 cannot have the model's key shape: skipped like the others.
        let keys: Vec<String> = decode::items(keys, "SCAN")?
            .into_iter()
            .filter_map(|k| decode::string(k, "SCAN").ok())
            .filter(|k| T::KEY_SCHEMA.matches(k))
            .collect();
        if keys.is_empty() {
            return Ok(Step::Done((next, Vec::new())));
        }
        let mut mget = redis::cmd("MGET");
        mget.arg(&keys);
        self.scanned = Some((next, keys));
        Ok(Step::Send(mget))
    }
}

impl<T: KvModel> Conversation for ScanPage<T> {
    type Output = PageOf<T>;

    fn needs_dedicated_connection(&self) -> bool {
        false
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<PageOf<T>>> {
        let Some(reply) = reply else {
            let mut scan = redis::cmd("SCAN");
            scan.arg(self.cursor)
                .arg("MATCH")
                .arg(T::KEY_SCHEMA.pattern())
                .arg("COUNT")
                .arg(SCAN_COUNT);
            return Ok(Step::Send(scan));
        };
        let reply = finish_keyed(reply, || None)?;
        let Some((next, keys)) = self.scanned.take() else {
            return self.on_scan(reply);
        };
        let Value::Array(values) = reply else {
            return Err(unexpected("MGET", &reply));
        };
        let mut items = Vec::with_capacity(keys.len());
        for (key, value) in keys.iter().zip(values) {
            // A key deleted between SCAN and MGET reads as nil: it is simply gone.
            match stored_bytes(value, "MGET") {
                Ok(Some(bytes)) => items.push(decode_at(&self.core, &bytes, key)),
                Ok(None) => {}
                Err(e) => items.push(Err(e.at_key(key))),
            }
        }
        Ok(Step::Done((next, items)))
    }
}

/// Every stored `T`, page by page: what [`scan_models`](crate::Session::scan_models) reads.
pub(super) struct ModelPages<T> {
    core: Core,
    _model: std::marker::PhantomData<fn() -> T>,
}

impl<T> ModelPages<T> {
    pub(super) fn new(core: Core) -> Self {
        ModelPages {
            core,
            _model: std::marker::PhantomData,
        }
    }
}

impl<T: KvModel> Pages for ModelPages<T> {
    type Item = T;
    type Page = ScanPage<T>;

    fn page(&self, cursor: u64) -> ScanPage<T> {
        ScanPage::new(self.core, cursor)
    }
}

/// How many times `update_model`, transactions and `KvMap::update` try before giving up with
/// [`Error::Conflict`].
pub(crate) const MAX_ATTEMPTS: u32 = 1000;

/// A short random pause after a lost race, growing with the attempts (up to 32 ms), so that
/// contending writers spread out.
pub(crate) fn backoff(attempts: u32) -> Duration {
    let cap_ms = 1u64 << attempts.min(5);
    Duration::from_micros(RandomState::new().hash_one(attempts) % (cap_ms * 1000))
}

/// The error after `attempts` lost races on `key`.
pub(super) fn conflict(key: Option<&str>, attempts: u32) -> Error {
    Error::Conflict {
        key: KeyContext::new(key.map(str::to_owned)),
        attempts,
    }
}

/// What `update_model` finishes with: the stored model (`None`: there was none), or the
/// change's refusal (the caller's error, nothing written).
type Outcome<T, E> = std::result::Result<Option<T>, E>;

enum UpdateState<T, E> {
    /// Send WATCH (first, or after a lost race).
    Start,
    Watching,
    Reading,
    /// MULTI/SET/EXEC sent with this new value.
    Writing(T),
    /// UNWATCH sent; then finish with this.
    Unwatching(Result<Outcome<T, E>>),
}

/// `WATCH key`, `GET key`, apply the change, `MULTI SET key value KEEPTTL EXEC`; if another
/// writer changed the key in between, EXEC aborts and it starts over. A change that refuses
/// (returns `Err`) ends it without writing. Needs a connection of its own (WATCH state
/// belongs to the connection).
pub(super) struct Update<T, E, F> {
    core: Core,
    key: String,
    change: F,
    attempts: u32,
    state: UpdateState<T, E>,
}

impl<T: KvModel, E, F: FnMut(&mut T) -> std::result::Result<(), E>> Update<T, E, F> {
    pub(super) fn new(core: Core, key: String, change: F) -> Self {
        Update {
            core,
            key,
            change,
            attempts: 0,
            state: UpdateState::Start,
        }
    }

    /// Applies the change to the value read, and builds the transaction that writes it;
    /// `Ok(Err(refusal))` if the change refused.
    fn write(&mut self, bytes: &[u8]) -> Result<std::result::Result<(T, redis::Pipeline), E>> {
        let mut model: T = decode_at(&self.core, bytes, &self.key)?;
        if let Err(refusal) = (self.change)(&mut model) {
            return Ok(Err(refusal));
        }
        let new_key = model_key(&model)?;
        if new_key != self.key {
            return Err(Error::Unsupported(format!(
                "update_model on {:?}: the change moved the model to key {new_key:?}; key fields \
                 cannot change in place (set the new model and delete the old key instead)",
                self.key
            )));
        }
        let mut set = redis::cmd("SET");
        set.arg(&self.key);
        self.core
            .encode_model_arg(&mut set, &model)
            .map_err(|e| e.at_key(&self.key))?;
        set.arg("KEEPTTL");
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(set);
        Ok(Ok((model, pipe)))
    }

    fn unwatch(&mut self, outcome: Result<Outcome<T, E>>) -> Step<Outcome<T, E>> {
        self.state = UpdateState::Unwatching(outcome);
        Step::Send(redis::cmd("UNWATCH"))
    }
}

impl<T: KvModel, E, F: FnMut(&mut T) -> std::result::Result<(), E>> Conversation
    for Update<T, E, F>
{
    type Output = Outcome<T, E>;

    fn needs_dedicated_connection(&self) -> bool {
        true
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<Outcome<T, E>>> {
        let state = std::mem::replace(&mut self.state, UpdateState::Start);
        let key = self.key.clone();
        let reply = reply.map(|r| finish_keyed(r, || Some(key.clone())));
        match (state, reply) {
            (UpdateState::Start, _) => {
                self.state = UpdateState::Watching;
                let mut cmd = redis::cmd("WATCH");
                cmd.arg(&self.key);
                Ok(Step::Send(cmd))
            }
            (UpdateState::Watching, Some(r)) => {
                r?;
                self.state = UpdateState::Reading;
                let mut cmd = redis::cmd("GET");
                cmd.arg(&self.key);
                Ok(Step::Send(cmd))
            }
            (UpdateState::Reading, Some(r)) => {
                let bytes = match r.and_then(|v| stored_bytes(v, "GET").map_err(|e| e.at_key(&key)))
                {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => return Ok(self.unwatch(Ok(Ok(None)))),
                    Err(e) => return Ok(self.unwatch(Err(e))),
                };
                match self.write(&bytes) {
                    Ok(Ok((model, pipe))) => {
                        self.state = UpdateState::Writing(model);
                        Ok(Step::SendPipe(pipe))
                    }
                    Ok(Err(refusal)) => Ok(self.unwatch(Ok(Err(refusal)))),
                    Err(e) => Ok(self.unwatch(Err(e))),
                }
            }
            // EXEC answered nil: the key changed after WATCH. EXEC has cleared the watch.
            (UpdateState::Writing(_), Some(Ok(Value::Nil))) => {
                self.attempts += 1;
                if self.attempts >= MAX_ATTEMPTS {
                    return Err(conflict(Some(&key), self.attempts));
                }
                Ok(Step::Sleep(backoff(self.attempts)))
            }
            (UpdateState::Writing(model), Some(r)) => r.map(|_| Step::Done(Ok(Some(model)))),
            (UpdateState::Unwatching(outcome), _) => outcome.map(Step::Done),
            (_, None) => Err(Error::Internal("update_model expected a reply".into())),
        }
    }
}
