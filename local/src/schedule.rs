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
        region: &str,
        account: &str,
        log: LogSink,
    ) -> Schedules {
        let mut tasks = Vec::new();
        for s in sources {
            let Some(pool) = pools.get(&s.function).cloned() else { continue };
            let (s, log, region, account) = (s.clone(), log.clone(), region.to_string(), account.to_string());
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
                    let (result, report) = pool.invoke(event.to_string().into()).await;
                    let outcome = match &result {
                        Ok(_) => "ok".to_string(),
                        Err(e) => format!("error: {e}"),
                    };
                    log.gateway(&format!(
                        "schedule {} -> {} duration={:.1}ms {outcome}",
                        s.expression,
                        s.function,
                        report.duration.as_secs_f64() * 1000.0
                    ));
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
