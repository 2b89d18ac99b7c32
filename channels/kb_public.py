"""Public self-service look-up of the knowledge base (004 第二十二条): a page at ``/kb`` and a JSON API."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from intake.hotline import Hotline

bp = Blueprint("kb_public", __name__, template_folder="templates")

MAX_QUERY = 200


def _search(query: str) -> list[dict]:
    hotline: Hotline = current_app.extensions["hotline"]
    return [hit.to_dict() for hit in hotline.search_kb(query[:MAX_QUERY])]


@bp.get("/api/v1/kb/search")
def search_api():
    """Entries matching ``q``, best first: id, question, answer, unit, score."""
    query = (request.args.get("q") or "").strip()
    if not query:
        return jsonify({"error": "请提供查询内容，例如 /api/v1/kb/search?q=社保卡补办"}), 400
    return jsonify({"query": query, "results": _search(query)})


@bp.get("/kb")
def search_page():
    """The self-service search page, rendered on the server (works without JavaScript)."""
    hotline: Hotline = current_app.extensions["hotline"]
    query = (request.args.get("q") or "").strip()
    results = _search(query) if query else []
    return render_template("kb_search.html", title=hotline.policy.title, query=query, results=results)
