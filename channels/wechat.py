"""The WeChat official-account channel: ``GET|POST /wechat``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wechat", __name__)
