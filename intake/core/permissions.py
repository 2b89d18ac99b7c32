"""Who may do what, decided here and nowhere else: staff pages, the knowledge API and the knowledge
workflow all ask these functions.

Every function takes an *actor*: anything with a ``role`` and a ``unit_code`` (a signed-in
``StaffUser``, a knowledge-API token's user, ``kb.audit``'s system actor). The roles:

=============== ======================================================================================
``admin``       everything, for every unit; the only role that manages accounts and moves entries
``office``      the hotline office: dashboard, call-back queue (numbers masked), knowledge questions
``operator``    as ``office``, and sees citizens' full numbers to dial them and record call-backs
``unit_editor`` writes and submits its unit's knowledge entries, answers its unit's questions
``unit_reviewer`` also publishes, sends back and archives its unit's entries, and imports them
=============== ======================================================================================
"""

from __future__ import annotations

from typing import Protocol

ROLES = ("admin", "office", "operator", "unit_editor", "unit_reviewer")
UNIT_ROLES = ("unit_editor", "unit_reviewer")  # belong to one unit and act for it only
OFFICE_ROLES = ("admin", "office", "operator")  # the hotline's side: every unit's records
PHONE_ROLES = ("admin", "operator")  # the people who dial a citizen back
QUESTION_ASKERS = OFFICE_ROLES  # who may put a knowledge question (003 第十五条(二))
# as staff pages name them; "system" is the actor of what the product does by itself (kb.audit)
ROLE_LABELS = {
    "admin": "管理员",
    "office": "热线办公室",
    "operator": "话务员",
    "unit_editor": "单位编辑",
    "unit_reviewer": "单位审核员",
    "system": "系统",
}


class Actor(Protocol):
    role: str
    unit_code: str | None


def is_admin(actor: Actor) -> bool:
    return actor.role == "admin"


def is_unit_staff(actor: Actor) -> bool:
    return actor.role in UNIT_ROLES


# ---------------------------------------------------------------- the office's pages


def may_see_office(actor: Actor) -> bool:
    """The office's dashboard, export and call-back queue."""
    return actor.role in OFFICE_ROLES


def may_act_on_tickets(actor: Actor) -> bool:
    """The office's desk: dispatch, decide returns, extensions and replies, correct, link, note, close."""
    return actor.role in OFFICE_ROLES


def may_see_phone_numbers(actor: Actor) -> bool:
    """Citizens' full numbers (others see them masked), and so recording a call-back's result."""
    return actor.role in PHONE_ROLES


def unit_scope(actor: Actor) -> str | None:
    """The one unit whose questions, exports and audit rows ``actor`` sees; ``None``: every unit."""
    return None if actor.role in OFFICE_ROLES else actor.unit_code


def may_see_unit(actor: Actor, unit: str | None) -> bool:
    """Whether ``actor`` may see records (questions, audit rows) of ``unit``."""
    scope = unit_scope(actor)
    return scope is None or scope == unit


# ---------------------------------------------------------------- knowledge entries


def may_read_kb(actor: Actor) -> bool:
    return actor.role in ROLES


def may_edit(actor: Actor, unit: str | None) -> bool:
    """Write and submit entries of ``unit``."""
    return is_admin(actor) or (actor.role in UNIT_ROLES and actor.unit_code == unit)


def may_review(actor: Actor, unit: str | None) -> bool:
    """Publish, send back, archive and confirm entries of ``unit``."""
    return is_admin(actor) or (actor.role == "unit_reviewer" and actor.unit_code == unit)


def may_review_any(actor: Actor) -> bool:
    """Has a review list at all (an administrator: every unit's; a reviewer: their unit's)."""
    return is_admin(actor) or actor.role == "unit_reviewer"


def review_scope(actor: Actor) -> str | None:
    """The unit whose submitted entries ``actor`` reviews; ``None``: every unit (an administrator)."""
    return None if is_admin(actor) else actor.unit_code


def may_create_entry(actor: Actor) -> bool:
    return is_admin(actor) or bool(actor.unit_code and may_edit(actor, actor.unit_code))


def may_move_entry(actor: Actor) -> bool:
    """Give an entry to another unit."""
    return is_admin(actor)


def may_import(actor: Actor) -> bool:
    """Import entries (an import publishes at once): an administrator, or a unit's reviewer."""
    return is_admin(actor) or (actor.role == "unit_reviewer" and bool(actor.unit_code))


def import_scope(actor: Actor) -> str | None:
    """The only unit an import by ``actor`` may hold; ``None``: any unit (an administrator)."""
    return None if is_admin(actor) else actor.unit_code


# ---------------------------------------------------------------- knowledge questions


def may_ask_question(actor: Actor) -> bool:
    return actor.role in QUESTION_ASKERS


def may_answer_question(actor: Actor, unit: str | None) -> bool:
    """The owning unit's editor or reviewer, or an administrator."""
    return is_admin(actor) or (actor.role in UNIT_ROLES and actor.unit_code == unit)


# ---------------------------------------------------------------- accounts


def may_manage_users(actor: Actor) -> bool:
    return is_admin(actor)
