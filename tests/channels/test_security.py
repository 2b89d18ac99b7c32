"""Rebuilding the URL Twilio signed, behind proxies or not, and the per-sender rate limit."""

from __future__ import annotations

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator

from channels import security
from intake.core.config import Settings

TOKEN = "12345"


PUBLIC = "https://12345.example.gov.cn"


def app_with(tmp_path, **env: str) -> Flask:
    base = {"HOTLINE_INSTANCE_PATH": str(tmp_path), "TWILIO_AUTH_TOKEN": TOKEN, "HOTLINE_PUBLIC_URL": PUBLIC}
    settings = Settings.from_env(base | env)

    class Stub:  # only what security reads
        pass

    hotline = Stub()
    hotline.settings = settings
    app = Flask(__name__)
    app.extensions["hotline"] = hotline
    security.install(app, settings)

    @app.post("/sms/incoming")
    @security.twilio_signed
    def incoming():
        return security.public_url()

    return app


def signed(url: str, params: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, params)}


PARAMS = {"From": "+8613912345678", "Body": "路灯坏了"}


def test_a_request_signed_for_the_public_url_passes(tmp_path):
    client = app_with(tmp_path).test_client()
    url = f"{PUBLIC}/sms/incoming?a=%E4%B8%AD"
    response = client.post("/sms/incoming?a=%E4%B8%AD", data=PARAMS, headers=signed(url, PARAMS))
    assert response.status_code == 200 and response.text == url  # the raw query, not decoded


def test_a_forged_signature_is_refused(tmp_path):
    client = app_with(tmp_path).test_client()
    headers = signed(f"{PUBLIC}/sms/incoming", {**PARAMS, "Body": "别的内容"})
    assert client.post("/sms/incoming", data=PARAMS, headers=headers).status_code == 403
    assert client.post("/sms/incoming", data=PARAMS).status_code == 403


@pytest.mark.parametrize("trust", ["0", "1"])
def test_the_host_a_client_claims_is_never_what_the_signature_is_checked_against(tmp_path, trust):
    # a signature made for an address the client names (Host, X-Forwarded-*) proves nothing
    client = app_with(tmp_path, HOTLINE_TRUST_PROXY=trust).test_client()
    url = "https://attacker.example/sms/incoming"
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "attacker.example"}
    headers = {**signed(url, PARAMS), **forwarded, "Host": "attacker.example"}
    assert client.post("/sms/incoming", data=PARAMS, headers=headers).status_code == 403
    good = {**signed(f"{PUBLIC}/sms/incoming", PARAMS), **forwarded, "Host": "attacker.example"}
    assert client.post("/sms/incoming", data=PARAMS, headers=good).status_code == 200


@pytest.mark.parametrize("credential", ["TWILIO_AUTH_TOKEN", "WECHAT_TOKEN", "WECHAT_APP_SECRET"])
def test_a_signing_credential_without_a_public_url_stops_start_up(tmp_path, credential):
    from intake.core.config import ConfigError

    with pytest.raises(ConfigError, match="HOTLINE_PUBLIC_URL: must be set when"):
        Settings.from_env({"HOTLINE_INSTANCE_PATH": str(tmp_path), credential: "x"})


def test_without_an_auth_token_every_twilio_request_is_refused(tmp_path):
    app = app_with(tmp_path, TWILIO_AUTH_TOKEN="")
    url = f"{PUBLIC}/sms/incoming"
    response = app.test_client().post("/sms/incoming", data=PARAMS, headers=signed(url, PARAMS))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Content>unclosed",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml>&b;</xml>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml>&e;</xml>',
    ],
    ids=["malformed", "entity-bomb", "external-entity"],
)
def test_unsafe_xml_is_refused(body):
    with pytest.raises(security.UnsafeXml):
        security.parse_xml(body)


def test_each_sender_has_its_own_rate_limit(tmp_path):
    settings = Settings.from_env({"HOTLINE_INSTANCE_PATH": str(tmp_path), "HOTLINE_RATE_LIMIT": "3/minute"})
    limit = security.SenderLimit(settings)
    assert [limit.allow("sms", "+8613900000001") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("sms", "+8613900000002")
    assert limit.allow("wechat", "+8613900000001")


# ---------------------------------------------------------------- input checked at the edge (issue 17)

SURROGATE = b'{"channel": "web", "sender": "web-x", "text": "\\ud800"}'


@pytest.mark.parametrize(
    "body",
    [
        SURROGATE,
        b'{"channel": "web", "sender": "web-x", "text": "\xed\xa0\x80"}',  # a surrogate as raw bytes
        b'{"channel": "web", "sender": "web-x", "text": "a\\u0000b"}',  # NUL
        b'{"channel": "web", "text": "x", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"channel": "web", "sender": "web-x", "text": "x", "message_id": 99999999999999999999999}',
    ],
    ids=["lone-surrogate", "surrogate-bytes", "nul", "nested-100000-deep", "huge-integer"],
)
def test_a_body_no_database_can_store_is_refused_before_anything_is_saved(client, demo, body):
    from sqlalchemy import func, select

    from intake.core.models import InboundMessage

    response = client.post("/api/v1/messages", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "已保存" not in response.json["error"]
    with demo.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 0


@pytest.mark.parametrize(
    "path", ["/api/v1/triage", "/api/v1/kb/import", "/api/v1/unit/tickets/2611230001/reply"]
)
def test_deep_json_is_a_clear_400_on_every_api(client, path):
    body = b"[" * 50_000 + b"]" * 50_000
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    body = response.json  # the knowledge API words its refusals in its own format
    assert "嵌套过深" in body.get("message", body["error"])


def test_a_query_string_with_nul_is_refused(client):
    response = client.get("/kb", query_string={"q": "社保\x00卡"})
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/", "/kb?q=社保卡", "/office/login", "/editor/", "/no-such-page"])
def test_every_page_sends_a_content_security_policy(client, path):
    response = client.get(path)
    if response.mimetype == "text/html":
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
