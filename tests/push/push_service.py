#!/usr/bin/env python3
"""A local stand-in for a browser's push service (RFC 8030), for the Web Push tests.

It plays both sides a browser relies on:

- the browser: `POST /new` creates a subscription as `PushManager.subscribe()` would (a P-256
  key pair and a 16-byte auth secret) and answers its `PushSubscription.toJSON()`:
  `{"endpoint": "http://127.0.0.1:PORT/push/<id>", "expirationTime": null, "keys": {"p256dh", "auth"}}`;
- the push service: `POST /push/<id>` checks the VAPID authorization (RFC 8292: `vapid t=<JWT>,
  k=<key>`, the JWT signed ES256 by k, `aud` = this endpoint's origin, `exp` in the future and
  within 24 h, `sub` a mailto: or https: URL), decrypts the `aes128gcm` body (RFC 8291) with the
  subscription's private key and auth secret, keeps the JSON payload and answers 201 — or 410
  for a subscription marked dead with `POST /kill/<id>`, 401/400 for a bad request.

`GET /received/<id>` answers `{"payloads": [...], "attempts": N, "rejected": [reasons]}`.

Uses `http_ece` (decryption) and `py_vapid` (JWT verification), so the test proves the bytes a
browser would get. Prints `listening <port>` on stdout once it accepts requests.

    push_service.py [--port 0]
"""

import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import _check_sub
from py_vapid.jwt import decode as vapid_decode


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.subs = {}  # id -> {key, auth, dead, payloads, attempts, rejected}
        self.next_id = 0


STATE = State()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test prints what it needs
        if os.environ.get("PUSH_SERVICE_VERBOSE"):
            sys.stderr.write("push_service: " + (fmt % args) + "\n")

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def origin(self):
        return "http://%s" % self.headers.get("Host")

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "received":
            with STATE.lock:
                s = STATE.subs.get(parts[1])
                if s is None:
                    return self.reply(404, {"error": "no such subscription"})
                return self.reply(200, {"payloads": list(s["payloads"]), "attempts": s["attempts"], "rejected": list(s["rejected"])})
        if self.path == "/health":
            return self.reply(200, {"ok": True})
        self.reply(404, {"error": "not found"})

    def do_POST(self):
        body = self.body()
        parts = self.path.strip("/").split("/")
        if parts == ["new"]:
            key = ec.generate_private_key(ec.SECP256R1())
            public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            auth = os.urandom(16)
            with STATE.lock:
                STATE.next_id += 1
                sid = "s%d-%s" % (STATE.next_id, b64u(os.urandom(6)))
                STATE.subs[sid] = {"key": key, "auth": auth, "dead": False, "payloads": [], "attempts": 0, "rejected": []}
            return self.reply(201, {"endpoint": "%s/push/%s" % (self.origin(), sid), "expirationTime": None, "keys": {"p256dh": b64u(public), "auth": b64u(auth)}})
        if len(parts) == 2 and parts[0] == "kill":
            with STATE.lock:
                s = STATE.subs.get(parts[1])
                if s is None:
                    return self.reply(404, {"error": "no such subscription"})
                s["dead"] = True
            return self.reply(204)
        if len(parts) == 2 and parts[0] == "push":
            return self.push(parts[1], body)
        self.reply(404, {"error": "not found"})

    def push(self, sid, body):
        with STATE.lock:
            s = STATE.subs.get(sid)
            if s is None:
                return self.reply(404, {"error": "no such subscription"})
            s["attempts"] += 1
            dead = s["dead"]
        if dead:
            return self.reply(410, {"error": "the subscription expired or was unsubscribed"})
        try:
            self.check_vapid("%s/push/%s" % (self.origin(), sid))
            if self.headers.get("Content-Encoding", "").lower() != "aes128gcm":
                raise ValueError("Content-Encoding is not aes128gcm")
            ttl = self.headers.get("TTL")
            if ttl is None or not ttl.isdigit():
                raise ValueError("no TTL header")
            clear = http_ece.decrypt(body, private_key=s["key"], auth_secret=s["auth"], version="aes128gcm")
            payload = json.loads(clear.decode("utf-8"))
        except Exception as e:  # every failure is reported back to the test
            with STATE.lock:
                s["rejected"].append("%s: %s" % (type(e).__name__, e))
            return self.reply(401 if isinstance(e, PermissionError) else 400, {"error": str(e)})
        with STATE.lock:
            s["payloads"].append({"payload": payload, "topic": self.headers.get("Topic"), "urgency": self.headers.get("Urgency"), "ttl": int(ttl)})
        self.send_response(201)
        self.send_header("Location", "%s/message/%d" % (self.origin(), s["attempts"]))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def check_vapid(self, endpoint):
        auth = self.headers.get("Authorization", "")
        scheme, _, rest = auth.partition(" ")
        if scheme.lower() != "vapid":
            raise PermissionError("Authorization is not 'vapid t=..., k=...'")
        fields = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        token, key = fields.get("t"), fields.get("k")
        if not token or not key:
            raise PermissionError("vapid authorization without t or k")
        header = json.loads(unb64u(token.split(".")[0]))
        if header.get("alg") != "ES256":
            raise PermissionError("the VAPID JWT is not ES256")
        claims = vapid_decode(token, key)  # raises InvalidSignature
        origin = endpoint.split("/push/")[0]
        if claims.get("aud") != origin:
            raise PermissionError("aud %r is not the endpoint's origin %r" % (claims.get("aud"), origin))
        now = time.time()
        exp = claims.get("exp", 0)
        if not (now < exp <= now + 24 * 3600 + 60):
            raise PermissionError("exp %r is not within the next 24 hours" % exp)
        if not _check_sub(claims.get("sub", "")):
            raise PermissionError("sub %r is not a mailto: or https: URL" % claims.get("sub"))


def main():
    port = 0
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--port":
        port = int(args[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("listening %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
