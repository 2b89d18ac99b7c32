"""Local stand-ins for the platforms' REST APIs (Twilio, WeChat), served over real HTTP.

The real client libraries (twilio's ``Client``, wechatpy's ``WeChatClient``) are pointed at these
with ``TWILIO_API_BASE_URL`` / ``WECHAT_API_BASE_URL``, so a test exercises the same requests the
production code sends, and nothing ever reaches the real services. Each fake records what it got
and can be told to fail the next N requests.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode())


Responder = Callable[[Recorded], tuple[int, dict[str, Any]]]


@dataclass
class FakeServer:
    """An HTTP server on 127.0.0.1 answering by route; ``fail_next`` makes the next requests fail."""

    routes: dict[tuple[str, str], Responder]
    requests: list[Recorded] = field(default_factory=list)
    fail_next: int = 0
    failure: tuple[int, dict[str, Any]] = (500, {"message": "temporary failure"})

    def __post_init__(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                rec = Recorded(self.command, parts.path, parse_qs(parts.query), body, dict(self.headers))
                fake.requests.append(rec)
                status, payload = fake._answer(rec)
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _answer(self, rec: Recorded) -> tuple[int, dict[str, Any]]:
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.failure
        for (method, prefix), responder in self.routes.items():
            if rec.method == method and rec.path.startswith(prefix):
                return responder(rec)
        return 404, {"message": f"no route for {rec.method} {rec.path}"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sent(self, path_part: str) -> list[Recorded]:
        return [r for r in self.requests if path_part in r.path]


def fake_twilio() -> FakeServer:
    """Twilio's REST API: Messages.json and Calls.json under /2010-04-01/Accounts/{sid}/."""

    def message(rec: Recorded) -> tuple[int, dict[str, Any]]:
        form = rec.form
        sid = "SM" + uuid.uuid4().hex
        return 201, {"sid": sid, "to": form.get("To"), "from": form.get("From"), "body": form.get("Body"),
                     "status": "queued", "num_segments": "1"}  # fmt: skip

    def call(rec: Recorded) -> tuple[int, dict[str, Any]]:
        form = rec.form
        return 201, {"sid": "CA" + uuid.uuid4().hex, "to": form.get("To"), "from": form.get("From"),
                     "status": "queued"}  # fmt: skip

    def route(rec: Recorded) -> tuple[int, dict[str, Any]]:
        if rec.path.endswith("/Messages.json"):
            return message(rec)
        if rec.path.endswith("/Calls.json"):
            return call(rec)
        return 404, {"code": 20404, "message": "not found", "status": 404}

    return FakeServer({("POST", "/2010-04-01/Accounts/"): route})


def fake_wechat() -> FakeServer:
    """WeChat's API: the access-token endpoint and customer-service messages."""
    return FakeServer(
        {
            ("GET", "/cgi-bin/token"): lambda rec: (200, {"access_token": "TOKEN", "expires_in": 7200}),
            ("POST", "/cgi-bin/message/custom/send"): lambda rec: (200, {"errcode": 0, "errmsg": "ok"}),
        }
    )
