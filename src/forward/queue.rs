//! The delivery queue behind `listen --forward-to`. The store is the queue: a capture's
//! delivery row is written with the capture; one task per target URL reads its pending rows
//! in arrival order, delivers them (one at a time unless `--concurrency`), retries with
//! backoff, and records every attempt. Nothing lives only in memory, so a crash or restart
//! loses nothing.

use super::{route, route_index, send, target_url, Answer, Class, Route, TakenOut, Via};
use crate::intercom::{self, signature::Verdict};
use crate::render::{Delivery, Event, Output};
use crate::store::delivery::{self, Attempt, Pending, Plan};
use crate::store::model::Capture;
use crate::store::{self, StoreError, Writer};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

/// The meta key under which a `listen --forward-to` run records its routes for `replay`:
/// a JSON list of `GLOB=URL` or `URL` strings, in order, passwords redacted.
pub const ROUTES_META: &str = "last_forward_routes";

/// The meta key of the single URL hookcli recorded before routes were: the first route
/// without a glob, or else the first route.
pub const LAST_FORWARD_TO_META: &str = "last_forward_to";
/// The meta key of that run's `--path` prefix, which forwarding strips before joining a
/// request's path to its route (and so does replay, to send where forwarding did).
pub const PREFIX_META: &str = "last_forward_prefix";

/// How long deliveries under way get to finish when hookcli stops.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// Requests being received at once that count as a flood. Intercom rarely has more than
/// one or two notifications on the way to one endpoint at a time; a load test or a replay
/// storm has many more. (bench/forward.sh: ack-mode ingest 0.94x the baseline at 4, 0.87x
/// at 16, 0.71x without yielding.)
const FLOOD: usize = 4;

/// How forwarding behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where captures go, first match wins.
    pub routes: Vec<Route>,
    /// The listen prefix, stripped from request paths before joining them to a route.
    pub prefix: String,
    /// Deliveries under way at once for each target URL; 1 keeps arrival order.
    pub concurrency: usize,
    /// Attempts per capture before it is marked failed.
    pub max_attempts: u32,
    /// First retry delay; it doubles up to 30 times this.
    pub retry_base: Duration,
    /// Longest a delivery waits for a flood of incoming requests to ease.
    pub flood_wait: Duration,
}

/// The forwarder: routes, the HTTP client, a store connection for reading the queue, and
/// the store's writer for recording (so every write goes through the one writer thread).
pub struct Forwarder {
    settings: Settings,
    client: reqwest::Client,
    db: Arc<Mutex<Connection>>,
    /// The database file, for error messages.
    path: PathBuf,
    writer: Arc<Writer>,
    output: Output,
    /// The lane of each route, by position: routes to the same URL share one.
    lane_of_route: Vec<usize>,
    /// One wake-up per lane, for a new pending capture.
    wakes: Vec<Notify>,
    /// Requests the server is receiving right now.
    receiving: Arc<AtomicUsize>,
    /// Delivery lines waiting for their record's commit, so stopping can wait for them.
    lines: Mutex<tokio::task::JoinSet<()>>,
    /// Turns true when hookcli starts stopping: attempts under way get `STOP_GRACE`.
    stopping: watch::Sender<bool>,
    /// Attempts whose record the store refused (a full disk, say), being tried again: no
    /// new delivery starts meanwhile, or a restart would find earlier captures still
    /// pending behind later ones and deliver them again, out of order.
    unrecorded: Arc<AtomicUsize>,
}

/// Counts a request as being received for as long as it lives.
pub struct Receiving(Arc<AtomicUsize>);

impl Drop for Receiving {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Forwarder {
    /// Open a store connection for reading the queue and build the forwarder.
    pub fn open(
        dir: &Path,
        settings: Settings,
        client: reqwest::Client,
        output: Output,
        writer: Arc<Writer>,
    ) -> Result<Forwarder, StoreError> {
        let conn = store::open_read(dir)?;
        let mut urls: Vec<String> = Vec::new();
        let lane_of_route = settings
            .routes
            .iter()
            .map(|r| {
                let url = lane_key(&r.url);
                match urls.iter().position(|u| *u == url) {
                    Some(lane) => lane,
                    None => {
                        urls.push(url);
                        urls.len() - 1
                    }
                }
            })
            .collect();
        let wakes = (0..urls.len().max(1)).map(|_| Notify::new()).collect();
        Ok(Forwarder {
            lane_of_route,
            wakes,
            settings,
            client,
            db: Arc::new(Mutex::new(conn)),
            path: dir.join(store::DB_FILE),
            writer,
            output,
            receiving: Arc::default(),
            lines: Mutex::default(),
            stopping: watch::Sender::new(false),
            unrecorded: Arc::default(),
        })
    }

    /// The delivery plan for a new capture with this topic.
    pub fn plan(&self, topic: Option<&str>) -> Plan {
        match route(&self.settings.routes, topic) {
            Some(_) => Plan::Pending,
            None => Plan::Skipped(no_route(topic)),
        }
    }

    /// Show that a capture will not be delivered, and why; `passthrough` when its sender
    /// was waiting for the app's answer.
    pub fn announce_skip(&self, c: &Capture, note: &str, passthrough: bool) {
        let (kind, max_attempts) = if passthrough {
            ("passthrough", 1)
        } else {
            ("forward", self.settings.max_attempts)
        };
        self.output.emit(Event::Delivery(Box::new(Delivery {
            capture_id: c.id.clone(),
            kind,
            attempt: 0,
            max_attempts,
            target: String::new(),
            status: None,
            reason: String::new(),
            latency_ms: 0,
            outcome: "skipped",
            error_kind: None,
            error: None,
            next_attempt_at: None,
            note: Some(note.to_string()),
            response_preview: Vec::new(),
            hints: Vec::new(),
        })));
    }

    /// Note that a request is being received until the returned guard is dropped.
    pub fn receiving(&self) -> Receiving {
        self.receiving.fetch_add(1, Ordering::Relaxed);
        Receiving(self.receiving.clone())
    }

    /// Acknowledging senders comes first: while the server is flooded with requests, wait
    /// (at most `flood_wait`) before the next delivery, so delivering does not take the CPU
    /// that answering needs. Deliveries fall behind during a flood and catch up, in order.
    async fn yield_to_receiving(&self) {
        let deadline = tokio::time::Instant::now() + self.settings.flood_wait;
        while self.receiving.load(Ordering::Relaxed) >= FLOOD
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Start stopping: the queue takes no more captures, and attempts under way (the
    /// queue's and passthrough's) get a few seconds to be answered.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Tell the capture's lane it is in the store, pending; the other lanes need not read it.
    pub fn wake(&self, c: &Capture) {
        self.wakes[self.lane_of(c)].notify_one();
    }

    /// The lane a capture is delivered in: its route's, or the first for one no route
    /// takes (an earlier run's, which that lane records as skipped).
    fn lane_of(&self, c: &Capture) -> usize {
        route_index(&self.settings.routes, c.request.topic()).map_or(0, |at| self.lane_of_route[at])
    }

    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db.lock().unwrap_or_else(|e| e.into_inner())))
            .await
            .unwrap_or_else(|e| Err(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
            .map_err(|e| StoreError::from_sqlite(&self.path, e))
    }

    /// Remember the routes for `replay`, and make deliveries an earlier run left pending due
    /// now (a restart means "try again", not "wait out the old backoff"); returns how many.
    pub async fn resume_pending(&self) -> Result<i64, StoreError> {
        let routes = &self.settings.routes;
        let shown: Vec<String> = routes.iter().map(Route::shown).collect();
        let recorded = (!shown.is_empty()).then(|| serde_json::Value::from(shown).to_string());
        // Still written for an older hookcli reading this store, which knows only one URL.
        let single = routes
            .iter()
            .find(|r| r.glob.is_none())
            .or(routes.first())
            .map(|r| super::redact(&r.url));
        let prefix = self.settings.prefix.clone();
        let abandoned = Arc::new(AtomicUsize::new(0));
        let counted = abandoned.clone();
        self.writer
            .exec(move |c| {
                delivery::set_meta(c, PREFIX_META, &prefix)?;
                if let Some(recorded) = recorded {
                    delivery::set_meta(c, ROUTES_META, &recorded)?;
                }
                if let Some(single) = single {
                    delivery::set_meta(c, LAST_FORWARD_TO_META, &single)?;
                }
                let now = chrono::Utc::now().timestamp_millis();
                counted.store(
                    delivery::fail_abandoned_passthrough(c, now)?,
                    Ordering::Relaxed,
                );
                c.execute(
                    "UPDATE deliveries SET next_attempt_at = NULL WHERE state = 'pending'",
                    [],
                )
                .map(drop)
            })
            .await?;
        let abandoned = abandoned.load(Ordering::Relaxed);
        if abandoned > 0 {
            self.output.emit(Event::Notice(format!(
                "{} an earlier run stopped during {} marked failed, not delivered again: each sender got your app's answer, or got none and sends it again (`hookcli list --status failed` shows {})",
                crate::render::counted(abandoned as i64, "--passthrough request"),
                if abandoned == 1 { "was" } else { "were" },
                crate::render::them(abandoned as i64)
            )));
        }
        self.db(delivery::count_pending).await
    }

    /// Mark every pending delivery skipped (`--skip-pending`).
    pub async fn skip_pending(&self) -> Result<(), StoreError> {
        let now = chrono::Utc::now().timestamp_millis();
        self.writer
            .exec(move |c| delivery::skip_pending(c, "skipped with --skip-pending", now).map(drop))
            .await
    }

    /// The newest capture's arrival number (0 for an empty store).
    pub async fn last_seq(&self) -> Result<i64, StoreError> {
        self.db(store::query::newest_seq).await
    }

    /// Deliver pending captures until [`Forwarder::stop`]. With `upto` (`--passthrough`, where
    /// each new capture is delivered by its own request), only captures up to that arrival
    /// number are the queue's: an earlier run's leftovers. Once they are done, it stops.
    /// Each target URL has a lane of its own, in arrival order: an app that is down holds
    /// back only the captures routed to it.
    pub async fn run(self: Arc<Self>, upto: Option<i64>) {
        let mut lanes = tokio::task::JoinSet::new();
        for lane in 0..self.wakes.len() {
            lanes.spawn(self.clone().run_lane(lane, upto));
        }
        // What is still under way when the lanes stop, from every lane, is waited for below.
        let mut under_way = Vec::new();
        while let Some(stopped) = lanes.join_next().await {
            under_way.extend(stopped);
        }
        // Captures waiting for a retry stop at once; only attempts under way take longer.
        let mut done = std::pin::pin!(async {
            for mut tasks in under_way {
                while tasks.join_next().await.is_some() {}
            }
        });
        if tokio::time::timeout(Duration::from_millis(200), &mut done)
            .await
            .is_err()
        {
            self.output.emit(Event::Notice(format!(
                "Stopping: your app has {} s to answer the deliveries under way",
                STOP_GRACE.as_secs()
            )));
            // Each attempt records itself as cut short once its grace is over.
            let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(2), done).await;
        }
    }

    /// One lane of [`Forwarder::run`]: its captures in arrival order, `--concurrency` at a
    /// time. Returns the deliveries still under way when it stops.
    async fn run_lane(self: Arc<Self>, lane: usize, upto: Option<i64>) -> tokio::task::JoinSet<()> {
        let mut stop = self.stopping.subscribe();
        let concurrency = self.settings.concurrency.max(1);
        let places = Arc::new(Places {
            slots: Arc::new(Semaphore::new(concurrency)),
            waiting: Arc::new(Semaphore::new(concurrency * WAITING_PER_SLOT)),
        });
        let mut tasks = tokio::task::JoinSet::new();
        let mut last = 0i64;
        let upto_seq = upto.unwrap_or(i64::MAX);
        'outer: while !*stop.borrow() {
            while tasks.try_join_next().is_some() {}
            let batch = match self
                .db(move |c| delivery::pending_between(c, last, upto_seq, 64))
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    eprintln_lossy!("hookcli: error: cannot read the delivery queue: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if batch.is_empty() {
                if upto.is_some() {
                    // Every leftover is under way: let them finish (or be stopped), then end.
                    tokio::select! {
                        () = async { while tasks.join_next().await.is_some() {} } => {}
                        _ = stop.changed() => {}
                    }
                    break;
                }
                tokio::select! {
                    () = self.wakes[lane].notified() => {}
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
            for pending in batch {
                if self.lane_of(&pending.capture) != lane {
                    last = pending.capture.seq;
                    continue;
                }
                // In ordered mode this waits until the previous capture is delivered or failed.
                let permit = tokio::select! {
                    permit = places.slots.clone().acquire_owned() => permit.expect("never closed"),
                    _ = stop.changed() => break 'outer,
                };
                // Checked once it has its slot: the wait for one may outlast a refusal that
                // came back meanwhile.
                while self.unrecorded.load(Ordering::Relaxed) > 0 {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => {}
                        _ = stop.changed() => break 'outer,
                    }
                }
                self.yield_to_receiving().await;
                last = pending.capture.seq;
                let me = self.clone();
                let stop = stop.clone();
                let places = places.clone();
                tasks.spawn(async move {
                    me.deliver(pending, stop, &places, permit).await;
                });
            }
        }
        tasks
    }

    /// Once nothing is delivered any more: print the last delivery lines (each waits for
    /// its record's commit) and say how many captures are left for the next run.
    pub async fn wind_down(&self) {
        let lines = std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = tokio::time::timeout(Duration::from_secs(2), lines.join_all()).await;
        if let Ok(left @ 1..) = self.db(delivery::count_pending).await {
            self.output.emit(Event::Notice(format!(
                "{} not delivered yet: the next `hookcli listen --forward-to` delivers {} first (`hookcli list --status pending` shows {1})",
                crate::render::counted(left, "capture"),
                crate::render::them(left)
            )));
        }
    }

    /// Deliver one capture, retrying retryable failures until it is delivered or failed.
    /// `permit` is its place among the `--concurrency` under way in its lane's `places`,
    /// held until it is done.
    async fn deliver(
        &self,
        p: Pending,
        mut stop: watch::Receiver<bool>,
        places: &Places,
        permit: OwnedSemaphorePermit,
    ) {
        let mut permit = Some(permit);
        // Numbering continues across runs; the attempt budget is per run.
        let mut attempt = p.attempts;
        let last_allowed = p.attempts + self.settings.max_attempts;
        let mut due = p.next_attempt_at;
        loop {
            // Stopping leaves it pending with its due time; the next run resumes. Checked by
            // value: an attempt that saw the stop has already marked it seen.
            if *stop.borrow() {
                return;
            }
            if let Some(due) = due {
                let wait = due - chrono::Utc::now().timestamp_millis();
                if wait > 0 {
                    // Delivering in parallel, a capture waiting to retry lets another take its
                    // place, while there is room to wait; in order, the next one has to wait
                    // for it anyway.
                    let mut parked = None;
                    if self.settings.concurrency > 1 {
                        if let Ok(room) = places.waiting.clone().try_acquire_owned() {
                            (parked, permit) = (Some(room), None);
                        }
                    }
                    tokio::select! {
                        () = self.wait_unless_taken_out(p.capture.seq, wait as u64) => {}
                        _ = stop.wait_for(|stopping| *stopping) => return,
                    }
                    if permit.is_none() {
                        permit = tokio::select! {
                            p = places.slots.clone().acquire_owned() => Some(p.expect("never closed")),
                            _ = stop.wait_for(|stopping| *stopping) => return,
                        };
                    }
                    drop(parked);
                }
            }
            // The queue read it a while ago (it waited its turn, or for a retry): `hookcli
            // skip` or `delete` may have taken it out since.
            let seq = p.capture.seq;
            if self.out_of_queue(seq).await.is_some() {
                // Said only of one this run tried: a backlog skipped at once stays quiet.
                if attempt > p.attempts {
                    self.output.emit(Event::Notice(format!(
                        "{} is no longer waiting for delivery (`hookcli skip` or `delete` took it out): no more attempts, the next one goes on",
                        p.capture.short_id()
                    )));
                }
                return;
            }
            attempt += 1;
            let Some(answer) = self
                .attempt(&p.capture, attempt, "forward", &mut stop)
                .await
            else {
                return;
            };
            let stopped = answer.error_kind == Some(super::STOPPED);
            // Skipped or deleted while the attempt was under way, and not delivered by it: no
            // retry.
            let taken_out = if stopped || answer.class() == Class::Delivered {
                None
            } else {
                self.out_of_queue(seq).await
            };
            let (state, next, note) = match (answer.class(), taken_out) {
                // Not the app's failure: it stays pending, for the next run, whatever the budget.
                _ if stopped => ("pending", None, None),
                (Class::Delivered, _) => ("delivered", None, None),
                (_, Some(how)) => ("skipped", None, Some(taken_out_during(&answer, how))),
                (Class::Retryable, None) if attempt < last_allowed => {
                    // Counted in this run, as the budget is: a restart starts again at 1 s.
                    let this_run = attempt - p.attempts;
                    let next = chrono::Utc::now().timestamp_millis()
                        + retry_wait(self.settings.retry_base, this_run, &answer).as_millis()
                            as i64;
                    ("pending", Some(next), None)
                }
                (Class::Retryable, None) => {
                    ("failed", None, Some(gave_up(attempt - p.attempts, attempt)))
                }
                (Class::Permanent, None) => ("failed", None, Some(permanent_note(&answer))),
            };
            let tried = Tried {
                kind: "forward",
                attempt,
                max_attempts: last_allowed,
            };
            self.finish(&p.capture, tried, &answer, state, next, note)
                .await;
            if state != "pending" || stopped {
                return;
            }
            due = next;
        }
    }

    /// Wait `ms` for a retry, but no longer than a second past the capture's being taken out
    /// of the queue (`hookcli skip`, `delete`): a backoff of up to 30 s, and longer with a
    /// larger `--retry-base-ms`, would hold the captures behind it back all that time.
    async fn wait_unless_taken_out(&self, seq: i64, ms: u64) {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => {}
            _ = self.taken_out(seq) => {}
        }
    }

    /// Resolves once a capture is no longer pending, as looked up every second: how it left.
    async fn taken_out(&self, seq: i64) -> TakenOut {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Some(how) = self.out_of_queue(seq).await {
                return how;
            }
        }
    }

    /// How a capture left the queue, if it has: `None` while it is pending. A point read in
    /// WAL mode does not wait for the writer, so it is asked at once when the connection is
    /// free; a blocking thread's round trip for each one would slow a backlog's draining.
    async fn out_of_queue(&self, seq: i64) -> Option<TakenOut> {
        let quick = self
            .db
            .try_lock()
            .ok()
            .map(|db| delivery::queue_state(&db, seq));
        let state = match quick {
            Some(state) => state.ok(),
            None => self.db(move |c| delivery::queue_state(c, seq)).await.ok(),
        };
        // Unreadable for now: as pending, so a store error never drops a capture's delivery.
        match state? {
            None => Some(TakenOut::Deleted),
            Some(state) if state == "pending" => None,
            Some(_) => Some(TakenOut::Skipped),
        }
    }

    /// One synchronous attempt for `--passthrough`; `None` when no route matches.
    pub async fn passthrough(&self, capture: &Capture) -> Option<Answer> {
        let mut stop = self.stopping.subscribe();
        let attempt = self.attempt(capture, 1, "passthrough", &mut stop);
        let answer = super::relayable(attempt.await?);
        let state = if answer.class() == Class::Delivered {
            "delivered"
        } else {
            "failed"
        };
        let note = (state == "failed").then(|| permanent_note(&answer));
        let tried = Tried {
            kind: "passthrough",
            attempt: 1,
            max_attempts: 1,
        };
        self.finish(capture, tried, &answer, state, None, note)
            .await;
        // The store keeps every header the app sent; the sender gets what a proxy passes on.
        Some(super::without_connection_options(answer))
    }

    /// Route and send; records `skipped` and returns `None` when no route matches.
    async fn attempt(
        &self,
        c: &Capture,
        attempt: u32,
        kind: &'static str,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<Answer> {
        let topic = c.request.topic().map(str::to_string);
        let Some(route) = route(&self.settings.routes, topic.as_deref()) else {
            // An earlier run's capture that this run's routes do not take.
            let (seq, note) = (c.seq, no_route(topic.as_deref()));
            let now = chrono::Utc::now().timestamp_millis();
            let saved = note.clone();
            let recorded = self
                .writer
                .exec(move |conn| {
                    conn.execute(
                        "UPDATE deliveries SET state = 'skipped', note = ?1, updated_at = ?2 WHERE capture_seq = ?3",
                        rusqlite::params![saved, now, seq],
                    )
                    .map(drop)
                })
                .await;
            match recorded {
                Ok(()) => self.announce_skip(c, &note, kind == "passthrough"),
                Err(e) => eprintln_lossy!("hookcli: error: cannot record a skipped delivery: {e}"),
            }
            return None;
        };
        let target = match target_url(&route.url, &self.settings.prefix, &c.request.target) {
            Ok(target) => target,
            Err(why) => return Some(Answer::unsendable(&route.url, why)),
        };
        let keep = if kind == "passthrough" {
            super::MAX_RELAYED_BODY
        } else {
            super::MAX_KEPT_BODY
        };
        let via = Via {
            capture_id: &c.id,
            attempt,
        };
        let sending = send(&self.client, c, &target, via, keep, super::FORWARD_LIMIT);
        let started_at = chrono::Utc::now().timestamp_millis();
        // A passthrough sender is told and retries; a queued capture waits for the next run.
        let then = if kind == "passthrough" {
            "the sender got a 502, so Intercom retries it"
        } else {
            "the next `hookcli listen --forward-to` sends it again"
        };
        let queued = kind != "passthrough";
        tokio::select! {
            answer = sending => Some(answer),
            // Stopping: the app gets a few seconds to answer, then the attempt is recorded
            // as cut short, so the next run's attempt has the next number.
            () = async {
                let _ = stop.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(STOP_GRACE).await;
            } => Some(Answer::stopped(&target, started_at, then)),
            // Skipped meanwhile: an app that hangs (in a debugger, with no timeout) would
            // otherwise hold the rest of the queue back for as long.
            how = self.taken_out(c.seq), if queued => Some(Answer::abandoned(&target, started_at, how)),
        }
    }

    async fn finish(
        &self,
        c: &Capture,
        tried: Tried,
        answer: &Answer,
        state: &'static str,
        next: Option<i64>,
        note: Option<String>,
    ) {
        let Tried {
            kind,
            attempt,
            max_attempts,
        } = tried;
        // What a passthrough sender got is recorded with its attempt.
        let answered = (kind == "passthrough").then(|| answer.relayed_status());
        let record = Attempt {
            attempt,
            kind: kind.to_string(),
            started_at: answer.started_at,
            target: answer.target.clone(),
            status: answer.status,
            latency_ms: answer.latency.as_millis() as i64,
            error_kind: answer.error_kind.map(str::to_string),
            error: answer.error.clone(),
            response_headers: answer.headers.clone(),
            response_body: answer.body[..answer.body.len().min(super::MAX_KEPT_BODY)].to_vec(),
        };
        let seq = c.seq;
        let saved_note = note.clone();
        // The writer's job, made again for each try.
        let job = move || {
            let (record, note) = (record.clone(), saved_note.clone());
            move |conn: &Connection| {
                delivery::record(conn, seq, &record, state, next, note.as_deref())?;
                // In the same job: one trip through the writer per passthrough request.
                answered.map_or(Ok(()), |status| store::set_answered(conn, seq, status))
            }
        };
        // Queued in order, not awaited: the capture and its pending state are already on disk,
        // so losing a record to a crash only means delivering again.
        let committed = self.writer.submit(job()).await;
        let mut hints = Vec::new();
        if matches!(answer.status, Some(401 | 403)) && c.request.verdict == Verdict::Valid {
            hints.push("hookcli verified this signature as valid on arrival, so your app is probably verifying a re-parsed body or using the wrong secret".to_string());
        }
        let ping = c.request.notification.as_ref().is_some_and(|n| n.is_ping());
        if kind == "passthrough" && ping {
            let (_, says) = intercom::ping_setup(
                answer.status,
                answer.latency,
                c.request.verdict,
                intercom::Answerer::App,
            );
            hints.push(says);
        }
        // A stopped attempt says itself that the app had not answered; a ping's hint says
        // it took too long.
        let stopped = answer.error_kind == Some(super::STOPPED);
        if kind == "passthrough" && !stopped && !ping {
            hints.extend(answer.slow_hint());
        }
        hints.extend(answer.redirect_hint("--forward-to"));
        hints.extend(answer.subscription_hint());
        let event = Event::Delivery(Box::new(Delivery {
            capture_id: c.id.clone(),
            kind,
            attempt,
            max_attempts,
            target: answer.target.clone(),
            status: answer.status,
            reason: answer.reason.clone(),
            latency_ms: answer.latency.as_millis() as u64,
            outcome: match state {
                "pending" if answer.error_kind == Some(super::STOPPED) => "stopped",
                "pending" => "retrying",
                _ => state,
            },
            error_kind: answer.error_kind,
            error: answer.error.clone(),
            next_attempt_at: next,
            note,
            response_preview: answer.preview().to_vec(),
            hints,
        }));
        // Shown once recorded, so whoever reads the store after seeing the line finds it there.
        let output = self.output.clone();
        let writer = self.writer.clone();
        let unrecorded = self.unrecorded.clone();
        let mut stop = self.stopping.subscribe();
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        while lines.try_join_next().is_some() {}
        lines.spawn(async move {
            let (mut committed, mut holding, mut tries) = (committed, false, 0u32);
            loop {
                match committed.await {
                    Ok(Ok(())) => break,
                    Ok(Err(e)) => {
                        // Said at once, and again every 30 s for as long as it lasts. What
                        // SQLite said: a failed group commit would call this "a capture".
                        if tries % 30 == 0 {
                            let why = match e {
                                StoreError::WriteFailed { reason, .. } => reason,
                                StoreError::Sqlite { source, .. } => source.to_string(),
                                e => e.to_string(),
                            };
                            eprintln_lossy!("hookcli: error: cannot record a delivery attempt in the store ({why}): no new delivery starts until it can be, tried again each second");
                        }
                        if !holding {
                            unrecorded.fetch_add(1, Ordering::Relaxed);
                            holding = true;
                        }
                    }
                    Err(_) => {
                        eprintln_lossy!("hookcli: error: cannot record a delivery attempt: the store writer has stopped");
                        break;
                    }
                }
                tries += 1;
                let stopping = tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => false,
                    _ = stop.wait_for(|stopping| *stopping) => true,
                };
                committed = writer.submit(job()).await;
                if stopping {
                    // One last try; if that fails too it stays pending, for the next run.
                    let _ = committed.await;
                    break;
                }
            }
            if holding {
                unrecorded.fetch_sub(1, Ordering::Relaxed);
            }
            output.emit(event);
        });
    }
}

/// How many captures per `--concurrency` slot may wait out a backoff without their slot.
const WAITING_PER_SLOT: usize = 4;

/// A lane's places: `slots` for deliveries under way (`--concurrency`), `waiting` for those
/// that gave theirs up to wait for a retry; bounded, so an app that is down cannot draw a
/// whole backlog (bodies and all) into memory.
struct Places {
    slots: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
}

/// Which attempt an answer was, for recording and showing it.
#[derive(Debug, Clone, Copy)]
struct Tried {
    /// `forward` or `passthrough`.
    kind: &'static str,
    /// Its number, counted across runs.
    attempt: u32,
    /// The last number this capture may reach: earlier runs' attempts plus this run's budget.
    max_attempts: u32,
}

/// The note for a capture `hookcli skip` or `delete` took out of the queue during an
/// attempt that did not deliver it: what became of that attempt.
fn taken_out_during(answer: &Answer, how: TakenOut) -> String {
    let what = match (answer.status, &answer.error) {
        _ if answer.error_kind == Some(super::ABANDONED) => {
            "which was abandoned before your app answered".to_string()
        }
        (Some(status), _) => format!("which your app answered {status} {}", answer.reason),
        (None, Some(error)) => format!("which failed: {error}"),
        (None, None) => "which failed".to_string(),
    };
    format!("{} during an attempt, {what}", how.done())
}

/// The note for a capture whose retries ran out, `made` attempts in this run of `total`.
fn gave_up(made: u32, total: u32) -> String {
    let plural = if made == 1 { "" } else { "s" };
    if made == total {
        format!("gave up after {made} attempt{plural}")
    } else {
        format!("gave up after {made} attempt{plural} in this run, {total} in all")
    }
}

fn no_route(topic: Option<&str>) -> String {
    match topic {
        Some(t) => format!("no --forward-to route matches topic {t}"),
        None => {
            "no --forward-to route matches a request that is not an Intercom notification".into()
        }
    }
}

fn permanent_note(answer: &Answer) -> String {
    if answer.class() == Class::Permanent && answer.status.is_none() {
        // The error already says why; the note only adds what became of it.
        return "not sent".into();
    }
    match (answer.status, answer.location()) {
        (Some(s), Some(l)) => {
            format!("the app answered {s}, a redirect to {l}, which hookcli does not follow")
        }
        (Some(s), None) => format!("the app answered {s} {}", answer.reason)
            .trim_end()
            .to_string(),
        (None, _) => answer.error.clone().unwrap_or_default(),
    }
}

/// The lane a route URL delivers in: one app URL however it is written (`http://h:3000` is
/// `http://h:3000/`, `HTTP://H:3000/` too).
fn lane_key(url: &str) -> String {
    reqwest::Url::parse(url).map_or_else(|_| url.to_string(), String::from)
}

/// About 1 s doubling up to 30 s (scaled by `base`).
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1)).min(30);
    base * factor
}

/// How long to wait before the next attempt: the backoff, or longer when the app asked for
/// it with `Retry-After` (on a 429 or 503), up to the longest backoff (30 times the base),
/// so one answer cannot hold the queue for hours.
fn retry_wait(base: Duration, attempt: u32, answer: &Answer) -> Duration {
    let asked = answer.retry_after().unwrap_or_default().min(base * 30);
    backoff(base, attempt).max(asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn give_up_notes_count_this_runs_attempts_and_all() {
        assert_eq!(gave_up(1, 1), "gave up after 1 attempt");
        assert_eq!(gave_up(3, 3), "gave up after 3 attempts");
        assert_eq!(
            gave_up(3, 5),
            "gave up after 3 attempts in this run, 5 in all"
        );
        assert_eq!(
            gave_up(1, 3),
            "gave up after 1 attempt in this run, 3 in all"
        );
    }

    #[test]
    fn one_app_url_is_one_lane_however_it_is_written() {
        assert_eq!(lane_key("http://h:3000"), lane_key("HTTP://H:3000/"));
        assert_ne!(lane_key("http://h:3000/a"), lane_key("http://h:3000/b"));
    }

    #[test]
    fn backoff_doubles_up_to_thirty_times_the_base() {
        let s = Duration::from_secs(1);
        let waits: Vec<u64> = (1..=7).map(|a| backoff(s, a).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 30, 30]);
    }
}
