//! In-memory [`Store`] for unit tests: the same rules as DynamoDB, under one lock.

use super::{ConnectionStore, DeskStore, LimitStore, MessageStore, PushStore, RoomStore, SearchStore, SupportStore};
use crate::error::{ChatError, Result};
use crate::model::*;
use crate::protocol::{Message, Rating, RoomContext, SessionStatus, SupportSession, UserRef};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
struct Data {
    connections: HashMap<String, ConnectionRecord>,
    users: HashMap<String, UserRecord>,
    rooms: HashMap<String, RoomRecord>,
    members: BTreeMap<(String, String), MemberRecord>,
    messages: BTreeMap<(String, u64), Message>,
    client_ids: HashMap<(String, String), u64>,
    send_budgets: HashMap<(String, String), (u64, u32)>,
    room_conns: BTreeMap<(String, String), RoomConn>,
    bars: HashMap<(String, String), u64>,
    postings: BTreeMap<PostingKey, Posting>,
    open_sessions: HashMap<String, String>,
    loads: HashMap<String, u32>,
    /// key -> (count, expires at, epoch seconds)
    counters: HashMap<String, (u64, u64)>,
    /// key -> (strikes, expires at)
    strikes: HashMap<String, (Strikes, u64)>,
    /// (acceptedAt, waitMs) of accepted sessions.
    waits: Vec<(u64, u64)>,
    beats: BTreeMap<(u64, u32), BTreeMap<String, (String, u64)>>,
    /// (userId, id) -> a browser's push subscription.
    push_subs: BTreeMap<(String, String), PushSubscriptionRecord>,
    docs: HashMap<String, Doc>,
    away: HashSet<String>,
    /// (day, operator) -> the row.
    reports: BTreeMap<(String, Option<String>), ReportRow>,
}

/// Expiry (TTL attributes) is honoured against its clock, as the DynamoDB store ignores expired
/// items that TTL has not deleted yet.
pub struct MemoryStore {
    data: Mutex<Data>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore { data: Mutex::default(), clock: std::sync::Arc::new(crate::clock::SystemClock) }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The clock expiry is judged by (the app's, in tests that move time).
    pub fn with_clock(self, clock: std::sync::Arc<dyn crate::clock::Clock>) -> Self {
        MemoryStore { clock, ..self }
    }
}

#[async_trait]
impl ConnectionStore for MemoryStore {
    async fn put_connection(&self, c: &ConnectionRecord) -> Result<()> {
        self.data.lock().unwrap().connections.insert(c.connection_id.clone(), c.clone());
        Ok(())
    }
    async fn get_connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        Ok(self.data.lock().unwrap().connections.get(id).cloned())
    }
    async fn delete_connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        Ok(self.data.lock().unwrap().connections.remove(id))
    }
    async fn delete_stale_connection(&self, id: &str, connected_before: u64) -> Result<StaleDelete> {
        let mut d = self.data.lock().unwrap();
        match d.connections.get(id) {
            None => Ok(StaleDelete::Absent),
            Some(c) if c.connected_at >= connected_before => Ok(StaleDelete::TooYoung),
            Some(_) => Ok(StaleDelete::Deleted(d.connections.remove(id).unwrap())),
        }
    }
    async fn existing_connections(&self, ids: &[String]) -> Result<HashSet<String>> {
        let d = self.data.lock().unwrap();
        Ok(ids.iter().filter(|i| d.connections.contains_key(*i)).cloned().collect())
    }

    async fn attach_connection(&self, user_id: &str, name: Option<&str>, conn: &str, _now: u64) -> Result<usize> {
        let mut d = self.data.lock().unwrap();
        let u = d.users.entry(user_id.to_string()).or_insert_with(|| UserRecord { user_id: user_id.to_string(), ..Default::default() });
        let before = u.conns.len();
        if !u.conns.iter().any(|c| c == conn) {
            u.conns.push(conn.to_string());
        }
        if let Some(n) = name {
            u.name = Some(n.to_string());
        }
        Ok(before)
    }
    async fn detach_connections(&self, user_id: &str, conns: &[String], now: u64) -> Result<Detached> {
        let mut d = self.data.lock().unwrap();
        let u = d.users.entry(user_id.to_string()).or_insert_with(|| UserRecord { user_id: user_id.to_string(), ..Default::default() });
        let before = u.conns.len();
        u.conns.retain(|c| !conns.contains(c));
        u.last_seen = Some(now);
        Ok(Detached { removed: before - u.conns.len(), remaining: u.conns.len() })
    }
    async fn get_users(&self, ids: &[String]) -> Result<Vec<UserRecord>> {
        let d = self.data.lock().unwrap();
        Ok(ids.iter().filter_map(|i| d.users.get(i).cloned()).collect())
    }

    async fn register_connections(&self, entries: &[RoomConn]) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        for e in entries {
            d.room_conns.insert((e.room_id.clone(), e.connection_id.clone()), e.clone());
        }
        Ok(())
    }
    async fn unregister_connections(&self, entries: &[(String, String)]) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        for e in entries {
            d.room_conns.remove(e);
        }
        Ok(())
    }
    async fn room_connections(&self, room_id: &str) -> Result<Vec<RoomConn>> {
        let now = self.clock.now_secs();
        let d = self.data.lock().unwrap();
        Ok(d.room_conns
            .range((room_id.to_string(), String::new())..)
            .take_while(|((r, _), _)| r == room_id)
            .map(|(_, c)| c.clone())
            .filter(|c| c.expires_at >= now)
            .filter(|c| d.bars.get(&(room_id.to_string(), c.user_id.clone())).is_none_or(|until| *until < now))
            .collect())
    }
    async fn bar_from_room(&self, room_id: &str, user_id: &str, until: u64) -> Result<()> {
        self.data.lock().unwrap().bars.insert((room_id.to_string(), user_id.to_string()), until);
        Ok(())
    }
    async fn unbar(&self, room_id: &str, user_ids: &[String]) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        for u in user_ids {
            d.bars.remove(&(room_id.to_string(), u.clone()));
        }
        Ok(())
    }
    async fn beat(&self, b: &Beat) -> Result<u64> {
        Ok(self.beat_now(b))
    }
    async fn beats(&self, bucket: u64, shard: u32) -> Result<Vec<(String, String)>> {
        Ok(self.beats_of(bucket, shard))
    }
}

impl MemoryStore {
    fn beat_now(&self, b: &Beat) -> u64 {
        let mut d = self.data.lock().unwrap();
        let e = d.beats.entry((b.bucket, b.shard)).or_default().entry(b.connection_id.clone()).or_insert_with(|| (b.user_id.clone(), 0));
        e.1 += 1;
        e.1
    }
    fn beats_of(&self, bucket: u64, shard: u32) -> Vec<(String, String)> {
        self.data
            .lock()
            .unwrap()
            .beats
            .get(&(bucket, shard))
            .map(|m| m.iter().map(|(c, (u, _))| (c.clone(), u.clone())).collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl RoomStore for MemoryStore {
    async fn create_room(&self, room: &RoomRecord, members: &[MemberRecord]) -> Result<bool> {
        let mut d = self.data.lock().unwrap();
        if d.rooms.contains_key(&room.room_id) {
            return Ok(false);
        }
        d.rooms.insert(room.room_id.clone(), room.clone());
        for m in members {
            d.members.insert((m.room_id.clone(), m.user_id.clone()), m.clone());
        }
        Ok(true)
    }
    async fn get_room(&self, id: &str) -> Result<Option<RoomRecord>> {
        Ok(self.data.lock().unwrap().rooms.get(id).cloned())
    }
    async fn room_hint(&self, id: &str) -> Result<Option<RoomHint>> {
        Ok(self.data.lock().unwrap().rooms.get(id).map(|r| RoomHint { last_seq: r.last_seq, member_count: r.member_count }))
    }
    async fn get_rooms(&self, ids: &[String], _consistent: bool) -> Result<Vec<RoomRecord>> {
        let d = self.data.lock().unwrap();
        Ok(ids.iter().filter_map(|i| d.rooms.get(i).cloned()).collect())
    }

    async fn get_member(&self, room: &str, user: &str) -> Result<Option<MemberRecord>> {
        Ok(self.data.lock().unwrap().members.get(&(room.to_string(), user.to_string())).cloned())
    }
    async fn list_members(&self, room: &str) -> Result<Vec<MemberRecord>> {
        let d = self.data.lock().unwrap();
        Ok(d.members.range((room.to_string(), String::new())..).take_while(|((r, _), _)| r == room).map(|(_, m)| m.clone()).collect())
    }
    async fn memberships(&self, user: &str) -> Result<Vec<Membership>> {
        let d = self.data.lock().unwrap();
        Ok(d.members
            .values()
            .filter(|m| m.user_id == user)
            .map(|m| Membership {
                room_id: m.room_id.clone(),
                user_id: m.user_id.clone(),
                role: m.role,
                room_type: m.room_type,
                joined_at: m.joined_at,
                archived: m.archived,
            })
            .collect())
    }
    async fn get_memberships(&self, user: &str, rooms: &[String], _consistent: bool) -> Result<Vec<MemberRecord>> {
        let d = self.data.lock().unwrap();
        Ok(rooms.iter().filter_map(|r| d.members.get(&(r.clone(), user.to_string())).cloned()).collect())
    }
    async fn add_members(&self, room_id: &str, members: &[MemberRecord]) -> Result<()> {
        let mut guard = self.data.lock().unwrap();
        let d = &mut *guard;
        let new: Vec<&MemberRecord> =
            members.iter().filter(|m| !d.members.contains_key(&(room_id.to_string(), m.user_id.clone()))).collect();
        let room = d.rooms.get_mut(room_id).ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
        if room.member_count as usize + new.len() > room.max_members as usize {
            return Err(ChatError::RoomFull(format!("room {room_id} is full")));
        }
        room.member_count += new.len() as u32;
        let new: Vec<MemberRecord> = new.into_iter().cloned().collect();
        for m in new {
            d.members.insert((room_id.to_string(), m.user_id.clone()), m);
        }
        Ok(())
    }
    async fn remove_member(&self, room_id: &str, user: &str) -> Result<bool> {
        let mut d = self.data.lock().unwrap();
        if d.members.remove(&(room_id.to_string(), user.to_string())).is_none() {
            return Ok(false);
        }
        if let Some(r) = d.rooms.get_mut(room_id) {
            r.member_count = r.member_count.saturating_sub(1);
        }
        Ok(true)
    }
    async fn advance_cursor(&self, room: &str, user: &str, kind: CursorKind, seq: u64) -> Result<bool> {
        let mut d = self.data.lock().unwrap();
        let Some(m) = d.members.get_mut(&(room.to_string(), user.to_string())) else {
            return Err(ChatError::NotMember(room.to_string()));
        };
        let cur = match kind {
            CursorKind::Read => &mut m.read_seq,
            CursorKind::Delivered => &mut m.delivered_seq,
        };
        if *cur >= seq {
            return Ok(false);
        }
        *cur = seq;
        Ok(true)
    }
    async fn typing(&self, room: &str, user: &str, is_typing: bool, now: u64, interval: u64) -> Result<TypingOutcome> {
        let mut d = self.data.lock().unwrap();
        let Some(m) = d.members.get_mut(&(room.to_string(), user.to_string())) else {
            return Ok(TypingOutcome::NotMember);
        };
        if !is_typing {
            m.typing_at = Some(0);
            return Ok(TypingOutcome::Broadcast);
        }
        if m.typing_at.is_some_and(|t| t + interval > now) {
            return Ok(TypingOutcome::Throttled);
        }
        m.typing_at = Some(now);
        Ok(TypingOutcome::Broadcast)
    }
    async fn charge_send(&self, room: &str, user: &str, window: u64, max: u32, own_seq: u64) -> Result<SendCharge> {
        let mut guard = self.data.lock().unwrap();
        let d = &mut *guard;
        let key = (room.to_string(), user.to_string());
        let Some(m) = d.members.get_mut(&key) else {
            return Ok(SendCharge::NotMember);
        };
        let b = d.send_budgets.entry(key).or_insert((window, 0));
        // Windows only move forward (a late request joins the newer window).
        if b.0 < window {
            *b = (window, 0);
        }
        if b.1 >= max {
            return Ok(SendCharge::Exhausted);
        }
        b.1 += 1;
        let previous_own = Some(m.own_seq).filter(|v| *v > 0);
        m.own_seq = own_seq;
        Ok(SendCharge::Allowed { previous_own })
    }
    async fn correct_own_seq(&self, room: &str, user: &str, from: u64, to: Option<u64>) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        if let Some(m) = d.members.get_mut(&(room.to_string(), user.to_string())) {
            if m.own_seq == from {
                m.own_seq = to.unwrap_or(0);
            }
        }
        Ok(())
    }
    async fn set_archived(&self, room: &str, user: &str, archived_seq: Option<u64>) -> Result<bool> {
        let mut d = self.data.lock().unwrap();
        let Some(m) = d.members.get_mut(&(room.to_string(), user.to_string())) else {
            return Ok(false);
        };
        m.archived = archived_seq.is_some();
        m.archived_seq = archived_seq;
        Ok(true)
    }
    async fn set_room_context(&self, room_id: &str, name: Option<&str>, context: &RoomContext) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        let room = d.rooms.get_mut(room_id).ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
        room.name = name.map(str::to_string);
        room.context = Some(context.clone());
        Ok(())
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn append_message(&self, msg: NewMessage, _hint: u64) -> Result<Appended> {
        let mut d = self.data.lock().unwrap();
        let key = (msg.room_id.clone(), msg.client_id.clone());
        if let Some(seq) = d.client_ids.get(&key) {
            let m = d
                .messages
                .get(&(msg.room_id.clone(), *seq))
                .cloned()
                .ok_or_else(|| ChatError::internal("idempotency key without message"))?;
            if m.sender_id != msg.sender_id {
                return Err(ChatError::Conflict(format!("clientId {} was used by another sender", msg.client_id)));
            }
            return Ok(Appended::Duplicate(m));
        }
        let newest = d.messages.range((msg.room_id.clone(), 0)..=(msg.room_id.clone(), u64::MAX)).next_back().map_or(0, |(k, _)| k.1);
        let m = match d.rooms.get_mut(&msg.room_id) {
            Some(room) => {
                room.last_seq = room.last_seq.max(newest) + 1;
                let m = msg.into_message(room.last_seq);
                room.last_message = Some(preview(&m));
                room.last_message_at = Some(m.created_at);
                m
            }
            // A stream of messages without a room of its own (a session's notes), as in DynamoDB.
            None => msg.into_message(newest + 1),
        };
        let seq = m.seq;
        d.client_ids.insert(key, seq);
        d.messages.insert((m.room_id.clone(), seq), m.clone());
        Ok(Appended::Created(m))
    }
    async fn get_message(&self, room: &str, seq: u64) -> Result<Option<Message>> {
        Ok(self.data.lock().unwrap().messages.get(&(room.to_string(), seq)).cloned())
    }
    async fn get_messages(&self, keys: &[(String, u64)]) -> Result<Vec<Message>> {
        let d = self.data.lock().unwrap();
        Ok(keys.iter().filter_map(|k| d.messages.get(k).cloned()).collect())
    }
    async fn activity_at(&self, room: &str, seq: u64, time: u64) -> Result<Option<u64>> {
        let d = self.data.lock().unwrap();
        Ok(d.messages.range((room.to_string(), 0)..=(room.to_string(), seq)).rev().map(|(_, m)| m.created_at).find(|t| *t <= time))
    }
    async fn update_message(&self, room_id: &str, seq: u64, sender: &str, change: MessageChange, now: u64) -> Result<Message> {
        let mut d = self.data.lock().unwrap();
        let key = (room_id.to_string(), seq);
        match d.messages.get(&key) {
            None => return Err(ChatError::NotFound(format!("message {seq} not found in room {room_id}"))),
            Some(m) if m.kind == crate::protocol::MessageKind::System => {
                return Err(ChatError::Forbidden("system messages cannot be changed".into()))
            }
            Some(m) if m.sender_id != sender => return Err(ChatError::Forbidden("you can only change your own messages".into())),
            Some(m) if m.deleted_at.is_some() => return Err(ChatError::NotFound(format!("message {seq} was deleted"))),
            Some(_) => {}
        }
        let room = d.rooms.get_mut(room_id).ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
        room.last_ver += 1;
        let ver = room.last_ver;
        let m = d.messages.get_mut(&key).unwrap();
        match change {
            MessageChange::Edit(c) => {
                m.content = c;
                m.edited_at = Some(now);
            }
            MessageChange::Delete => {
                m.content = String::new();
                m.deleted_at = Some(now);
            }
        }
        m.ver = Some(ver);
        let m = m.clone();
        let room = d.rooms.get_mut(room_id).unwrap();
        if room.last_seq == seq {
            room.last_message = Some(preview(&m));
        }
        Ok(m)
    }
    async fn messages_before(&self, room: &str, before: Option<u64>, limit: u32) -> Result<Vec<Message>> {
        let d = self.data.lock().unwrap();
        let hi = before.unwrap_or(u64::MAX);
        Ok(d.messages.range((room.to_string(), 0)..(room.to_string(), hi)).rev().take(limit as usize).map(|(_, m)| m.clone()).collect())
    }
    async fn messages_after(&self, room: &str, after: u64, limit: u32) -> Result<Vec<Message>> {
        let d = self.data.lock().unwrap();
        Ok(d.messages
            .range((room.to_string(), after.saturating_add(1))..=(room.to_string(), u64::MAX))
            .take(limit as usize)
            .map(|(_, m)| m.clone())
            .collect())
    }
    async fn messages_changed_since(&self, room: &str, ver: u64, limit: u32) -> Result<Vec<Message>> {
        let d = self.data.lock().unwrap();
        let mut v: Vec<Message> = d
            .messages
            .range((room.to_string(), 0)..=(room.to_string(), u64::MAX))
            .map(|(_, m)| m)
            .filter(|m| m.ver.is_some_and(|x| x > ver))
            .cloned()
            .collect();
        v.sort_by_key(|m| m.ver);
        v.truncate(limit as usize);
        Ok(v)
    }
}

#[async_trait]
impl SearchStore for MemoryStore {
    async fn index_write(&self, put: &[Posting], delete: &[PostingKey]) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        for k in delete {
            d.postings.remove(k);
        }
        for p in put {
            d.postings.insert(p.key.clone(), p.clone());
        }
        Ok(())
    }
    async fn search_room(&self, room_id: &str, term: &str, also: &[String], before: Option<&str>, limit: usize) -> Result<Vec<Posting>> {
        let d = self.data.lock().unwrap();
        Ok(d.postings
            .values()
            .rev()
            .filter(|p| p.key.room_id == room_id && p.key.term == term && before.is_none_or(|b| p.key.id.as_str() < b))
            .filter(|p| also.iter().all(|t| p.terms.contains(t)))
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl SupportStore for MemoryStore {
    async fn open_session(&self, visitor_id: &str) -> Result<Option<String>> {
        Ok(self.data.lock().unwrap().open_sessions.get(visitor_id).cloned())
    }
    async fn start_session(&self, room: &RoomRecord, visitor: &MemberRecord) -> Result<StartOutcome> {
        let mut d = self.data.lock().unwrap();
        if let Some(id) = d.open_sessions.get(&visitor.user_id) {
            return Ok(StartOutcome::Existing(id.clone()));
        }
        if d.rooms.contains_key(&room.room_id) {
            return Err(ChatError::Conflict("the session exists".into()));
        }
        d.open_sessions.insert(visitor.user_id.clone(), room.room_id.clone());
        d.rooms.insert(room.room_id.clone(), room.clone());
        d.members.insert((room.room_id.clone(), visitor.user_id.clone()), visitor.clone());
        Ok(StartOutcome::Created)
    }
    async fn queue(&self) -> Result<Vec<SupportSession>> {
        let d = self.data.lock().unwrap();
        let mut q: Vec<SupportSession> =
            d.rooms.values().filter_map(|r| r.support.clone()).filter(|s| s.status == SessionStatus::Waiting).collect();
        q.sort_by(|a, b| (a.created_at, &a.session_id).cmp(&(b.created_at, &b.session_id)));
        Ok(q)
    }
    async fn recent_waits(&self, n: usize) -> Result<Vec<u64>> {
        let d = self.data.lock().unwrap();
        let mut w = d.waits.clone();
        w.sort_by_key(|x| std::cmp::Reverse(x.0));
        Ok(w.into_iter().take(n).map(|(_, w)| w).collect())
    }
    async fn accept_session(&self, session_id: &str, operator: &MemberRecord, now: u64, wait_ms: u64, capacity: Option<u32>) -> Result<()> {
        let mut guard = self.data.lock().unwrap();
        let d = &mut *guard;
        let waiting = d.rooms.get(session_id).and_then(|r| r.support.as_ref()).is_some_and(|s| s.status == SessionStatus::Waiting);
        if !waiting {
            return Err(ChatError::Conflict("the session is no longer waiting: another operator accepted it, or it was closed".into()));
        }
        if d.members.contains_key(&(session_id.to_string(), operator.user_id.clone())) {
            return Err(ChatError::Conflict("you are in this session already".into()));
        }
        let load = d.loads.get(&operator.user_id).copied().unwrap_or(0);
        if capacity.is_some_and(|c| load >= c) {
            return Err(ChatError::Conflict("the operator has as many open sessions as allowed".into()));
        }
        let room = d.rooms.get_mut(session_id).unwrap();
        let s = room.support.as_mut().unwrap();
        s.status = SessionStatus::Active;
        s.operator = Some(UserRef { user_id: operator.user_id.clone(), name: operator.name.clone() });
        s.accepted_at = Some(now);
        room.member_count += 1;
        d.members.insert((session_id.to_string(), operator.user_id.clone()), operator.clone());
        d.loads.insert(operator.user_id.clone(), load + 1);
        d.waits.push((now, wait_ms));
        Ok(())
    }
    async fn transfer_session(&self, session_id: &str, from: &str, to: &MemberRecord, capacity: u32) -> Result<()> {
        let mut guard = self.data.lock().unwrap();
        let d = &mut *guard;
        let ok = d
            .rooms
            .get(session_id)
            .and_then(|r| r.support.as_ref())
            .is_some_and(|s| s.status == SessionStatus::Active && s.operator.as_ref().is_some_and(|o| o.user_id == from));
        if !ok {
            return Err(ChatError::Conflict("the session is not active with you any more".into()));
        }
        if d.members.contains_key(&(session_id.to_string(), to.user_id.clone())) {
            return Err(ChatError::Conflict("the operator is in this session already".into()));
        }
        let load = d.loads.get(&to.user_id).copied().unwrap_or(0);
        if load >= capacity {
            return Err(ChatError::Conflict("the operator has as many open sessions as allowed".into()));
        }
        let room = d.rooms.get_mut(session_id).unwrap();
        room.support.as_mut().unwrap().operator = Some(UserRef { user_id: to.user_id.clone(), name: to.name.clone() });
        d.members.remove(&(session_id.to_string(), from.to_string()));
        d.members.insert((session_id.to_string(), to.user_id.clone()), to.clone());
        d.loads.insert(to.user_id.clone(), load + 1);
        if let Some(l) = d.loads.get_mut(from) {
            *l = l.saturating_sub(1);
        }
        Ok(())
    }
    async fn close_session(&self, session: &SupportSession, by: &str, resolution: Option<&str>, now: u64) -> Result<()> {
        let mut guard = self.data.lock().unwrap();
        let d = &mut *guard;
        let Some(s) = d.rooms.get_mut(&session.session_id).and_then(|r| r.support.as_mut()).filter(|s| s.status != SessionStatus::Closed)
        else {
            return Err(ChatError::Conflict("the session is closed already".into()));
        };
        s.status = SessionStatus::Closed;
        s.closed_at = Some(now);
        s.closed_by = Some(by.to_string());
        if let Some(r) = resolution {
            s.resolution = Some(r.to_string());
        }
        let op = s.operator.clone();
        if d.open_sessions.get(&session.visitor.user_id) == Some(&session.session_id) {
            d.open_sessions.remove(&session.visitor.user_id);
        }
        if let Some(op) = op {
            if let Some(l) = d.loads.get_mut(&op.user_id) {
                *l = l.saturating_sub(1);
            }
        }
        Ok(())
    }
    async fn rate_session(&self, session_id: &str, rating: &Rating) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        match d.rooms.get_mut(session_id).and_then(|r| r.support.as_mut()) {
            Some(s) if s.status == SessionStatus::Closed && s.rating.is_none() => {
                s.rating = Some(rating.clone());
                Ok(())
            }
            _ => Err(ChatError::Conflict("the session is not closed, or it was rated already".into())),
        }
    }
    async fn operator_loads(&self, ids: &[String]) -> Result<HashMap<String, u32>> {
        let d = self.data.lock().unwrap();
        Ok(ids.iter().filter_map(|i| d.loads.get(i).map(|l| (i.clone(), *l))).collect())
    }
    async fn first_response(&self, session_id: &str, at: u64) -> Result<Option<crate::protocol::SupportSession>> {
        let mut d = self.data.lock().unwrap();
        let Some(s) = d.rooms.get_mut(session_id).and_then(|r| r.support.as_mut()) else { return Ok(None) };
        if s.first_response_at.is_some() {
            return Ok(None);
        }
        s.first_response_at = Some(at);
        Ok(Some(s.clone()))
    }
}

#[async_trait]
impl DeskStore for MemoryStore {
    async fn get_doc(&self, name: &str) -> Result<Option<Doc>> {
        Ok(self.data.lock().unwrap().docs.get(name).cloned())
    }
    async fn put_doc(&self, name: &str, body: &str, expected: u64, now: u64) -> Result<bool> {
        let mut d = self.data.lock().unwrap();
        if d.docs.get(name).map_or(0, |doc| doc.version) != expected {
            return Ok(false);
        }
        d.docs.insert(name.to_string(), Doc { body: body.to_string(), version: expected + 1, updated_at: now });
        Ok(true)
    }
    async fn away_operators(&self, ids: &[String]) -> Result<HashSet<String>> {
        let d = self.data.lock().unwrap();
        Ok(ids.iter().filter(|i| d.away.contains(*i)).cloned().collect())
    }
    async fn set_away(&self, operator_id: &str, away: bool) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        if away {
            d.away.insert(operator_id.to_string());
        } else {
            d.away.remove(operator_id);
        }
        Ok(())
    }
    async fn add_to_report(&self, day: &str, operator: Option<&str>, counters: &[(String, u64)]) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        for op in [None, operator.map(str::to_string)].into_iter().collect::<BTreeSet<_>>() {
            let row = d.reports.entry((day.to_string(), op.clone())).or_insert_with(|| ReportRow {
                day: day.to_string(),
                operator: op.clone(),
                ..Default::default()
            });
            for (k, by) in counters {
                *row.counters.entry(k.clone()).or_insert(0) += by;
            }
            if let (None, Some(o)) = (&op, operator) {
                if !row.operators.iter().any(|x| x == o) {
                    row.operators.push(o.to_string());
                }
            }
        }
        Ok(())
    }
    async fn team_report(&self, days: &[String]) -> Result<Vec<ReportRow>> {
        let d = self.data.lock().unwrap();
        Ok(days.iter().filter_map(|day| d.reports.get(&(day.clone(), None)).cloned()).collect())
    }
    async fn operator_report(&self, keys: &[(String, String)]) -> Result<Vec<ReportRow>> {
        let d = self.data.lock().unwrap();
        Ok(keys.iter().filter_map(|(day, o)| d.reports.get(&(day.clone(), Some(o.clone()))).cloned()).collect())
    }
}

#[async_trait]
impl PushStore for MemoryStore {
    async fn push_members(&self, room: &str) -> Result<Vec<PushMember>> {
        let d = self.data.lock().unwrap();
        Ok(d.members
            .range((room.to_string(), String::new())..)
            .take_while(|((r, _), _)| r == room)
            .map(|(_, m)| PushMember { user_id: m.user_id.clone(), muted: m.muted, pushed_at: m.pushed_at })
            .collect())
    }
    async fn claim_push(&self, room: &str, users: &[String], now: u64, cutoff: u64) -> Result<Vec<String>> {
        let mut d = self.data.lock().unwrap();
        let mut claimed = Vec::new();
        for u in users {
            if let Some(m) = d.members.get_mut(&(room.to_string(), u.clone())) {
                if !m.muted && m.pushed_at.is_none_or(|t| t < cutoff) {
                    m.pushed_at = Some(now);
                    claimed.push(u.clone());
                }
            }
        }
        Ok(claimed)
    }
    async fn set_muted(&self, room: &str, user: &str, muted: bool) -> Result<Option<MemberRecord>> {
        let mut d = self.data.lock().unwrap();
        Ok(d.members.get_mut(&(room.to_string(), user.to_string())).map(|m| {
            m.muted = muted;
            m.clone()
        }))
    }
    async fn put_push_subscription(&self, s: &PushSubscriptionRecord) -> Result<()> {
        let mut d = self.data.lock().unwrap();
        let key = (s.user_id.clone(), s.id.clone());
        let mine: Vec<(u64, String)> = d
            .push_subs
            .range((s.user_id.clone(), String::new())..)
            .take_while(|((u, _), _)| *u == s.user_id)
            .map(|(_, r)| (r.created_at, r.id.clone()))
            .collect();
        if !d.push_subs.contains_key(&key) && mine.len() >= MAX_SUBSCRIPTIONS_PER_USER {
            if let Some((_, oldest)) = mine.into_iter().min() {
                d.push_subs.remove(&(s.user_id.clone(), oldest));
            }
        }
        d.push_subs.insert(key, s.clone());
        Ok(())
    }
    async fn delete_push_subscription(&self, user: &str, id: &str) -> Result<bool> {
        Ok(self.data.lock().unwrap().push_subs.remove(&(user.to_string(), id.to_string())).is_some())
    }
    async fn push_subscriptions(&self, user: &str) -> Result<Vec<PushSubscriptionRecord>> {
        let d = self.data.lock().unwrap();
        Ok(d.push_subs.range((user.to_string(), String::new())..).take_while(|((u, _), _)| u == user).map(|(_, r)| r.clone()).collect())
    }
}

#[async_trait]
impl LimitStore for MemoryStore {
    async fn count(&self, key: &str, expires: u64) -> Result<u64> {
        let mut d = self.data.lock().unwrap();
        let c = d.counters.entry(key.to_string()).or_insert((0, expires));
        c.0 += 1;
        c.1 = expires;
        Ok(c.0)
    }
    async fn strike(&self, key: &str, now: u64, expires: u64) -> Result<Strikes> {
        let mut d = self.data.lock().unwrap();
        let s = d.strikes.entry(key.to_string()).or_insert((Strikes { count: 0, last_at: 0 }, expires));
        // Expired strikes are gone, as DynamoDB's TTL would (eventually) remove them.
        if s.1 < now / 1000 {
            s.0.count = 0;
        }
        s.0.count += 1;
        s.0.last_at = now;
        s.1 = expires;
        Ok(s.0)
    }
    async fn strikes(&self, key: &str, now_secs: u64) -> Result<Option<Strikes>> {
        Ok(self.data.lock().unwrap().strikes.get(key).filter(|(_, x)| *x >= now_secs).map(|(s, _)| *s))
    }
}
