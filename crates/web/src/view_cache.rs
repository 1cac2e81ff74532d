//! What pages derive from a client's scores and sessions (the caseload's measures cell, the
//! record page's measure cards and charts), kept in memory and served again while nothing it was
//! drawn from has changed: the client's data version, which a database trigger bumps in the
//! same transaction as any change to their responses or sessions (migration 0008), and the
//! practice's instrument definitions. The version is read from the database on every request,
//! so a write by another process (the CLI, another server on PostgreSQL) shows at once.
//!
//! The caseload's rows (name, sessions, overdue measures, prompts wanting attention) are kept
//! the same way, stamped with both of the client's versions (`caseload_version`, migration 0009,
//! follows schedules, prompts, name and status), and also expire when the clock passes the
//! client's next session start or the next time one of their measures falls overdue.
//!
//! The record page's schedules, portal links and open-prompt summary are kept too, stamped
//! with those two versions and a third, `record_version` (migration 0011, follows portal
//! links), and valid until the clock passes one of the schedules' due or overdue times or,
//! with an every-session schedule, the client's next session start.
//!
//! Callers look entries up only with ids that came through an access decision (a
//! `RecordAccess`, or a caseload the `CaseloadScope` listed), and still audit the read. Entries
//! live only in memory, and the number of entries is bounded. They hold scores as drawn and, in
//! caseload rows, the client's name (the server holds the keys that open it anyway); never
//! notes or other free text. Erasure drops a client's entries ([`Views::forget`]).

use crate::charts::ChartView;
use crate::pages::measures::MeasureCard;
use concord_domain::ids::{ClientId, UserId};
use concord_domain::measures::Registry;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// What an entry was derived from: if either differs now, it is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub data_version: i64,
    pub registry: u64,
}

impl Stamp {
    pub fn new(data_version: i64, registry: &Registry) -> Self {
        Stamp { data_version, registry: fingerprint(registry) }
    }
}

/// Identifies a practice's instrument definitions: an import or a new version changes it.
pub fn fingerprint(registry: &Registry) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for i in registry.iter() {
        i.id().as_str().hash(&mut h);
        i.version().hash(&mut h);
    }
    h.finish()
}

/// A client and a variant of the view (e.g. the record page with every score).
type Key = (ClientId, u8);

/// One lock per key whose value is being derived: concurrent misses on a key wait for the first
/// to derive it instead of each deriving the same thing (a stampede of cold requests).
pub struct SingleFlight<K> {
    building: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

/// The right to derive one key's value; others wanting it wait until this is dropped.
pub struct Turn<'a, K: Hash + Eq> {
    flight: &'a SingleFlight<K>,
    key: K,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl<K: Hash + Eq> Drop for Turn<'_, K> {
    fn drop(&mut self) {
        self.guard.take();
        // Forget the lock once nobody else holds or waits on it (they clone it under this map's
        // mutex), so the map holds only keys being derived now.
        if let Ok(mut building) = self.flight.building.lock()
            && Arc::strong_count(&self.lock) == 2
        {
            building.remove(&self.key);
        }
    }
}

impl<K: Hash + Eq + Clone> Default for SingleFlight<K> {
    fn default() -> Self {
        SingleFlight { building: Mutex::new(HashMap::new()) }
    }
}

impl<K: Hash + Eq + Clone> SingleFlight<K> {
    /// Waits for the turn to derive `key`. Look the value up again once it is yours: the request
    /// before you may have just put it.
    pub async fn turn(&self, key: K) -> Turn<'_, K> {
        let lock = match self.building.lock() {
            Ok(mut building) => Arc::clone(building.entry(key.clone()).or_default()),
            Err(_) => Arc::default(),
        };
        let guard = Arc::clone(&lock).lock_owned().await;
        Turn { flight: self, key, lock, guard: Some(guard) }
    }

    #[cfg(test)]
    fn is_idle(&self) -> bool {
        self.building.lock().is_ok_and(|b| b.is_empty())
    }
}

/// Bounded map from (client, variant) to the latest view derived for that client, at the stamp
/// `S` of what it was derived from.
pub struct ViewCache<T, S = Stamp> {
    entries: Mutex<HashMap<Key, (S, Arc<T>)>>,
    capacity: usize,
    /// Concurrent misses on a key derive its view once (a stampede on a long record).
    building: SingleFlight<Key>,
}

impl<T, S: Copy + PartialEq> ViewCache<T, S> {
    pub fn new(capacity: usize) -> Self {
        ViewCache { entries: Mutex::new(HashMap::new()), capacity: capacity.max(1), building: SingleFlight::default() }
    }

    /// Waits for the turn to derive `key`'s view (see [`SingleFlight::turn`]).
    pub async fn build_turn(&self, key: (ClientId, u8)) -> Turn<'_, Key> {
        self.building.turn(key).await
    }

    /// The cached views of these keys whose stamps still match, in one lock.
    pub fn get_many(&self, wanted: &[((ClientId, u8), S)]) -> Vec<Option<Arc<T>>> {
        let Ok(entries) = self.entries.lock() else { return vec![None; wanted.len()] };
        wanted.iter().map(|(k, s)| entries.get(k).filter(|(stamp, _)| stamp == s).map(|(_, v)| Arc::clone(v))).collect()
    }

    pub fn get(&self, key: (ClientId, u8), stamp: S) -> Option<Arc<T>> {
        self.get_many(&[(key, stamp)]).pop().flatten()
    }

    /// Keeps `value` as the view of `key` at `stamp`, replacing an older one. When full, an
    /// arbitrary entry makes room: any entry is cheap to derive again, so no recency is kept.
    pub fn put(&self, key: (ClientId, u8), stamp: S, value: Arc<T>) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= self.capacity
            && !entries.contains_key(&key)
            && let Some(victim) = entries.keys().next().copied()
        {
            entries.remove(&victim);
        }
        entries.insert(key, (stamp, value));
    }

    /// Drops every view of a client (an erased client's name must not stay in memory).
    pub fn forget(&self, client: ClientId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|(id, _), _| *id != client);
        }
    }
}

/// A caseload row's measures cell for one client: latest scores with their change, and the
/// PHQ-9 sparkline (labelled without the client's name, which the row already shows).
#[derive(Debug, Default)]
pub struct CaseloadMeasures {
    pub measures: Vec<(String, &'static str)>,
    pub sparkline: Option<ChartView>,
    /// How many score points it was drawn from (for the audit entry of a cached read).
    pub points: usize,
}

/// The record page's measure cards (with their charts) and episode outcome for one client,
/// and the sessions they mark (which `data_version` follows too), newest first.
#[derive(Debug, Default)]
pub struct RecordMeasures {
    pub episode: Option<String>,
    pub cards: Vec<MeasureCard>,
    pub sessions: Vec<concord_store::clients::SessionRow>,
    /// How many score points it was drawn from (for the audit entry of a cached read).
    pub points: usize,
}

/// What a caseload row's entry was read at: either version changing makes it stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowStamp {
    pub data_version: i64,
    pub caseload_version: i64,
}

impl From<&concord_store::clients::ClientStamp> for RowStamp {
    fn from(s: &concord_store::clients::ClientStamp) -> Self {
        RowStamp { data_version: s.data_version, caseload_version: s.caseload_version }
    }
}

/// One client's caseload row as read: the client line, their overdue measures and the open
/// prompts that want attention (active clients only), and until when the clock leaves it true.
#[derive(Debug)]
pub struct CaseloadEntry {
    pub client: concord_store::clients::ClientSummary,
    /// The name lowercased, the caseload's order.
    pub sort_key: String,
    pub overdue: Vec<concord_store::measures::OverdueMeasure>,
    pub attention: Vec<(concord_domain::prompts::PromptKind, concord_domain::prompts::Urgency)>,
    /// The next session start or overdue time after it was read (Unix seconds), if any.
    pub valid_until: Option<i64>,
}

impl CaseloadEntry {
    pub fn fresh_at(&self, now: i64) -> bool {
        self.valid_until.is_none_or(|t| now < t)
    }
}

/// What a record panel was read at: any of the three versions changing makes it stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanelStamp {
    pub data_version: i64,
    pub caseload_version: i64,
    pub record_version: i64,
}

impl From<&concord_store::clients::ClientRecord> for PanelStamp {
    fn from(r: &concord_store::clients::ClientRecord) -> Self {
        PanelStamp { data_version: r.data_version, caseload_version: r.caseload_version, record_version: r.record_version }
    }
}

/// The rest of what the record page reads about a client, beside the measures and sessions: the
/// active schedules (their due state follows responses and sessions, `data_version`, and the
/// schedules themselves, `caseload_version`), the portal links (`record_version`, migration
/// 0011) and the open prompts (`caseload_version`); and until when the clock leaves it true.
#[derive(Debug)]
pub struct RecordPanel {
    pub schedules: Vec<concord_store::measures::ScheduleRow>,
    pub links: Vec<concord_store::measures::PortalLinkRow>,
    pub prompts: crate::pages::records::PromptSummary,
    /// The next due or overdue time after it was read (with an every-session schedule, also the
    /// next session start); the read time itself while an active link has a PIN, whose lock
    /// lives with the sign-in throttles, which no version follows: then it is never served again.
    pub valid_until: Option<i64>,
}

impl RecordPanel {
    pub fn new(
        schedules: Vec<concord_store::measures::ScheduleRow>,
        links: Vec<concord_store::measures::PortalLinkRow>,
        prompts: crate::pages::records::PromptSummary,
        sessions: &[concord_store::clients::SessionRow],
        now: i64,
    ) -> Self {
        let next_session = sessions.iter().map(|s| s.starts_at).filter(|t| *t > now).min();
        let pin_lock = links.iter().any(|l| l.has_pin && l.revoked_at.is_none() && l.expires_at > now).then_some(now);
        let valid_until = concord_store::measures::held_until(&schedules, next_session, now).into_iter().chain(pin_lock).min();
        RecordPanel { schedules, links, prompts, valid_until }
    }

    pub fn fresh_at(&self, now: i64) -> bool {
        self.valid_until.is_none_or(|t| now < t)
    }
}

/// Caseload rows are small (about 2 KB); record pages' cards are large (three charts with
/// their tables, about 100 KB), so fewer are kept.
const CASELOAD_ENTRIES: usize = 4096;
const CASELOAD_ROW_ENTRIES: usize = 4096;
const RECORD_ENTRIES: usize = 128;
/// Record panels are small (a few schedules and links, about 1 KB).
const PANEL_ENTRIES: usize = 4096;

/// A caseload read that concurrent cold requests make once: the rows of one listing (whose
/// caseload, their search, archived clients too) or the score points behind its measures cells.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CaseloadRead {
    Rows { user: UserId, query: String, archived: bool },
    Scores { user: UserId },
}

/// The page caches, shared by every request a server answers.
#[derive(Clone)]
pub struct Views {
    pub caseload: Arc<ViewCache<CaseloadMeasures>>,
    pub caseload_rows: Arc<ViewCache<CaseloadEntry, RowStamp>>,
    pub caseload_reads: Arc<SingleFlight<CaseloadRead>>,
    pub record: Arc<ViewCache<RecordMeasures>>,
    pub panel: Arc<ViewCache<RecordPanel, PanelStamp>>,
}

impl Views {
    /// Drops everything kept of a client.
    pub fn forget(&self, client: ClientId) {
        self.caseload.forget(client);
        self.caseload_rows.forget(client);
        self.record.forget(client);
        self.panel.forget(client);
    }
}

impl Default for Views {
    fn default() -> Self {
        Views {
            caseload: Arc::new(ViewCache::new(CASELOAD_ENTRIES)),
            caseload_rows: Arc::new(ViewCache::new(CASELOAD_ROW_ENTRIES)),
            caseload_reads: Arc::default(),
            record: Arc::new(ViewCache::new(RECORD_ENTRIES)),
            panel: Arc::new(ViewCache::new(PANEL_ENTRIES)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_misses_derive_a_view_once() {
        let cache: Arc<ViewCache<u32>> = Arc::new(ViewCache::new(8));
        let registry = Registry::shipped().unwrap();
        let stamp = Stamp::new(1, &registry);
        let derived = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (cache, derived) = (Arc::clone(&cache), Arc::clone(&derived));
            tasks.spawn(async move {
                if let Some(v) = cache.get((client(1), 0), stamp) {
                    return *v;
                }
                let _turn = cache.build_turn((client(1), 0)).await;
                if let Some(v) = cache.get((client(1), 0), stamp) {
                    return *v;
                }
                derived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                cache.put((client(1), 0), stamp, Arc::new(7));
                7
            });
        }
        while let Some(v) = tasks.join_next().await {
            assert_eq!(v.unwrap(), 7);
        }
        assert_eq!(derived.load(std::sync::atomic::Ordering::SeqCst), 1, "one derivation for sixteen misses");
        assert!(cache.building.is_idle(), "no lock is kept once nobody waits");
    }

    fn client(n: u8) -> ClientId {
        ClientId::new_at(1_700_000_000_000, [n; 10])
    }

    #[test]
    fn a_view_is_served_only_at_its_stamp_and_the_map_stays_bounded() {
        let cache: ViewCache<u32> = ViewCache::new(2);
        let registry = Registry::shipped().unwrap();
        let at = |v| Stamp::new(v, &registry);
        cache.put((client(1), 0), at(1), Arc::new(10));
        assert_eq!(cache.get((client(1), 0), at(1)).as_deref(), Some(&10));
        assert!(cache.get((client(1), 0), at(2)).is_none(), "a newer data version misses");
        assert!(cache.get((client(1), 1), at(1)).is_none(), "another variant misses");
        let other_registry = Stamp { registry: at(1).registry ^ 1, ..at(1) };
        assert!(cache.get((client(1), 0), other_registry).is_none(), "changed definitions miss");
        cache.put((client(1), 0), at(2), Arc::new(11));
        assert_eq!(cache.get((client(1), 0), at(2)).as_deref(), Some(&11), "replaced in place");
        cache.put((client(2), 0), at(1), Arc::new(20));
        cache.put((client(3), 0), at(1), Arc::new(30));
        let held = [1, 2, 3].iter().filter(|n| cache.get((client(**n), 0), if **n == 1 { at(2) } else { at(1) }).is_some()).count();
        assert_eq!(held, 2, "never more than its capacity");
        assert_eq!(cache.get((client(3), 0), at(1)).as_deref(), Some(&30), "the newest is kept");
    }
}
