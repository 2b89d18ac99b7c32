"""The OpenAPI 3.1 description of the knowledge API (``channels.machine.kb``), served at
``/api/v1/kb/openapi.json``.

Written by hand, next to the code it describes; ``tests/channels/test_kb_api.py`` validates it with
openapi-spec-validator, checks that every route of the blueprint is in it and nothing else is, and
checks real responses against its schemas.
"""

from __future__ import annotations

from typing import Any

from kb.models import KINDS, SERVICE_FIELDS
from kb.preview import MAX_TEST_QUESTIONS
from kb.questions import KINDS as QUESTION_KINDS
from kb.questions import STATUSES as QUESTION_STATUSES
from kb.records import MAX_LIST, MAX_REVIEW_DAYS, MAX_TEXT

STATUSES = ["draft", "submitted", "published", "archived"]
VERSION_STATUSES = [*STATUSES, "superseded"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if kind is None:
        return {"anyOf": [schema, {"type": "null"}]}
    nullable = {**schema, "type": [kind, "null"]}
    if "enum" in schema:
        nullable["enum"] = [*schema["enum"], None]
    return nullable


def _object(properties: dict[str, Any], required: list[str] | None = None, **more: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, **more}
    if required is None:
        required = list(properties)
    if required:
        schema["required"] = required
    return schema


TEXT = {"type": "string"}
TEXTS = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 200}, "maxItems": MAX_LIST}
DAY = {"type": "string", "format": "date"}
MOMENT = {"type": "string", "format": "date-time", "description": "in the hotline's time zone"}
INT = {"type": "integer"}

CONTENT_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "maxLength": MAX_TEXT["id"], "description": "the public id, e.g. LS-RSJ-0003"},
    "unit": {"type": "string", "maxLength": MAX_TEXT["unit"], "description": "the owning unit's code"},
    "question": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT["question"]},
    "answer": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT["answer"]},
    "alt_questions": {**TEXTS, "description": "other phrasings citizens use"},
    "keywords": TEXTS,
    "spoken_answer": _nullable({"type": "string", "maxLength": MAX_TEXT["spoken_answer"]}),
    "valid_from": _nullable(DAY),
    "valid_until": _nullable({**DAY, "description": "a notice needs one: the day it stops being true"}),
    "kind": {"type": "string", "enum": list(KINDS)},
    "tags": TEXTS,
    "service": _ref("Service"),
    "review_every_days": _nullable({"type": "integer", "minimum": 1, "maximum": MAX_REVIEW_DAYS}),
}
NOTE = {"type": "string", "maxLength": 500, "description": "the editor's comment on this version"}
BASE_VERSION = {
    "type": "integer",
    "minimum": 1,
    "description": "the latest version the change started from (instead of If-Match)",
}


def _schemas() -> dict[str, Any]:
    hit = _object(
        {
            "id": TEXT,
            "question": TEXT,
            "unit": TEXT,
            "score": {"type": "number"},
            "draft": {"type": "boolean"},
        }
    )
    return {
        "Error": _object(
            {
                "error": {
                    "type": "string",
                    "enum": [
                        "invalid",
                        "unauthorized",
                        "forbidden",
                        "not_found",
                        "method_not_allowed",
                        "conflict",
                        "too_large",
                        "unsupported_media_type",
                        "precondition_required",
                        "server_error",
                    ],
                },  # fmt: skip
                "message": {"type": "string", "description": "the reason, in Chinese, to show to a person"},
                "problems": {
                    "type": "array",
                    "items": TEXT,
                    "description": "each problem found (an import's with its line number)",
                },
                "current_version": {**INT, "description": "on a stale workflow step: the latest version"},
            },
            ["error", "message", "problems"],
        ),
        "Service": {
            "type": "object",
            "description": "a service's office, address, hours, materials… (003 第十五条(三))",
            "properties": {k: {"type": "string", "maxLength": 2000} for k in SERVICE_FIELDS},
            "additionalProperties": False,
        },
        "EntryContent": _object(CONTENT_FIELDS, additionalProperties=False),
        "EntryCreate": _object(
            {**CONTENT_FIELDS, "note": NOTE},
            ["question", "answer"],
            additionalProperties=False,
            description="id is made up when not given; unit is the caller's own when not given",
        ),
        "EntrySave": _object(
            {**CONTENT_FIELDS, "note": NOTE, "base_version": BASE_VERSION},
            ["question", "answer"],
            additionalProperties=False,
            description="the whole content: a field left out is emptied",
        ),
        "Entry": _object(
            {
                "id": TEXT,
                "unit": TEXT,
                "status": {"type": "string", "enum": STATUSES},
                "status_label": TEXT,
                "pending_status": _nullable({"type": "string", "enum": ["draft", "submitted"]}),
                "working_status": {"type": "string", "enum": STATUSES},
                "live_version": _nullable(INT),
                "pending_version": _nullable(INT),
                "latest_version": {**INT, "description": "the ETag; what the next save starts from"},
                "content": _ref("EntryContent"),
                "live": _nullable(_ref("EntryContent")),
                "review_every_days": _nullable(INT),
                "reviewed_on": _nullable(DAY),
                "review_due": _nullable(DAY),
                "review_overdue": {"type": "boolean"},
                "created_at": MOMENT,
                "updated_at": MOMENT,
                "near_duplicates": {"type": "array", "items": _ref("NearDuplicate")},
            },
            [
                "id",
                "unit",
                "status",
                "status_label",
                "pending_status",
                "working_status",
                "live_version",
                "pending_version",
                "latest_version",
                "content",
                "live",
                "review_every_days",
                "reviewed_on",
                "review_due",
                "review_overdue",
                "created_at",
                "updated_at",
            ],  # fmt: skip
        ),
        "EntrySummary": _object(
            {
                "id": TEXT,
                "unit": TEXT,
                "question": TEXT,
                "kind": {"type": "string", "enum": list(KINDS)},
                "status": {"type": "string", "enum": STATUSES},
                "pending_status": _nullable(TEXT),
                "working_status": {"type": "string", "enum": STATUSES},
                "latest_version": INT,
                "review_due": _nullable(DAY),
                "updated_at": MOMENT,
                "url": TEXT,
            }
        ),
        "EntryList": _object(
            {"entries": {"type": "array", "items": _ref("EntrySummary")}, "limit": INT, "offset": INT}
        ),
        "ReviewDue": _object(
            {
                "unit": _nullable(TEXT),
                "today": DAY,
                "entries": {"type": "array", "items": _ref("EntrySummary")},
            }
        ),
        "Version": _object(
            {
                "number": INT,
                "status": {"type": "string", "enum": VERSION_STATUSES},
                "status_label": TEXT,
                "author": TEXT,
                "note": _nullable(TEXT),
                "changed": {"type": "array", "items": TEXT, "description": "fields changed from before"},
                "created_at": MOMENT,
            }
        ),
        "VersionList": _object({"id": TEXT, "versions": {"type": "array", "items": _ref("Version")}}),
        "VersionDetail": {
            "allOf": [_ref("Version"), _object({"id": TEXT, "content": _ref("EntryContent")})],
        },
        "Diff": _object(
            {
                "id": TEXT,
                "from": {**INT, "description": "0: compared with nothing"},
                "to": INT,
                "changes": {
                    "type": "array",
                    "items": _object(
                        {
                            "field": {"type": "string", "description": "service parts as service.office"},
                            "label": TEXT,
                            "old": TEXT,
                            "new": TEXT,
                            "segments": {
                                "type": "array",
                                "items": _object(
                                    {
                                        "op": {"type": "string", "enum": ["same", "removed", "added"]},
                                        "text": TEXT,
                                    }
                                ),
                            },
                        }
                    ),
                },
            }
        ),
        "Action": _object(
            {"base_version": BASE_VERSION},
            [],
            description="optional: a step refused (409) when the entry moved on since base_version",
        ),
        "Reason": _object({"reason": {"type": "string", "maxLength": 500}, "base_version": BASE_VERSION}, []),
        "Restore": _object(
            {"version": {"type": "integer", "minimum": 1}, "base_version": BASE_VERSION}, ["version"]
        ),
        "ImportResult": _object({"added": INT, "updated": INT, "unchanged": INT}),
        "AuditRow": _object(
            {
                "id": INT,
                "at": MOMENT,
                "actor": TEXT,
                "role": TEXT,
                "action": {"type": "string", "description": "create, save, submit, publish, import, ask, …"},
                "unit": _nullable(TEXT),
                "entry": _nullable(TEXT),
                "detail": {"type": "object"},
            }
        ),
        "AuditList": _object(
            {"unit": _nullable(TEXT), "entries": {"type": "array", "items": _ref("AuditRow")}}
        ),
        "Question": _object(
            {
                "id": INT,
                "kind": {"type": "string", "enum": list(QUESTION_KINDS)},
                "kind_label": TEXT,
                "unit": TEXT,
                "entry": _nullable(TEXT),
                "entry_version": _nullable(INT),
                "topic": _nullable(TEXT),
                "comment": TEXT,
                "asked_by": TEXT,
                "asked_at": MOMENT,
                "due": _nullable(
                    {"type": "string", "description": "an ISO date (working days) or date-time"}
                ),
                "basis": _nullable(TEXT),
                "status": {"type": "string", "enum": list(QUESTION_STATUSES)},
                "status_label": TEXT,
                "overdue": {"type": "boolean"},
                "overdue_flagged_at": _nullable(MOMENT),
                "answer": _nullable(TEXT),
                "answered_by": _nullable(TEXT),
                "answered_at": _nullable(MOMENT),
                "changed_entry": _nullable(TEXT),
            }
        ),
        "QuestionList": _object(
            {"unit": _nullable(TEXT), "questions": {"type": "array", "items": _ref("Question")}}
        ),
        "QuestionNew": _object(
            {
                "kind": {"type": "string", "enum": list(QUESTION_KINDS)},
                "comment": {"type": "string", "maxLength": 2000},
                "entry": {"type": "string", "description": "the entry's public id"},
                "unit": {"type": "string", "description": "for missing: the unit that should write it"},
                "topic": {"type": "string", "description": "for missing: what is lacking"},
            },
            ["kind", "comment"],
            additionalProperties=False,
        ),
        "QuestionAnswer": _object(
            {
                "text": {"type": "string", "maxLength": 2000, "description": "what was changed"},
                "entry": {"type": "string", "description": "the entry edited in answer"},
            },
            ["text"],
        ),
        "PreviewRequest": _object(
            {
                "questions": {"type": "array", "items": TEXT, "maxItems": MAX_TEST_QUESTIONS},
                "draft": {
                    **_ref("EntryCreate"),
                    "description": "the entry as written; checked as a save is",
                },
            },
            ["questions", "draft"],
        ),
        "EntryPreviewRequest": _object(
            {
                "questions": {"type": "array", "items": TEXT, "maxItems": MAX_TEST_QUESTIONS},
                "draft": {**_ref("EntryCreate"), "description": "unsaved change; default: working text"},
            },
            ["questions"],
        ),
        "PreviewHit": hit,
        "Seen": _object(
            {
                "kind": _nullable({"type": "string", "enum": ["answer", "clarify"]}),
                "text": {"type": "string", "description": "the decision in Chinese"},
                "hits": {"type": "array", "items": _ref("PreviewHit")},
                "best": _nullable(_ref("PreviewHit")),
            }
        ),
        "PreviewRow": _object(
            {
                "question": TEXT,
                "now": _ref("Seen"),
                "with_draft": _ref("Seen"),
                "changed": {"type": "boolean"},
            }
        ),
        "NearDuplicate": _object(
            {
                "id": TEXT,
                "question": TEXT,
                "unit": TEXT,
                "score": {"type": "number"},
                "phrasing": TEXT,
                "matched": TEXT,
            }
        ),
        "PreviewResult": _object(
            {
                "rows": {"type": "array", "items": _ref("PreviewRow")},
                "near_duplicates": {"type": "array", "items": _ref("NearDuplicate")},
            }
        ),
    }


def _error(description: str, **headers: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "Invalid": _error("invalid input: the message says what, problems lists each problem"),
    "Unauthorized": _error(
        "no credentials, a bad or revoked token, or a deactivated user",
        **{"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="hotline-kb"'}},
    ),
    "Forbidden": _error("the user's role or unit may not do this (or a session write without X-CSRF-Token)"),
    "NotFound": _error("no such entry, version or question"),
    "Conflict": _error("someone saved since the version given, or the workflow does not allow this step now"),
    "TooLarge": _error("the body is larger than the limit"),
    "UnsupportedMediaType": _error("the body is not JSON"),
    "PreconditionRequired": _error(
        "a save must say which version it started from (If-Match or base_version)"
    ),
}


def _json(schema: str, description: str = "OK", **more: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}, **more}


def _op(
    summary: str,
    ok: dict[str, Any],
    *errors: str,
    tag: str = "entries",
    body: str | None = None,
    body_required: bool = True,
    params: list[dict[str, Any]] | None = None,
    write: bool = False,
    ok_status: str = "200",
) -> dict[str, Any]:
    responses = {ok_status: ok, "401": {"$ref": "#/components/responses/Unauthorized"}}
    responses["403"] = {"$ref": "#/components/responses/Forbidden"}
    if write:
        errors = ("Invalid", "TooLarge", "UnsupportedMediaType", *errors)
    codes = {
        "Invalid": "400", "NotFound": "404", "Conflict": "409", "TooLarge": "413",
        "UnsupportedMediaType": "415", "PreconditionRequired": "428",
    }  # fmt: skip
    for name in errors:
        responses[codes[name]] = {"$ref": f"#/components/responses/{name}"}
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if write:
        operation["security"] = [{"bearer": []}, {"session": [], "csrf": []}]
    return operation


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def document(prefix: str, *, import_max: int) -> dict[str, Any]:
    """The whole description, paths under ``prefix``."""
    entry = [_param("PublicId")]
    unit = _query("unit", "a unit's code", {"type": "string"})
    etag = {"ETag": {"schema": {"type": "string"}, "description": 'the latest version, e.g. "3"'}}
    entry_ok = _json("Entry", headers=etag)

    def action(summary: str, body: str = "Action", required: bool = False) -> dict[str, Any]:
        return {
            "post": _op(
                summary,
                entry_ok,
                "NotFound",
                "Conflict",
                body=body,
                body_required=required,
                params=[*entry, _param("IfMatch")],
                write=True,
            )  # fmt: skip
        }

    paths: dict[str, Any] = {
        "/entries": {
            "get": _op(
                "List entries, newest change first",
                _json("EntryList"),
                "Invalid",
                params=[
                    unit,
                    _query("status", "the working status", {"type": "string", "enum": STATUSES}),
                    _query("q", "text in the question or the answer", {"type": "string"}),
                    _query("limit", "at most this many", {"type": "integer", "minimum": 1, "maximum": 200}),
                    _query("offset", "skip this many", {"type": "integer", "minimum": 0}),
                ],
            ),
            "post": _op(
                "Create a draft",
                _json(
                    "Entry",
                    "created; near_duplicates lists live entries nearly the same",
                    headers={**etag, "Location": {"schema": {"type": "string"}}},
                ),
                "Conflict",
                body="EntryCreate",
                write=True,
                ok_status="201",
            ),
        },
        "/entries/{public_id}": {
            "get": _op(
                "One entry: working and live content, status, review", entry_ok, "NotFound", params=entry
            ),
            "put": _op(
                "Save the whole content as a new version (If-Match or base_version required)",
                _json("Entry", "saved; near_duplicates lists live entries nearly the same", headers=etag),
                "NotFound",
                "Conflict",
                "PreconditionRequired",
                body="EntrySave",
                params=[*entry, _param("IfMatch")],
                write=True,
            ),
        },
        "/entries/{public_id}/submit": action("Submit the draft for review"),
        "/entries/{public_id}/publish": action("Publish the submitted text (unit reviewer or admin)"),
        "/entries/{public_id}/send-back": action(
            "Send the submitted text back to its editors", "Reason", True
        ),
        "/entries/{public_id}/archive": action("Archive the entry", "Reason"),
        "/entries/{public_id}/restore": action("Restore a version as a new draft", "Restore", True),
        "/entries/{public_id}/confirm": action("Confirm a published entry is still right (review)"),
        "/entries/{public_id}/versions": {
            "get": _op("Every version, oldest first", _json("VersionList"), "NotFound", params=entry)
        },
        "/entries/{public_id}/versions/{number}": {
            "get": _op(
                "One version with its content",
                _json("VersionDetail"),
                "NotFound",
                params=[*entry, _param("Number")],
            )  # fmt: skip
        },
        "/entries/{public_id}/diff": {
            "get": _op(
                "What changed between two versions, as character runs",
                _json("Diff"),
                "Invalid",
                "NotFound",
                params=[
                    *entry,
                    _query(
                        "from",
                        "default: the version before to; 0: nothing",
                        {"type": "integer", "minimum": 0},
                    ),
                    _query("to", "default: the latest", {"type": "integer", "minimum": 1}),
                ],
            )
        },
        "/entries/{public_id}/preview": {
            "post": _op(
                "Test questions answered now and with the entry's working text (or an unsaved draft)",
                _json("PreviewResult"),
                "NotFound",
                tag="preview",
                body="EntryPreviewRequest",
                params=entry,
                write=True,
            )
        },
        "/preview": {
            "post": _op(
                "Test questions answered now and with a new draft; near-duplicate entries",
                _json("PreviewResult"),
                tag="preview",
                body="PreviewRequest",
                write=True,
            )
        },
        "/review-due": {
            "get": _op(
                "Published entries past their review date (a unit's staff: their unit by default)",
                _json("ReviewDue"),
                "Invalid",
                params=[unit],
            )
        },
        "/import": {
            "post": {
                **_op(
                    "Import JSON Lines or CSV, all or nothing, published at once",
                    _json("ImportResult"),
                    "Invalid",
                    "TooLarge",
                    tag="files",
                    params=[
                        _query("format", "default: by file name or Content-Type", {"enum": ["jsonl", "csv"]})
                    ],
                ),
                "description": "An administrator imports any unit's entries, a unit reviewer only their own. "
                f"The body (at most {import_max // (1024 * 1024)} MiB) is the file itself, "
                "or a multipart form with the file in field `file`.",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                        "multipart/form-data": {
                            "schema": _object(
                                {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}
                            )
                        },
                    },
                },
                "security": [{"bearer": []}, {"session": [], "csrf": []}],
            }
        },
        "/export": {
            "get": _op(
                "Export entries' live content in the import format",
                {
                    "description": "the file",
                    "content": {
                        "application/x-ndjson": {"schema": {"type": "string"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "Invalid",
                tag="files",
                params=[_query("format", "jsonl (default) or csv", {"enum": ["jsonl", "csv"]}), unit],
            )
        },
        "/audit": {
            "get": _op(
                "Who did what, newest first (a unit's staff: their unit only)",
                _json("AuditList"),
                "Invalid",
                tag="audit",
                params=[
                    unit,
                    _query("entry", "one entry's public id", {"type": "string"}),
                    _query("limit", "at most this many", {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
            )
        },
        "/questions": {
            "get": _op(
                "Knowledge questions (知识提问), newest first",
                _json("QuestionList"),
                "Invalid",
                tag="questions",
                params=[
                    unit,
                    _query("status", "open or answered", {"enum": list(QUESTION_STATUSES)}),
                    _query("limit", "at most this many", {"type": "integer", "minimum": 1, "maximum": 500}),
                ],
            ),
            "post": _op(
                "Ask a knowledge question (operator, office, admin)",
                _json("Question", "asked", headers={"Location": {"schema": {"type": "string"}}}),
                "NotFound",
                tag="questions",
                body="QuestionNew",
                write=True,
                ok_status="201",
            ),
        },
        "/questions/overdue": {
            "get": _op(
                "Open questions past their due",
                _json("QuestionList"),
                "Invalid",
                tag="questions",
                params=[unit],
            )
        },
        "/questions/{question_id}": {
            "get": _op(
                "One knowledge question",
                _json("Question"),
                "NotFound",
                tag="questions",
                params=[_param("QuestionId")],
            )  # fmt: skip
        },
        "/questions/{question_id}/answer": {
            "post": _op(
                "Answer a question (the owning unit's editor or reviewer, or admin)",
                _json("Question"),
                "NotFound",
                "Conflict",
                tag="questions",
                body="QuestionAnswer",
                params=[_param("QuestionId")],
                write=True,
            )
        },
        "/openapi.json": {
            "get": {
                "summary": "This description",
                "tags": ["meta"],
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "12345 hotline knowledge API",
            "version": "1",
            "description": (
                "The knowledge editors' operations for units that sync from their own systems: entries "
                "draft → submitted → published → archived, versions, diffs, restore, review, import and "
                "export, the audit log, knowledge questions (知识提问) and previews. Authenticate with "
                "`Authorization: Bearer hlk_…` (`hotline user token USERNAME`), which acts as that staff "
                "user; a signed-in browser session works too, and its writes send `X-CSRF-Token`. Errors "
                'are `{"error", "message", "problems"}` with a Chinese message.'
            ),
        },
        "servers": [{"url": prefix}],
        "tags": [{"name": t} for t in ("entries", "preview", "files", "audit", "questions", "meta")],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "hlk_…, from hotline user token",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
            "parameters": {
                "PublicId": {
                    "name": "public_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "maxLength": 64},
                },
                "Number": {"name": "number", "in": "path", "required": True, "schema": {"type": "integer"}},
                "QuestionId": {
                    "name": "question_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                },
                "IfMatch": {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "description": 'the ETag read, e.g. "3"',
                    "schema": {"type": "string"},
                },
            },
            "schemas": _schemas(),
            "responses": RESPONSES,
        },
    }
