"""The codes every pack, channel and page shares: ticket categories, redirect and decline codes, and the
stages of a ticket as a citizen is told them. A pack chooses among these; it cannot add new ones.
"""

from __future__ import annotations

CATEGORIES = ("consult", "help", "complaint", "report", "suggestion", "praise")

REDIRECT_CODES = (
    "court", "procuratorate", "congress", "cppcc", "party", "military", "discipline",
    "organization", "litigation", "petition", "family",
)  # fmt: skip
DECLINE_CODES = (
    "out_of_jurisdiction", "secret_or_privacy", "duplicate", "already_resolved", "abusive",
    "no_content", "incomplete", "anonymous_rights", "consumer_mediated", "settled_history",
)  # fmt: skip

# Conversation moves (``intake.moves``): about the conversation itself, never a matter or a ticket
MOVES = ("greeting", "thanks", "closing", "ack", "agent", "repeat", "not_it")

# A ticket's stage as the citizen's status look-up says it
STAGES = {
    "registered": "已登记",
    "dispatched": "已转交承办单位",
    "signed": "承办单位已签收，正在办理",
    "returned": "承办单位申请退回，正在重新派单",
    "extension_requested": "承办单位已申请延期，正在审核",
    "extended": "已延期办理",
    "replied": "承办单位已答复",
    "reviewed": "办理结果已审核，等待您的评价",
    "surveyed": "已收到您的评价",
    "rehandling": "因您不满意，正在重新办理",
    "closed": "已办结",
}
# What happened to a matter settled at once, without a unit
INSTANT = {
    "answered": "已当场答复",
    "transferred": "已转接紧急热线",
    "redirected": "已告知办理渠道",
    "declined": "不予受理，已告知原因",
    "abandoned": "通话中断，未登记诉求",
}
