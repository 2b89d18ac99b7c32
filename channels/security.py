"""What every channel checks before it believes a request: who signed it, how big it is, how often.

- Twilio signs the public URL it called plus the POST parameters (HMAC-SHA1 with the auth token).
  Behind a proxy Flask sees an internal URL, so ``public_url`` rebuilds the one Twilio used: from
  ``HOTLINE_PUBLIC_URL`` when set, else from the request, whose forwarded headers ``ProxyFix``
  believes only when ``HOTLINE_TRUST_PROXY`` says how many proxies stand in front. The query string
  is taken raw: Werkzeug's ``request.url`` decodes it and breaks the signature.
- XML from outside is parsed with defusedxml first: no DTD, so no external entities and no
  entity-expansion bombs, whatever the XML library behind wechatpy would do.
- Each sender has a rate limit per channel, counted with the ``limits`` library in Redis when
  ``HOTLINE_REDIS_URL`` is set (all workers share the count), in memory otherwise (one process).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from flask import Flask, Response, abort, current_app, jsonify, request
from limits import parse_many
from limits.strategies import MovingWindowRateLimiter
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix

from intake.core.config import Settings
from intake.core.inputs import BadInput, NotJson, check_text, parse_json
from intake.core.privacy import mask_phone
from intake.core.ratelimits import limit_storage
from intake.hotline import Hotline

log = logging.getLogger(__name__)


class UnsafeXml(ValueError):
    """The body is not XML we are willing to read (malformed, or with a DTD or entities)."""


def hotline() -> Hotline:
    return current_app.extensions["hotline"]


def install(app: Flask, settings: Settings) -> None:
    """Trust forwarded headers only as configured, and set up the per-sender rate limit."""
    if settings.trust_proxy:
        n = settings.trust_proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)  # type: ignore[method-assign]
    app.extensions["sender_limit"] = SenderLimit(settings)
    app.before_request(check_body)
    app.register_error_handler(BadInput, refuse_input)
    app.after_request(page_headers)


# Every page a blueprint does not give its own policy (the public /kb look-up, the survey page, error
# pages): no script at all, styles from us or inline, nothing framed, forms only to us.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def page_headers(response: Response) -> Response:
    """A Content-Security-Policy on every HTML page that has none yet, and no MIME sniffing."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


# Signed platform webhooks keep their own rules: Twilio's and WeChat's bodies are checked by their
# adapters (a refusal there would lose a citizen's message; form fields cannot carry lone surrogates).
PLATFORM_PATHS = ("/voice", "/sms", "/wechat")


def check_body() -> None:
    """Refuse, before any view runs, a JSON body, form or query that ``intake.core.inputs`` refuses:
    ``BadInput``, answered 400 by ``refuse_input`` (or by a blueprint's own handler, in its API's
    format), nothing stored. Uploads (multipart) are left to their importers, which set their own size
    limit and check every record."""
    if request.path.startswith(PLATFORM_PATHS):
        return
    for key, value in request.args.items(multi=True):
        check_text(value, key)
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.is_json and request.content_length != 0:
        with contextlib.suppress(NotJson):  # the view refuses it in its own words
            parse_json(request.get_data(cache=True))
    elif request.mimetype == "application/x-www-form-urlencoded":
        # read and keep the raw body first: the view may still want it (an API that answers 415 for a
        # form), and parsing the form alone would use the stream up
        request.get_data(cache=True, parse_form_data=False)
        for key, value in request.form.items(multi=True):
            check_text(value, key)


def refuse_input(exc: BadInput) -> Any:
    if request.path.startswith("/api/") or request.is_json:
        return jsonify(error=str(exc)), 400
    return Response(str(exc), status=400, mimetype="text/plain")


def public_url() -> str:
    """The URL the platform called, as it signed it."""
    base = hotline().settings.public_url
    if base:
        url = base + request.path
    else:
        url = f"{request.scheme}://{request.host}{request.root_path}{request.path}"
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def twilio_signature_ok() -> bool:
    """Check ``X-Twilio-Signature`` with twilio's own ``RequestValidator``."""
    token = hotline().settings.twilio_auth_token
    if not token:
        log.error("a Twilio webhook arrived but TWILIO_AUTH_TOKEN is not set: refused")
        return False
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(signature) and RequestValidator(token).validate(public_url(), request.form, signature)


def twilio_signed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse with 403 (storing nothing) a request Twilio did not sign."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not twilio_signature_ok():
            log.warning("forged or unsigned Twilio request to %s refused", request.path)
            abort(403)
        return view(*args, **kwargs)

    return checked


def parse_xml(body: bytes) -> SafeET.Element:
    """Parse untrusted XML, refusing DTDs and entities outright."""
    try:
        return SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise UnsafeXml(str(exc)) from exc


class SenderLimit:
    """At most ``HOTLINE_RATE_LIMIT`` messages per sender and channel, shared by all workers via Redis."""

    def __init__(self, settings: Settings) -> None:
        self.storage = limit_storage(settings.redis_url)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.limits = parse_many(settings.rate_limit)
        # Redis keys of one test or deployment do not collide with another's
        self.namespace = str(settings.instance_path)

    def allow(self, channel: str, sender: str) -> bool:
        """Count one message from ``sender``; ``False`` once the limit is passed."""
        allowed = all(self.strategy.hit(limit, self.namespace, channel, sender) for limit in self.limits)
        if not allowed:
            log.warning("rate limit: %s sender %s refused", channel, mask_phone(sender))
        return allowed


def sender_allowed(channel: str, sender: str) -> bool:
    return current_app.extensions["sender_limit"].allow(channel, sender)
