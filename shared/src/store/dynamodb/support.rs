//! The support desk: sessions live in their room's row of `RoomsTable` (map `support`), with two
//! sparse indexes there — `queue` (`queue` = "waiting" + `queuedAt`: the waiting sessions, oldest
//! first) and `waits` (`waitKey` + `acceptedAt`, projecting `waitMs`: recent waits, for the
//! estimate). `SupportTable` (key `pk`) holds the small items around them: `v#<visitorId>` (the
//! visitor's open session), `o#<operatorId>` (open sessions of an operator: `open`) and rate
//! counters (`x`: TTL).

use super::*;
use crate::protocol::{Rating, SessionStatus, SupportSession};
use crate::store::SupportStore;

fn av<T: serde::Serialize>(v: &T) -> Result<AttributeValue> {
    serde_dynamo::to_attribute_value(v).map_err(ChatError::internal)
}

fn status(st: SessionStatus) -> AttributeValue {
    s(match st {
        SessionStatus::Waiting => "waiting",
        SessionStatus::Active => "active",
        SessionStatus::Closed => "closed",
    })
}

const WAITING: &str = "waiting";

impl DynamoStore {
    fn support_key(pk: String) -> Item {
        HashMap::from([("pk".to_string(), s(pk))])
    }

    /// `ADD open :delta` on an operator's load item (`capacity`: only while below it).
    fn load_update(&self, operator: &str, name: Option<&str>, delta: i64, capacity: Option<u32>) -> Result<TransactWriteItem> {
        let mut u = Update::builder()
            .table_name(&self.t.support)
            .key("pk", s(format!("o#{operator}")))
            .expression_attribute_names("#open", "open")
            .expression_attribute_values(":d", n(delta));
        let mut expr = "ADD #open :d".to_string();
        if let Some(name) = name {
            expr = format!("SET #nm = :nm {expr}");
            u = u.expression_attribute_names("#nm", "name").expression_attribute_values(":nm", s(name));
        }
        if let Some(cap) = capacity {
            u = u.condition_expression("attribute_not_exists(#open) OR #open < :cap").expression_attribute_values(":cap", n(cap));
        }
        Ok(TransactWriteItem::builder().update(u.update_expression(expr).build().map_err(ChatError::internal)?).build())
    }

    fn member_put(&self, m: &MemberRecord) -> Result<TransactWriteItem> {
        put_new(&self.t.members, to_item(m)?, "userId")
    }

    /// A session transaction: a refused condition is a `Conflict` saying which part refused.
    async fn session_tx(&self, items: Vec<TransactWriteItem>, what: &[&str]) -> Result<()> {
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) => match cancel_reasons(&e) {
                Some(reasons) => {
                    self.count_failed_condition();
                    let failed = reasons.iter().position(|r| r == "ConditionalCheckFailed");
                    match failed {
                        Some(i) => Err(ChatError::Conflict(
                            what.get(i).copied().unwrap_or("the session changed at the same time; retry").to_string(),
                        )),
                        None => Err(ChatError::Conflict("the session changed at the same time; retry".into())),
                    }
                }
                None => Err(err("TransactWriteItems", e)),
            },
        }
    }
}

#[async_trait]
impl SupportStore for DynamoStore {
    async fn open_session(&self, visitor_id: &str) -> Result<Option<String>> {
        let item = self.get(&self.t.support, Self::support_key(format!("v#{visitor_id}"))).await?;
        Ok(item.and_then(|i| i.get("sessionId").and_then(|v| v.as_s().ok()).cloned()))
    }

    async fn start_session(&self, room: &RoomRecord, visitor: &MemberRecord) -> Result<StartOutcome> {
        let mut room_item = to_item(room)?;
        room_item.insert("queue".into(), s(WAITING));
        room_item.insert("queuedAt".into(), n(room.created_at));
        let pointer = HashMap::from([("pk".to_string(), s(format!("v#{}", visitor.user_id))), ("sessionId".to_string(), s(&room.room_id))]);
        let items = vec![
            put_new(&self.t.support, pointer, "pk")?,
            put_new(&self.t.rooms, room_item, "roomId")?,
            TransactWriteItem::builder()
                .put(Put::builder().table_name(&self.t.members).set_item(Some(to_item(visitor)?)).build().map_err(ChatError::internal)?)
                .build(),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(StartOutcome::Created),
            Err(e) => match cancel_reasons(&e) {
                Some(r) if r.first().map(String::as_str) == Some("ConditionalCheckFailed") => {
                    self.count_failed_condition();
                    match self.open_session(&visitor.user_id).await? {
                        Some(id) => Ok(StartOutcome::Existing(id)),
                        None => Err(ChatError::Conflict("the visitor's session changed at the same time; retry".into())),
                    }
                }
                Some(_) => Err(ChatError::Conflict("the visitor's session changed at the same time; retry".into())),
                None => Err(err("TransactWriteItems", e)),
            },
        }
    }

    async fn queue(&self) -> Result<Vec<SupportSession>> {
        let q = self
            .client
            .query()
            .table_name(&self.t.rooms)
            .index_name("queue")
            .key_condition_expression("#q = :w")
            .expression_attribute_names("#q", "queue")
            .expression_attribute_values(":w", s(WAITING));
        let mut out = Vec::new();
        for mut item in self.query_all(q).await? {
            if let Some(AttributeValue::M(m)) = item.remove("support") {
                out.push(from_item::<SupportSession>(m)?);
            }
        }
        Ok(out)
    }

    async fn recent_waits(&self, count: usize) -> Result<Vec<u64>> {
        let q =
            self.partition(&self.t.rooms, "waitKey", "all").index_name("waits").scan_index_forward(false).limit(count.clamp(1, 100) as i32);
        Ok(self.query_page(q).await?.iter().filter_map(|i| get_n(i, "waitMs")).collect())
    }

    async fn accept_session(&self, session_id: &str, operator: &MemberRecord, now: u64, wait_ms: u64, capacity: Option<u32>) -> Result<()> {
        let op = crate::protocol::UserRef { user_id: operator.user_id.clone(), name: operator.name.clone() };
        let room = Update::builder()
            .table_name(&self.t.rooms)
            .key("roomId", s(session_id))
            .update_expression("SET support.#st = :active, support.#op = :op, support.acceptedAt = :now, acceptedAt = :now, waitKey = :all, waitMs = :wait, memberCount = memberCount + :one REMOVE #q, queuedAt")
            .condition_expression("support.#st = :waiting")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#op", "operator")
            .expression_attribute_names("#q", "queue")
            .expression_attribute_values(":active", status(SessionStatus::Active))
            .expression_attribute_values(":waiting", status(SessionStatus::Waiting))
            .expression_attribute_values(":op", av(&op)?)
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":all", s("all"))
            .expression_attribute_values(":wait", n(wait_ms))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(ChatError::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(room).build(),
            self.member_put(operator)?,
            self.load_update(&operator.user_id, operator.name.as_deref(), 1, capacity)?,
        ];
        self.session_tx(
            items,
            &[
                "the session is no longer waiting: another operator accepted it, or it was closed",
                "you are in this session already",
                "the operator has as many open sessions as allowed",
            ],
        )
        .await
    }

    async fn transfer_session(&self, session_id: &str, from: &str, to: &MemberRecord, capacity: u32) -> Result<()> {
        let op = crate::protocol::UserRef { user_id: to.user_id.clone(), name: to.name.clone() };
        let room = Update::builder()
            .table_name(&self.t.rooms)
            .key("roomId", s(session_id))
            .update_expression("SET support.#op = :to")
            .condition_expression("support.#st = :active AND support.#op.userId = :from")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#op", "operator")
            .expression_attribute_values(":active", status(SessionStatus::Active))
            .expression_attribute_values(":to", av(&op)?)
            .expression_attribute_values(":from", s(from))
            .build()
            .map_err(ChatError::internal)?;
        let leave = Delete::builder()
            .table_name(&self.t.members)
            .set_key(Some(Self::member_key(session_id, from)))
            .build()
            .map_err(ChatError::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(room).build(),
            TransactWriteItem::builder().delete(leave).build(),
            self.member_put(to)?,
            self.load_update(from, None, -1, None)?,
            self.load_update(&to.user_id, to.name.as_deref(), 1, Some(capacity))?,
        ];
        self.session_tx(
            items,
            &[
                "the session is not active with you any more",
                "",
                "the operator is in this session already",
                "",
                "the operator has as many open sessions as allowed",
            ],
        )
        .await
    }

    async fn close_session(&self, session: &SupportSession, by: &str, resolution: Option<&str>, now: u64) -> Result<()> {
        let mut room = Update::builder()
            .table_name(&self.t.rooms)
            .key("roomId", s(&session.session_id))
            .condition_expression("support.#st IN (:waiting, :active)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#q", "queue")
            .expression_attribute_values(":waiting", status(SessionStatus::Waiting))
            .expression_attribute_values(":active", status(SessionStatus::Active))
            .expression_attribute_values(":closed", status(SessionStatus::Closed))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":by", s(by));
        let mut set = "SET support.#st = :closed, support.closedAt = :now, support.closedBy = :by".to_string();
        if let Some(r) = resolution {
            set.push_str(", support.resolution = :res");
            room = room.expression_attribute_values(":res", s(r));
        }
        let room = room.update_expression(format!("{set} REMOVE #q, queuedAt")).build().map_err(ChatError::internal)?;
        let pointer = Delete::builder()
            .table_name(&self.t.support)
            .set_key(Some(Self::support_key(format!("v#{}", session.visitor.user_id))))
            .condition_expression("attribute_not_exists(pk) OR sessionId = :sid")
            .expression_attribute_values(":sid", s(&session.session_id))
            .build()
            .map_err(ChatError::internal)?;
        let mut items = vec![TransactWriteItem::builder().update(room).build(), TransactWriteItem::builder().delete(pointer).build()];
        if let Some(op) = &session.operator {
            items.push(self.load_update(&op.user_id, None, -1, None)?);
        }
        self.session_tx(items, &["the session is closed already", "the visitor has another session open"]).await
    }

    async fn rate_session(&self, session_id: &str, rating: &Rating) -> Result<()> {
        let r = self
            .update(&self.t.rooms, "roomId", session_id)
            .update_expression("SET support.rating = :r")
            .condition_expression("support.#st = :closed AND attribute_not_exists(support.rating)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":closed", status(SessionStatus::Closed))
            .expression_attribute_values(":r", av(rating)?);
        if !self.conditional_update(r).await? {
            return Err(ChatError::Conflict("the session is not closed, or it was rated already".into()));
        }
        Ok(())
    }

    async fn first_response(&self, session_id: &str, at: u64) -> Result<Option<SupportSession>> {
        let u = self
            .update(&self.t.rooms, "roomId", session_id)
            .update_expression("SET support.firstResponseAt = :t")
            .condition_expression("attribute_exists(support) AND attribute_not_exists(support.firstResponseAt)")
            .expression_attribute_values(":t", n(at))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let Some(item) = self.conditional_update_returning(u).await? else { return Ok(None) };
        let room: RoomRecord = from_item(item)?;
        Ok(room.support)
    }

    async fn operator_loads(&self, ids: &[String]) -> Result<HashMap<String, u32>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = ids.iter().map(|i| Self::support_key(format!("o#{i}"))).collect();
        let items = self.batch_get_with(&self.t.support, keys, None, None, true).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let id = i.get("pk")?.as_s().ok()?.strip_prefix("o#")?.to_string();
                Some((id, get_n(i, "open").unwrap_or(0) as u32))
            })
            .collect())
    }
}
