//! `typing`: to the other members only, never stored; `isTyping: true` at most once per user per
//! room per 2 s (a stop always goes through). Clients repeat `true` every
//! [`crate::protocol::TYPING_REPEAT_MS`] and expire an indicator [`crate::protocol::TYPING_EXPIRY_MS`]
//! after its last `true`.

use super::{check_id, check_ref};
use crate::app::{App, Caller};
use crate::error::{ChatError, Result};
use crate::model::TypingOutcome;
use crate::protocol::{ServerFrame, Typing, TYPING_INTERVAL_MS};

pub async fn apply(app: &App, caller: &Caller, f: Typing) -> Result<()> {
    check_ref(&f.reference)?;
    check_id("roomId", &f.room_id)?;
    match app.store.typing(&f.room_id, &caller.user_id, f.is_typing, app.now(), TYPING_INTERVAL_MS).await? {
        TypingOutcome::NotMember => {
            Err(app.member_checked(&f.room_id, &caller.user_id).await.err().unwrap_or(ChatError::NotMember(f.room_id)))
        }
        TypingOutcome::Throttled => Ok(()),
        TypingOutcome::Broadcast => {
            let frame = ServerFrame::Typing {
                room_id: f.room_id.clone(),
                user_id: caller.user_id.clone(),
                name: caller.name.clone(),
                is_typing: f.is_typing,
            };
            app.fanout_room(&f.room_id, &frame, None, Some(&caller.user_id)).await;
            Ok(())
        }
    }
}
