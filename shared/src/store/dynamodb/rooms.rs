//! Rooms and members: `RoomsTable`, `MembersTable`.

use super::*;

#[async_trait]
impl RoomStore for DynamoStore {
    async fn create_room(&self, room: &RoomRecord, members: &[MemberRecord]) -> Result<bool> {
        let mut items = vec![put_new(&self.t.rooms, to_item(room)?, "roomId")?];
        // A transaction holds 100 items: the room and the first 99 members go in it.
        let (in_tx, rest) = members.split_at(members.len().min(99));
        for m in in_tx {
            items.push(
                TransactWriteItem::builder()
                    .put(Put::builder().table_name(&self.t.members).set_item(Some(to_item(m)?)).build().map_err(ChatError::internal)?)
                    .build(),
            );
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

    async fn room_hint(&self, id: &str) -> Result<Option<RoomHint>> {
        let item = self.get_with(&self.t.rooms, HashMap::from([("roomId".to_string(), s(id))]), false).await?;
        Ok(item
            .map(|i| RoomHint { last_seq: get_n(&i, "lastSeq").unwrap_or(0), member_count: get_n(&i, "memberCount").unwrap_or(0) as u32 }))
    }

    async fn get_rooms(&self, ids: &[String], consistent: bool) -> Result<Vec<RoomRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids.iter().map(|i| HashMap::from([("roomId".to_string(), s(i))])).collect();
        self.batch_get_with(&self.t.rooms, keys, None, None, consistent).await?.into_iter().map(from_item).collect()
    }

    async fn get_member(&self, room: &str, user: &str) -> Result<Option<MemberRecord>> {
        self.get(&self.t.members, Self::member_key(room, user)).await?.map(from_item).transpose()
    }

    async fn list_members(&self, room: &str) -> Result<Vec<MemberRecord>> {
        let q = self.partition(&self.t.members, "roomId", room).consistent_read(true);
        self.query_all(q).await?.into_iter().map(from_item).collect()
    }

    async fn memberships(&self, user: &str) -> Result<Vec<Membership>> {
        let q = self.partition(&self.t.members, "userId", user).index_name("byUser");
        self.query_all(q).await?.into_iter().map(from_item).collect()
    }

    async fn get_memberships(&self, user: &str, rooms: &[String], consistent: bool) -> Result<Vec<MemberRecord>> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let keys = rooms.iter().map(|r| Self::member_key(r, user)).collect();
        self.batch_get_with(&self.t.members, keys, None, None, consistent).await?.into_iter().map(from_item).collect()
    }

    async fn add_members(&self, room_id: &str, members: &[MemberRecord]) -> Result<()> {
        if members.is_empty() {
            return Ok(());
        }
        let room = self.get_room(room_id).await?.ok_or_else(|| ChatError::NotFound(format!("room {room_id} does not exist")))?;
        let k = members.len() as u32;
        if room.max_members < k {
            return Err(ChatError::RoomFull(format!("room {room_id} is full")));
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
            items.push(put_new(&self.t.members, to_item(m)?, "userId")?);
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) => match cancel_reasons(&e) {
                Some(r) if r.first().map(String::as_str) == Some("ConditionalCheckFailed") => {
                    Err(ChatError::RoomFull(format!("room {room_id} is full")))
                }
                Some(_) => Err(ChatError::Conflict("the room's members changed at the same time; retry".into())),
                None => Err(err("TransactWriteItems", e)),
            },
        }
    }

    async fn remove_member(&self, room_id: &str, user: &str) -> Result<bool> {
        let items = vec![
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.t.members)
                        .set_key(Some(Self::member_key(room_id, user)))
                        .condition_expression("attribute_exists(userId)")
                        .build()
                        .map_err(ChatError::internal)?,
                )
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
            .update_at(&self.t.members, Self::member_key(room, user))
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
                    self.count_failed_condition();
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
            .update_at(&self.t.members, Self::member_key(room, user))
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
                    self.count_failed_condition();
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

    async fn set_archived(&self, room: &str, user: &str, archived_seq: Option<u64>) -> Result<bool> {
        let u = self.update_at(&self.t.members, Self::member_key(room, user)).condition_expression("attribute_exists(userId)");
        let u = match archived_seq {
            Some(seq) => u
                .update_expression("SET archived = :t, archivedSeq = :s")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":s", n(seq)),
            None => {
                u.update_expression("SET archived = :f REMOVE archivedSeq").expression_attribute_values(":f", AttributeValue::Bool(false))
            }
        };
        self.conditional_update(u).await
    }

    async fn set_room_context(&self, room_id: &str, name: Option<&str>, context: &crate::protocol::RoomContext) -> Result<()> {
        let u = self
            .update(&self.t.rooms, "roomId", room_id)
            .condition_expression("attribute_exists(roomId)")
            .expression_attribute_names("#c", "context")
            .expression_attribute_values(":c", AttributeValue::M(to_item(context)?))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let u = match name {
            Some(nm) => u
                .update_expression("SET #c = :c, #n = :n")
                .expression_attribute_names("#n", "name")
                .expression_attribute_values(":n", s(nm)),
            None => u.update_expression("SET #c = :c REMOVE #n").expression_attribute_names("#n", "name"),
        };
        let out = u.send().await.map_err(|e| err("UpdateItem", e))?;
        self.count_write(out.consumed_capacity());
        Ok(())
    }

    async fn charge_send(&self, room: &str, user: &str, window: u64, max: u32, own_seq: u64) -> Result<SendCharge> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        // One conditional write, no read: most sends are a member's first in a window, so that
        // write is tried first (start the window); when the window is already running, the
        // refusal says so and the second write counts one more (an atomic ADD, so a member's
        // concurrent sends never conflict). Windows only move forward: a send that computed an
        // older window than the row's joins the row's (a late request never resets a newer
        // window, so concurrent sends across a window's end cannot undo each other).
        let key = Self::member_key(room, user);
        let mut window = window;
        let mut start = true;
        for _ in 0..6 {
            let u = self
                .update_at(&self.t.members, key.clone())
                .expression_attribute_values(":w", n(window))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":own", n(own_seq))
                .return_values(ReturnValue::UpdatedOld)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .return_consumed_capacity(ReturnConsumedCapacity::Total);
            let u = if start {
                u.update_expression("SET sendWindow = :w, sendCount = :one, ownSeq = :own")
                    .condition_expression("attribute_exists(userId) AND (attribute_not_exists(sendWindow) OR sendWindow < :w)")
            } else {
                u.update_expression("ADD sendCount :one SET ownSeq = :own")
                    .condition_expression("sendWindow = :w AND sendCount < :max")
                    .expression_attribute_values(":max", n(max))
            };
            match u.send().await {
                Ok(o) => {
                    self.count_write(o.consumed_capacity());
                    return Ok(SendCharge::Allowed { previous_own: o.attributes.as_ref().and_then(|a| get_n(a, "ownSeq")) });
                }
                Err(e) => match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                        self.count_failed_condition();
                        let Some(old) = c.item().filter(|i| !i.is_empty()) else {
                            return Ok(SendCharge::NotMember);
                        };
                        let (old_window, old_count) = (get_n(old, "sendWindow"), get_n(old, "sendCount").unwrap_or(0));
                        match old_window {
                            Some(w) if w > window => {
                                window = w;
                                start = false;
                            }
                            Some(w) if w == window => {
                                if !start && old_count >= u64::from(max) {
                                    return Ok(SendCharge::Exhausted);
                                }
                                start = false;
                            }
                            _ => start = true,
                        }
                    }
                    _ => return Err(err("UpdateItem", e)),
                },
            }
        }
        // Only windows moving on under this request could bring it here (each retry follows a
        // newer window): the member is sending very fast, which is what the budget is for.
        Ok(SendCharge::Exhausted)
    }

    async fn correct_own_seq(&self, room: &str, user: &str, from: u64, to: Option<u64>) -> Result<()> {
        let u = self
            .update_at(&self.t.members, Self::member_key(room, user))
            .condition_expression("ownSeq = :from")
            .expression_attribute_values(":from", n(from));
        let u = match to {
            Some(v) => u.update_expression("SET ownSeq = :to").expression_attribute_values(":to", n(v)),
            None => u.update_expression("REMOVE ownSeq"),
        };
        // Refused: someone else's send moved it on meanwhile; theirs stands.
        self.conditional_update(u).await.map(|_| ())
    }
}
