"""The handling units' API under ``/api/v1/unit/``: list, sign, return, extend, reply (per-unit token)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("unit_api", __name__)
