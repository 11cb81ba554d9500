//! The application: the chat rules' dependencies behind traits, plus the delivery machinery every
//! command uses — replies, fan-out to members' connections, cleanup of gone connections, presence.

use crate::clock::Clock;
use crate::error::{ChatError, Result};
use crate::model::{ConnectionRecord, MemberRecord, Role, RoomConn, StaleDelete};
use crate::notify::{Notifier, PostError};
use crate::protocol::{ErrorFrame, ServerFrame};
use crate::store::Store;
use crate::tasks::{Task, TaskQueue};
use futures_util::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Largest group room.
    pub max_group_size: u32,
    /// Posts in flight at once during a fan-out.
    pub fanout_concurrency: usize,
    /// `message.send` per member per room per [`SEND_WINDOW_MS`]; more get `rate_limited`.
    pub max_sends_per_window: u32,
    /// A fan-out posts to this many connections itself; the rest go to the task queue in
    /// batches of [`ChatConfig::fanout_batch`] (so a big room neither delays nor times out the
    /// invocation that sent the message).
    pub direct_fanout: usize,
    pub fanout_batch: usize,
    /// Support desk: open sessions an operator takes at most through auto-assignment and
    /// transfers.
    pub operator_capacity: u32,
    /// Support desk: assign a new session to the online operator with the fewest open sessions
    /// (under capacity) instead of queueing it.
    pub auto_assign: bool,
    /// Clients send `ping` this often; a connection without one for [`MISSED_BEATS`] intervals
    /// is swept (its user announced offline, its socket closed).
    pub heartbeat_secs: u64,
    /// Largest attachment, in bytes.
    pub max_upload_bytes: u64,
    /// Allowed attachment types (lower case).
    pub upload_types: Vec<String>,
    /// Web Push: at most one push per offline member per room in this many seconds.
    pub push_interval_secs: u64,
    /// At most one reply e-mail per support session in this many seconds (`EMAIL_INTERVAL_SECONDS`).
    pub email_interval_secs: u64,
    /// Flood limits per connection per [`crate::limits::FRAME_WINDOW_SECS`]: frames past the
    /// first are answered `rate_limited`, past the second the connection is closed.
    pub frames_per_window: u64,
    pub frames_before_close: u64,
    /// Likewise for pings per heartbeat interval.
    pub pings_per_interval: u64,
    pub pings_before_close: u64,
}

/// Images, PDF, plain text and CSV, and the common office formats.
pub const DEFAULT_UPLOAD_TYPES: &str = "image/jpeg,image/png,image/gif,image/webp,application/pdf,text/plain,text/csv,application/msword,application/vnd.openxmlformats-officedocument.wordprocessingml.document,application/vnd.ms-excel,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-powerpoint,application/vnd.openxmlformats-officedocument.presentationml.presentation,application/vnd.oasis.opendocument.text,application/vnd.oasis.opendocument.spreadsheet";

pub fn parse_types(list: &str) -> Vec<String> {
    list.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect()
}

/// The window of the per-connection send budget.
pub const SEND_WINDOW_MS: u64 = 10_000;

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            max_group_size: 100,
            fanout_concurrency: 32,
            max_sends_per_window: 30,
            direct_fanout: 200,
            fanout_batch: 250,
            operator_capacity: 5,
            auto_assign: false,
            heartbeat_secs: 30,
            max_upload_bytes: 25 * 1024 * 1024,
            upload_types: parse_types(DEFAULT_UPLOAD_TYPES),
            push_interval_secs: 60,
            email_interval_secs: 900,
            frames_per_window: crate::limits::FRAMES_PER_WINDOW,
            frames_before_close: crate::limits::FRAMES_BEFORE_CLOSE,
            pings_per_interval: crate::limits::PINGS_PER_INTERVAL,
            pings_before_close: crate::limits::PINGS_BEFORE_CLOSE,
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub notifier: Arc<dyn Notifier>,
    pub clock: Arc<dyn Clock>,
    pub cfg: ChatConfig,
    /// Where work off the caller's path goes (big fan-outs, presence); `None`: done inline.
    pub tasks: Option<Arc<dyn TaskQueue>>,
    /// Where "a visitor waits and no operator is online" goes (SNS); `None`: logged only.
    pub alerts: Option<Arc<dyn crate::alerts::Alerts>>,
    /// Attachments' bytes (S3); `None`: messages cannot carry files.
    pub files: Option<Arc<dyn crate::files::Files>>,
    /// Where pushes to offline members are published (SNS); `None`: no push is decided.
    pub push: Option<Arc<dyn crate::push::PushPublisher>>,
    /// Where e-mail follow-ups of support sessions are handed over (SNS); `None`: the site sends
    /// no e-mail (no `EMAIL_SENDER`).
    pub mail: Option<Arc<dyn crate::mail::MailQueue>>,
    /// What features add to connections and tasks ([`Feature`]): delivery calls them without
    /// knowing them.
    pub features: Vec<Arc<dyn Feature>>,
}

/// What a feature adds to the delivery layer — to a connection's life and to the task queue —
/// without this layer knowing the feature (the support desk's channels and queue, say).
/// Registered with [`App::with_features`] (`handlers::features()`: all of them).
#[async_trait::async_trait]
pub trait Feature: Send + Sync {
    /// Channels — `RoomConnsTable` partitions that are not rooms — a connection may be in: a gone
    /// connection is taken out of them.
    fn channels(&self) -> &'static [&'static str] {
        &[]
    }
    /// After `$connect` registered a connection; `came_online`: it is its user's first.
    async fn connected(&self, _app: &App, _conn: &ConnectionRecord, _came_online: bool) -> Result<()> {
        Ok(())
    }
    /// On `$disconnect`, after the connection left its rooms; `went_offline`: it was its user's
    /// last.
    async fn disconnected(&self, _app: &App, _conn: &ConnectionRecord, _went_offline: bool) -> Result<()> {
        Ok(())
    }
    /// Runs a [`Task::Feature`] handed over through the task queue; `None`: not this feature's.
    async fn run_task(&self, _app: &App, _task: &str, _body: &serde_json::Map<String, serde_json::Value>) -> Option<FanoutReport> {
        None
    }
}

/// Who acts: the user a verified token names (over a socket or REST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub name: Option<String>,
    pub role: Role,
}

impl Actor {
    /// The site's own backend (a `service` token): acts on behalf of the site, is no member.
    pub fn is_service(&self) -> bool {
        self.role == Role::Service
    }
}

/// The connection a frame came from, and who it belongs to.
#[derive(Debug, Clone)]
pub struct Caller {
    pub connection_id: String,
    pub actor: Actor,
    /// API Gateway's request id, echoed in error frames.
    pub request_id: String,
}

impl std::ops::Deref for Caller {
    type Target = Actor;
    fn deref(&self) -> &Actor {
        &self.actor
    }
}

/// What a fan-out did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FanoutReport {
    pub posted: usize,
    pub gone: usize,
    pub failed: usize,
}

impl App {
    pub fn new(store: Arc<dyn Store>, notifier: Arc<dyn Notifier>, clock: Arc<dyn Clock>, cfg: ChatConfig) -> App {
        App { store, notifier, clock, cfg, tasks: None, alerts: None, files: None, push: None, mail: None, features: Vec::new() }
    }

    pub fn with_tasks(self, tasks: Arc<dyn TaskQueue>) -> App {
        App { tasks: Some(tasks), ..self }
    }

    pub fn with_files(self, files: Arc<dyn crate::files::Files>) -> App {
        App { files: Some(files), ..self }
    }

    pub fn with_alerts(self, alerts: Arc<dyn crate::alerts::Alerts>) -> App {
        App { alerts: Some(alerts), ..self }
    }

    pub fn with_push(self, push: Arc<dyn crate::push::PushPublisher>) -> App {
        App { push: Some(push), ..self }
    }

    pub fn with_mail(self, mail: Arc<dyn crate::mail::MailQueue>) -> App {
        App { mail: Some(mail), ..self }
    }

    pub fn with_features(mut self, features: Vec<Arc<dyn Feature>>) -> App {
        self.features.extend(features);
        self
    }

    /// Runs a task handed over by another invocation (the `fanout` function).
    pub async fn run_task(&self, task: Task) -> FanoutReport {
        match task {
            Task::Deliver { frame, targets } => self.post_raw(targets, frame, true).await,
            Task::Presence { user_id, online, last_seen } => {
                // Announce the user's state as it is now, not as it was when the task was handed
                // over: two tasks of one user (online, then offline) may run in either order, and
                // whichever runs last then tells the truth.
                let (online, last_seen) = match self.store.get_users(std::slice::from_ref(&user_id)).await {
                    Ok(u) => match u.first() {
                        Some(u) => (!u.conns.is_empty(), u.last_seen),
                        None => (online, last_seen),
                    },
                    Err(_) => (online, last_seen),
                };
                self.announce_presence_now(&user_id, online, last_seen, true).await
            }
            Task::Feature { task, body } => {
                for f in &self.features {
                    if let Some(report) = f.run_task(self, &task, &body).await {
                        return report;
                    }
                }
                tracing::error!(task, "a task no feature runs");
                FanoutReport { failed: 1, ..Default::default() }
            }
        }
    }

    pub fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Sends a frame to the caller's connection.
    pub async fn reply(&self, caller: &Caller, frame: &ServerFrame) {
        let data = fit(frame, &caller.connection_id);
        if let Err(PostError::Gone) = self.notifier.post(&caller.connection_id, &data).await {
            self.cleanup_gone(vec![(caller.user_id.clone(), caller.connection_id.clone())], true).await;
        }
    }

    pub async fn reply_error(&self, connection_id: &str, request_id: &str, err: &ChatError, ctx: ErrorContext) {
        if let ChatError::Internal(detail) = err {
            tracing::error!(connection_id, request_id, detail, "internal error");
        }
        let frame = ServerFrame::Error(ErrorFrame {
            code: err.code(),
            // Echoes of what the client sent (an unknown action or field name) are cut short, so
            // an error about a huge frame is itself small.
            message: truncate(&err.client_message(), MAX_ERROR_MESSAGE_CHARS),
            field: err.field().map(|f| truncate(&f, MAX_ERROR_FIELD_CHARS)),
            action: ctx.action,
            client_id: ctx.client_id,
            reference: ctx.reference,
            request_id: request_id.to_string(),
        });
        let _ = self.notifier.post(connection_id, &fit(&frame, connection_id)).await;
    }

    /// The room's members; `NotMember` unless `user_id` is among them. A room that does not exist
    /// gets the same answer: non-members learn nothing about a room, not even that it exists.
    pub async fn members_checked(&self, room_id: &str, user_id: &str) -> Result<Vec<MemberRecord>> {
        let members = self.store.list_members(room_id).await?;
        if members.iter().any(|m| m.user_id == user_id) {
            return Ok(members);
        }
        Err(ChatError::NotMember(room_id.to_string()))
    }

    /// The caller's member row; `NotMember` otherwise (also for a room that does not exist).
    pub async fn member_checked(&self, room_id: &str, user_id: &str) -> Result<MemberRecord> {
        self.store.get_member(room_id, user_id).await?.ok_or_else(|| ChatError::NotMember(room_id.to_string()))
    }

    /// Posts `frame` to every connection registered in the room (one Query: the room's live
    /// connections), except the connection `except` and every connection of `except_user`.
    pub async fn fanout_room(&self, room_id: &str, frame: &ServerFrame, except: Option<&str>, except_user: Option<&str>) -> FanoutReport {
        self.fanout_room_seen(room_id, frame, except, except_user).await.0
    }

    /// [`Self::fanout_room`], also telling which users the room's connections belong to (all of
    /// them, `except` included; `None` when they could not be read): who is online in the room,
    /// without reading it twice (the offline-push decision needs it).
    pub async fn fanout_room_seen(
        &self,
        room_id: &str,
        frame: &ServerFrame,
        except: Option<&str>,
        except_user: Option<&str>,
    ) -> (FanoutReport, Option<BTreeSet<String>>) {
        let conns = match self.store.room_connections(room_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(room_id, error = %e, "fan-out: cannot read the room's connections");
                return (FanoutReport { failed: 1, ..Default::default() }, None);
            }
        };
        let connected: BTreeSet<String> = conns.iter().map(|c| c.user_id.clone()).collect();
        let mut targets: Vec<(String, String)> = conns
            .into_iter()
            .filter(|c| Some(c.connection_id.as_str()) != except && Some(c.user_id.as_str()) != except_user)
            .map(|c| (c.user_id, c.connection_id))
            .collect();
        let data = frame.to_json();
        if let Some(queue) = self.tasks.as_ref().filter(|_| targets.len() > self.cfg.direct_fanout) {
            // A big room: post to the first ones here, hand the rest over in batches (each its
            // own invocation of the fanout function, in parallel).
            let rest = targets.split_off(self.cfg.direct_fanout);
            let batches: Vec<Task> =
                rest.chunks(self.cfg.fanout_batch.max(1)).map(|c| Task::Deliver { frame: data.clone(), targets: c.to_vec() }).collect();
            let handed = rest.len();
            match queue.enqueue(batches).await {
                Ok(()) => tracing::info!(room_id, direct = targets.len(), handed, "fan-out split"),
                Err(e) => {
                    tracing::warn!(room_id, error = %e, "cannot hand the fan-out over: posting it all here");
                    targets.extend(rest);
                }
            }
        }
        (self.post_raw(targets, data, true).await, Some(connected))
    }

    /// Posts `frame` to every live connection of these users (from their presence sets), except
    /// `except`: for users who are not (or no longer) in a room's list — `room.joined`,
    /// `room.left`.
    pub async fn fanout_users<'a>(
        &self,
        user_ids: impl IntoIterator<Item = &'a str>,
        frame: &ServerFrame,
        except: Option<&str>,
    ) -> FanoutReport {
        let ids: Vec<String> = user_ids.into_iter().map(str::to_string).collect::<BTreeSet<_>>().into_iter().collect();
        if ids.is_empty() {
            return FanoutReport::default();
        }
        let users = match self.store.get_users(&ids).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "fan-out: cannot read users");
                return FanoutReport { failed: ids.len(), ..Default::default() };
            }
        };
        let targets = users.into_iter().flat_map(|u| {
            let uid = u.user_id;
            u.conns.into_iter().map(move |c| (uid.clone(), c))
        });
        self.post_all(targets.filter(|(_, c)| Some(c.as_str()) != except).collect(), frame, true).await
    }

    /// Posts one frame to (user, connection) targets, concurrently (bounded); a slow or gone
    /// connection never holds up or fails the others. Gone connections are cleaned up, and users
    /// left with none are announced offline (when `announce`).
    async fn post_all(&self, targets: Vec<(String, String)>, frame: &ServerFrame, announce: bool) -> FanoutReport {
        self.post_raw(targets, frame.to_json(), announce).await
    }

    async fn post_raw(&self, targets: Vec<(String, String)>, data: String, announce: bool) -> FanoutReport {
        let data = Arc::new(data);
        self.post_each(targets.into_iter().map(|t| (t, data.clone())).collect(), announce).await
    }

    /// Posts to each (user, connection) target its own frame (already JSON), like [`Self::fanout_room`]
    /// does one frame: bounded concurrency, gone connections cleaned up.
    pub async fn post_each(&self, targets: Vec<((String, String), Arc<String>)>, announce: bool) -> FanoutReport {
        if targets.is_empty() {
            return FanoutReport::default();
        }
        let results: Vec<((String, String), Result<(), PostError>)> = stream::iter(targets)
            .map(|(t, data)| async move {
                let r = self.notifier.post(&t.1, &data).await;
                (t, r)
            })
            .buffer_unordered(self.cfg.fanout_concurrency.max(1))
            .collect()
            .await;
        let mut report = FanoutReport::default();
        let mut gone = Vec::new();
        for (t, r) in results {
            match r {
                Ok(()) => report.posted += 1,
                Err(PostError::Gone) => {
                    report.gone += 1;
                    gone.push(t);
                }
                Err(PostError::Failed(e)) => {
                    report.failed += 1;
                    tracing::warn!(connection_id = %t.1, error = %e, "post failed");
                }
            }
        }
        if !gone.is_empty() {
            Box::pin(self.cleanup_gone(gone, announce)).await;
        }
        report
    }

    /// Connections that answered 410: delete their rows, take them off their users and out of
    /// their rooms; users left without connections go offline (announced when `announce`). A
    /// connection younger than [`HANDSHAKE_GRACE_MS`] is left alone: its `$connect` registered it
    /// before API Gateway finished the handshake, and posts in that window are refused.
    pub async fn cleanup_gone(&self, gone: Vec<(String, String)>, announce: bool) {
        self.cleanup_connections(gone, announce, HANDSHAKE_GRACE_MS).await
    }

    /// [`Self::cleanup_gone`] for connections known dead whatever their age (`grace_ms`: leave
    /// connections younger than this alone).
    pub async fn cleanup_connections(&self, gone: Vec<(String, String)>, announce: bool, grace_ms: u64) {
        let now = self.now();
        let mut by_user: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (u, c) in gone {
            match self.store.delete_stale_connection(&c, now.saturating_sub(grace_ms)).await {
                Ok(StaleDelete::TooYoung) => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(connection_id = %c, error = %e, "cannot delete gone connection"),
            }
            by_user.entry(u).or_default().push(c);
        }
        // Features' channels (the support desk's operators and waiting visitors) are not rooms
        // of the user.
        let all: Vec<&str> = self.features.iter().flat_map(|f| f.channels().iter().copied()).collect();
        let channels: Vec<(String, String)> =
            by_user.values().flatten().flat_map(|c| all.iter().map(move |ch| (ch.to_string(), c.clone()))).collect();
        if !channels.is_empty() {
            if let Err(e) = self.store.unregister_connections(&channels).await {
                tracing::warn!(error = %e, "cannot take gone connections out of the features' channels");
            }
        }
        for (user, conns) in by_user {
            if let Err(e) = self.unregister_everywhere(&user, &conns).await {
                tracing::warn!(user_id = %user, error = %e, "cannot take gone connections out of their rooms");
            }
            match self.store.detach_connections(&user, &conns, now).await {
                Ok(d) if d.went_offline() => {
                    tracing::info!(user_id = %user, "user went offline (gone connection)");
                    if announce {
                        self.announce_presence(&user, false, Some(now), false).await;
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(user_id = %user, error = %e, "cannot detach gone connections"),
            }
        }
    }

    /// Registers a user's connections in their rooms (as `$connect` does for one connection).
    pub async fn register_everywhere(&self, user_id: &str, conns: &[String]) -> Result<()> {
        let rooms = self.store.memberships(user_id).await?;
        let until = self.now() / 1000 + CONNECTION_TTL_SECS;
        let entries: Vec<RoomConn> = rooms
            .iter()
            .flat_map(|r| {
                conns.iter().map(move |c| RoomConn {
                    room_id: r.room_id.clone(),
                    connection_id: c.clone(),
                    user_id: user_id.to_string(),
                    expires_at: until,
                })
            })
            .collect();
        self.store.register_connections(&entries).await
    }

    /// Takes a user's connections out of all their rooms.
    pub async fn unregister_everywhere(&self, user_id: &str, conns: &[String]) -> Result<()> {
        let rooms = self.store.memberships(user_id).await?;
        let entries: Vec<(String, String)> = rooms.iter().flat_map(|r| conns.iter().map(move |c| (r.room_id.clone(), c.clone()))).collect();
        self.store.unregister_connections(&entries).await
    }

    /// Registers the live connections of users who just joined a room (and lifts any bar from an
    /// earlier removal), so the room's next fan-out reaches them.
    pub async fn register_members(&self, room_id: &str, user_ids: &[String]) -> Result<()> {
        if user_ids.is_empty() {
            return Ok(());
        }
        self.store.unbar(room_id, user_ids).await?;
        let until = self.now() / 1000 + CONNECTION_TTL_SECS;
        let users = self.store.get_users(user_ids).await?;
        let entries: Vec<RoomConn> = users
            .into_iter()
            .flat_map(|u| {
                let uid = u.user_id;
                u.conns.into_iter().map(move |c| RoomConn {
                    room_id: room_id.to_string(),
                    connection_id: c,
                    user_id: uid.clone(),
                    expires_at: until,
                })
            })
            .collect();
        self.store.register_connections(&entries).await
    }

    /// A user left or was removed: bar them from the room's fan-outs (a registration racing the
    /// removal is ignored), and take their known connections out of it.
    pub async fn unregister_member(&self, room_id: &str, user_id: &str) -> Result<()> {
        // Longer than any connection registered before or during the removal can live.
        let until = self.now() / 1000 + CONNECTION_TTL_SECS + 3600;
        self.store.bar_from_room(room_id, user_id, until).await?;
        let conns = self
            .store
            .get_users(&[user_id.to_string()])
            .await?
            .into_iter()
            .flat_map(|u| u.conns)
            .map(|c| (room_id.to_string(), c))
            .collect::<Vec<_>>();
        self.store.unregister_connections(&conns).await
    }

    /// Tells co-members that `user_id` came online or went offline — handed to the task queue
    /// when there is one (it costs a Query per room of the user; nothing waits for it).
    pub async fn announce_presence(&self, user_id: &str, online: bool, last_seen: Option<u64>, cleanup_announces: bool) {
        let last_seen = if online { None } else { last_seen };
        if let Some(queue) = &self.tasks {
            match queue.enqueue(vec![Task::Presence { user_id: user_id.to_string(), online, last_seen }]).await {
                Ok(()) => return,
                Err(e) => tracing::warn!(user_id, error = %e, "cannot hand the presence announcement over: announcing here"),
            }
        }
        self.announce_presence_now(user_id, online, last_seen, cleanup_announces).await;
    }

    /// One Query of live connections per room of the user (each connection posted once).
    async fn announce_presence_now(&self, user_id: &str, online: bool, last_seen: Option<u64>, cleanup_announces: bool) -> FanoutReport {
        let rooms = match self.store.memberships(user_id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(user_id, error = %e, "presence: cannot list rooms");
                return FanoutReport { failed: 1, ..Default::default() };
            }
        };
        let lists: Vec<Result<Vec<RoomConn>>> =
            stream::iter(rooms).map(|r| async move { self.store.room_connections(&r.room_id).await }).buffer_unordered(16).collect().await;
        let mut targets: BTreeMap<String, String> = BTreeMap::new();
        for l in lists {
            match l {
                Ok(conns) => {
                    for c in conns.into_iter().filter(|c| c.user_id != user_id) {
                        targets.insert(c.connection_id, c.user_id);
                    }
                }
                Err(e) => tracing::warn!(user_id, error = %e, "presence: cannot read a room's connections"),
            }
        }
        let frame = ServerFrame::Presence { user_id: user_id.to_string(), online, last_seen: if online { None } else { last_seen } };
        // A presence broadcast that finds more gone connections cleans them up but does not
        // announce in turn (no cascades).
        self.post_all(targets.into_iter().map(|(c, u)| (u, c)).collect(), &frame, cleanup_announces).await
    }

    /// Registers a live connection for its user and in the user's rooms, and if it is the user's
    /// first, announces them. Stale ids left in the user's set (connections that vanished without
    /// `$disconnect` and were never posted to) are pruned first, so they cannot hide a real
    /// transition. Returns whether the user came online with it.
    pub async fn attach(&self, user_id: &str, name: Option<&str>, connection_id: &str) -> Result<bool> {
        let now = self.now();
        let before = self.store.attach_connection(user_id, name, connection_id, now).await?;
        self.register_everywhere(user_id, &[connection_id.to_string()]).await?;
        let mut online_before = before > 0;
        if online_before {
            let users = self.store.get_users(&[user_id.to_string()]).await?;
            let others: Vec<String> = users.into_iter().flat_map(|u| u.conns).filter(|c| c != connection_id).collect();
            let alive: HashSet<String> = self.store.existing_connections(&others).await?;
            let stale: Vec<String> = others.iter().filter(|c| !alive.contains(*c)).cloned().collect();
            if !stale.is_empty() {
                self.unregister_everywhere(user_id, &stale).await?;
                self.store.detach_connections(user_id, &stale, now).await?;
            }
            online_before = !alive.is_empty();
        }
        if !online_before {
            self.announce_presence(user_id, true, None, true).await;
        }
        Ok(!online_before)
    }

    /// Removes a connection (on `$disconnect`); if it was the user's last, announces them offline.
    pub async fn detach(&self, connection_id: &str) -> Result<()> {
        let Some(rec) = self.store.delete_connection(connection_id).await? else {
            return Ok(()); // already cleaned up (a 410 got there first)
        };
        let now = self.now();
        self.unregister_everywhere(&rec.user_id, &[connection_id.to_string()]).await?;
        let detached = self.store.detach_connections(&rec.user_id, &[connection_id.to_string()], now).await?;
        if detached.went_offline() {
            self.announce_presence(&rec.user_id, false, Some(now), true).await;
        }
        for f in &self.features {
            f.disconnected(self, &rec, detached.went_offline()).await?;
        }
        Ok(())
    }
}

/// Connection rows outlive API Gateway's 2-hour maximum a little; TTL removes leftovers.
pub const CONNECTION_TTL_SECS: u64 = 2 * 3600 + 600;

/// API Gateway's limit on a message posted to a connection.
pub const MAX_POST_BYTES: usize = 128 * 1024;
pub const MAX_ERROR_MESSAGE_CHARS: usize = 300;
pub const MAX_ERROR_FIELD_CHARS: usize = 100;

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

/// Every frame the server answers with is checked against API Gateway's 128 KB before it is
/// posted (a larger post is refused, and the client would hear nothing): one that does not fit is
/// logged and replaced by a `too_large` error about it.
fn fit(frame: &ServerFrame, connection_id: &str) -> String {
    let data = frame.to_json();
    if data.len() <= MAX_POST_BYTES {
        return data;
    }
    let kind = serde_json::to_value(frame).ok().and_then(|v| v["type"].as_str().map(str::to_string)).unwrap_or_default();
    let reference = serde_json::to_value(frame).ok().and_then(|v| v["ref"].as_str().map(str::to_string));
    tracing::warn!(connection_id, frame = %kind, bytes = data.len(), "an answer over 128 KB was replaced by a too_large error");
    ServerFrame::Error(ErrorFrame {
        code: crate::error::ErrorCode::TooLarge,
        message: format!("the answer ({kind}, {} bytes) is over API Gateway's 128 KB", data.len()),
        field: None,
        action: None,
        client_id: None,
        reference,
        request_id: String::new(),
    })
    .to_json()
}

/// A 410 for a connection younger than this does not unregister it (see [`App::cleanup_gone`]).
pub const HANDSHAKE_GRACE_MS: u64 = 10_000;

/// What an error frame says about the request it answers.
#[derive(Debug, Default, Clone)]
pub struct ErrorContext {
    pub action: Option<String>,
    pub client_id: Option<String>,
    pub reference: Option<String>,
}
