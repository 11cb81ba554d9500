//! Web Push: the members' push state (`muted`, `pushedAt` on `MembersTable` rows, outside the
//! `byUser` index) and browser subscriptions (`PushSubscriptionsTable`: `userId` + `id`).

use super::*;

use futures_util::stream::{self, StreamExt};

/// Conditional writes in flight at once while claiming push slots.
const CLAIM_CONCURRENCY: usize = 16;

#[async_trait]
impl super::super::PushStore for DynamoStore {
    async fn push_members(&self, room: &str) -> Result<Vec<PushMember>> {
        let q = self.partition(&self.t.members, "roomId", room).projection_expression("userId, muted, pushedAt").consistent_read(false);
        self.query_all(q).await?.into_iter().map(from_item).collect()
    }

    async fn claim_push(&self, room: &str, users: &[String], now: u64, cutoff: u64) -> Result<Vec<String>> {
        let results: Vec<(String, Result<bool>)> = stream::iter(users.iter().cloned())
            .map(|user| async move {
                let out = self.update_at(&self.t.members, Self::member_key(room, &user))
                    .update_expression("SET pushedAt = :now")
                    .condition_expression("attribute_exists(userId) AND (attribute_not_exists(pushedAt) OR pushedAt < :cutoff) AND (attribute_not_exists(muted) OR muted = :f)")
                    .expression_attribute_values(":now", n(now))
                    .expression_attribute_values(":cutoff", n(cutoff))
                    .expression_attribute_values(":f", AttributeValue::Bool(false));
                let r = self.conditional_update(out).await;
                (user, r)
            })
            .buffer_unordered(CLAIM_CONCURRENCY)
            .collect()
            .await;
        let mut claimed = Vec::new();
        let mut failed = None;
        for (user, r) in results {
            match r {
                Ok(true) => claimed.push(user),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(room_id = room, user_id = %user, error = %e, "cannot claim a push slot");
                    failed = Some(e);
                }
            }
        }
        match failed {
            Some(e) if claimed.is_empty() => Err(e),
            _ => Ok(claimed),
        }
    }

    async fn set_muted(&self, room: &str, user: &str, muted: bool) -> Result<Option<MemberRecord>> {
        let out = self
            .update_at(&self.t.members, Self::member_key(room, user))
            .update_expression("SET muted = :m")
            .condition_expression("attribute_exists(userId)")
            .expression_attribute_values(":m", AttributeValue::Bool(muted))
            .return_values(ReturnValue::AllNew);
        self.conditional_update_returning(out).await?.map(from_item).transpose()
    }

    async fn put_push_subscription(&self, sub: &PushSubscriptionRecord) -> Result<()> {
        // Past the limit, the oldest of the user's subscriptions makes room (a browser that
        // re-subscribed leaves its old endpoint behind until a push finds it gone).
        let mine = self.push_subscriptions(&sub.user_id).await?;
        if mine.len() >= MAX_SUBSCRIPTIONS_PER_USER && !mine.iter().any(|m| m.id == sub.id) {
            if let Some(oldest) = mine.iter().min_by_key(|m| (m.created_at, m.id.clone())) {
                self.delete_push_subscription(&oldest.user_id, &oldest.id).await?;
            }
        }
        self.put_item(&self.t.push_subscriptions, to_item(sub)?).await?;
        Ok(())
    }

    async fn delete_push_subscription(&self, user: &str, id: &str) -> Result<bool> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.t.push_subscriptions)
            .key("userId", s(user))
            .key("id", s(id))
            .return_values(ReturnValue::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| err("DeleteItem", e))?;
        self.count_write(out.consumed_capacity());
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn push_subscriptions(&self, user: &str) -> Result<Vec<PushSubscriptionRecord>> {
        let q = self.partition(&self.t.push_subscriptions, "userId", user).consistent_read(true);
        self.query_all(q).await?.into_iter().map(from_item).collect()
    }
}
