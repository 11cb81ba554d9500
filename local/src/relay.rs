//! What the local relays share: passing HTTP/1.1 requests on to a local AWS service over a few
//! kept-alive connections ([`Upstream`]). The relays stand in front of the emulators where AWS
//! behaves in a way the emulator does not: [`crate::ddb_relay`] injects DynamoDB's failures,
//! [`crate::s3_relay`] enforces presigned URLs as S3 does.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use std::sync::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Headers that belong to one hop, not to the request.
fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "proxy-connection"
            | "proxy-authorization"
            | "content-length"
    )
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    reusable: bool,
}

/// An HTTP/1.1 service the relays pass requests on to, over a few kept-alive connections.
pub struct Upstream {
    /// What it is, for error messages ("DynamoDB", "S3").
    name: &'static str,
    /// `host:port`
    host: String,
    idle: Mutex<Vec<BufReader<TcpStream>>>,
}

/// A relay serving on a free local port; stops when dropped.
pub struct Served {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Served {
    /// Serves `app` on a free port of 127.0.0.1.
    pub async fn start(what: &str, app: axum::Router) -> Result<Served, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("{what} relay: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Served { addr, task })
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Idle upstream connections kept at most.
const MAX_IDLE: usize = 32;

impl Upstream {
    /// `endpoint`: `http://host:port`.
    pub fn new(name: &'static str, endpoint: &str) -> Result<Upstream, String> {
        let host = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| format!("the {name} relay needs an http:// endpoint, not {endpoint}"))?
            .trim_end_matches('/')
            .to_string();
        Ok(Upstream { name, host, idle: Mutex::new(Vec::new()) })
    }

    /// Sends the request on (its headers as they are, but one hop's) and answers what came back.
    pub async fn forward(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<Response, String> {
        let mut head = format!("{method} {} HTTP/1.1\r\n", uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
        for (name, value) in headers {
            if !hop_by_hop(name.as_str()) {
                head.push_str(name.as_str());
                head.push_str(": ");
                head.push_str(&String::from_utf8_lossy(value.as_bytes()));
                head.push_str("\r\n");
            }
        }
        if !headers.contains_key("host") {
            head.push_str(&format!("host: {}\r\n", self.host));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut request = head.into_bytes();
        request.extend_from_slice(body);

        // A kept-alive connection may have been closed by the server meanwhile: a request that got
        // not a byte back on one is sent again on a new connection.
        let pooled = self.idle.lock().unwrap().pop();
        let answer = match pooled {
            Some(conn) => match exchange(conn, &request, self.name, *method == Method::HEAD).await {
                Ok(a) => Some(a),
                Err(Exchange::Untouched(_)) => None,
                Err(Exchange::Failed(e)) => return Err(e),
            },
            None => None,
        };
        let (up, conn) = match answer {
            Some(a) => a,
            None => {
                let s = TcpStream::connect(&self.host).await.map_err(|e| format!("cannot reach {} at {}: {e}", self.name, self.host))?;
                let _ = s.set_nodelay(true);
                exchange(BufReader::new(s), &request, self.name, *method == Method::HEAD).await.map_err(|e| match e {
                    Exchange::Untouched(e) | Exchange::Failed(e) => e,
                })?
            }
        };
        if up.reusable {
            let mut idle = self.idle.lock().unwrap();
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        // No header but the upstream's (a Vec body would add its own content type).
        let mut resp = Response::new(axum::body::Body::from(up.body));
        *resp.status_mut() = StatusCode::from_u16(up.status).unwrap_or(StatusCode::BAD_GATEWAY);
        for (k, v) in up.headers {
            // A HEAD answer keeps its length: it is the object's size (HeadObject reads it).
            if hop_by_hop(&k) && !(k == "content-length" && *method == Method::HEAD) {
                continue;
            }
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
                if name == axum::http::header::CONTENT_LENGTH {
                    resp.headers_mut().insert(name, value);
                } else {
                    resp.headers_mut().append(name, value);
                }
            }
        }
        Ok(resp)
    }
}

enum Exchange {
    /// Nothing came back: the request may be sent again elsewhere.
    Untouched(String),
    Failed(String),
}

/// Sends one request and reads its response (Content-Length, chunked, or up to the end).
/// A response to HEAD has no body, whatever its length says.
async fn exchange(
    mut conn: BufReader<TcpStream>,
    request: &[u8],
    name: &str,
    head: bool,
) -> Result<(Answer, BufReader<TcpStream>), Exchange> {
    conn.get_mut().write_all(request).await.map_err(|e| Exchange::Untouched(format!("write to {name}: {e}")))?;
    let mut line = String::new();
    match conn.read_line(&mut line).await {
        Ok(0) => return Err(Exchange::Untouched(format!("{name} closed the connection"))),
        Ok(_) => {}
        Err(e) => return Err(Exchange::Untouched(format!("read from {name}: {e}"))),
    }
    let failed = |e: std::io::Error| Exchange::Failed(format!("read from {name}: {e}"));
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Exchange::Failed(format!("not an HTTP status line: {line:?}")))?;
    let http10 = line.starts_with("HTTP/1.0");
    let mut headers = Vec::new();
    loop {
        line.clear();
        if conn.read_line(&mut line).await.map_err(failed)? == 0 {
            return Err(Exchange::Failed(format!("{name} closed the connection mid-response")));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.to_ascii_lowercase());
    let mut reusable = !http10 && header("connection").is_none_or(|c| !c.contains("close"));
    let mut body = Vec::new();
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        // No body.
    } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            line.clear();
            conn.read_line(&mut line).await.map_err(failed)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| Exchange::Failed(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    line.clear();
                    if conn.read_line(&mut line).await.map_err(failed)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..]).await.map_err(failed)?;
            line.clear();
            conn.read_line(&mut line).await.map_err(failed)?;
        }
    } else if let Some(n) = header("content-length").and_then(|n| n.parse::<usize>().ok()) {
        body.resize(n, 0);
        conn.read_exact(&mut body).await.map_err(failed)?;
    } else if status >= 200 && status != 204 && status != 304 {
        conn.read_to_end(&mut body).await.map_err(failed)?;
        reusable = false;
    }
    Ok((Answer { status, headers, body, reusable }, conn))
}
