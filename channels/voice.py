"""The phone channel (Twilio Voice): a Mandarin IVR under ``/voice/``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("voice", __name__)
