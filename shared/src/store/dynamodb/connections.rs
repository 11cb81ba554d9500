//! Connections and presence: `ConnectionsTable`, `UsersTable`.

use super::*;

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn put_connection(&self, c: &ConnectionRecord) -> Result<()> {
        self.put_item(&self.t.connections, to_item(c)?).await?;
        Ok(())
    }

    async fn get_connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        if let Some(c) = self.connections.lock().unwrap().get(id) {
            return Ok(Some(c.clone()));
        }
        let key = HashMap::from([("connectionId".to_string(), s(id))]);
        // Rows never change after $connect: a stale copy is as good as a fresh one, and only a
        // row written a moment ago can be missed, so a miss is read again, consistently.
        let item = match self.get_with(&self.t.connections, key.clone(), false).await? {
            Some(item) => Some(item),
            None => self.get(&self.t.connections, key).await?,
        };
        let rec: Option<ConnectionRecord> = item.map(from_item).transpose()?;
        if let Some(r) = &rec {
            let mut cache = self.connections.lock().unwrap();
            if cache.len() >= CONNECTION_CACHE {
                cache.clear();
            }
            cache.insert(id.to_string(), r.clone());
        }
        Ok(rec)
    }

    async fn delete_connection(&self, id: &str) -> Result<Option<ConnectionRecord>> {
        self.connections.lock().unwrap().remove(id);
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
        self.connections.lock().unwrap().remove(id);
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
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                self.count_failed_condition();
                Ok(StaleDelete::TooYoung)
            }
            Err(e) => Err(err("DeleteItem", e)),
        }
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
            .update(&self.t.users, "userId", user_id)
            .expression_attribute_values(":c", AttributeValue::Ss(vec![conn.to_string()]))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        u = match name {
            Some(nm) => u
                .update_expression("ADD conns :c SET #n = :n")
                .expression_attribute_names("#n", "name")
                .expression_attribute_values(":n", s(nm)),
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
            .update(&self.t.users, "userId", user_id)
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

    async fn register_connections(&self, entries: &[RoomConn]) -> Result<()> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut reqs = Vec::with_capacity(entries.len());
        for e in entries {
            let item = HashMap::from([
                ("r".to_string(), s(&e.room_id)),
                ("c".to_string(), s(&e.connection_id)),
                ("u".to_string(), s(&e.user_id)),
                ("x".to_string(), n(e.expires_at)),
            ]);
            reqs.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(ChatError::internal)?)
                    .build(),
            );
        }
        self.batch_write(&self.t.room_conns, reqs).await
    }

    async fn unregister_connections(&self, entries: &[(String, String)]) -> Result<()> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let mut reqs = Vec::with_capacity(entries.len());
        let mut seen = HashSet::new();
        for (room, conn) in entries {
            if !seen.insert((room, conn)) {
                continue;
            }
            let key = HashMap::from([("r".to_string(), s(room)), ("c".to_string(), s(conn))]);
            reqs.push(
                WriteRequest::builder()
                    .delete_request(DeleteRequest::builder().set_key(Some(key)).build().map_err(ChatError::internal)?)
                    .build(),
            );
        }
        self.batch_write(&self.t.room_conns, reqs).await
    }

    async fn room_connections(&self, room_id: &str) -> Result<Vec<RoomConn>> {
        let q = self.partition(&self.t.room_conns, "r", room_id).consistent_read(true);
        let items = self.query_all(q).await?;
        let now = self.clock.now_secs();
        let mut barred = HashSet::new();
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            let conn = i.get("c").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let user = i.get("u").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let expires_at = get_n(&i, "x").unwrap_or(0);
            // TTL deletes late: what has expired is ignored here, bars included.
            if expires_at < now {
                continue;
            }
            if conn.starts_with(BAR_PREFIX) {
                barred.insert(user);
            } else {
                out.push(RoomConn { room_id: room_id.to_string(), connection_id: conn, user_id: user, expires_at });
            }
        }
        out.retain(|c| !barred.contains(&c.user_id));
        Ok(out)
    }

    async fn bar_from_room(&self, room_id: &str, user_id: &str, until: u64) -> Result<()> {
        let item = HashMap::from([
            ("r".to_string(), s(room_id)),
            ("c".to_string(), s(format!("{BAR_PREFIX}{user_id}"))),
            ("u".to_string(), s(user_id)),
            ("x".to_string(), n(until)),
        ]);
        self.put_item(&self.t.room_conns, item).await
    }

    async fn unbar(&self, room_id: &str, user_ids: &[String]) -> Result<()> {
        let entries: Vec<(String, String)> = user_ids.iter().map(|u| (room_id.to_string(), format!("{BAR_PREFIX}{u}"))).collect();
        self.unregister_connections(&entries).await
    }

    async fn beat(&self, b: &Beat) -> Result<u64> {
        // One write either way (an update of a small item costs what a put does), and it counts
        // the connection's beats in the interval.
        let u = self
            .update(&self.t.beats, "b", format!("{}#{}", b.bucket, b.shard))
            .key("c", s(&b.connection_id))
            .update_expression("SET u = :u, x = :x ADD n :one")
            .expression_attribute_values(":u", s(&b.user_id))
            .expression_attribute_values(":x", n(b.expires_at))
            .expression_attribute_values(":one", n(1));
        Ok(get_n(&self.update_returning_new(u).await?, "n").unwrap_or(1))
    }

    async fn beats(&self, bucket: u64, shard: u32) -> Result<Vec<(String, String)>> {
        let q = self.partition(&self.t.beats, "b", format!("{bucket}#{shard}"));
        Ok(self
            .query_all(q)
            .await?
            .into_iter()
            .filter_map(|i| Some((i.get("c")?.as_s().ok()?.clone(), i.get("u")?.as_s().ok()?.clone())))
            .collect())
    }
}

/// Sort key prefix of a bar in RoomConnsTable (connection ids never start with it).
const BAR_PREFIX: &str = "~";
