"""Fixtures shared by the staff pages' tests."""

from __future__ import annotations

import pytest

from tests.routing.lifecycle_world import make_world


@pytest.fixture
def world(settings, clock):
    """A deployment under longsheng (003) with the demo units, its clock at Monday 2026-11-23 09:30."""
    w = make_world(settings, clock, "longsheng")
    w.at("11-23 09:30")
    yield w
    w.hotline.db.dispose()
