//! Operations of several steps on one connection ([`Conversation`], [`Step`]), read-only
//! routing ([`ReadOnly`]), and paged reads ([`Pages`], [`Cursor`]), which the sync and async
//! transports drive the same way.

use std::collections::VecDeque;
use std::time::Duration;

use redis::Value;

use super::{Op, Request, decoded_twice};
use crate::error::{Error, Result};
use crate::retry::Safety;

/// What a [`Conversation`] wants next.
pub(crate) enum Step<O> {
    /// Send this command and come back with its reply.
    Send(redis::Cmd),
    /// Send this pipeline and come back with the array of replies.
    SendPipe(redis::Pipeline),
    /// Wait, then come back with no reply.
    Sleep(Duration),
    /// Finished.
    Done(O),
}

/// A multi-step operation run on one connection. The transport calls `step(None)` first,
/// then `step(Some(reply))` after each request, until `Done`. Server errors are handed to the
/// conversation (as `Err`) so it can react (e.g. NOSCRIPT); connection errors end it.
pub(crate) trait Conversation {
    /// What the conversation returns.
    type Output;
    /// Whether the conversation needs a connection of its own (WATCH state); otherwise it may
    /// share a multiplexed connection.
    #[cfg_attr(not(feature = "async"), allow(dead_code))] // only the async transport shares
    fn needs_dedicated_connection(&self) -> bool;
    /// The next step.
    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<Self::Output>>;
    /// Whether the whole conversation may be started again (after [`rewind`](Self::rewind))
    /// when its connection failed half-way: `Some(safety)` when every step it can send has
    /// that safety (e.g. a script declared read-only). `None`, the default: only getting a
    /// connection is retried.
    fn restartable(&self) -> Option<crate::retry::Safety> {
        None
    }
    /// Puts a [`restartable`](Self::restartable) conversation back at its first step.
    fn rewind(&mut self) {}
    /// Whether the conversation only reads, so that a replica may serve it (see [`ReadOnly`]).
    fn read_only(&self) -> bool {
        false
    }
}

impl<C: Conversation + ?Sized> Conversation for &mut C {
    type Output = C::Output;
    fn needs_dedicated_connection(&self) -> bool {
        (**self).needs_dedicated_connection()
    }
    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<Self::Output>> {
        (**self).step(reply)
    }
    fn restartable(&self) -> Option<crate::retry::Safety> {
        (**self).restartable()
    }
    fn rewind(&mut self) {
        (**self).rewind()
    }
    fn read_only(&self) -> bool {
        (**self).read_only()
    }
}

/// An operation (an [`Op`], a [`Conversation`] or [`Pages`]) declared read-only where it is
/// described (a `session_methods!` entry marked `read`): with replica reads on, the transports
/// may send it to a replica. Everything else goes to the primary.
pub(crate) struct ReadOnly<T>(pub(crate) T);

impl<T: Op> Op for ReadOnly<T> {
    type Output = T::Output;
    fn request(&self) -> Request<'_> {
        self.0.request()
    }
    fn decode(&mut self, reply: Value) -> Result<T::Output> {
        self.0.decode(reply)
    }
    fn local_reply(&mut self) -> Option<Value> {
        self.0.local_reply()
    }
    fn safety(&self) -> Option<Safety> {
        self.0.safety()
    }
    fn read_only(&self) -> bool {
        true
    }
}

impl<T: Conversation> Conversation for ReadOnly<T> {
    type Output = T::Output;
    fn needs_dedicated_connection(&self) -> bool {
        self.0.needs_dedicated_connection()
    }
    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<T::Output>> {
        self.0.step(reply)
    }
    fn restartable(&self) -> Option<Safety> {
        self.0.restartable()
    }
    fn rewind(&mut self) {
        self.0.rewind()
    }
    fn read_only(&self) -> bool {
        true
    }
}

impl<T: Pages> Pages for ReadOnly<T> {
    type Item = T::Item;
    type Page = ReadOnly<T::Page>;
    fn page(&self, cursor: u64) -> Self::Page {
        ReadOnly(self.0.page(cursor))
    }
}

/// A conversation whose output is passed through a function.
pub(crate) struct Mapped<C, F> {
    conv: C,
    f: Option<F>,
}

/// `conv`, with its output passed through `f`.
pub(crate) fn map_conversation<C, O, F>(conv: C, f: F) -> Mapped<C, F>
where
    C: Conversation,
    F: FnOnce(C::Output) -> Result<O>,
{
    Mapped { conv, f: Some(f) }
}

impl<C, O, F> Conversation for Mapped<C, F>
where
    C: Conversation,
    F: FnOnce(C::Output) -> Result<O>,
{
    type Output = O;

    fn needs_dedicated_connection(&self) -> bool {
        self.conv.needs_dedicated_connection()
    }

    fn read_only(&self) -> bool {
        self.conv.read_only()
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<O>> {
        Ok(match self.conv.step(reply)? {
            Step::Send(c) => Step::Send(c),
            Step::SendPipe(p) => Step::SendPipe(p),
            Step::Sleep(d) => Step::Sleep(d),
            Step::Done(out) => Step::Done((self.f.take().ok_or_else(decoded_twice)?)(out)?),
        })
    }

    fn restartable(&self) -> Option<crate::retry::Safety> {
        self.conv.restartable()
    }

    fn rewind(&mut self) {
        self.conv.rewind()
    }
}

/// What one page of a paged read brings: the next cursor (0 when finished) and the page's
/// items, each decoded or its own error (one bad item does not end the sequence).
pub(crate) type PageOf<T> = (u64, Vec<Result<T>>);

/// A sequence read a page at a time with a cursor (SCAN and its kin): each page is a
/// [`Conversation`] (one `SCAN`, or a `SCAN` and an `MGET` for models) that returns the next
/// cursor and the page's items.
pub(crate) trait Pages {
    /// What the sequence yields.
    type Item;
    /// The request for one page.
    type Page: Conversation<Output = PageOf<Self::Item>>;
    /// The request for the page at `cursor`.
    fn page(&self, cursor: u64) -> Self::Page;
}

/// The state of a paged read, driven the same way by the sync iterator and the async stream:
/// pop buffered items; when none is left, send [`next_page`](Self::next_page) and
/// [`absorb`](Self::absorb) its result.
pub(crate) struct Cursor<P: Pages> {
    pages: P,
    next: Option<u64>,
    buffer: VecDeque<Result<P::Item>>,
}

impl<P: Pages> Cursor<P> {
    pub(crate) fn new(pages: P) -> Self {
        Cursor {
            pages,
            next: Some(0),
            buffer: VecDeque::new(),
        }
    }

    /// The next buffered item (or its error).
    pub(crate) fn pop(&mut self) -> Option<Result<P::Item>> {
        self.buffer.pop_front()
    }

    /// The request for the next page, or `None` when the sequence is finished.
    pub(crate) fn next_page(&self) -> Option<P::Page> {
        self.next.map(|c| self.pages.page(c))
    }

    /// Takes in a page's result; an error ends the sequence and is handed back.
    pub(crate) fn absorb(&mut self, page: Result<PageOf<P::Item>>) -> Option<Error> {
        match page {
            Ok((next, items)) => {
                self.next = (next != 0).then_some(next);
                self.buffer.extend(items);
                None
            }
            Err(e) => {
                self.next = None;
                Some(e)
            }
        }
    }
}
