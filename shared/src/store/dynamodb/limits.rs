//! The limits aggregate: counters per key and window, strikes per key (`LimitsTable`, `pk`, TTL
//! `x`). A count is one unconditional UpdateItem returning the new value: no read, no condition
//! to contend on. A strike (rare: a flood was cut off) reads the strikes in force, then writes.

use super::*;
use crate::store::LimitStore;

#[async_trait]
impl LimitStore for DynamoStore {
    async fn count(&self, key: &str, expires: u64) -> Result<u64> {
        let u = self
            .update(&self.t.limits, "pk", key)
            .update_expression("ADD n :one SET x = :x")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":x", n(expires));
        Ok(get_n(&self.update_returning_new(u).await?, "n").unwrap_or(1))
    }

    async fn strike(&self, key: &str, now: u64, expires: u64) -> Result<Strikes> {
        // Strikes whose item expired but is not deleted yet (TTL deletes lazily) start again.
        let old = self.strikes(key, now / 1000).await?;
        let count = old.map(|s| s.count).unwrap_or(0) + 1;
        let u = self
            .update(&self.t.limits, "pk", key)
            .update_expression("SET n = :n, t = :t, x = :x")
            .expression_attribute_values(":n", n(count))
            .expression_attribute_values(":t", n(now))
            .expression_attribute_values(":x", n(expires));
        self.update_returning_new(u).await?;
        Ok(Strikes { count, last_at: now })
    }

    async fn strikes(&self, key: &str, now_secs: u64) -> Result<Option<Strikes>> {
        let Some(item) = self.get_with(&self.t.limits, HashMap::from([("pk".to_string(), s(key))]), true).await? else { return Ok(None) };
        if get_n(&item, "x").is_some_and(|x| x < now_secs) {
            return Ok(None);
        }
        Ok(Some(Strikes { count: get_n(&item, "n").unwrap_or(0) as u32, last_at: get_n(&item, "t").unwrap_or(0) }))
    }
}
