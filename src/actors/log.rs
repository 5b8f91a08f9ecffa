//! `CommitLogActor`: the actor face of the commit log. It owns the backend handle, takes
//! appends from a bounded mailbox in arrival order and hands each to the backend's group-commit
//! queue at once (so log order is mailbox order), answering when the batch is durable. The
//! fsync itself runs on the backend's writer thread: redb transactions block, actors must not.

use crate::log::{CommitLog, Entries, LogError};
use actix::dev::SendError;
use actix::prelude::*;
use std::ops::Range;
use std::sync::Arc;

/// Mailbox capacity: appends waiting for the actor beyond this are refused, not queued.
pub const MAILBOX: usize = 4096;

/// The commit-log actor.
pub struct CommitLogActor {
    log: Arc<dyn CommitLog>,
}

impl CommitLogActor {
    /// An actor over `log`.
    pub fn new(log: Arc<dyn CommitLog>) -> Self {
        CommitLogActor { log }
    }
}

impl Actor for CommitLogActor {
    type Context = Context<Self>;
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(MAILBOX);
    }
}

/// Append entries; `reply` gets their sequence numbers once durable. Sent with `try_send`,
/// so a full mailbox is reported to the sender at once instead of queueing without bound.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Append {
    /// The entries, in order.
    pub entries: Vec<Vec<u8>>,
    /// Where the outcome goes.
    pub reply: tokio::sync::oneshot::Sender<Result<Range<u64>, LogError>>,
}

impl Handler<Append> for CommitLogActor {
    type Result = ();
    fn handle(&mut self, msg: Append, ctx: &mut Context<Self>) {
        // Queue position taken here, in mailbox order.
        let fut = self.log.try_append(msg.entries);
        let reply = msg.reply;
        ctx.spawn(
            async move {
                let _ = reply.send(fut.await);
            }
            .into_actor(self),
        );
    }
}

/// Hand `entries` to the log actor; resolves once they are durable. Fails fast with
/// [`LogError::Overloaded`] when the actor's mailbox is full.
pub fn append(
    log: &Addr<CommitLogActor>,
    entries: Vec<Vec<u8>>,
) -> futures::future::BoxFuture<'static, Result<Range<u64>, LogError>> {
    let (reply, rx) = tokio::sync::oneshot::channel();
    match log.try_send(Append { entries, reply }) {
        Ok(()) => Box::pin(async move { rx.await.unwrap_or(Err(LogError::Closed)) }),
        Err(SendError::Full(_)) => Box::pin(async { Err(LogError::Overloaded) }),
        Err(SendError::Closed(_)) => Box::pin(async { Err(LogError::Closed) }),
    }
}

/// Read up to `max` entries from a sequence number.
#[derive(Message)]
#[rtype(result = "Result<Entries, LogError>")]
pub struct Read {
    /// First sequence number.
    pub from: u64,
    /// Most entries.
    pub max: usize,
}

impl Handler<Read> for CommitLogActor {
    type Result = ResponseFuture<Result<Entries, LogError>>;
    fn handle(&mut self, msg: Read, _ctx: &mut Context<Self>) -> Self::Result {
        self.log.read(msg.from, msg.max)
    }
}

/// The next sequence number.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct NextSeq;

impl Handler<NextSeq> for CommitLogActor {
    type Result = u64;
    fn handle(&mut self, _: NextSeq, _ctx: &mut Context<Self>) -> u64 {
        self.log.next_seq()
    }
}
