//! `operator.status`: an operator sets themselves online or away (kept across reloads and
//! devices), or asks which they are. Away operators finish their open sessions but are not
//! assigned new ones, not transferred to, and not counted online (the widget's "team is away",
//! the "visitor waiting" alert).

use super::check_ref;
use super::support::require_operator;
use crate::app::{App, Caller};
use crate::error::Result;
use crate::protocol::{Availability, OperatorStatus, ServerFrame};

pub async fn status(app: &App, caller: &Caller, f: OperatorStatus) -> Result<()> {
    check_ref(&f.reference)?;
    require_operator(caller, "set an availability")?;
    let status = match f.status {
        Some(s) => {
            crate::support::set_away(app, &caller.user_id, s == Availability::Away).await?;
            // The operator's other consoles follow.
            app.fanout_users(
                [caller.user_id.as_str()],
                &ServerFrame::OperatorStatus { reference: None, status: s },
                Some(&caller.connection_id),
            )
            .await;
            s
        }
        None => {
            let away = app.store.away_operators(std::slice::from_ref(&caller.user_id)).await?.contains(&caller.user_id);
            if away {
                Availability::Away
            } else {
                Availability::Online
            }
        }
    };
    app.reply(caller, &ServerFrame::OperatorStatus { reference: f.reference, status }).await;
    Ok(())
}
