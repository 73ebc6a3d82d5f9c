"""The audit trail as a person reads it: Dutch object names, verbs, field labels and formatted values."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from core.audit import SECRET_FIELDS, AuditEntry, objects_by_id
from core.dates import datum, tijdstip
from core.money import format_eur

ENTITIES = {
    "Payment": "Betaling", "Commitment": "Verplichting", "Project": "Project", "Programme": "Programma",
    "Organisation": "Organisatie", "FundingSource": "Financieringsbron", "BudgetAllocation": "Budgettoewijzing",
    "BudgetMutation": "Mutatie", "StaffingReservation": "Reservering ambtelijke ondersteuning",
    "StaffingCost": "Personeelskosten", "User": "Gebruiker", "Import": "Import",
    "PeriodClosure": "Boekperiode", "StatusUpdate": "Statusupdate", "ReportSnapshot": "Vastgelegde stand",
    "Audittrail": "Audittrail", "ReportingRound": "Rapportageronde",
    "PendingEntry": "Boeking ter goedkeuring", "CommitmentSettlement": "Vaststelling",
    "ApiToken": "API-token", "Scenario": "Scenario", "ScenarioEntry": "Scenariopost",
    "Proposal": "Voorstel op de wachtlijst",
}
ACTIONS = {
    "create": "aangemaakt", "update": "gewijzigd", "delete": "verwijderd", "adjust": "bijgesteld",
    "close": "afgesloten", "reopen": "heropend", "import": "geïmporteerd", "status": "status gewijzigd",
    "activate": "geactiveerd", "deactivate": "gedeactiveerd", "set_password": "wachtwoord ingesteld",
    "enable_2fa": "tweestapsverificatie aangezet", "seal": "verzegeld",
    "submit": "ter goedkeuring aangeboden", "approve": "goedgekeurd", "reject": "afgewezen",
    "settle": "vastgesteld", "revoke": "ingetrokken", "adopt": "aangenomen",
}
#: The form labels; a column without a label here is shown under a generic Dutch name, never its own.
FIELDS = {
    "code": "Code", "name": "Naam", "title": "Titel", "ministry": "Ministerie", "budget_article": "Begrotingsartikel",
    "first_year": "Eerste jaar", "last_year": "Laatste jaar", "type": "Soort organisatie", "summary": "Samenvatting",
    "category": "Categorie", "line": "Lijn", "instrument": "Instrument", "status": "Status",
    "initial_status": "Status bij invoer", "start_date": "Startdatum", "end_date": "Einddatum",
    "requested_amount": "Aangevraagd bedrag", "internal_notes": "Interne notities",
    "contact_person": "Contactpersoon", "predecessor_outside": "Voorganger (buiten de monitor)",
    "forms": "Vormen van uitbuiting", "kind": "Soort", "reference": "Kenmerk", "year": "Jaar",
    "amount": "Bedrag", "amounts": "Bedragen per jaar", "moment": "Moment", "reason": "Reden",
    "reasons": "Redenen per jaar", "date": "Datum", "fte": "Fte", "description": "Omschrijving",
    "signed_date": "Datum ondertekening", "total": "Totaal", "schedule": "Kasritme",
    "through": "Afgesloten tot en met", "previous": "Eerder afgesloten tot en met",
    "closed_through": "Afgesloten tot en met", "action": "Handeling", "actor_label": "Door",
    "email": "E-mail", "role": "Rol", "active": "Actief", "display_name": "Naam", "two_factor": "Tweestapsverificatie",
    "password": "Wachtwoord", "rag": "Voortgang", "progress": "Toelichting (intern)", "public_text": "Openbare tekst",
    "next_steps": "Vervolgstappen", "peildatum": "Peildatum", "kamerstuk": "Kamerstuk", "bestand": "Bestand",
    "counts": "Aantallen", "kop": "Laatste regel", "sleutel": "Sleutel", "vorige_sleutel": "Vorige sleutel",
    "valid_from": "Geldig vanaf", "adjustments": "Bijstellingen", "delta": "Verschil",
    "allocations": "Budget per jaar", "programme": "Programma",
    "programme_id": "Programma", "organisation_id": "Organisatie", "owner_id": "Eigenaar",
    "predecessor_id": "Voorganger", "commitment_id": "Verplichting", "project_id": "Project",
    "source_id": "Financieringsbron", "reservation_id": "Reservering",
    "deadline": "Deadline", "opened_on": "Updates vanaf", "remind_days_before": "Herinnering dagen voor de deadline",
    "remind_days_after": "Herinnering dagen na de deadline", "state": "Stand",
    "projects": "Projecten", "snapshot_id": "Vastgelegde stand", "closed_at": "Afgesloten op",
    "opened_at": "Geopend op", "close_period": "Boeken afgesloten t/m peildatum",
    "four_eyes": "Vier ogen", "four_eyes_payments": "Vier ogen ook op betalingen",
    "approval_threshold": "Drempel vier ogen", "scope": "Bevoegdheid", "expires_on": "Geldig t/m",
    "priority": "Prioriteit", "readiness": "Gereedheid",
    "prefix": "Begint met", "revoked_at": "Ingetrokken op", "approval": "Goedkeuring",
    "deltas": "Verandering vrije ruimte per jaar", "override_reason": "Reden doorbraak",
    "entered_label": "Ingevoerd door", "entered_at": "Ingevoerd op", "decided_at": "Besloten op",
    "decision_reason": "Reden besluit", "result": "Vastgelegd als", "override": "Doorbraak budgetstop",
    "settlement": "Vaststelling", "vrijval": "Vrijval", "recovery": "Terugvordering",
    "recovery_due": "Terugvordering uiterlijk", "note": "Toelichting", "settlement_date": "Datum vaststelling",
    "settlement_months": "Maanden tot vaststelling",
}
#: Fields that refer to another object: shown as that object's name.
REFERENCES = {"programme_id": "Programme", "organisation_id": "Organisation", "owner_id": "User",
              "predecessor_id": "Project", "commitment_id": "Commitment", "project_id": "Project",
              "source_id": "FundingSource", "reservation_id": "StaffingReservation",
              "snapshot_id": "ReportSnapshot"}
#: Bookkeeping a person does not read (ids, versions, hashes, the stored report data).
HIDDEN = {"id", "version", "created_at", "kasschuif_group", "actor_id", "author_id", "created_by_id", "data",
          "opened_by_id", "closed_by_id", "entered_by_id", "settlement_id", "decided_by_id", "payload", "params",
          "sha256", "kop_hash", "audit_head_id", "audit_head_hash", "at", *SECRET_FIELDS}
#: Amounts, and per-year amounts ({"2027": "180000.00"}), shown in euros.
AMOUNTS = {"amount", "total", "recovery", "vrijval", "requested_amount", "delta", "amounts", "allocations", "schedule", "approval_threshold"}
#: How a parent is found from a child, to name "Betaling X op verplichting Y (PROJECT)".
PARENTS = {"Payment": ("commitment_id", "Commitment"), "Commitment": ("project_id", "Project"),
           "BudgetAllocation": ("source_id", "FundingSource"), "StaffingCost": ("reservation_id", "StaffingReservation"),
           "StaffingReservation": ("programme_id", "Programme"), "BudgetMutation": ("programme_id", "Programme"),
           "FundingSource": ("programme_id", "Programme"), "PeriodClosure": ("programme_id", "Programme"),
           "StatusUpdate": ("project_id", "Project"), "ReportSnapshot": ("programme_id", "Programme"),
           "ReportingRound": ("programme_id", "Programme"), "PendingEntry": ("programme_id", "Programme"),
           "CommitmentSettlement": ("commitment_id", "Commitment")}


#: (object type, field) -> {code: Dutch label}, registered by the models that own the codes (core does
#: not import budget or projects), so the trail shows "In behandeling", not "in_behandeling".
CODES: dict[tuple[str, str], dict] = {}


def register_codes(entity: str, **fields: dict) -> None:
    for key, labels in fields.items():
        CODES[(entity, key)] = labels


def entity_name(entity: str) -> str:
    return ENTITIES.get(entity, "Object")


def action_name(action: str) -> str:
    return ACTIONS.get(action, "gewijzigd")


def field_name(key: str) -> str:
    return FIELDS.get(key, "Overig gegeven")


def local_time(at: datetime) -> str:
    """An audit time in Europe/Amsterdam to the minute, like every time on screen: '3-2-2026 14:05'."""
    return tijdstip(at)


def _day(value) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return datum(value)


def _amount(value) -> str:
    try:
        return format_eur(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def format_value(key: str, value, names: dict | None = None, codes: dict | None = None) -> str:
    """One value as a person reads it: € 1.234,56, 1-6-2026, ja/nee, – for nothing, names for references."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if codes and isinstance(value, str):
        return str(codes.get(value, value))
    if key == "fte":
        return str(value).replace(".", ",")
    if key in REFERENCES and names is not None:
        return names.get((REFERENCES[key], value)) or f"{entity_name(REFERENCES[key])} (verwijderd)"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {format_value(key, v, names, codes)}" for k, v in value.items()) or "–"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(key, v, names, codes) for v in value) or "–"
    if key in AMOUNTS:
        return _amount(value)
    if isinstance(value, date | datetime) or (key in ("date", "start_date", "end_date", "signed_date", "through",
                                                      "previous", "closed_through", "peildatum", "valid_from",
                                                      "recovery_due", "settlement_date")):
        return _day(value)
    return str(value)


def override_text(override: dict) -> str:
    """'Budgetstop doorbroken: reden …; tekort 2027 € 180.000,00'."""
    text = f"Budgetstop doorbroken: reden {override.get('reason') or '–'}"
    for year, amount in sorted((override.get("shortfalls") or {}).items()):
        text += f"; tekort {year} {_amount(amount)}"
    return text


@dataclass
class Readable:
    """One audit entry as the page shows it."""

    entry: AuditEntry
    time: str
    actor: str
    action: str
    kind: str
    label: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def link(self) -> tuple[str, int] | None:
        return (self.entry.entity, self.entry.entity_id) if self.entry.entity_id else None


def _values(obj) -> dict:
    return {attr.key: getattr(obj, attr.key) for attr in obj.__mapper__.column_attrs}


class Namer:
    """Names the objects of a page of entries, loaded in a bounded number of queries (per type, per level)."""

    def __init__(self, session, entries, extra: dict | None = None):
        self.objects: dict = {}
        self.fallback: dict = {}  # an object's values from its own entries, for one that no longer exists
        wanted: dict[str, set] = {k: set(v) for k, v in (extra or {}).items()}
        for e in entries:
            changes = e.changes_dict
            values = {**(changes.get("before") or {}), **(changes.get("after") or {})}
            if e.entity_id is not None:
                wanted.setdefault(e.entity, set()).add(e.entity_id)
                self.fallback.setdefault((e.entity, e.entity_id), values)
            for key, target in REFERENCES.items():
                if isinstance(values.get(key), int):
                    wanted.setdefault(target, set()).add(values[key])
        # Parents of parents: payment → commitment → project is three levels at most.
        for _level in range(4):
            new = {k: {i for i in ids if (k, i) not in self.objects} for k, ids in wanted.items()}
            new = {k: ids for k, ids in new.items() if ids}
            if not new:
                break
            self.objects.update(objects_by_id(session, new))
            wanted = {}
            for key_ids, ids in new.items():
                for i in ids:
                    parent = PARENTS.get(key_ids)
                    values = self.values(key_ids, i)
                    if parent and isinstance(values.get(parent[0]), int) \
                            and (parent[1], values[parent[0]]) not in self.objects:
                        wanted.setdefault(parent[1], set()).add(values[parent[0]])
            for k in list(new):
                new[k] = {i for i in new[k] if (k, i) in self.objects}
            # Ids already asked for and not found must not be asked again.
            for k, ids in wanted.items():
                wanted[k] = {i for i in ids if i not in new.get(k, set())}

    def values(self, entity: str, entity_id) -> dict:
        obj = self.objects.get((entity, entity_id))
        return _values(obj) if obj is not None else self.fallback.get((entity, entity_id), {})

    def _parent(self, entity: str, values: dict) -> dict:
        key, target = PARENTS[entity]
        return self.values(target, values.get(key)) if values.get(key) is not None else {}

    def name(self, entity: str, entity_id, values: dict | None = None) -> str:
        """'Betaling BET-2025-12 op verplichting V-01 (STM-007)', 'Project STM-007 – titel', ..."""
        v = values if values is not None else self.values(entity, entity_id)
        word = entity_name(entity)
        if entity == "Payment":
            c = self._parent("Payment", v)
            p = self._parent("Commitment", c) if c else {}
            ref = v.get("reference") or (_day(v["date"]) if v.get("date") else "")
            text = f"Betaling {ref}".rstrip()
            if c:
                text += f" op verplichting {c.get('reference')}" + (f" ({p.get('code')})" if p else "")
            return text
        if entity == "Commitment":
            p = self._parent("Commitment", v)
            return f"Verplichting {v.get('reference', '')}" + (f" ({p.get('code')})" if p else "")
        if entity in ("Project", "Programme"):
            return f"{word} {v.get('code', '')} – {v.get('title') or v.get('name') or ''}".rstrip(" –")
        if entity in ("Organisation", "FundingSource"):
            return f"{word} {v.get('name', '')}".rstrip()
        if entity == "User":
            return f"Gebruiker {v.get('email') or v.get('display_name') or ''}".rstrip()
        if entity == "BudgetAllocation":
            s = self._parent("BudgetAllocation", v)
            return f"Budgettoewijzing {v.get('year', '')}" + (f" van {s.get('name')}" if s else "")
        if entity in ("BudgetMutation", "StaffingReservation", "PeriodClosure", "ReportSnapshot"):
            prog = self._parent(entity, v)
            if entity == "BudgetMutation" and v.get("kind") == "kasschuif":
                word = "Kasschuif"
            detail = " ".join(str(x) for x in (v.get("year"), v.get("title")) if x)
            return " ".join(x for x in (word, detail, f"({prog['code']})" if prog.get("code") else "") if x)
        if entity == "StaffingCost":
            r = self._parent("StaffingCost", v)
            ref = v.get("reference") or (_day(v["date"]) if v.get("date") else "")
            return " ".join(x for x in (word, ref, f"(reservering {r['year']})" if r.get("year") else "") if x)
        if entity == "StatusUpdate":
            p = self._parent("StatusUpdate", v)
            return f"Statusupdate {_day(v['date']) if v.get('date') else ''} bij {p.get('code', 'project')}"
        if entity == "Import":
            return f"Import {v.get('bestand', '')}".rstrip()
        return word

    def names(self) -> dict:
        return {key: self.name(key[0], key[1]) for key in self.objects}


def _rows(entity: str, action: str, changes: dict, names: dict, hide: tuple = ()) -> list[tuple[str, str, str]]:
    before, after = changes.get("before") or {}, changes.get("after") or {}
    rows = []
    for key in [*after, *(k for k in before if k not in after)]:
        if key in HIDDEN or key in hide or (action == "create" and after.get(key) in (None, "", [], {})):
            continue
        codes = CODES.get((entity, key))
        old = format_value(key, before.get(key), names, codes) if key in before else "–"
        new = format_value(key, after.get(key), names, codes) if key in after else "–"
        rows.append((field_name(key), old, new))
    return rows


def approval_text(approval: dict) -> str:
    """A booking that waited for four eyes: who approved it and when (approvals.services.approve)."""
    try:
        when = tijdstip(datetime.fromisoformat(approval["at"]))
    except (KeyError, TypeError, ValueError):
        when = "–"
    return (f"Goedgekeurd door {approval.get('approved_by') or '–'} op {when} "
            f"(ter goedkeuring nr. {approval.get('entry') or '–'})")


def readable(session, entries, hide: tuple = ()) -> list[Readable]:
    """A page of entries as people read them; the queries do not grow with the number of entries."""
    namer = Namer(session, entries)
    names = namer.names()
    result = []
    for e in entries:
        changes = e.changes_dict
        own = {**(changes.get("before") or {}), **(changes.get("after") or {})}
        values = namer.values(e.entity, e.entity_id) or own
        kind = entity_name(e.entity)
        if e.entity == "BudgetMutation" and (changes.get("kasschuif_group") or values.get("kind") == "kasschuif"):
            kind = "Kasschuif"
        notes = [override_text(changes["override"])] if isinstance(changes.get("override"), dict) else []
        for adjustment in changes.get("adjustments") or []:
            notes.append(f"Bijstelling {adjustment.get('year')}: {_amount(adjustment.get('amount'))}, "
                         f"{_day(adjustment['date']) if adjustment.get('date') else '–'}, "
                         f"reden {adjustment.get('reason') or '–'}")
        if isinstance(changes.get("approval"), dict):
            notes.append(approval_text(changes["approval"]))
        for key, value in changes.items():
            if key not in ("before", "after", "override", "adjustments", "approval") and key not in HIDDEN:
                notes.append(f"{field_name(key)}: {format_value(key, value, names)}")
        result.append(Readable(entry=e, time=local_time(e.at), actor=e.actor_label, action=action_name(e.action),
                               kind=kind, label=namer.name(e.entity, e.entity_id, values),
                               rows=_rows(e.entity, e.action, changes, names, hide), notes=notes))
    return result


def current_rows(session, entity: str, current: dict, hide: tuple = ()) -> list[tuple[str, str]]:
    """The 409 page's current values: Dutch labels, formatted values, names for references, no bookkeeping."""
    wanted = {}
    for key, value in current.items():
        if key in REFERENCES and isinstance(value, int):
            wanted.setdefault(REFERENCES[key], set()).add(value)
    names = Namer(session, [], wanted).names()
    return [(field_name(k), format_value(k, v, names, CODES.get((entity, k)))) for k, v in current.items()
            if k not in HIDDEN and k not in hide]
