"""The JSON API: triage (decide only), messages (the full pipeline) and the health check.

It is the web chat's channel adapter as much as an API: it checks the request, turns it into one
``Message``, calls the pipeline and renders the ``Outcome`` as JSON. No rule lives here.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from channels.security import hotline, sender_allowed
from intake.conversations import InProgress
from intake.core.messages import Message
from intake.core.privacy import client_network
from intake.status import not_found_reply

bp = Blueprint("api", __name__)

MAX_FIELD = 10_000  # characters of text accepted in one message; longer bodies are refused whole
API_CHANNELS = {"web", "api"}


def _error(status: int, message: str, **extra: Any):
    response = jsonify({"error": message, **extra})
    response.status_code = status
    return response


def _json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise _BadRequest('请求体必须是 JSON 对象，例如 {"text": "社保卡丢了怎么办"}')
    return data


class _BadRequest(Exception):
    pass


def _text(data: dict[str, Any]) -> str:
    text = data.get("text")
    if not isinstance(text, str):
        raise _BadRequest("缺少 text 字段（字符串）")
    if len(text) > MAX_FIELD:
        raise _BadRequest(f"text 过长：最多 {MAX_FIELD} 个字符")
    return text


@bp.errorhandler(_BadRequest)
def _bad_request(exc: _BadRequest):
    return _error(400, str(exc))


@bp.post("/api/v1/triage")
def triage():
    """Decide what the hotline would do with a text; stores nothing."""
    text = _text(_json_body())
    return jsonify(hotline().decide(text).to_dict())


@bp.post("/api/v1/messages")
def messages():
    """Run a message through the full pipeline, with conversation state and side effects."""
    data = _json_body()
    text = _text(data)
    channel = data.get("channel", "web")
    if not isinstance(channel, str) or channel not in API_CHANNELS:
        raise _BadRequest(f"channel 只能是 {', '.join(sorted(API_CHANNELS))}；电话、短信和微信有各自的接口")
    sender = data.get("sender")
    if sender is not None and (not isinstance(sender, str) or not sender.strip() or len(sender) > 128):
        raise _BadRequest("sender 必须是 1 到 128 个字符的字符串")
    message_id = data.get("message_id")
    if message_id is not None and (not isinstance(message_id, str) or len(message_id) > 128):
        raise _BadRequest("message_id 必须是不超过 128 个字符的字符串")
    sender = sender or f"anon-{uuid.uuid4().hex[:12]}"
    # the sender id is the client's own choice, so its address is counted too (issue 17)
    network = client_network(request.remote_addr)
    if not sender_allowed(channel, sender) or (network and not sender_allowed(f"{channel}-address", network)):
        return _error(429, "发送太频繁，请稍后再试。紧急情况请直接拨打110、119、120。")
    message = Message(
        channel=channel,
        sender=sender,
        text=text,
        channel_msg_id=message_id,
        meta={"address": network} if network else {},
    )
    outcome = hotline().handle(message)
    body = outcome.to_dict()
    body["sender"] = message.sender
    return jsonify(body)


@bp.get("/api/v1/tickets/<number>")
def ticket_status(number: str):
    """Status look-up: the ticket number plus proof (``check``: last four digits of the phone, or the
    ``sender`` id of the web chat that registered it). Wrong proof reads exactly like an unknown number."""
    check = request.args.get("check", "").strip() or None
    sender = request.args.get("sender", "").strip() or None
    if check is not None and not (len(check) == 4 and check.isdigit()):
        raise _BadRequest("check 应为登记电话号码的后四位数字")
    found = None
    if len(number) <= 20 and number.isdigit():
        found = hotline().ticket_status(
            number,
            check=check,
            channel="web" if sender else None,
            sender=sender,
            address=client_network(request.remote_addr),
        )
    if found is None:
        return _error(404, not_found_reply(number[:20]))
    return jsonify(found.to_dict())


@bp.get("/healthz")
def healthz():
    """Database status, knowledge-entry count and the active policy."""
    report = hotline().health()
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    return response


@bp.errorhandler(InProgress)
def _in_progress(exc: InProgress):
    return _error(409, "这条消息正在处理中，请稍候再查看回复。")


@bp.app_errorhandler(413)
def _too_large(exc: HTTPException):
    return _error(413, "请求内容过大，请精简后再提交。")
