"""Fixtures shared by the routing tests."""

from __future__ import annotations

import pytest

from tests.routing.lifecycle_world import make_world


@pytest.fixture
def world(settings, clock):
    """``world(pack)``: a deployment under ``pack`` with the demo units (``lifecycle_world.World``);
    a test may build several. A test module that needs one fixed world defines its own ``world``."""
    made = []

    def build(pack: str):
        made.append(make_world(settings, clock, pack))
        return made[-1]

    yield build
    for w in made:
        w.hotline.db.dispose()
