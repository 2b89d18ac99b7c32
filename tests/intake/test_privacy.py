"""Phone and ID numbers never reach the logs unmasked."""

from __future__ import annotations

import logging

import pytest

from intake.core.privacy import MaskingFilter, mask_phone, mask_text


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("13812345678", "138****5678"),
        ("+8613812345678", "138****5678"),
        ("0773-7512345", "077****45"),
        ("", "****"),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


@pytest.mark.parametrize(
    "raw, masked",
    [
        ("我的电话13812345678，请回电", "我的电话138****5678，请回电"),
        ("身份证450328199001011234", "身份证450328********1234"),
        ("身份证45032819900101123X", "身份证450328********123X"),
        ("座机0773-7512345", "座机0773-****45"),
        ("工单号2611230001", "工单号2611230001"),  # ticket numbers are not personal data
    ],
)
def test_mask_text(raw, masked):
    assert mask_text(raw) == masked


def test_log_records_are_masked(caplog):
    logger = logging.getLogger("test.privacy")
    caplog.handler.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("message from %s: %s", "13812345678", "call me")
    assert "13812345678" not in caplog.text
    assert "138****5678" in caplog.text
