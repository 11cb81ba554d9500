//! The team's operators, as far as the server has seen them (a versioned document, `DeskStore`
//! `doc#operators`, added to on an operator's first `$connect`): who to tell of a new waiting
//! visitor when they have no console open — a Web Push through the usual push path, to each
//! operator who is neither connected nor away.

use crate::app::App;
use crate::protocol::{MessageKind, RoomType, SupportSession};
use crate::push::{PushBatch, PushPayload};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

pub const DOC: &str = "operators";
/// Operators the roster keeps at most (the oldest leave first).
pub const MAX_OPERATORS: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operator {
    pub user_id: String,
}

async fn read(app: &App) -> crate::error::Result<(Vec<Operator>, u64)> {
    Ok(match app.store.get_doc(DOC).await? {
        Some(d) => (serde_json::from_str(&d.body).unwrap_or_default(), d.version),
        None => (Vec::new(), 0),
    })
}

/// An operator connected: on the roster from now on (one read; a write the first time).
pub async fn note(app: &App, user_id: &str) {
    for _ in 0..3 {
        let (mut ops, version) = match read(app).await {
            Ok(r) => r,
            Err(e) => return tracing::warn!(user_id, error = %e, "cannot read the operators' roster"),
        };
        if ops.iter().any(|o| o.user_id == user_id) {
            return;
        }
        ops.push(Operator { user_id: user_id.to_string() });
        if ops.len() > MAX_OPERATORS {
            ops.remove(0);
        }
        let body = serde_json::to_string(&ops).expect("serializes");
        match app.store.put_doc(DOC, &body, version, app.now()).await {
            Ok(true) => return,
            Ok(false) => continue,
            Err(e) => return tracing::warn!(user_id, error = %e, "cannot add to the operators' roster"),
        }
    }
}

/// A new session waits: a push to every operator on the roster with no console open (in no
/// operators' channel) who did not set themselves away.
pub async fn push_waiting(app: &App, session: &SupportSession) {
    let Some(publisher) = app.push.as_ref() else { return };
    let roster = match read(app).await {
        Ok((ops, _)) => ops.into_iter().map(|o| o.user_id).collect::<Vec<_>>(),
        Err(e) => return tracing::warn!(error = %e, "cannot read the operators' roster"),
    };
    if roster.is_empty() {
        return;
    }
    let mut present = BTreeSet::new();
    for channel in [super::OPS_CHANNEL, super::AWAY_CHANNEL] {
        match app.store.room_connections(channel).await {
            Ok(c) => present.extend(c.into_iter().map(|c| c.user_id)),
            Err(e) => return tracing::warn!(error = %e, "cannot read the operators' channels"),
        }
    }
    let absent: Vec<String> = roster.into_iter().filter(|o| !present.contains(o)).collect();
    let away = app.store.away_operators(&absent).await.unwrap_or_default();
    let due: Vec<String> = absent.into_iter().filter(|o| !away.contains(o)).collect();
    if due.is_empty() {
        return;
    }
    let name = session.visitor.name.clone().unwrap_or_else(|| "A visitor".into());
    let payload = PushPayload {
        room_id: session.session_id.clone(),
        room_title: format!("{name} is waiting"),
        room_type: RoomType::Support,
        sender_id: session.visitor.user_id.clone(),
        sender_name: name,
        preview: session.first_message.clone().unwrap_or_default(),
        kind: MessageKind::Text,
        seq: 0,
        created_at: session.created_at,
    };
    for chunk in due.chunks(crate::push::MAX_USERS_PER_PUBLISH) {
        if let Err(e) = publisher.publish(PushBatch { user_ids: chunk.to_vec(), payload: payload.clone() }).await {
            tracing::warn!(error = %e, "cannot push the waiting visitor to the operators");
        }
    }
}
