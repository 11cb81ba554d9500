//! The full-text index: `SearchTable`, one item per posting — key `roomTerm` = `<roomId>#<term>`,
//! sort key `id` (the message's ULID, so a Query reads newest first), `seq`, and `terms` (every term
//! of the message, so an AND of terms is answered from one term's postings).

use super::*;
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};

fn room_term(room_id: &str, term: &str) -> String {
    format!("{room_id}#{term}")
}

fn posting_key(k: &PostingKey) -> Item {
    HashMap::from([("roomTerm".to_string(), s(room_term(&k.room_id, &k.term))), ("id".to_string(), s(&k.id))])
}

#[async_trait]
impl SearchStore for DynamoStore {
    async fn index_write(&self, put: &[Posting], delete: &[PostingKey]) -> Result<()> {
        let mut reqs: Vec<WriteRequest> = Vec::with_capacity(put.len() + delete.len());
        for k in delete {
            reqs.push(
                WriteRequest::builder()
                    .delete_request(DeleteRequest::builder().set_key(Some(posting_key(k))).build().map_err(ChatError::internal)?)
                    .build(),
            );
        }
        for p in put {
            let mut item = posting_key(&p.key);
            item.insert("seq".into(), n(p.seq));
            if !p.terms.is_empty() {
                item.insert("terms".into(), AttributeValue::Ss(p.terms.clone()));
            }
            reqs.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(item)).build().map_err(ChatError::internal)?)
                    .build(),
            );
        }
        // One batch may not name an item twice: a put replaces a delete of the same key.
        let mut seen = HashSet::new();
        let mut unique: Vec<WriteRequest> = Vec::with_capacity(reqs.len());
        for r in reqs.into_iter().rev() {
            let key = r.put_request().map(|p| p.item().clone()).or_else(|| r.delete_request().map(|d| d.key().clone())).unwrap_or_default();
            let id = (key.get("roomTerm").and_then(|v| v.as_s().ok()).cloned(), key.get("id").and_then(|v| v.as_s().ok()).cloned());
            if seen.insert(id) {
                unique.push(r);
            }
        }
        unique.reverse();
        self.batch_write(&self.t.search, unique).await
    }

    async fn search_room(&self, room_id: &str, term: &str, also: &[String], before: Option<&str>, limit: usize) -> Result<Vec<Posting>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.t.search)
                .expression_attribute_values(":k", s(room_term(room_id, term)))
                .scan_index_forward(false)
                .limit(((limit - out.len()) * 2).clamp(10, 100) as i32)
                .set_exclusive_start_key(start.take());
            q = match before {
                Some(b) => q.key_condition_expression("roomTerm = :k AND id < :b").expression_attribute_values(":b", s(b)),
                None => q.key_condition_expression("roomTerm = :k"),
            };
            if !also.is_empty() {
                let conds: Vec<String> = (0..also.len()).map(|i| format!("contains(terms, :t{i})")).collect();
                q = q.filter_expression(conds.join(" AND "));
                for (i, t) in also.iter().enumerate() {
                    q = q.expression_attribute_values(format!(":t{i}"), s(t));
                }
            }
            // The index is written after the fact anyway: an eventually consistent read is enough.
            let resp = q.return_consumed_capacity(ReturnConsumedCapacity::Total).send().await.map_err(|e| err("Query", e))?;
            self.meter.add(false, resp.consumed_capacity().into_iter().cloned().collect::<Vec<_>>().as_slice());
            for i in resp.items.unwrap_or_default() {
                let id = i.get("id").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                out.push(Posting {
                    key: PostingKey { room_id: room_id.to_string(), term: term.to_string(), id },
                    seq: get_n(&i, "seq").unwrap_or(0),
                    terms: get_ss(&i, "terms"),
                });
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            match resp.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}
