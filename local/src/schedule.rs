//! EventBridge schedules (SAM `Events: {Type: Schedule}`): every `rate(...)` period the
//! function's real binary is invoked with a "Scheduled Event", as EventBridge invokes it. One
//! invocation at a time per schedule (a slow run delays the next, as a rule's target would be
//! throttled); results are logged.

use crate::lambda::FunctionPool;
use crate::log::LogSink;
use crate::template::ScheduleSourceSpec;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub struct Schedules {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Schedules {
    pub fn start(
        sources: &[ScheduleSourceSpec],
        pools: &BTreeMap<String, Arc<FunctionPool>>,
        dead_letters: BTreeMap<String, crate::dead_letter::DeadLetterTarget>,
        region: &str,
        account: &str,
        log: LogSink,
    ) -> Schedules {
        let mut tasks = Vec::new();
        for s in sources {
            let Some(pool) = pools.get(&s.function).cloned() else { continue };
            let (s, log, region, account) = (s.clone(), log.clone(), region.to_string(), account.to_string());
            let dead_letter = dead_letters.get(&s.function).cloned();
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(s.period_secs));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await; // the first period starts now; EventBridge fires after it
                loop {
                    tick.tick().await;
                    let now = crate::util::now_ms();
                    let event = json!({
                        "version": "0",
                        "id": crate::util::hex(&crate::util::random_bytes::<16>()),
                        "detail-type": "Scheduled Event",
                        "source": "aws.events",
                        "account": account,
                        "time": crate::util::iso8601(now),
                        "region": region,
                        "resources": [format!("arn:aws:events:{region}:{account}:rule/{}", s.name)],
                        "detail": {}
                    });
                    // EventBridge invokes asynchronously: retried twice, then to the dead-letter queue.
                    let source = format!("schedule {} -> {}", s.expression, s.function);
                    crate::dead_letter::invoke_async(&pool, event.to_string().into(), dead_letter.as_ref(), &log, &source).await;
                }
            }));
        }
        Schedules { tasks }
    }
}

impl Drop for Schedules {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
