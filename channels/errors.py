"""When something fails inside: every medium gets an answer in its own format, and the answer says only
what is true (issue 17).

A message the pipeline stored and then failed on is kept (``inbound_messages.status = 'failed'``), so
the citizen may be told it was recorded; a message that arrived while the database was down is kept in
the spool (``intake.spool``) and the citizen is told it will be handled when the system is back, with
the reply by SMS or WeChat where the medium carries one; any other failure (the spool could not keep it
either) must not say either. Twilio gets TwiML (an HTTP 500 would give the texter nothing, and the caller a
recorded error), WeChat ``success`` (it retries a failed push three times; a retry that finds the
database back gets the answer), the APIs JSON, and pages a short Chinese page.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from flask import Flask, Response, jsonify, request
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from channels.security import hotline
from channels.twiml import digits_aloud
from intake.conversations import NotProcessed
from intake.spool import Spooled
from routing.policy import Policy

log = logging.getLogger(__name__)

# what the citizen is told when a message could not be handled now; ``{emergency}`` names the pack's lines
KEPT = "您的消息已收到并记录，系统暂时没能处理，工作人员会尽快处理。{emergency}"
NOT_KEPT = "系统暂时出现故障，您的消息没有保存成功，请稍后再发送一次。{emergency}"
FAILED = "系统暂时出现故障，请稍后再试。"
# kept in the spool: handled once the database is back (the reply follows by SMS or WeChat when a
# sender is configured; the reply does not promise it)
SPOOLED = "系统暂时繁忙，您的消息已收到并保存，系统恢复后会自动处理。{emergency}"
SPOOLED_CHAT = "系统暂时繁忙，您的消息已收到并保存，系统恢复后会自动登记处理。{emergency}"
VOICE_DOWN = "系统暂时出现故障，请稍后再拨打。{emergency}"
EMERGENCY = "紧急情况请直接拨打{lines}。"


def apology(template: str, policy: Policy | None = None, *, aloud: bool = False) -> str:
    """``template`` with the emergency numbers of ``policy`` (default: the deployment's pack), never a
    fixed list: 001 第七条 names "110、120等", a utility line has no number to say.

    ``aloud`` writes them digit by digit for the phone's speech (一一九, not 一百一十九).
    """
    try:
        numbers = (policy or hotline().policy).emergency_numbers
    except Exception:  # the failure being answered may be the pack itself; say nothing wrong
        numbers = ()
    shown = "、".join(digits_aloud(n) if aloud else n for n in numbers)
    return template.format(emergency=EMERGENCY.format(lines=shown) if shown else "")


# what a person reads for each refusal; 403 says who can help
PAGE_TEXTS = {
    400: ("请求有误", "这个请求不完整或格式不对，无法处理。请返回上一页刷新后再试。"),
    403: ("没有权限", "您的账号没有权限访问这个页面。如需开通，请联系本单位的热线系统管理员或热线工作站。"),
    404: ("找不到页面", "您要访问的页面不存在，可能是地址有误或页面已经删除。"),
    405: ("不支持的访问方式", "这个地址不支持这种访问方式。请从页面上的按钮或链接进入。"),
    409: ("内容已被修改", "您提交时，这条记录已被其他人修改。请刷新页面，确认最新内容后再操作。"),
    413: ("内容过大", "提交的内容或文件过大，请精简或压缩后再提交。"),
    415: ("格式不支持", "提交的内容格式不受支持。"),
    429: ("操作过于频繁", "您的操作过于频繁，请稍等几分钟后再试。"),
}
STAFF_PREFIXES = ("/office", "/editor", "/unit")


def install(app: Flask) -> None:
    app.register_error_handler(500, server_error)
    app.register_error_handler(HTTPException, http_error)


def http_error(exc: HTTPException) -> Any:
    """A refusal in the asker's terms: JSON for the APIs, plain text for the platforms, else a page."""
    status = exc.code or 500
    if status >= 500:
        return server_error(exc)
    title, text = PAGE_TEXTS.get(status, ("无法完成", "无法完成这个请求。"))
    path = request.path
    if path.startswith("/api/") or request.is_json:
        response = jsonify(error=text)
        response.status_code = status
    elif path.startswith(("/sms", "/voice", "/wechat")):
        response = Response(text, status=status, mimetype="text/plain")
    else:
        staff = path.startswith(STAFF_PREFIXES)
        back = (
            '<a href="/office">返回工作台</a> · <a href="/office/login">重新登录</a>'
            if staff
            else ('<a href="/">返回首页</a> · <a href="/kb">查找常见问题</a>')
        )
        page = (
            '<!doctype html><html lang="zh-CN"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="icon" href="data:,"><title>{escape(title)}</title>'
            f"<h1>{escape(title)}</h1><p>{escape(text)}</p><p>{back}</p>"
        )
        response = Response(page, status=status, mimetype="text/html")
    for header, value in exc.get_headers():  # Allow for 405, Retry-After for 429
        if header.lower() in ("allow", "retry-after"):
            response.headers[header] = value
    return response


def server_error(exc: Any) -> Any:
    original = getattr(exc, "original_exception", None) or exc
    kept = isinstance(original, NotProcessed)
    spooled = isinstance(original, Spooled)
    path = request.path
    if path.startswith("/sms"):
        reply = MessagingResponse()
        reply.message(apology(SPOOLED if spooled else KEPT if kept else NOT_KEPT))
        return Response(str(reply), status=200, mimetype="text/xml")
    if path.startswith("/voice"):
        reply = VoiceResponse()
        reply.say(
            ("您说的内容已记录，系统恢复后会自动处理。" if spooled else "")
            + ("您的来电已记录，" if kept else "")
            + apology(VOICE_DOWN, aloud=True),
            language="zh-CN",
        )
        reply.hangup()
        return Response(str(reply), status=200, mimetype="text/xml")
    if path.startswith("/wechat"):
        return Response("success", status=200, mimetype="text/plain")
    if path == "/api/v1/messages" and spooled:
        # 503: try again later; the same message_id then gets the reply the replay stored
        return jsonify(error=apology(SPOOLED_CHAT), kept=True, message_id=_spooled_id(original)), 503
    if path == "/api/v1/messages":
        return jsonify(error=apology(KEPT if kept else NOT_KEPT)), 500

    if path.startswith("/api/") or request.is_json:
        return jsonify(error=FAILED), 500
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><link rel="icon" href="data:,">'
        f'<title>出错了</title><p>{FAILED}</p><p><a href="/">返回首页</a></p>'
    )
    return Response(page, status=500, mimetype="text/html")


def _spooled_id(error: Spooled) -> str:
    """The id a client sends again to get the stored reply: its own, else the spool's."""
    sent = (request.get_json(silent=True) or {}).get("message_id") if request.is_json else None
    return sent if isinstance(sent, str) and sent else f"spool:{error.ref}"
