//! One open document: the Yjs document and its presence in memory, the sockets editing it on
//! this hub, how far into its log (and its presence stream) it has read, its size, and what
//! Postgres lacks.

use super::presence::{Presence, PresenceLimits, PresenceRefused};
use crate::close::Close;
use crate::outbox::{Outbox, Refused};
use crate::ydoc::CONTENT;
use actix_web::web::Bytes;
use contracts::{EntryId, FileId, ProjectId};
use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use yrs::encoding::read::Error as DecodeError;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ClientID, Doc, GetString, ReadTxn, StateVector, Transact, Update};

/// A socket's handle as the document sees it.
pub type PeerId = u64;

/// Where a document sends one socket's messages.
pub struct Peer {
    /// Encoded y-protocols messages; full means the socket is too slow.
    pub outbox: Outbox,
    /// Asks the socket to close.
    pub control: mpsc::UnboundedSender<Close>,
    /// The awareness clients this socket announced, removed when it leaves.
    awareness_clients: HashSet<ClientID>,
}

impl Peer {
    pub fn new(outbox: Outbox, control: mpsc::UnboundedSender<Close>) -> Self {
        Self {
            outbox,
            control,
            awareness_clients: HashSet::new(),
        }
    }
}

/// Why an update from a client was not applied.
#[derive(Debug, thiserror::Error)]
pub enum UpdateRejected {
    #[error("malformed update: {0}")]
    Malformed(#[from] DecodeError),
    #[error("the update could not be applied: {0}")]
    Unapplicable(String),
}

/// An update that would make the document larger than its cap.
#[derive(Debug, thiserror::Error)]
#[error("the document is too large (limit {limit} bytes)")]
pub struct DocumentFull {
    pub limit: usize,
}

/// The encoded size of the document: measured now and then (encoding a large document is not
/// free), plus the bytes of every update applied or admitted since, which bounds its growth.
#[derive(Clone, Copy, Debug)]
struct Size {
    measured: usize,
    since: usize,
}

impl Size {
    fn estimate(&self) -> usize {
        self.measured + self.since
    }
}

/// Failed syncs in a row, and when the next may be tried.
#[derive(Clone, Copy, Debug)]
struct Retry {
    failures: u32,
    next: Instant,
}

/// What Postgres has not seen yet.
#[derive(Clone, Copy, Debug)]
struct Unsynced {
    first: Instant,
    last: Instant,
    /// Counts changes, so a sync knows whether more arrived while it was writing.
    generation: u64,
}

struct State {
    doc: Doc,
    /// Every log entry up to here is in the document.
    applied: EntryId,
    /// The last entry a socket here appended (and then applied), which may be after `applied`
    /// until the follower reads it back.
    appended: EntryId,
    size: Size,
    unsynced: Option<Unsynced>,
    generation: u64,
    /// Set while syncs fail: they are tried again with backoff, not on every tick.
    retry: Option<Retry>,
}

/// Who is present, and how far into the presence stream this hub has read.
struct Presences {
    presence: Presence,
    followed: EntryId,
}

/// The document's contents as they are to be written to Postgres.
pub struct Snapshot {
    pub document: Vec<u8>,
    pub text: String,
    pub covered: EntryId,
    pub changed_since: Instant,
    generation: u64,
}

impl Snapshot {
    /// What Postgres keeps of it.
    pub fn stored(&self) -> crate::store::documents::Stored<'_> {
        crate::store::documents::Stored {
            document: &self.document,
            text: &self.text,
            covered: self.covered,
        }
    }
}

pub struct LiveDocument {
    pub file: FileId,
    pub project: ProjectId,
    /// The log entry Postgres covered when this hub opened the document.
    restored_at: EntryId,
    state: Mutex<State>,
    presences: Mutex<Presences>,
    peers: Mutex<Peers>,
}

#[derive(Default)]
struct Peers {
    next: PeerId,
    open: HashMap<PeerId, Peer>,
    idle_since: Option<Instant>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic inside yrs is caught where it can happen; the data stays usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LiveDocument {
    /// A document with the stored state (`None` for a new, empty file) covering the log up to
    /// `covered`.
    pub fn restore(
        file: FileId,
        project: ProjectId,
        stored: Option<&[u8]>,
        covered: EntryId,
    ) -> Result<Self, UpdateRejected> {
        let doc = Doc::new();
        doc.get_or_insert_text(CONTENT);
        if let Some(bytes) = stored {
            apply(&doc, bytes)?;
        }
        Ok(Self {
            file,
            project,
            restored_at: covered,
            state: Mutex::new(State {
                doc,
                applied: covered,
                appended: covered,
                size: Size {
                    measured: stored.map_or(0, <[u8]>::len),
                    since: 0,
                },
                unsynced: None,
                generation: 0,
                retry: None,
            }),
            // Replays what the presence stream still holds: adds and removals in order.
            presences: Mutex::new(Presences {
                presence: Presence::default(),
                followed: EntryId::ZERO,
            }),
            peers: Mutex::new(Peers {
                idle_since: Some(Instant::now()),
                ..Peers::default()
            }),
        })
    }

    /// The first messages a socket gets: the server's sync step 1 and, if anyone is there,
    /// everyone's awareness, each its own frame.
    pub fn greeting(&self) -> Vec<Bytes> {
        let vector = lock(&self.state).doc.transact().state_vector();
        let mut frames = vec![encode(&Message::Sync(SyncMessage::SyncStep1(vector)))];
        frames.extend(self.awareness_frame());
        frames
    }

    /// The answer to a client's sync step 1: what it lacks.
    pub fn sync_step2(&self, client_has: &StateVector) -> Bytes {
        let state = lock(&self.state);
        let missing = state.doc.transact().encode_state_as_update_v1(client_has);
        encode(&Message::Sync(SyncMessage::SyncStep2(missing)))
    }

    /// Everyone's awareness, for a query; `None` when nobody has announced anything.
    pub fn awareness_frame(&self) -> Option<Bytes> {
        let everyone = lock(&self.presences).presence.everyone()?;
        Some(encode(&Message::Awareness(everyone)))
    }

    /// Makes room for `update` from a client, or says the document would grow over `limit`.
    /// An update that only deletes always fits: it is how a full document gets smaller. The
    /// room stays taken whether or not the update is then applied: the estimate only errs high,
    /// and the next measurement corrects it.
    pub fn reserve(&self, update: &[u8], limit: usize) -> Result<(), DocumentFull> {
        let bytes = update.len();
        let mut state = lock(&self.state);
        if state.size.estimate() + bytes > limit {
            let measured = state
                .doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default())
                .len();
            state.size = Size { measured, since: 0 };
            let deletes_only =
                || Update::decode_v1(update).is_ok_and(|update| update.insertions(true).is_empty());
            if measured + bytes > limit && !deletes_only() {
                return Err(DocumentFull { limit });
            }
        }
        state.size.since += bytes;
        Ok(())
    }

    /// Applies an update read from the log (another replica's, or a replay while loading); no
    /// room was reserved for it, so its size is counted here.
    pub fn apply_logged(&self, bytes: &[u8]) -> Result<bool, UpdateRejected> {
        let applied = self.apply_update(bytes)?;
        if applied {
            lock(&self.state).size.since += bytes.len();
        }
        Ok(applied)
    }

    /// Whether `update` holds something this document lacks: an insertion beyond its state
    /// vector or a deletion it has not made. Changes nothing, so a socket can log an update
    /// before applying it. An update waiting for missing parts counts as new (it must still
    /// reach the log, which may hold them later); an echo of what the document has does not
    /// (pycrdt echoes every update back, for example).
    pub fn lacks(&self, update: &Update) -> bool {
        let state = lock(&self.state);
        let txn = state.doc.transact();
        let have = txn.state_vector();
        let inserts = update.insertions(true);
        let new_insertion = inserts
            .iter()
            .any(|(client, ranges)| ranges.iter().any(|range| range.end > have.get(client)));
        // Only a deletion needs the document's whole delete set, which costs a walk over it.
        new_insertion
            || (!update.delete_set().is_empty()
                && !update
                    .delete_set()
                    .diff(&txn.snapshot().delete_set)
                    .is_empty())
    }

    /// Applies an update whose size is already counted: one a socket of this hub reserved room
    /// for and logged, read back from the log. Returns `false` for an update that adds nothing
    /// the document did not have.
    pub fn apply_update(&self, bytes: &[u8]) -> Result<bool, UpdateRejected> {
        self.apply(Update::decode_v1(bytes)?)
    }

    /// Applies a socket's update that it appended to the log as entry `id`.
    pub fn apply_appended(&self, update: Update, id: EntryId) -> Result<bool, UpdateRejected> {
        {
            let mut state = lock(&self.state);
            state.appended = state.appended.max(id);
        }
        self.apply(update)
    }

    /// [`LiveDocument::apply_update`] of a decoded update.
    fn apply(&self, update: Update) -> Result<bool, UpdateRejected> {
        if update.is_empty() {
            return Ok(false);
        }
        let mut state = lock(&self.state);
        if !apply_decoded(&state.doc, update)? {
            return Ok(false);
        }
        state.generation += 1;
        let now = Instant::now();
        let generation = state.generation;
        state.unsynced = Some(match state.unsynced {
            Some(unsynced) => Unsynced {
                last: now,
                generation,
                ..unsynced
            },
            None => Unsynced {
                first: now,
                last: now,
                generation,
            },
        });
        Ok(true)
    }

    /// Applies an awareness update within `limits`; returns what of it was new (to forward).
    /// When `from` is a local socket, remembers its clients so they can be removed when it
    /// leaves.
    pub fn apply_awareness(
        &self,
        update: AwarenessUpdate,
        from: Option<PeerId>,
        limits: &PresenceLimits,
    ) -> Result<Option<AwarenessUpdate>, PresenceRefused> {
        let taken = lock(&self.presences)
            .presence
            .apply(update, Instant::now(), limits)?;
        if let (Some(peer), Some(taken)) = (from, &taken) {
            let clients = taken.clients.keys().copied();
            if let Some(peer) = lock(&self.peers).open.get_mut(&peer) {
                peer.awareness_clients.extend(clients);
            }
        }
        Ok(taken)
    }

    /// Removes the presence not renewed within `timeout`; returns the removal to send to the
    /// local sockets (every replica sweeps its own).
    pub fn sweep_presence(&self, timeout: Duration) -> Option<AwarenessUpdate> {
        lock(&self.presences)
            .presence
            .sweep(Instant::now(), timeout)
    }

    /// How far into the presence stream this hub has read.
    pub fn presence_followed(&self) -> EntryId {
        lock(&self.presences).followed
    }

    /// Records that the presence stream has been read up to `id`.
    pub fn follow_presence(&self, id: EntryId) {
        let mut presences = lock(&self.presences);
        presences.followed = presences.followed.max(id);
    }

    /// Records that every log entry up to `id` is in the document.
    pub fn advance(&self, id: EntryId) {
        let mut state = lock(&self.state);
        state.applied = state.applied.max(id);
    }

    pub fn applied(&self) -> EntryId {
        lock(&self.state).applied
    }

    /// The entry this document's log must still hold if Redis lost nothing: the last one this
    /// hub applied from it or appended to it, if any since it opened the document. Trimming
    /// keeps what any hub applied last (it only removes entries Postgres covers that are older
    /// than `trim_after_ms`), so that entry is missing only when Redis restarted without its
    /// data or was flushed. (Or when another replica deleted the whole log once Postgres
    /// covered it, which costs one needless re-seed.)
    pub fn last_known_entry(&self) -> Option<EntryId> {
        let state = lock(&self.state);
        let known = state.applied.max(state.appended);
        (known > self.restored_at).then_some(known)
    }

    /// The whole document as one update: what a replica appends to a log that lost entries,
    /// so that the others and later readers get them back.
    pub fn full_state(&self) -> Vec<u8> {
        let state = lock(&self.state);
        let txn = state.doc.transact();
        txn.encode_state_as_update_v1(&StateVector::default())
    }

    /// The text of the document.
    pub fn text(&self) -> String {
        let state = lock(&self.state);
        let text = state.doc.get_or_insert_text(CONTENT);
        let txn = state.doc.transact();
        text.get_string(&txn)
    }

    /// What `read` makes of the document as it is now.
    pub fn read<R>(&self, read: impl FnOnce(&Doc) -> R) -> R {
        read(&lock(&self.state).doc)
    }

    /// Adds a socket; returns its id.
    pub fn join(&self, peer: Peer) -> PeerId {
        let mut peers = lock(&self.peers);
        peers.next += 1;
        let id = peers.next;
        peers.open.insert(id, peer);
        peers.idle_since = None;
        id
    }

    /// Removes a socket; returns the awareness update that tells the others its clients left,
    /// if it had any.
    pub fn leave(&self, peer: PeerId) -> Option<AwarenessUpdate> {
        let clients = {
            let mut peers = lock(&self.peers);
            let left = peers.open.remove(&peer)?;
            if peers.open.is_empty() {
                peers.idle_since = Some(Instant::now());
            }
            left.awareness_clients
        };
        lock(&self.presences)
            .presence
            .remove(clients, Instant::now())
    }

    /// Sends `frame` to every local socket but `except`; a socket whose queue is full is told
    /// to close as too slow. Returns how many sockets got it.
    pub fn broadcast(&self, frame: &Bytes, except: Option<PeerId>) -> usize {
        let peers = lock(&self.peers);
        let mut sent = 0;
        for (id, peer) in &peers.open {
            if Some(*id) == except {
                continue;
            }
            match peer.outbox.binary(frame.clone()) {
                Ok(()) => sent += 1,
                Err(Refused::Full) => {
                    let _ = peer.control.send(Close::TooSlow);
                }
                Err(Refused::Closed) => {}
            }
        }
        sent
    }

    /// Tells every local socket to close.
    pub fn close_all(&self, close: Close) {
        for peer in lock(&self.peers).open.values() {
            let _ = peer.control.send(close.clone());
        }
    }

    pub fn connections(&self) -> usize {
        lock(&self.peers).open.len()
    }

    /// Since when nobody on this hub has had it open, if nobody has.
    pub fn idle_since(&self) -> Option<Instant> {
        lock(&self.peers).idle_since
    }

    /// The state to write if the document changed, has been quiet for `quiet` or has waited
    /// `max_delay` since its first unsynced change, or `force` is set; while syncs fail, not
    /// before the next retry is due unless `force` is `Force::Always`.
    pub fn snapshot_if_due(
        &self,
        now: Instant,
        quiet: Duration,
        max_delay: Duration,
        force: Force,
    ) -> Option<Snapshot> {
        let state = lock(&self.state);
        let unsynced = state.unsynced?;
        let waiting = state.retry.is_some_and(|retry| now < retry.next);
        let due = match force {
            Force::Always => true,
            _ if waiting => false,
            Force::UnlessRetrying => true,
            Force::No => {
                now.duration_since(unsynced.last) >= quiet
                    || now.duration_since(unsynced.first) >= max_delay
            }
        };
        if !due {
            return None;
        }
        let doc = &state.doc;
        let text = doc.get_or_insert_text(CONTENT);
        let txn = doc.transact();
        Some(Snapshot {
            document: txn.encode_state_as_update_v1(&StateVector::default()),
            text: text.get_string(&txn),
            covered: state.applied,
            changed_since: unsynced.first,
            generation: unsynced.generation,
        })
    }

    /// Marks what `snapshot` held as being in Postgres.
    pub fn synced(&self, snapshot: &Snapshot) {
        let mut state = lock(&self.state);
        state.retry = None;
        if state
            .unsynced
            .is_some_and(|unsynced| unsynced.generation == snapshot.generation)
        {
            state.unsynced = None;
        }
    }

    pub fn has_unsynced_changes(&self) -> bool {
        lock(&self.state).unsynced.is_some()
    }

    /// Records a failed sync: the next is tried after `min`, doubled for each failure in a
    /// row, at most `max`. Returns the failures in a row and the wait.
    pub fn sync_failed(&self, now: Instant, min: Duration, max: Duration) -> (u32, Duration) {
        let mut state = lock(&self.state);
        let failures = state.retry.map_or(0, |retry| retry.failures) + 1;
        let wait = min
            .saturating_mul(2u32.saturating_pow(failures - 1))
            .min(max);
        state.retry = Some(Retry {
            failures,
            next: now + wait,
        });
        (failures, wait)
    }

    /// Whether the last sync failed.
    pub fn sync_failing(&self) -> bool {
        lock(&self.state).retry.is_some()
    }
}

/// Whether a sync waits for the document to be quiet and for its next retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Force {
    /// Only once quiet (or waited long enough), and not before a due retry.
    No,
    /// Now, unless a failed sync's retry is not due yet (unloading an idle document).
    UnlessRetrying,
    /// Now (the hub is stopping).
    Always,
}

pub fn encode(message: &Message) -> Bytes {
    Bytes::from(message.encode_v1())
}

fn apply(doc: &Doc, bytes: &[u8]) -> Result<(), UpdateRejected> {
    apply_decoded(doc, Update::decode_v1(bytes)?).map(|_| ())
}

/// Applies `update`; says whether it was new: it inserted or deleted something, or it is
/// waiting for missing parts (then it must still reach the log, which may hold them later).
fn apply_decoded(doc: &Doc, update: Update) -> Result<bool, UpdateRejected> {
    // yrs trusts its input in places; a hostile update must cost a socket, not the hub.
    catch_unwind(AssertUnwindSafe(|| {
        let mut txn = doc.transact_mut();
        txn.apply_update(update)?;
        let store = txn.store();
        Ok(!txn.insert_set().is_empty()
            || !txn.delete_set().is_empty()
            || store.pending_update().is_some()
            || store.pending_ds().is_some())
    }))
    .map_err(|_| UpdateRejected::Unapplicable("it broke an invariant of the document".into()))?
    .map_err(|e: yrs::error::UpdateError| UpdateRejected::Unapplicable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ydoc::initial_document;

    fn update_inserting(text: &str) -> Vec<u8> {
        initial_document(text)
    }

    #[test]
    fn an_echoed_update_is_not_new_but_a_fresh_one_is() {
        let document = LiveDocument::restore(FileId(1), ProjectId(1), None, EntryId::ZERO).unwrap();
        let update = update_inserting("hello");
        assert!(document.apply_update(&update).unwrap());
        assert!(!document.apply_update(&update).unwrap(), "the echo");
        assert_eq!(document.text(), "hello");
        assert!(document.apply_update(&update_inserting("!")).unwrap());
        assert!(document.has_unsynced_changes());
    }

    /// A client's document and the updates it sends, as a y-websocket client makes them.
    struct Client(Doc);

    impl Client {
        fn edit(&self, change: impl FnOnce(&yrs::TextRef, &mut yrs::TransactionMut)) -> Vec<u8> {
            let text = self.0.get_or_insert_text(CONTENT);
            let mut txn = self.0.transact_mut();
            let before = txn.state_vector();
            change(&text, &mut txn);
            txn.encode_state_as_update_v1(&before)
        }
    }

    fn lacks(document: &LiveDocument, update: &[u8]) -> bool {
        document.lacks(&Update::decode_v1(update).unwrap())
    }

    #[test]
    fn only_what_the_document_lacks_counts_as_new_and_checking_changes_nothing() {
        use yrs::Text;
        let document = LiveDocument::restore(FileId(1), ProjectId(1), None, EntryId::ZERO).unwrap();
        let client = Client(Doc::new());
        let typed = client.edit(|text, txn| text.insert(txn, 0, "hello"));
        assert!(lacks(&document, &typed));
        assert!(lacks(&document, &typed), "checking applied nothing");
        assert_eq!(document.text(), "");

        assert!(document.apply_update(&typed).unwrap());
        assert!(!lacks(&document, &typed), "the echo adds nothing");
        let deleted = client.edit(|text, txn| text.remove_range(txn, 0, 2));
        assert!(lacks(&document, &deleted), "a deletion of what it has");
        assert!(document.apply_update(&deleted).unwrap());
        assert!(!lacks(&document, &deleted), "the same deletion again");
        assert_eq!(document.text(), "llo");

        // An update whose predecessor never arrived still has to be logged.
        client.edit(|text, txn| text.insert(txn, 3, "!"));
        let after_gap = client.edit(|text, txn| text.insert(txn, 4, "?"));
        assert!(lacks(&document, &after_gap));
    }

    #[test]
    fn an_update_that_would_pass_the_size_cap_finds_no_room() {
        let document = LiveDocument::restore(FileId(1), ProjectId(1), None, EntryId::ZERO).unwrap();
        let first = update_inserting(&"x".repeat(600));
        document.reserve(&first, 1000).unwrap();
        assert!(document.apply_update(&first).unwrap());
        let second = update_inserting(&"y".repeat(600));
        let full = document.reserve(&second, 1000).unwrap_err();
        assert_eq!(full.limit, 1000);
        // Small edits still fit: the estimate is corrected by measuring.
        document.reserve(&update_inserting("z"), 1000).unwrap();
    }

    #[test]
    fn a_full_document_still_takes_deletions() {
        let document = LiveDocument::restore(FileId(1), ProjectId(1), None, EntryId::ZERO).unwrap();
        let doc = Doc::new();
        let text = doc.get_or_insert_text(CONTENT);
        let filled = {
            let mut txn = doc.transact_mut();
            yrs::Text::insert(&text, &mut txn, 0, &"x".repeat(900));
            txn.encode_update_v1()
        };
        document.reserve(&filled, 1000).unwrap();
        assert!(document.apply_update(&filled).unwrap());
        let emptied = {
            let mut txn = doc.transact_mut();
            yrs::Text::remove_range(&text, &mut txn, 0, 900);
            txn.encode_update_v1()
        };
        assert!(document
            .reserve(&update_inserting(&"y".repeat(200)), 1000)
            .is_err());
        document.reserve(&emptied, 100).unwrap();
        assert!(document.apply_update(&emptied).unwrap());
        assert_eq!(document.text(), "");
    }

    #[test]
    fn failed_syncs_wait_twice_as_long_each_time_up_to_the_maximum() {
        let document = LiveDocument::restore(FileId(1), ProjectId(1), None, EntryId::ZERO).unwrap();
        document.apply_update(&update_inserting("a")).unwrap();
        let (min, max) = (Duration::from_secs(1), Duration::from_secs(5));
        let now = Instant::now();
        let waits: Vec<Duration> = (0..5)
            .map(|_| document.sync_failed(now, min, max).1)
            .collect();
        let seconds: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(seconds, [1, 2, 4, 5, 5]);
        let (quiet, delay) = (Duration::ZERO, Duration::ZERO);
        let soon = now + Duration::from_secs(1);
        assert!(document
            .snapshot_if_due(soon, quiet, delay, Force::No)
            .is_none());
        assert!(document
            .snapshot_if_due(soon, quiet, delay, Force::UnlessRetrying)
            .is_none());
        let snapshot = document
            .snapshot_if_due(soon, quiet, delay, Force::Always)
            .unwrap();
        let later = now + max;
        assert!(document
            .snapshot_if_due(later, quiet, delay, Force::No)
            .is_some());
        document.synced(&snapshot);
        assert!(!document.sync_failing());
    }

    #[test]
    fn garbage_is_rejected_without_touching_the_document() {
        let document = LiveDocument::restore(FileId(1), ProjectId(1), None, EntryId::ZERO).unwrap();
        assert!(document.apply_update(&[0xff, 0xff, 0xff, 0x01]).is_err());
        assert_eq!(document.text(), "");
        assert!(!document.has_unsynced_changes());
    }
}
