//! `GET /search?q&roomId&cursor&limit`: full-text search over the caller's rooms.

use super::{ok, Api, HttpResponse, Query};
use crate::app::Actor;
use crate::error::ChatError;
use crate::protocol::Message;
use crate::search::{self, SearchQuery};
use lambda_http::Request;
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Hit {
    message: Message,
    /// The message around its first match ("…" where it was cut).
    snippet: String,
    /// `[start, end)` of each match in `snippet`, in UTF-16 code units.
    highlights: Vec<[usize; 2]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SearchBody {
    results: Vec<Hit>,
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

pub async fn get(api: &Api, actor: &Actor, req: &Request) -> Result<HttpResponse, ChatError> {
    let q = Query::of(req);
    let query =
        SearchQuery { q: q.str("q")?.unwrap_or_default(), room_id: q.str("roomId")?, cursor: q.str("cursor")?, limit: q.num("limit")? };
    let page = search::search(&api.app, actor, query).await?;
    let results = page
        .results
        .into_iter()
        .map(|h| Hit {
            message: h.message,
            snippet: h.snippet.text,
            highlights: h.snippet.highlights.into_iter().map(|(a, b)| [a, b]).collect(),
        })
        .collect();
    ok(&SearchBody { results, has_more: page.has_more, next_cursor: page.next_cursor })
}
