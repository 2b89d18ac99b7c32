"""Masking citizen data wherever it could leave the system: logs first of all.

Mobile numbers keep their first three and last four digits (138****1234); 18-digit ID numbers keep
the region and the last four (110101********1234), hiding the birth date; landlines keep the area
code and the last two digits.
"""

from __future__ import annotations

import ipaddress
import logging
import re

_ID_NUMBER = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?\d{5,6}(\d{2})(?!\d)")


def client_network(address: str | None) -> str | None:
    """A client address cut to its network (IPv4 /24, IPv6 /64): enough to count and trace abuse by,
    not enough to name a household; ``None`` for no or a malformed address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def mask_phone(number: str) -> str:
    """Mask one phone number for display or logs."""
    digits = re.sub(r"\D", "", number or "")
    mobile = digits[-11:]
    if len(mobile) == 11 and mobile.startswith("1"):
        return f"{mobile[:3]}****{mobile[-4:]}"
    if len(digits) >= 6:
        return f"{digits[:3]}****{digits[-2:]}"
    return "****"


def mask_text(text: str) -> str:
    """Mask every ID number and phone number found in free text."""
    text = _ID_NUMBER.sub(r"\1********\2", text)
    text = _MOBILE.sub(r"\1****\2", text)
    return _LANDLINE.sub(r"\1-****\2", text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks phone and ID numbers in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Attach the masking filter to every handler of ``logger`` (the root logger by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
