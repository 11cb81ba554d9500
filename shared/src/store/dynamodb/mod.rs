//! [`Store`] on DynamoDB. Tables and access patterns are described in `docs/DESIGN.md`.
//!
//! - Sequence numbers: a message is written in one transaction with the room's `lastSeq` bump
//!   (conditioned on the value read) and its `(roomId, clientId)` idempotency key (conditioned on
//!   absence). Seqs are therefore gapless and never reused, and a clientId creates at most one
//!   message even when retries race.
//! - Reads that decide correctness (membership, fan-out targets, sync) are strongly consistent;
//!   only the members-by-user index is read eventually consistent (and confirmed where it matters).
//! - Every call asks for `ReturnConsumedCapacity`, summed in a [`CapacityMeter`].

mod connections;
mod desk;
mod limits;
mod messages;
mod push;
mod rooms;
mod search;
mod support;

use super::{ConnectionStore, MessageStore, RoomStore, SearchStore};
use crate::config::Tables;
use crate::error::{ChatError, Result};
use crate::model::*;
use crate::protocol::Message;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, KeysAndAttributes, Put, ReturnConsumedCapacity, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
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
    /// Connection rows never change after `$connect` and connection ids are never reused: a warm
    /// instance keeps the ones it has read (bounded), so most frames identify their caller
    /// without a read.
    connections: std::sync::Mutex<HashMap<String, ConnectionRecord>>,
    /// What expiry is judged by: TTL deletes late, so expired items are ignored on read.
    clock: Arc<dyn crate::clock::Clock>,
}

/// Connection rows a warm instance remembers at most.
const CONNECTION_CACHE: usize = 10_000;

/// A transaction's Put of an item that must be new (no item with that key has `absent`).
fn put_new(table: &str, item: Item, absent: &str) -> Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(format!("attribute_not_exists({absent})"))
        .build()
        .map_err(ChatError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
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
        DynamoStore {
            client,
            t: tables,
            meter: Arc::new(CapacityMeter::default()),
            connections: Default::default(),
            clock: Arc::new(crate::clock::SystemClock),
        }
    }

    /// The app's clock (tests move it).
    pub fn with_clock(self, clock: Arc<dyn crate::clock::Clock>) -> Self {
        DynamoStore { clock, ..self }
    }

    pub fn meter(&self) -> Arc<CapacityMeter> {
        self.meter.clone()
    }

    async fn get(&self, table: &str, key: Item) -> Result<Option<Item>> {
        self.get_with(table, key, true).await
    }

    /// GetItem, eventually consistent unless `consistent` (half the read units).
    async fn get_with(&self, table: &str, key: Item, consistent: bool) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(consistent)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("GetItem", e))?;
        self.meter.add(false, out.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice());
        Ok(out.item)
    }

    /// BatchGetItem in chunks of 100, retrying unprocessed keys.
    async fn batch_get(
        &self,
        table: &str,
        keys: Vec<Item>,
        projection: Option<&str>,
        names: Option<HashMap<String, String>>,
    ) -> Result<Vec<Item>> {
        self.batch_get_with(table, keys, projection, names, true).await
    }

    /// BatchGetItem, eventually consistent unless `consistent`.
    async fn batch_get_with(
        &self,
        table: &str,
        keys: Vec<Item>,
        projection: Option<&str>,
        names: Option<HashMap<String, String>>,
        consistent: bool,
    ) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            let mut kaa = KeysAndAttributes::builder().set_keys(Some(chunk.to_vec())).consistent_read(consistent);
            if let Some(p) = projection {
                kaa = kaa.projection_expression(p);
            }
            if let Some(nm) = &names {
                kaa = kaa.set_expression_attribute_names(Some(nm.clone()));
            }
            let mut request: HashMap<String, KeysAndAttributes> =
                HashMap::from([(table.to_string(), kaa.build().map_err(ChatError::internal)?)]);
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

    /// An UpdateItem of the item whose key attribute `key` is `value` (add the expressions).
    fn update(
        &self,
        table: &str,
        key: &str,
        value: impl Into<String>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.update_at(table, HashMap::from([(key.to_string(), s(value))]))
    }

    /// An UpdateItem of the item with this (composite) key.
    fn update_at(&self, table: &str, key: Item) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client.update_item().table_name(table).set_key(Some(key))
    }

    /// A Query of one partition, `key = value` (add an index, a projection, consistency).
    fn partition(
        &self,
        table: &str,
        key: &str,
        value: impl Into<String>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", key)
            .expression_attribute_values(":pk", s(value))
    }

    /// A whole Query (all pages).
    async fn query_all(&self, q: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let resp = q
                .clone()
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| err("Query", e))?;
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

    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> std::result::Result<
        (),
        SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, aws_sdk_dynamodb::config::http::HttpResponse>,
    > {
        let resp = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await?;
        self.meter.add(true, resp.consumed_capacity());
        let units: f64 = resp.consumed_capacity().iter().map(|c| c.capacity_units().unwrap_or(0.0)).sum();
        self.meter.tx_write_milli.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// PutItem of a whole item (capacity counted).
    async fn put_item(&self, table: &str, item: Item) -> Result<()> {
        let out = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("PutItem", e))?;
        self.count_write(out.consumed_capacity());
        Ok(())
    }

    /// An unconditional UpdateItem returning the attributes it changed (capacity counted).
    async fn update_returning_new(&self, u: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder) -> Result<Item> {
        let out = u
            .return_values(ReturnValue::UpdatedNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("UpdateItem", e))?;
        self.count_write(out.consumed_capacity());
        Ok(out.attributes.unwrap_or_default())
    }

    /// An UpdateItem with a condition: `Ok(None)` when the condition refused it (billed as one
    /// write unit), else the attributes it returned (empty unless it asked for some); capacity
    /// counted either way.
    async fn conditional_update_returning(
        &self,
        u: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    ) -> Result<Option<Item>> {
        match u.return_consumed_capacity(ReturnConsumedCapacity::Total).send().await {
            Ok(out) => {
                self.count_write(out.consumed_capacity());
                Ok(Some(out.attributes.unwrap_or_default()))
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                self.count_failed_condition();
                Ok(None)
            }
            Err(e) => Err(err("UpdateItem", e)),
        }
    }

    /// An UpdateItem with a condition: `Ok(false)` when the condition refused it.
    async fn conditional_update(&self, u: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder) -> Result<bool> {
        Ok(self.conditional_update_returning(u).await?.is_some())
    }

    fn count_write(&self, cc: Option<&ConsumedCapacity>) {
        self.meter.add(true, cc.into_iter().cloned().collect::<Vec<_>>().as_slice());
    }

    /// A write refused by its condition is billed as one write unit (the error carries no
    /// consumed capacity).
    fn count_failed_condition(&self) {
        self.meter.add(true, &[ConsumedCapacity::builder().capacity_units(1.0).build()]);
    }

    fn member_key(room: &str, user: &str) -> Item {
        HashMap::from([("roomId".to_string(), s(room)), ("userId".to_string(), s(user))])
    }
    fn message_key(room: &str, seq: u64) -> Item {
        HashMap::from([("roomId".to_string(), s(room)), ("seq".to_string(), n(seq))])
    }

    async fn batch_write_puts(&self, table: &str, items: Vec<Item>) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let reqs = items
            .into_iter()
            .map(|i| WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(i)).build().expect("item set")).build())
            .collect();
        self.batch_write(table, reqs).await
    }

    /// BatchWriteItem in chunks of 25 (8 at a time), retrying unprocessed items.
    async fn batch_write(&self, table: &str, reqs: Vec<aws_sdk_dynamodb::types::WriteRequest>) -> Result<()> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let chunks: Vec<Vec<aws_sdk_dynamodb::types::WriteRequest>> = reqs.chunks(25).map(|c| c.to_vec()).collect();
        stream::iter(chunks)
            .map(|chunk| async move {
                let mut request = HashMap::from([(table.to_string(), chunk)]);
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
                Ok::<(), ChatError>(())
            })
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
