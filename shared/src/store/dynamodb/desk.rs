//! The team's own items in `SupportTable` (key `pk`): `doc#<name>` (a versioned JSON document:
//! `body`, `ver`, `updatedAt`), `o#<operatorId>` (`away` beside the load `open`), and the
//! report's day rows `rep#<day>` (the team's counters and `ops`, the operators active that day)
//! and `rep#<day>#<operatorId>` (one operator's counters). Every read is a key lookup.

use super::*;
use crate::store::DeskStore;

fn doc_key(name: &str) -> Item {
    HashMap::from([("pk".to_string(), s(format!("doc#{name}")))])
}

fn report_key(day: &str, operator: Option<&str>) -> Item {
    let pk = match operator {
        Some(o) => format!("rep#{day}#{o}"),
        None => format!("rep#{day}"),
    };
    HashMap::from([("pk".to_string(), s(pk))])
}

/// A report item's counters: every number but the key's.
fn report_row(item: &Item, day: &str, operator: Option<String>) -> ReportRow {
    let counters = item.iter().filter_map(|(k, v)| Some((k.clone(), v.as_n().ok()?.parse().ok()?))).collect();
    ReportRow { day: day.to_string(), operator, counters, operators: get_ss(item, "ops") }
}

#[async_trait]
impl DeskStore for DynamoStore {
    async fn get_doc(&self, name: &str) -> Result<Option<Doc>> {
        let Some(item) = self.get(&self.t.support, doc_key(name)).await? else { return Ok(None) };
        let body = item.get("body").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        Ok(Some(Doc { body, version: get_n(&item, "ver").unwrap_or(0), updated_at: get_n(&item, "updatedAt").unwrap_or(0) }))
    }

    async fn put_doc(&self, name: &str, body: &str, expected: u64, now: u64) -> Result<bool> {
        let condition = if expected == 0 { "attribute_not_exists(pk)" } else { "ver = :expected" };
        let mut u = self
            .update_at(&self.t.support, doc_key(name))
            .update_expression("SET body = :b, ver = :v, updatedAt = :t")
            .condition_expression(condition)
            .expression_attribute_values(":b", s(body))
            .expression_attribute_values(":v", n(expected + 1))
            .expression_attribute_values(":t", n(now));
        if expected != 0 {
            u = u.expression_attribute_values(":expected", n(expected));
        }
        self.conditional_update(u).await
    }

    async fn away_operators(&self, ids: &[String]) -> Result<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let keys = ids.iter().map(|i| HashMap::from([("pk".to_string(), s(format!("o#{i}")))])).collect();
        let names = HashMap::from([("#a".to_string(), "away".to_string())]);
        let items = self.batch_get_with(&self.t.support, keys, Some("pk, #a"), Some(names), false).await?;
        Ok(items
            .iter()
            .filter(|i| i.get("away").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false))
            .filter_map(|i| Some(i.get("pk")?.as_s().ok()?.strip_prefix("o#")?.to_string()))
            .collect())
    }

    async fn set_away(&self, operator_id: &str, away: bool) -> Result<()> {
        let u = self
            .update(&self.t.support, "pk", format!("o#{operator_id}"))
            .update_expression("SET away = :a")
            .expression_attribute_values(":a", AttributeValue::Bool(away))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        let out = u.send().await.map_err(|e| err("UpdateItem", e))?;
        self.count_write(out.consumed_capacity());
        Ok(())
    }

    async fn add_to_report(&self, day: &str, operator: Option<&str>, counters: &[(String, u64)]) -> Result<()> {
        if counters.is_empty() {
            return Ok(());
        }
        let add = |key: Item, ops: Option<&str>| {
            let mut expr = Vec::new();
            let mut u = self.update_at(&self.t.support, key);
            for (i, (name, by)) in counters.iter().enumerate() {
                expr.push(format!("#c{i} :c{i}"));
                u = u.expression_attribute_names(format!("#c{i}"), name).expression_attribute_values(format!(":c{i}"), n(by));
            }
            if let Some(o) = ops {
                expr.push("ops :ops".into());
                u = u.expression_attribute_values(":ops", AttributeValue::Ss(vec![o.to_string()]));
            }
            u.update_expression(format!("ADD {}", expr.join(", "))).return_consumed_capacity(ReturnConsumedCapacity::Total)
        };
        let out = add(report_key(day, None), operator).send().await.map_err(|e| err("UpdateItem", e))?;
        self.count_write(out.consumed_capacity());
        if let Some(o) = operator {
            let out = add(report_key(day, Some(o)), None).send().await.map_err(|e| err("UpdateItem", e))?;
            self.count_write(out.consumed_capacity());
        }
        Ok(())
    }

    async fn team_report(&self, days: &[String]) -> Result<Vec<ReportRow>> {
        let keys = days.iter().map(|d| report_key(d, None)).collect();
        let items = self.batch_get_with(&self.t.support, keys, None, None, false).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let day = i.get("pk")?.as_s().ok()?.strip_prefix("rep#")?.to_string();
                Some(report_row(i, &day, None))
            })
            .collect())
    }

    async fn operator_report(&self, keys: &[(String, String)]) -> Result<Vec<ReportRow>> {
        let wanted = keys.iter().map(|(d, o)| report_key(d, Some(o))).collect();
        let items = self.batch_get_with(&self.t.support, wanted, None, None, false).await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let pk = i.get("pk")?.as_s().ok()?;
                // `rep#<day>#<operator>`: days have no `#`, operator ids may.
                let (day, op) = pk.strip_prefix("rep#")?.split_once('#')?;
                Some(report_row(i, day, Some(op.to_string())))
            })
            .collect())
    }
}
