//! Messages: `MessagesTable`, `IdempotencyTable`.

use super::*;

#[async_trait]
impl MessageStore for DynamoStore {
    async fn append_message(&self, msg: NewMessage, hint: u64) -> Result<Appended> {
        let room_id = msg.room_id.clone();
        let client_id = msg.client_id.clone();
        let mut last = hint;
        for attempt in 1..=MAX_TX_ATTEMPTS {
            let message = msg.clone().into_message(last + 1);
            // One transaction of two items: the message at the next seq (only if that seq is
            // free) and the clientId's key (only if new). The seq after `last` is free exactly
            // when `last` is the room's newest message, so seqs stay gapless and unique.
            let items = vec![
                put_new(&self.t.messages, to_item(&message)?, "seq")?,
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
                Ok(()) => {
                    // The room's newest seq and preview, for lists, unread counts and the next
                    // sender's hint. Only ever forward; if this write is lost, the next send in
                    // the room (which finds the seq taken) writes a later one.
                    self.advance_room(&room_id, &message).await?;
                    return Ok(Appended::Created(message));
                }
                Err(e) => {
                    let Some(reasons) = cancel_reasons(&e) else {
                        return Err(err("TransactWriteItems", e));
                    };
                    if reasons.get(1).map(String::as_str) == Some("ConditionalCheckFailed") {
                        // This clientId was used before: answer with what it created.
                        let key = HashMap::from([("roomId".to_string(), s(&room_id)), ("clientId".to_string(), s(&client_id))]);
                        let idem =
                            self.get(&self.t.idempotency, key).await?.ok_or_else(|| ChatError::internal("idempotency key vanished"))?;
                        let sender = idem.get("senderId").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                        if sender != msg.sender_id {
                            return Err(ChatError::Conflict(format!("clientId {client_id} was used by another sender")));
                        }
                        let seq = get_n(&idem, "seq").ok_or_else(|| ChatError::internal("idempotency key without seq"))?;
                        let m =
                            self.get_message(&room_id, seq).await?.ok_or_else(|| ChatError::internal("idempotency key without message"))?;
                        // A first attempt that stopped between its message and the room's update
                        // left the room behind: bring it forward.
                        self.advance_room(&room_id, &m).await?;
                        return Ok(Appended::Duplicate(m));
                    }
                    if reasons.first().map(String::as_str) == Some("ConditionalCheckFailed") {
                        // The seq is taken: find the room's newest message.
                        last = self.newest_seq(&room_id).await?.max(last + 1);
                    } else {
                        // Transactions collided on the same items: try the same seq again.
                        backoff(attempt).await;
                    }
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
            let room_update = Update::builder()
                .table_name(&self.t.rooms)
                .key("roomId", s(room_id))
                .expression_attribute_values(":v", n(ver))
                .expression_attribute_values(":prev", n(room.last_ver));
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

    async fn get_messages(&self, keys: &[(String, u64)]) -> Result<Vec<Message>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.iter().map(|(r, q)| Self::message_key(r, *q)).collect();
        // Search results: a message a moment stale is harmless (edits re-index anyway).
        self.batch_get_with(&self.t.messages, keys, None, None, false).await?.into_iter().map(from_item).collect()
    }

    async fn activity_at(&self, room: &str, seq: u64, time: u64) -> Result<Option<u64>> {
        // Newest first from `seq`, only (seq, createdAt); usually the first page holds the answer.
        let mut start: Option<Item> = None;
        loop {
            let q = self
                .client
                .query()
                .table_name(&self.t.messages)
                .key_condition_expression("roomId = :r AND seq <= :s")
                .expression_attribute_values(":r", s(room))
                .expression_attribute_values(":s", n(seq))
                .projection_expression("seq, createdAt")
                .scan_index_forward(false)
                .limit(25)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            let resp = q.send().await.map_err(|e| err("Query", e))?;
            self.meter.add(false, resp.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice());
            for i in resp.items.unwrap_or_default() {
                if let Some(t) = get_n(&i, "createdAt").filter(|t| *t <= time) {
                    return Ok(Some(t));
                }
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(None),
            }
        }
    }
}

impl DynamoStore {
    /// Moves the room's `lastSeq`, `lastMessageAt` and preview forward to `m` (never back).
    async fn advance_room(&self, room_id: &str, m: &Message) -> Result<()> {
        let out = self
            .update(&self.t.rooms, "roomId", room_id)
            .update_expression("SET lastSeq = :n, lastMessageAt = :t, lastMessage = :p")
            .condition_expression("attribute_exists(roomId) AND (attribute_not_exists(lastSeq) OR lastSeq < :n)")
            .expression_attribute_values(":n", n(m.seq))
            .expression_attribute_values(":t", n(m.created_at))
            .expression_attribute_values(":p", AttributeValue::M(to_item(&preview(m))?));
        // Refused: already at or past it (a later message got there first).
        self.conditional_update(out).await.map(|_| ())
    }

    /// The seq of the room's newest message (0: none), read consistently.
    async fn newest_seq(&self, room_id: &str) -> Result<u64> {
        let q = self
            .partition(&self.t.messages, "roomId", room_id)
            .projection_expression("seq")
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true);
        Ok(self.query_page(q).await?.first().and_then(|i| get_n(i, "seq")).unwrap_or(0))
    }
}
