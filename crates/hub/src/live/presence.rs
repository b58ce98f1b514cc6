//! Presence (y-protocols awareness) of one document: who has it open and where their cursor
//! is. It is kept apart from the Yjs document because it is never durable: it travels between
//! replicas on a short-lived stream of its own (see [`super::log`]), never in the document's
//! log, and a state lives only while its client renews it.
//!
//! Bounded, so that nobody can make a document's presence grow: at most `max_states` live
//! states; an awareness message (hence each state) of at most `max_message_bytes`; a state
//! not renewed within `timeout` is removed (y-protocols clients renew theirs every 15 s and
//! drop others' after 30 s), and so is the memory of removed clients, of which at most
//! `max_states` more are kept.
//!
//! The rules for what is newer follow y-protocols: a higher clock wins; a removal (`null`
//! state) with the same clock removes. Removals the hub makes itself (a socket closed, a state
//! went stale) keep the client's clock, as y-protocols' server does, so that the client's next
//! renewal (clock + 1) is taken again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::AwarenessUpdate;
use yrs::ClientID;

/// How y-protocols spells a removed state.
const REMOVED: &str = "null";

/// The bounds of one document's presence.
#[derive(Clone, Debug)]
pub struct PresenceLimits {
    pub max_states: usize,
    pub max_message_bytes: usize,
    pub timeout: Duration,
}

/// Why an awareness message was refused as a whole.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PresenceRefused {
    #[error("too many people present in this document (limit {0})")]
    TooManyStates(usize),
    #[error("awareness message too large ({size} bytes; limit {limit})")]
    TooLarge { size: usize, limit: usize },
}

impl PresenceRefused {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            PresenceRefused::TooManyStates(_) => "awareness_states",
            PresenceRefused::TooLarge { .. } => "awareness_bytes",
        }
    }
}

/// What is known of one client.
struct Known {
    clock: u32,
    /// `None` once removed: remembered for a while so that a late, older state is not taken.
    state: Option<Arc<str>>,
    /// When it was last set, renewed or removed.
    touched: Instant,
}

/// The presence of one document on this hub.
#[derive(Default)]
pub struct Presence {
    clients: HashMap<ClientID, Known>,
}

impl Presence {
    /// Checks that a client's awareness message of `size` bytes is within the bounds, before
    /// anything is decoded or applied.
    pub fn check_size(size: usize, limits: &PresenceLimits) -> Result<(), PresenceRefused> {
        if size > limits.max_message_bytes {
            return Err(PresenceRefused::TooLarge {
                size,
                limit: limits.max_message_bytes,
            });
        }
        Ok(())
    }

    /// Takes what in `update` is newer than what is known; returns that part (to forward), or
    /// `None` if nothing was. Refuses the whole update if it would make more than `max_states`
    /// live states.
    pub fn apply(
        &mut self,
        update: AwarenessUpdate,
        now: Instant,
        limits: &PresenceLimits,
    ) -> Result<Option<AwarenessUpdate>, PresenceRefused> {
        let live = self.live();
        let arriving = update
            .clients
            .iter()
            .filter(|(client, entry)| {
                &*entry.json != REMOVED && !self.clients.get(client).is_some_and(is_live)
            })
            .count();
        if arriving > 0 && live + arriving > limits.max_states {
            return Err(PresenceRefused::TooManyStates(limits.max_states));
        }
        let mut taken = HashMap::new();
        for (client, entry) in update.clients {
            let removal = &*entry.json == REMOVED;
            let newer = match self.clients.get(&client) {
                Some(known) => {
                    known.clock < entry.clock
                        || (known.clock == entry.clock && removal && known.state.is_some())
                }
                // Nothing to remove: a stranger's removal is not worth remembering.
                None => !removal,
            };
            if !newer {
                continue;
            }
            self.clients.insert(
                client,
                Known {
                    clock: entry.clock,
                    state: (!removal).then(|| entry.json.clone()),
                    touched: now,
                },
            );
            taken.insert(client, entry);
        }
        self.forget_oldest_removed(limits.max_states);
        Ok((!taken.is_empty()).then_some(AwarenessUpdate { clients: taken }))
    }

    /// Removes the live states of `clients`; returns the removal to forward, if any was live.
    pub fn remove(
        &mut self,
        clients: impl IntoIterator<Item = ClientID>,
        now: Instant,
    ) -> Option<AwarenessUpdate> {
        let mut removed = HashMap::new();
        for client in clients {
            if let Some(known) = self.clients.get_mut(&client).filter(|known| is_live(known)) {
                known.state = None;
                known.touched = now;
                removed.insert(client, removal(known.clock));
            }
        }
        (!removed.is_empty()).then_some(AwarenessUpdate { clients: removed })
    }

    /// Removes the states not renewed within `timeout` and forgets removed clients after as
    /// long; returns the removal to forward, if any state was live.
    pub fn sweep(&mut self, now: Instant, timeout: Duration) -> Option<AwarenessUpdate> {
        let stale = |known: &Known| now.saturating_duration_since(known.touched) >= timeout;
        self.clients
            .retain(|_, known| is_live(known) || !stale(known));
        let expired: Vec<ClientID> = self
            .clients
            .iter()
            .filter(|(_, known)| is_live(known) && stale(known))
            .map(|(client, _)| *client)
            .collect();
        self.remove(expired, now)
    }

    /// Every live state, for a socket that joins or asks; `None` when nobody is present.
    pub fn everyone(&self) -> Option<AwarenessUpdate> {
        let clients: HashMap<ClientID, AwarenessUpdateEntry> = self
            .clients
            .iter()
            .filter_map(|(client, known)| {
                let json = known.state.clone()?;
                Some((
                    *client,
                    AwarenessUpdateEntry {
                        clock: known.clock,
                        json,
                    },
                ))
            })
            .collect();
        (!clients.is_empty()).then_some(AwarenessUpdate { clients })
    }

    /// How many states are live.
    pub fn live(&self) -> usize {
        self.clients.values().filter(|known| is_live(known)).count()
    }

    /// Keeps at most `keep` removed clients, forgetting the longest removed first.
    fn forget_oldest_removed(&mut self, keep: usize) {
        let mut removed: Vec<(Instant, ClientID)> = self
            .clients
            .iter()
            .filter(|(_, known)| !is_live(known))
            .map(|(client, known)| (known.touched, *client))
            .collect();
        if removed.len() <= keep {
            return;
        }
        removed.sort_unstable();
        for (_, client) in &removed[..removed.len() - keep] {
            self.clients.remove(client);
        }
    }
}

fn is_live(known: &Known) -> bool {
    known.state.is_some()
}

fn removal(clock: u32) -> AwarenessUpdateEntry {
    AwarenessUpdateEntry {
        clock,
        json: REMOVED.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_states: usize) -> PresenceLimits {
        PresenceLimits {
            max_states,
            max_message_bytes: 100,
            timeout: Duration::from_secs(30),
        }
    }

    fn update(entries: &[(u64, u32, &str)]) -> AwarenessUpdate {
        AwarenessUpdate {
            clients: entries
                .iter()
                .map(|(client, clock, json)| {
                    (
                        ClientID::new(*client),
                        AwarenessUpdateEntry {
                            clock: *clock,
                            json: (*json).into(),
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn newer_clocks_win_and_older_or_equal_ones_are_ignored() {
        let (mut presence, now) = (Presence::default(), Instant::now());
        let taken = presence.apply(update(&[(1, 2, "{\"a\":1}")]), now, &limits(4));
        assert!(taken.unwrap().is_some());
        let stale = presence.apply(update(&[(1, 1, "{\"a\":0}")]), now, &limits(4));
        assert_eq!(stale, Ok(None));
        let same = presence.apply(update(&[(1, 2, "{\"a\":9}")]), now, &limits(4));
        assert_eq!(same, Ok(None));
        let everyone = presence.everyone().unwrap();
        assert_eq!(&*everyone.clients[&ClientID::new(1)].json, "{\"a\":1}");
    }

    #[test]
    fn more_live_states_than_the_limit_are_refused_but_renewals_are_not() {
        let (mut presence, now) = (Presence::default(), Instant::now());
        let two = update(&[(1, 1, "{}"), (2, 1, "{}")]);
        presence.apply(two, now, &limits(2)).unwrap();
        let third = presence.apply(update(&[(3, 1, "{}")]), now, &limits(2));
        assert_eq!(third, Err(PresenceRefused::TooManyStates(2)));
        assert_eq!(presence.live(), 2);
        let renewal = presence.apply(update(&[(1, 2, "{}")]), now, &limits(2));
        assert!(renewal.unwrap().is_some());
        // Once one leaves, there is room again.
        presence
            .apply(update(&[(2, 1, REMOVED)]), now, &limits(2))
            .unwrap();
        assert!(presence
            .apply(update(&[(3, 1, "{}")]), now, &limits(2))
            .is_ok());
    }

    #[test]
    fn a_message_over_the_size_limit_is_refused() {
        assert!(Presence::check_size(100, &limits(1)).is_ok());
        assert_eq!(
            Presence::check_size(101, &limits(1)),
            Err(PresenceRefused::TooLarge {
                size: 101,
                limit: 100
            })
        );
    }

    #[test]
    fn stale_states_are_swept_and_their_client_may_come_back_with_its_next_clock() {
        let (mut presence, start) = (Presence::default(), Instant::now());
        let timeout = Duration::from_secs(30);
        presence
            .apply(update(&[(1, 5, "{}"), (2, 1, "{}")]), start, &limits(4))
            .unwrap();
        let later = start + Duration::from_secs(20);
        presence
            .apply(update(&[(2, 2, "{}")]), later, &limits(4))
            .unwrap();
        let swept = presence.sweep(start + timeout, timeout).unwrap();
        assert_eq!(swept, update(&[(1, 5, REMOVED)]), "only the stale one");
        assert_eq!(presence.live(), 1);
        let back = presence.apply(update(&[(1, 6, "{}")]), later + timeout, &limits(4));
        assert!(back.unwrap().is_some(), "its renewal is taken");
        // A removed client is forgotten once removed as long as the timeout.
        presence.remove([ClientID::new(1)], later + timeout);
        presence.sweep(later + timeout * 2, timeout);
        assert!(!presence.clients.contains_key(&ClientID::new(1)));
    }

    #[test]
    fn removed_clients_are_remembered_only_up_to_the_limit() {
        let (mut presence, now) = (Presence::default(), Instant::now());
        for client in 0..10u64 {
            let at = now + Duration::from_millis(client);
            presence
                .apply(update(&[(client, 1, "{}")]), at, &limits(2))
                .unwrap();
            presence.remove([ClientID::new(client)], at);
        }
        presence
            .apply(
                update(&[(99, 1, "{}")]),
                now + Duration::from_secs(1),
                &limits(2),
            )
            .unwrap();
        assert_eq!(
            presence.clients.len(),
            3,
            "one live, two remembered removals"
        );
    }

    #[test]
    fn leaving_removes_only_live_states_with_their_clock() {
        let (mut presence, now) = (Presence::default(), Instant::now());
        presence
            .apply(update(&[(1, 3, "{}")]), now, &limits(4))
            .unwrap();
        let gone = presence.remove([ClientID::new(1), ClientID::new(2)], now);
        assert_eq!(gone, Some(update(&[(1, 3, REMOVED)])));
        assert_eq!(presence.remove([ClientID::new(1)], now), None);
        assert!(presence.everyone().is_none());
    }
}
