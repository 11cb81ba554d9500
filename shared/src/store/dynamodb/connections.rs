//! Connections and presence: `ConnectionsTable`, `UsersTable`.

use super::*;

#[async_trait]
impl ConnectionStore for DynamoStore {
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
}
