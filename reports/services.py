"""Snapshots: freeze a stand van zaken, read it back unchanged, and compare two of them."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

import pandas as pd
from sqlalchemy import select

from budget.services import close_period, closed_through
from core.audit import record, record_head
from core.errors import NotFound, ValidationError
from core.money import ZERO, format_eur
from core.users import FINANCE_ROLES, require_role
from projects.models import CATEGORIES, LINES, STATUSES, Programme
from reports.models import ReportSnapshot
from reports.queries import RELEASED_LABEL, collect_state, frames, year_values


def canonical_json(state: dict) -> str:
    """One spelling per state, so equal figures always give the same hash."""
    return json.dumps(state, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def create_snapshot(session, actor, programme: Programme, peildatum: date, title: str,
                    kamerstuk: str = "", close: bool = False) -> ReportSnapshot:
    """Freeze every programme year's figures at `peildatum` (finance roles); audited, never commits.

    `close`: also close the programme's books through the peildatum (unless already closed that far),
    so the frozen stand and the live figures up to it stay the same.
    """
    require_role(actor, *FINANCE_ROLES)
    title = (title or "").strip()
    if not title:
        raise ValidationError("Geef de vastgelegde stand een titel.", field="title")
    if len(title) > 200:
        raise ValidationError("De titel is te lang (hoogstens 200 tekens).", field="title")
    kamerstuk = (kamerstuk or "").strip()
    if len(kamerstuk) > 200:
        raise ValidationError("Het Kamerstuk is te lang (hoogstens 200 tekens).", field="kamerstuk")
    if not isinstance(peildatum, date):
        raise ValidationError("Vul een peildatum in.", field="peildatum")
    if close:
        current = closed_through(session, programme.id)
        if current is None or current < peildatum:
            close_period(session, actor, programme, peildatum)
    state = collect_state(session, programme, peildatum)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    state["frozen_at"] = now.isoformat()
    data = canonical_json(state)
    snap = ReportSnapshot(programme_id=programme.id, peildatum=peildatum, title=title, kamerstuk=kamerstuk,
                          created_by_id=getattr(actor, "id", None), created_at=now, data=data,
                          sha256=hashlib.sha256(data.encode("utf-8")).hexdigest())
    session.add(snap)
    session.flush()
    # The head before this snapshot's own entry: what the frozen figures were made from.
    current = record_head(session, f"vastgelegde stand {snap.id}")
    snap.audit_head_id, snap.audit_head_hash = current if current else (None, None)
    # The audit entry names the snapshot and its hash, not the figures (they are in the snapshot).
    record(session, actor, "create", snap, {"after": {
        "programme": programme.code, "peildatum": peildatum.isoformat(), "title": title,
        "kamerstuk": kamerstuk, "sha256": snap.sha256}})
    return snap


def get_snapshot(session, snapshot_id: int, programme: Programme | None = None) -> ReportSnapshot:
    snap = session.get(ReportSnapshot, snapshot_id)
    if snap is None or (programme is not None and snap.programme_id != programme.id):
        raise NotFound(f"Vastgelegde stand {snapshot_id} bestaat niet.")
    return snap


def list_snapshots(session, programme: Programme | None = None) -> list[ReportSnapshot]:
    query = select(ReportSnapshot).order_by(ReportSnapshot.peildatum.desc(), ReportSnapshot.id.desc())
    if programme is not None:
        query = query.where(ReportSnapshot.programme_id == programme.id)
    return list(session.scalars(query))


def snapshot_state(snap: ReportSnapshot) -> dict:
    """The frozen state; refuses a snapshot whose stored JSON no longer matches its hash."""
    if hashlib.sha256(snap.data.encode("utf-8")).hexdigest() != snap.sha256:
        raise ValidationError(f"Vastgelegde stand {snap.id} is beschadigd: de hash klopt niet.")
    return json.loads(snap.data)


def snapshot_meta(snap: ReportSnapshot, state: dict) -> dict:
    return {"id": snap.id, "title": snap.title, "kamerstuk": snap.kamerstuk, "sha256": snap.sha256,
            "frozen_at": state["frozen_at"]}


def _head(entry_id, entry_hash) -> dict | None:
    return {"id": entry_id, "hash": entry_hash} if entry_id is not None else None


def record_report_head(session, rf, what: str) -> None:
    """A generated report names the trail's head in its Verantwoording, and verify checks it later.

    A report from a snapshot names the snapshot's head (the same cells every time); a live one
    records the current head as an anchor. The caller commits.
    """
    if rf.meta.get("snapshot"):
        return  # snapshot_frames put the snapshot's own head in
    m = rf.meta
    current = record_head(session, f"{what} {m['programme_code']} {m['year']} t/m {m['peildatum']:%d-%m-%Y}")
    rf.meta["audit_head"] = _head(*current) if current else None


def snapshot_years(snap: ReportSnapshot) -> list[int]:
    return [int(y) for y in snapshot_state(snap)["years"]]


def snapshot_frames(snap: ReportSnapshot, year: int | None = None, internal: bool = False,
                    thousands: bool = False):
    """The report of one year from a snapshot (default: the peildatum's year, else the last year)."""
    state = snapshot_state(snap)
    years = [int(y) for y in state["detail"]]
    if year is None:
        year = snap.peildatum.year if snap.peildatum.year in years else years[-1]
    if year not in years:
        raise ValidationError(f"De vastgelegde stand bevat geen jaar {year}.", field="year")
    rf = frames(state, year, internal, snapshot=snapshot_meta(snap, state), thousands=thousands)
    rf.meta["audit_head"] = _head(snap.audit_head_id, snap.audit_head_hash)
    return rf


# --- Diff -------------------------------------------------------------------------------------

@dataclass
class SnapshotDiff:
    year: int
    totals: pd.DataFrame       # Jaar, Omschrijving, A, B, Verschil (only changed rows)
    categories: pd.DataFrame   # Omschrijving, Maat, A, B, Verschil
    lines: pd.DataFrame
    projects: pd.DataFrame     # Projectcode, Project, Wijziging, Toelichting

    @property
    def unchanged(self) -> bool:
        return all(df.empty for df in (self.totals, self.categories, self.lines, self.projects))


_TOTALS = [("Beschikbaar budget", "available"), ("Ambtelijke ondersteuning JenV", "staffing"),
           ("Verplicht projecten", "committed_projects"), (RELEASED_LABEL, "released"),
           ("Verplicht totaal", "committed"),
           ("Gerealiseerd t/m peildatum", "paid"), ("Vrije ruimte", "free")]
_GROUP_MEASURES = [("Verplicht", "committed"), ("Gerealiseerd", "paid"), ("In voorbereiding", "pipeline")]


def _dec(value) -> Decimal:
    return Decimal(value) if value is not None else ZERO


def diff_snapshots(a: ReportSnapshot, b: ReportSnapshot, year: int | None = None) -> SnapshotDiff:
    """What changed from snapshot `a` to `b`: totals per year, per category/line and per project in `year`."""
    sa, sb = snapshot_state(a), snapshot_state(b)
    common = sorted(set(sa["detail"]) & set(sb["detail"]), key=int)
    if year is None:
        year = b.peildatum.year
        if str(year) not in common and common:
            year = int(common[-1])
    key = str(year)

    totals = []
    for y in sorted({int(v) for v in sa["years"]} | {int(v) for v in sb["years"]}):
        va, vb = year_values(sa["summary"].get(str(y), {})), year_values(sb["summary"].get(str(y), {}))
        for label, k in _TOTALS:
            if va[k] != vb[k]:
                totals.append([y, label, va[k], vb[k], vb[k] - va[k]])

    def groups(name, labels):
        rows = []
        ga, gb = sa["detail"].get(key, {}).get(name, {}), sb["detail"].get(key, {}).get(name, {})
        for code, label in labels.items():
            for mlabel, m in _GROUP_MEASURES:
                x, y_ = _dec(ga.get(code, {}).get(m)), _dec(gb.get(code, {}).get(m))
                if x != y_:
                    rows.append([label, mlabel, x, y_, y_ - x])
        return pd.DataFrame(rows, columns=["Omschrijving", "Maat", "A", "B", "Verschil"], dtype=object)

    pa = {p["code"]: p for p in sa["detail"].get(key, {}).get("projects", [])}
    pb = {p["code"]: p for p in sb["detail"].get(key, {}).get("projects", [])}
    projects = []
    for code in sorted(set(pa) | set(pb)):
        old, new = pa.get(code), pb.get(code)
        if old is None:
            total = format_eur(_dec(new["committed_total"]))
            projects.append([code, new["title"], "nieuw",
                             f"verplicht totaal {total}, status {STATUSES[new['status']]}"])
            continue
        if new is None:
            projects.append([code, old["title"], "vervallen", f"status was {STATUSES[old['status']]}"])
            continue
        for field_, label in (("committed_total", "verplicht totaal"), ("committed_year", f"verplicht {year}"),
                              ("paid_year", f"gerealiseerd {year}")):
            x, y_ = _dec(old[field_]), _dec(new[field_])
            if x != y_:
                sign = "+" if y_ > x else ""
                projects.append([code, new["title"], "bedrag gewijzigd",
                                 f"{label}: {format_eur(x)} → {format_eur(y_)} ({sign}{format_eur(y_ - x)})"])
        if old["status"] != new["status"]:
            projects.append([code, new["title"], "status gewijzigd",
                             f"{STATUSES[old['status']]} → {STATUSES[new['status']]}"])
    return SnapshotDiff(
        year=year,
        totals=pd.DataFrame(totals, columns=["Jaar", "Omschrijving", "A", "B", "Verschil"], dtype=object),
        categories=groups("categories", CATEGORIES),
        lines=groups("lines", LINES),
        projects=pd.DataFrame(projects, columns=["Projectcode", "Project", "Wijziging", "Toelichting"], dtype=object),
    )
