"""Audit pages: the filterable audit trail and the history of one object (beheerder, financieel)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, render_template, request

from core.audit import object_history, trail_choices, trail_query
from core.audit_labels import Namer, action_name, entity_name, readable
from core.auth import role_required
from core.db import db
from core.params import page_arg, parse_id
from core.users import FINANCE_ROLES

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.utc)


@bp.route("/")
@role_required(*FINANCE_ROLES)
def index():
    """Newest first, filtered on object type, action, person, object id and a date range."""
    filters = {key: (request.args.get(key) or "").strip() for key in ("soort", "actie", "door", "id")}
    start, end = _day(request.args.get("van")), _day(request.args.get("tot"))
    # An id that no row can have (text, 0, beyond INTEGER) finds nothing rather than failing.
    entity_id = (parse_id(filters["id"]) or -1) if filters["id"] else None
    # "tot en met" the last day; up to 9999-12-31 there is no later day to stop before.
    before = _day_start(end + timedelta(days=1)) if end and end < date.max else None
    query = trail_query(filters["soort"], filters["actie"], filters["door"], entity_id,
                        _day_start(start) if start else None, before)
    page = db.paginate(query, page=page_arg(), per_page=PER_PAGE, error_out=False)
    entities, actions = trail_choices(db.session)
    args = {k: v for k, v in {**filters, "van": request.args.get("van", ""),
                              "tot": request.args.get("tot", "")}.items() if v}
    # The filter keeps the stored value (the URL stays stable); the person reads the Dutch name.
    entities = sorted(((e, entity_name(e)) for e in entities), key=lambda pair: pair[1])
    actions = sorted(((a, action_name(a)) for a in actions), key=lambda pair: pair[1])
    return render_template("audit/index.html", page=page, entries=readable(db.session, page.items),
                           entities=entities, actions=actions, args=args)


@bp.route("/<entity>/<int:entity_id>")
@role_required(*FINANCE_ROLES)
def history(entity: str, entity_id: int):
    """Every change to one object, oldest first, with before and after."""
    entries = object_history(db.session, entity, entity_id)
    label = Namer(db.session, entries).name(entity, entity_id) if entries else entity_name(entity)
    return render_template("audit/history.html", label=label, entries=readable(db.session, entries))
