//! [`Store`] on DynamoDB. Tables and access patterns are described in `docs/DESIGN.md`.
//!
//! - Sequence numbers: a message is written in one transaction with the room's `lastSeq` bump
//!   (conditioned on the value read) and its `(roomId, clientId)` idempotency key (conditioned on
//!   absence). Seqs are therefore gapless and never reused, and a clientId creates at most one
//!   message even when retries race.
//! - Reads that decide correctness (membership, fan-out targets, sync) are strongly consistent;
//!   only the members-by-user index is read eventually consistent (and confirmed where it matters).
//! - Every call asks for `ReturnConsumedCapacity`, summed in a [`CapacityMeter`].

use super::Store;
use crate::config::Tables;
use crate::error::{ChatError, Result};
use crate::model::*;
use crate::protocol::Message;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, KeysAndAttributes, Put, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use aws_sdk_dynamodb::Client;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

type Item = HashMap<String, AttributeValue>;

/// Capacity consumed, summed over calls (in thousandths of a unit).
#[derive(Default, Debug)]
pub struct CapacityMeter {
    read_milli: AtomicU64,
    write_milli: AtomicU64,
    tx_write_milli: AtomicU64,
    calls: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Capacity {
    pub read_units: f64,
    pub write_units: f64,
    /// The part of `write_units` reported for TransactWriteItems.
    pub transactional_write_units: f64,
    pub calls: u64,
}

impl CapacityMeter {
    fn add(&self, write: bool, cc: &[ConsumedCapacity]) {
        let units: f64 = cc.iter().map(|c| c.capacity_units().unwrap_or(0.0)).sum();
        if std::env::var_os("CHAT_CAPACITY_TRACE").is_some() {
            let per_table: Vec<String> = cc.iter().map(|c| format!("{}={}", c.table_name().unwrap_or("?"), c.capacity_units().unwrap_or(0.0))).collect();
            eprintln!("capacity {} {units} [{}]", if write { "write" } else { "read" }, per_table.join(", "));
        }
        let milli = (units * 1000.0).round() as u64;
        if write {
            self.write_milli.fetch_add(milli, Ordering::Relaxed);
        } else {
            self.read_milli.fetch_add(milli, Ordering::Relaxed);
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
    pub fn snapshot(&self) -> Capacity {
        Capacity {
            read_units: self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            write_units: self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            transactional_write_units: self.tx_write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            calls: self.calls.load(Ordering::Relaxed),
        }
    }
    pub fn reset(&self) {
        self.read_milli.store(0, Ordering::Relaxed);
        self.write_milli.store(0, Ordering::Relaxed);
        self.tx_write_milli.store(0, Ordering::Relaxed);
        self.calls.store(0, Ordering::Relaxed);
    }
}

pub struct DynamoStore {
    client: Client,
    t: Tables,
    meter: Arc<CapacityMeter>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn err<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(op: &str, e: SdkError<E, R>) -> ChatError {
    ChatError::Internal(format!("DynamoDB {op}: {}", DisplayErrorContext(&e)))
}
fn to_item<T: serde::Serialize>(v: &T) -> Result<Item> {
    serde_dynamo::to_item(v).map_err(ChatError::internal)
}
fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T> {
    serde_dynamo::from_item(item).map_err(ChatError::internal)
}
fn get_n(item: &Item, k: &str) -> Option<u64> {
    item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}
fn get_ss(item: &Item, k: &str) -> Vec<String> {
    item.get(k).and_then(|v| v.as_ss().ok()).cloned().unwrap_or_default()
}

/// The cancellation reason codes of a failed transaction, if that is what failed.
fn cancel_reasons<R>(e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>) -> Option<Vec<String>> {
    match e.as_service_error() {
        Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => {
            Some(c.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None").to_string()).collect())
        }
        _ => None,
    }
}

/// Exponential backoff with full jitter (AWS's advice for contended conditional writes): a random
/// wait up to 4 ms · 2^attempt, capped at 100 ms, so concurrent writers to one room spread out.
async fn backoff(attempt: u32) {
    let cap = (4u64 << attempt.min(5)).min(100);
    let r = u16::from_be_bytes(crate::ids::random_bytes::<2>()) as u64;
    tokio::time::sleep(Duration::from_millis(1 + r % cap)).await;
}

/// Attempts at a contended room transaction: at ~100 ms per attempt at worst, well inside the
/// function's timeout. Each round lets one of the concurrent writers through.
const MAX_TX_ATTEMPTS: u32 = 60;

impl DynamoStore {
    pub fn new(client: Client, tables: Tables) -> Self {
        DynamoStore { client, t: tables, meter: Arc::new(CapacityMeter::default()) }
    }

    pub fn meter(&self) -> Arc<CapacityMeter> {
        self.meter.clone()
    }

    async fn get(&self, table: &str, key: Item) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("GetItem", e))?;
        self.meter.add(false, out.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice());
        Ok(out.item)
    }

    /// BatchGetItem in chunks of 100, retrying unprocessed keys.
    async fn batch_get(&self, table: &str, keys: Vec<Item>, projection: Option<&str>, names: Option<HashMap<String, String>>) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut kaa = KeysAndAttributes::builder().set_keys(Some(chunk.to_vec())).consistent_read(true);
            if let Some(p) = projection {
                kaa = kaa.projection_expression(p);
            }
            if let Some(nm) = &names {
                kaa = kaa.set_expression_attribute_names(Some(nm.clone()));
            }
            let mut request: HashMap<String, KeysAndAttributes> = HashMap::from([(table.to_string(), kaa.build().map_err(ChatError::internal)?)]);
            let mut attempt = 0;
            while !request.is_empty() {
                let resp = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(request))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| err("BatchGetItem", e))?;
                self.meter.add(false, resp.consumed_capacity());
                if let Some(mut r) = resp.responses {
                    out.extend(r.remove(table).unwrap_or_default());
                }
                request = resp.unprocessed_keys.unwrap_or_default().into_iter().filter(|(_, k)| !k.keys().is_empty()).collect();
                if !request.is_empty() {
                    attempt += 1;
                    backoff(attempt).await;
                }
            }
        }
        Ok(out)
    }

    /// A whole Query (all pages).
    async fn query_all(&self, q: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let resp = q.clone().set_exclusive_start_key(start.take()).return_consumed_capacity(ReturnConsumedCapacity::Total).send().await.map_err(|e| err("Query", e))?;
            self.meter.add(false, resp.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice());
            items.extend(resp.items.unwrap_or_default());
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    async fn query_page(&self, q: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder) -> Result<Vec<Item>> {
        let resp = q.return_consumed_capacity(ReturnConsumedCapacity::Total).send().await.map_err(|e| err("Query", e))?;
        self.meter.add(false, resp.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice());
        Ok(resp.items.unwrap_or_default())
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> std::result::Result<(), SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>> {
        let resp = self.client.transact_write_items().set_transact_items(Some(items)).return_consumed_capacity(ReturnConsumedCapacity::Total).send().await?;
        self.meter.add(true, resp.consumed_capacity());
        let units: f64 = resp.consumed_capacity().iter().map(|c| c.capacity_units().unwrap_or(0.0)).sum();
        self.meter.tx_write_milli.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn count_write(&self, cc: Option<&ConsumedCapacity>) {
        self.meter.add(true, cc.into_iter().cloned().collect::<Vec<_>>().as_slice());
    }

    fn member_key(room: &str, user: &str) -> Item {
        HashMap::from([("roomId".to_string(), s(room)), ("userId".to_string(), s(user))])
    }
    fn message_key(room: &str, seq: u64) -> Item {
        HashMap::from([("roomId".to_string(), s(room)), ("seq".to_string(), n(seq))])
    }

    async fn batch_write_puts(&self, table: &str, items: Vec<Item>) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        for chunk in items.chunks(25) {
            let reqs: Vec<WriteRequest> = chunk
                .iter()
                .map(|i| WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(i.clone())).build().expect("item set")).build())
                .collect();
            let mut request = HashMap::from([(table.to_string(), reqs)]);
            let mut attempt = 0;
            while !request.is_empty() {
                let resp = self
                    .client
                    .batch_write_item()
                    .set_request_items(Some(request))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| err("BatchWriteItem", e))?;
                self.meter.add(true, resp.consumed_capacity());
                request = resp.unprocessed_items.unwrap_or_default().into_iter().filter(|(_, v)| !v.is_empty()).collect();
                if !request.is_empty() {
                    attempt += 1;
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_connection(&self, c: &ConnectionRecord) -> Result<()> {
        let out = self
            .client
            .put_item()
            .table_name(&self.t.connections)
            .set_item(Some(to_item(c)?))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("PutItem", e))?;
        self.count_write(out.consumed_capacity());
        Ok(())
    }

    async fn get_connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        self.get(&self.t.connections, HashMap::from([("connectionId".to_string(), s(id))])).await?.map(from_item).transpose()
    }

    async fn delete_connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.t.connections)
            .key("connectionId", s(id))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("DeleteItem", e))?;
        self.count_write(out.consumed_capacity());
        out.attributes.filter(|a| !a.is_empty()).map(from_item).transpose()
    }

    async fn delete_stale_connection(&self, id: &str, connected_before: u64) -> Result<StaleDelete> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.t.connections)
            .key("connectionId", s(id))
            .condition_expression("attribute_not_exists(connectionId) OR connectedAt < :before")
            .expression_attribute_values(":before", n(connected_before))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(o) => {
                self.count_write(o.consumed_capacity());
                match o.attributes.filter(|a| !a.is_empty()) {
                    Some(item) => Ok(StaleDelete::Deleted(from_item(item)?)),
                    None => Ok(StaleDelete::Absent),
                }
            }
            Err(e) if matches!(e.as_service_error(), Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_))) => {
                self.meter.add(true, &[ConsumedCapacity::builder().capacity_units(1.0).build()]);
                Ok(StaleDelete::TooYoung)
            }
            Err(e) => Err(err("DeleteItem", e)),
        }
    }

    async fn spend_send_budget(&self, id: &str, window: u64, max: u32) -> Result<SendBudget> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        for _ in 0..3 {
            // Within the current window: count one more, if below the maximum.
            let counted = self
                .client
                .update_item()
                .table_name(&self.t.connections)
                .key("connectionId", s(id))
                .update_expression("ADD rlCount :one")
                .condition_expression("rlWindow = :w AND rlCount < :max")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":w", n(window))
                .expression_attribute_values(":max", n(max))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let old = match counted {
                Ok(o) => {
                    self.count_write(o.consumed_capacity());
                    return Ok(SendBudget::Allowed(from_item(o.attributes.unwrap_or_default())?));
                }
                Err(e) => match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                        self.meter.add(true, &[ConsumedCapacity::builder().capacity_units(1.0).build()]);
                        c.item().cloned().unwrap_or_default()
                    }
                    _ => return Err(err("UpdateItem", e)),
                },
            };
            if old.is_empty() {
                return Ok(SendBudget::UnknownConnection);
            }
            if get_n(&old, "rlWindow") == Some(window) {
                return Ok(SendBudget::Exhausted);
            }
            // A new window: start counting again (unless another send just did).
            let reset = self
                .client
                .update_item()
                .table_name(&self.t.connections)
                .key("connectionId", s(id))
                .update_expression("SET rlWindow = :w, rlCount = :one")
                .condition_expression("attribute_exists(connectionId) AND (attribute_not_exists(rlWindow) OR rlWindow <> :w)")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":w", n(window))
                .return_values(ReturnValue::AllNew)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            match reset {
                Ok(o) => {
                    self.count_write(o.consumed_capacity());
                    return Ok(SendBudget::Allowed(from_item(o.attributes.unwrap_or_default())?));
                }
                Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => continue,
                Err(e) => return Err(err("UpdateItem", e)),
            }
        }
        Err(ChatError::Internal(format!("send budget of {id}: too much contention")))
    }

    async fn existing_connections(&self, ids: &[String]) -> Result<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let keys = ids.iter().map(|i| HashMap::from([("connectionId".to_string(), s(i))])).collect();
        let items = self.batch_get(&self.t.connections, keys, Some("connectionId"), None).await?;
        Ok(items.into_iter().filter_map(|i| i.get("connectionId").and_then(|v| v.as_s().ok()).cloned()).collect())
    }

    async fn attach_connection(&self, user_id: &str, name: Option<&str>, conn: &str, _now: u64) -> Result<usize> {
        let mut u = self
            .client
            .update_item()
            .table_name(&self.t.users)
            .key("userId", s(user_id))
            .expression_attribute_values(":c", AttributeValue::Ss(vec![conn.to_string()]))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        u = match name {
            Some(nm) => u.update_expression("ADD conns :c SET #n = :n").expression_attribute_names("#n", "name").expression_attribute_values(":n", s(nm)),
            None => u.update_expression("ADD conns :c"),
        };
        let out = u.send().await.map_err(|e| err("UpdateItem", e))?;
        self.count_write(out.consumed_capacity());
        let old = out.attributes.map(|a| get_ss(&a, "conns")).unwrap_or_default();
        Ok(old.iter().filter(|c| *c != conn).count())
    }

    async fn detach_connections(&self, user_id: &str, conns: &[String], now: u64) -> Result<Detached> {
        if conns.is_empty() {
            return Ok(Detached { removed: 0, remaining: 0 });
        }
        let out = self
            .client
            .update_item()
            .table_name(&self.t.users)
            .key("userId", s(user_id))
            .update_expression("DELETE conns :c SET lastSeen = :now")
            .expression_attribute_values(":c", AttributeValue::Ss(conns.to_vec()))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("UpdateItem", e))?;
        self.count_write(out.consumed_capacity());
        let old = out.attributes.map(|a| get_ss(&a, "conns")).unwrap_or_default();
        let removed = old.iter().filter(|c| conns.contains(c)).count();
        Ok(Detached { removed, remaining: old.len() - removed })
    }

    async fn get_users(&self, ids: &[String]) -> Result<Vec<UserRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids.iter().map(|i| HashMap::from([("userId".to_string(), s(i))])).collect();
        let names = HashMap::from([("#n".to_string(), "name".to_string())]);
        let items = self.batch_get(&self.t.users, keys, Some("userId, #n, conns, lastSeen"), Some(names)).await?;
        Ok(items
            .into_iter()
            .map(|i| UserRecord {
                user_id: i.get("userId").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default(),
                name: i.get("name").and_then(|v| v.as_s().ok()).cloned(),
                conns: get_ss(&i, "conns"),
                last_seen: get_n(&i, "lastSeen"),
            })
            .collect())
    }

    async fn create_room(&self, room: &RoomRecord, members: &[MemberRecord]) -> Result<bool> {
        let mut items = vec![TransactWriteItem::builder()
            .put(Put::builder().table_name(&self.t.rooms).set_item(Some(to_item(room)?)).condition_expression("attribute_not_exists(roomId)").build().map_err(ChatError::internal)?)
            .build()];
        // A transaction holds 100 items: the room and the first 99 members go in it.
        let (in_tx, rest) = members.split_at(members.len().min(99));
        for m in in_tx {
            items.push(TransactWriteItem::builder().put(Put::builder().table_name(&self.t.members).set_item(Some(to_item(m)?)).build().map_err(ChatError::internal)?).build());
        }
        match self.transact(items).await {
            Ok(()) => {}
            Err(e) => {
                if let Some(reasons) = cancel_reasons(&e) {
                    if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") {
                        return Ok(false);
                    }
                }
                return Err(err("TransactWriteItems", e));
            }
        }
        if !rest.is_empty() {
            self.batch_write_puts(&self.t.members, rest.iter().map(to_item).collect::<Result<_>>()?).await?;
        }
        Ok(true)
    }

    async fn get_room(&self, id: &str) -> Result<Option<RoomRecord>> {
        self.get(&self.t.rooms, HashMap::from([("roomId".to_string(), s(id))])).await?.map(from_item).transpose()
    }

    async fn get_rooms(&self, ids: &[String]) -> Result<Vec<RoomRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids.iter().map(|i| HashMap::from([("roomId".to_string(), s(i))])).collect();
        self.batch_get(&self.t.rooms, keys, None, None).await?.into_iter().map(from_item).collect()
    }

    async fn get_member(&self, room: &str, user: &str) -> Result<Option<MemberRecord>> {
        self.get(&self.t.members, Self::member_key(room, user)).await?.map(from_item).transpose()
    }

    async fn list_members(&self, room: &str) -> Result<Vec<MemberRecord>> {
        let q = self.client.query().table_name(&self.t.members).key_condition_expression("roomId = :r").expression_attribute_values(":r", s(room)).consistent_read(true);
        self.query_all(q).await?.into_iter().map(from_item).collect()
    }

    async fn memberships(&self, user: &str) -> Result<Vec<Membership>> {
        let q = self.client.query().table_name(&self.t.members).index_name("byUser").key_condition_expression("userId = :u").expression_attribute_values(":u", s(user));
        self.query_all(q).await?.into_iter().map(from_item).collect()
    }

    async fn get_memberships(&self, user: &str, rooms: &[String]) -> Result<Vec<MemberRecord>> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let keys = rooms.iter().map(|r| Self::member_key(r, user)).collect();
        self.batch_get(&self.t.members, keys, None, None).await?.into_iter().map(from_item).collect()
    }

    async fn add_members(&self, room_id: &str, members: &[MemberRecord]) -> Result<()> {
        if members.is_empty() {
            return Ok(());
        }
        let room = self.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
        let k = members.len() as u32;
        if room.max_members < k {
            return Err(ChatError::RoomFull(room_id.to_string()));
        }
        let mut items = vec![TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(&self.t.rooms)
                    .key("roomId", s(room_id))
                    .update_expression("ADD memberCount :k")
                    .condition_expression("attribute_exists(roomId) AND memberCount <= :lim")
                    .expression_attribute_values(":k", n(k))
                    .expression_attribute_values(":lim", n(room.max_members - k))
                    .build()
                    .map_err(ChatError::internal)?,
            )
            .build()];
        for m in members.iter().take(99) {
            items.push(
                TransactWriteItem::builder()
                    .put(Put::builder().table_name(&self.t.members).set_item(Some(to_item(m)?)).condition_expression("attribute_not_exists(userId)").build().map_err(ChatError::internal)?)
                    .build(),
            );
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) => match cancel_reasons(&e) {
                Some(r) if r.first().map(String::as_str) == Some("ConditionalCheckFailed") => Err(ChatError::RoomFull(room_id.to_string())),
                Some(_) => Err(ChatError::Conflict("the room's members changed at the same time; retry".into())),
                None => Err(err("TransactWriteItems", e)),
            },
        }
    }

    async fn remove_member(&self, room_id: &str, user: &str) -> Result<bool> {
        let items = vec![
            TransactWriteItem::builder()
                .delete(Delete::builder().table_name(&self.t.members).set_key(Some(Self::member_key(room_id, user))).condition_expression("attribute_exists(userId)").build().map_err(ChatError::internal)?)
                .build(),
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(&self.t.rooms)
                        .key("roomId", s(room_id))
                        .update_expression("ADD memberCount :m")
                        .condition_expression("attribute_exists(roomId)")
                        .expression_attribute_values(":m", n(-1))
                        .build()
                        .map_err(ChatError::internal)?,
                )
                .build(),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) => match cancel_reasons(&e) {
                Some(r) if r.iter().any(|c| c == "ConditionalCheckFailed") => Ok(false),
                _ => Err(err("TransactWriteItems", e)),
            },
        }
    }

    async fn advance_cursor(&self, room: &str, user: &str, kind: CursorKind, seq: u64) -> Result<bool> {
        let attr = match kind {
            CursorKind::Read => "readSeq",
            CursorKind::Delivered => "deliveredSeq",
        };
        let out = self
            .client
            .update_item()
            .table_name(&self.t.members)
            .set_key(Some(Self::member_key(room, user)))
            .update_expression("SET #c = :s")
            .condition_expression("attribute_exists(userId) AND (attribute_not_exists(#c) OR #c < :s)")
            .expression_attribute_names("#c", attr)
            .expression_attribute_values(":s", n(seq))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(o) => {
                self.count_write(o.consumed_capacity());
                Ok(true)
            }
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                    self.meter.add(true, &[ConsumedCapacity::builder().capacity_units(1.0).build()]);
                    if c.item().is_some_and(|i| !i.is_empty()) {
                        Ok(false)
                    } else {
                        Err(ChatError::NotMember(room.to_string()))
                    }
                }
                _ => Err(err("UpdateItem", e)),
            },
        }
    }

    async fn typing(&self, room: &str, user: &str, is_typing: bool, now: u64, interval: u64) -> Result<TypingOutcome> {
        let mut u = self
            .client
            .update_item()
            .table_name(&self.t.members)
            .set_key(Some(Self::member_key(room, user)))
            .update_expression("SET typingAt = :now")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        u = if is_typing {
            u.condition_expression("attribute_exists(userId) AND (attribute_not_exists(typingAt) OR typingAt <= :cutoff)")
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":cutoff", n(now.saturating_sub(interval)))
        } else {
            u.condition_expression("attribute_exists(userId)").expression_attribute_values(":now", n(0))
        };
        match u.send().await {
            Ok(o) => {
                self.count_write(o.consumed_capacity());
                Ok(TypingOutcome::Broadcast)
            }
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                    self.meter.add(true, &[ConsumedCapacity::builder().capacity_units(1.0).build()]);
                    if c.item().is_some_and(|i| !i.is_empty()) {
                        Ok(TypingOutcome::Throttled)
                    } else {
                        Ok(TypingOutcome::NotMember)
                    }
                }
                _ => Err(err("UpdateItem", e)),
            },
        }
    }

    async fn append_message(&self, msg: NewMessage) -> Result<Appended> {
        let room_id = msg.room_id.clone();
        let client_id = msg.client_id.clone();
        for attempt in 1..=MAX_TX_ATTEMPTS {
            let room = self.get(&self.t.rooms, HashMap::from([("roomId".to_string(), s(&room_id))])).await?;
            let Some(room) = room else {
                return Err(ChatError::NotFound(format!("room {room_id} does not exist")));
            };
            let prev = get_n(&room, "lastSeq").unwrap_or(0);
            let message = msg.clone().into_message(prev + 1);
            let preview = to_item(&preview(&message))?;
            let items = vec![
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.t.rooms)
                            .key("roomId", s(&room_id))
                            .update_expression("SET lastSeq = :n, lastMessageAt = :t, lastMessage = :p")
                            .condition_expression("lastSeq = :prev")
                            .expression_attribute_values(":n", n(message.seq))
                            .expression_attribute_values(":prev", n(prev))
                            .expression_attribute_values(":t", n(message.created_at))
                            .expression_attribute_values(":p", AttributeValue::M(preview))
                            .build()
                            .map_err(ChatError::internal)?,
                    )
                    .build(),
                TransactWriteItem::builder()
                    .put(Put::builder().table_name(&self.t.messages).set_item(Some(to_item(&message)?)).condition_expression("attribute_not_exists(seq)").build().map_err(ChatError::internal)?)
                    .build(),
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.t.idempotency)
                            .item("roomId", s(&room_id))
                            .item("clientId", s(&client_id))
                            .item("seq", n(message.seq))
                            .item("senderId", s(&message.sender_id))
                            .condition_expression("attribute_not_exists(clientId)")
                            .build()
                            .map_err(ChatError::internal)?,
                    )
                    .build(),
            ];
            match self.transact(items).await {
                Ok(()) => return Ok(Appended::Created(message)),
                Err(e) => {
                    let Some(reasons) = cancel_reasons(&e) else {
                        return Err(err("TransactWriteItems", e));
                    };
                    if reasons.get(2).map(String::as_str) == Some("ConditionalCheckFailed") {
                        // This clientId was used before: answer with what it created.
                        let key = HashMap::from([("roomId".to_string(), s(&room_id)), ("clientId".to_string(), s(&client_id))]);
                        let idem = self.get(&self.t.idempotency, key).await?.ok_or_else(|| ChatError::internal("idempotency key vanished"))?;
                        let sender = idem.get("senderId").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                        if sender != msg.sender_id {
                            return Err(ChatError::Conflict(format!("clientId {client_id} was used by another sender")));
                        }
                        let seq = get_n(&idem, "seq").ok_or_else(|| ChatError::internal("idempotency key without seq"))?;
                        let m = self.get_message(&room_id, seq).await?.ok_or_else(|| ChatError::internal("idempotency key without message"))?;
                        return Ok(Appended::Duplicate(m));
                    }
                    // Another message took this seq, or transactions collided: read again.
                    backoff(attempt).await;
                }
            }
        }
        Err(ChatError::Internal(format!("room {room_id} is too busy: no seq after {MAX_TX_ATTEMPTS} attempts")))
    }

    async fn get_message(&self, room: &str, seq: u64) -> Result<Option<Message>> {
        self.get(&self.t.messages, Self::message_key(room, seq)).await?.map(from_item).transpose()
    }

    async fn update_message(&self, room_id: &str, seq: u64, sender: &str, change: MessageChange, now: u64) -> Result<Message> {
        for attempt in 1..=MAX_TX_ATTEMPTS {
            let Some(mut message) = self.get_message(room_id, seq).await? else {
                return Err(ChatError::NotFound(format!("message {seq} not found in room {room_id}")));
            };
            if message.kind == crate::protocol::MessageKind::System {
                return Err(ChatError::Forbidden("system messages cannot be changed".into()));
            }
            if message.sender_id != sender {
                return Err(ChatError::Forbidden("you can only change your own messages".into()));
            }
            if message.deleted_at.is_some() {
                return Err(ChatError::NotFound(format!("message {seq} was deleted")));
            }
            let room = self.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
            let ver = room.last_ver + 1;
            let (expr, content) = match &change {
                MessageChange::Edit(c) => {
                    message.edited_at = Some(now);
                    ("SET content = :c, editedAt = :t, ver = :v", c.clone())
                }
                MessageChange::Delete => {
                    message.deleted_at = Some(now);
                    ("SET content = :c, deletedAt = :t, ver = :v", String::new())
                }
            };
            message.content = content.clone();
            message.ver = Some(ver);
            // The room list shows the last message: keep its preview in step (only while it is
            // still the last one).
            let room_update = Update::builder().table_name(&self.t.rooms).key("roomId", s(room_id)).expression_attribute_values(":v", n(ver)).expression_attribute_values(":prev", n(room.last_ver));
            let room_update = if room.last_seq == seq {
                room_update
                    .update_expression("SET lastVer = :v, lastMessage = :p")
                    .condition_expression("lastVer = :prev AND lastSeq = :seq")
                    .expression_attribute_values(":p", AttributeValue::M(to_item(&preview(&message))?))
                    .expression_attribute_values(":seq", n(seq))
            } else {
                room_update.update_expression("SET lastVer = :v").condition_expression("lastVer = :prev")
            };
            let items = vec![
                TransactWriteItem::builder().update(room_update.build().map_err(ChatError::internal)?).build(),
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.t.messages)
                            .set_key(Some(Self::message_key(room_id, seq)))
                            .update_expression(expr)
                            .condition_expression("senderId = :me AND attribute_not_exists(deletedAt)")
                            .expression_attribute_values(":c", s(content))
                            .expression_attribute_values(":t", n(now))
                            .expression_attribute_values(":v", n(ver))
                            .expression_attribute_values(":me", s(sender))
                            .build()
                            .map_err(ChatError::internal)?,
                    )
                    .build(),
            ];
            match self.transact(items).await {
                Ok(()) => return Ok(message),
                Err(e) if cancel_reasons(&e).is_some() => backoff(attempt).await,
                Err(e) => return Err(err("TransactWriteItems", e)),
            }
        }
        Err(ChatError::Internal(format!("room {room_id} is too busy: no version after {MAX_TX_ATTEMPTS} attempts")))
    }

    async fn messages_before(&self, room: &str, before: Option<u64>, limit: u32) -> Result<Vec<Message>> {
        let q = self
            .client
            .query()
            .table_name(&self.t.messages)
            .key_condition_expression("roomId = :r AND seq < :b")
            .expression_attribute_values(":r", s(room))
            .expression_attribute_values(":b", n(before.unwrap_or(i64::MAX as u64)))
            .scan_index_forward(false)
            .limit(limit as i32)
            .consistent_read(true);
        self.query_page(q).await?.into_iter().map(from_item).collect()
    }

    async fn messages_after(&self, room: &str, after: u64, limit: u32) -> Result<Vec<Message>> {
        let q = self
            .client
            .query()
            .table_name(&self.t.messages)
            .key_condition_expression("roomId = :r AND seq > :a")
            .expression_attribute_values(":r", s(room))
            .expression_attribute_values(":a", n(after))
            .limit(limit as i32)
            .consistent_read(true);
        self.query_page(q).await?.into_iter().map(from_item).collect()
    }

    async fn messages_changed_since(&self, room: &str, ver: u64, limit: u32) -> Result<Vec<Message>> {
        let q = self
            .client
            .query()
            .table_name(&self.t.messages)
            .index_name("byVersion")
            .key_condition_expression("roomId = :r AND ver > :v")
            .expression_attribute_values(":r", s(room))
            .expression_attribute_values(":v", n(ver))
            .limit(limit as i32);
        self.query_page(q).await?.into_iter().map(from_item).collect()
    }
}
