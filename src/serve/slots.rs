//! The open connections of the TCP server, kept so that it can bound them:
//! at most `max_connections` at once, each timed by what it is doing, and,
//! when all are taken, the one that has waited longest for a request closed
//! to admit a new client (nginx frees idle keep-alive connections the same
//! way). Closing is `shutdown(2)` on the socket, which wakes its thread's
//! blocked read at once: no thread polls a flag.

use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::connection::Pacing;
use super::limits::Limits;

/// How long admitting a connection waits for the thread of the one closed
/// to make room to end (it ends as soon as its blocked read is woken).
const ROOM_WAIT: Duration = Duration::from_secs(1);

/// What one connection is doing, which decides how long it may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting, since then, for the first byte of a request.
    Idle(Instant),
    /// A request has been arriving since then.
    Request(Instant),
    /// Its answer is being sent.
    Answering,
    /// Closed by the server (evicted, or the server stopping).
    Closing,
}

/// One admitted connection.
#[derive(Debug)]
pub(crate) struct Slot {
    /// The socket, shared with the registry so that it can be shut down.
    pub stream: TcpStream,
    phase: Mutex<Phase>,
}

/// How long a read on a connection may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Until this instant, however many reads it takes.
    Until(Instant),
    /// This long for each read (a request body is being read and dropped).
    Each(Duration),
    /// Not at all: the connection is being closed.
    Closed,
}

impl Slot {
    fn phase(&self) -> MutexGuard<'_, Phase> {
        // A phase is a plain value: one left by a panicking thread is sound.
        self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, phase: Phase) {
        let mut current = self.phase();
        if *current != Phase::Closing {
            *current = phase;
        }
    }

    /// Bytes arrived: a connection that was idle now has a request coming.
    pub fn bytes_arrived(&self) {
        let mut current = self.phase();
        if let Phase::Idle(_) = *current {
            *current = Phase::Request(Instant::now());
        }
    }

    /// How long the next read may wait, under `limits`.
    pub fn wait(&self, limits: &Limits) -> Wait {
        match *self.phase() {
            Phase::Idle(since) => Wait::Until(since + limits.keep_alive),
            Phase::Request(since) => Wait::Until(since + limits.request_deadline),
            Phase::Answering => Wait::Each(limits.send_timeout),
            Phase::Closing => Wait::Closed,
        }
    }

    /// Shuts the socket down (both ways): the connection's thread sees the
    /// end of the stream on its next read and ends.
    fn close(&self) {
        *self.phase() = Phase::Closing;
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Closes the connection if it is waiting for a request, never in the
    /// middle of an answer; whether it did.
    fn close_if_waiting(&self) -> bool {
        let mut phase = self.phase();
        match *phase {
            Phase::Idle(_) | Phase::Request(_) => {
                *phase = Phase::Closing;
                let _ = self.stream.shutdown(Shutdown::Both);
                true
            }
            Phase::Answering | Phase::Closing => false,
        }
    }
}

impl Pacing for Slot {
    fn awaiting_request(&self, begun: bool) {
        let now = Instant::now();
        self.set(if begun {
            Phase::Request(now)
        } else {
            Phase::Idle(now)
        });
    }

    fn answering(&self) {
        self.set(Phase::Answering);
    }
}

/// Whether a new connection got a slot.
#[derive(Debug)]
pub(crate) enum Admission {
    /// It did; `evicted` when a waiting connection was closed to make room.
    Admitted { slot: Arc<Slot>, evicted: bool },
    /// Every slot is busy answering: the stream is handed back, to refuse.
    Full(TcpStream),
}

/// The open connections.
#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    open: Mutex<Vec<Arc<Slot>>>,
    /// Signalled whenever a connection ends.
    released: Condvar,
}

impl Connections {
    /// No connections, at most `max` at once.
    pub fn new(max: usize) -> Self {
        Connections {
            max: max.max(1),
            open: Mutex::new(Vec::new()),
            released: Condvar::new(),
        }
    }

    fn open(&self) -> MutexGuard<'_, Vec<Arc<Slot>>> {
        // Every change to the list is a single push or remove.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.open().len()
    }

    /// Gives `stream` a slot, closing the longest-waiting connection first
    /// if all are taken; hands it back when all are being answered.
    pub fn admit(&self, stream: TcpStream) -> Admission {
        let mut open = self.open();
        let mut evicted = false;
        if open.len() >= self.max {
            if !evict_oldest(&open) {
                return Admission::Full(stream);
            }
            evicted = true;
            open = self
                .released
                .wait_timeout_while(open, ROOM_WAIT, |open| open.len() >= self.max)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            if open.len() >= self.max {
                return Admission::Full(stream);
            }
        }
        let slot = Arc::new(Slot {
            stream,
            phase: Mutex::new(Phase::Idle(Instant::now())),
        });
        open.push(Arc::clone(&slot));
        Admission::Admitted { slot, evicted }
    }

    /// Closes the connection that has waited longest for a request, if any
    /// connection is waiting; used when descriptors run out.
    pub fn evict_oldest(&self) -> bool {
        evict_oldest(&self.open())
    }

    /// Forgets `slot`, whose connection has ended.
    pub fn release(&self, slot: &Arc<Slot>) {
        let mut open = self.open();
        open.retain(|s| !Arc::ptr_eq(s, slot));
        drop(open);
        self.released.notify_all();
    }

    /// Closes every connection (the server is stopping).
    pub fn close_all(&self) {
        for slot in self.open().iter() {
            slot.close();
        }
    }
}

/// Closes the connection of `open` that has waited longest for a request
/// (whether or not bytes of it have arrived); false if none is waiting.
fn evict_oldest(open: &[Arc<Slot>]) -> bool {
    // A connection may start answering between the look and the close:
    // then the next-oldest is tried.
    for _ in 0..open.len() {
        let oldest = open
            .iter()
            .filter_map(|slot| match *slot.phase() {
                Phase::Idle(since) | Phase::Request(since) => Some((since, slot)),
                Phase::Answering | Phase::Closing => None,
            })
            .min_by_key(|(since, _)| *since);
        match oldest {
            Some((_, slot)) if slot.close_if_waiting() => return true,
            Some(_) => {}
            None => return false,
        }
    }
    false
}
