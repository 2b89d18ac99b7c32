"""The SMS channel (Twilio Messaging): ``POST /sms/incoming``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sms", __name__)
