"""The round's rules on plain values: its fields, who is late, and which reminder is due on a day."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core import validate
from core.dates import datum_lang
from core.errors import Collect, ValidationError
from rounds.models import MAX_REMIND_DAYS

#: The status a project has on the peildatum for it to owe an update (suspended projects still report).
RUNNING_STATUSES = ("toegekend", "in_uitvoering", "opgeschort")


@dataclass(frozen=True)
class RoundFields:
    title: str
    deadline: date
    kamerstuk: str
    remind_days_before: int
    remind_days_after: int


def check_fields(values: dict, opened_on: date) -> RoundFields:
    """The editable fields of a round, every refusal at once; the deadline is not before `opened_on`."""
    c = Collect()
    title = c(validate.text, values.get("title"), "een titel, bijvoorbeeld Voortgangsrapportage voorjaar 2026",
              "title", max_len=200)
    deadline = c(validate.day, values.get("deadline"), "deadline")
    if deadline is not None and deadline < opened_on:
        c.errors.append(ValidationError(f"De deadline ligt voor {datum_lang(opened_on)}, de dag waarop de ronde "
                                        "opent: kies een latere datum.", field="deadline"))
    kamerstuk = c(validate.text, values.get("kamerstuk"), "", "kamerstuk", required=False, max_len=200)
    before = c(_days, values.get("remind_days_before"), "remind_days_before")
    after = c(_days, values.get("remind_days_after"), "remind_days_after")
    c.raise_any()
    return RoundFields(title, deadline, kamerstuk, before, after)


def check_peildatum(value) -> date:
    return validate.day(value, "peildatum")


def _days(value, field: str) -> int:
    if value is None or value == "":
        return 3
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise ValidationError("Vul een aantal dagen in (0 voor geen herinnering).", field=field) from None
    if not 0 <= days <= MAX_REMIND_DAYS:
        raise ValidationError(f"Kies 0 tot en met {MAX_REMIND_DAYS} dagen.", field=field)
    return days


def schedule(opened_on: date, deadline: date, before: int, after: int) -> list[tuple[str, date]]:
    """The round's mails in order, as (kind, day): the invitation, before, on and after the deadline.

    A reminder that would fall on or before the opening day is left out: the invitation says it all.
    """
    plan = [("uitnodiging", opened_on)]
    if before and deadline - timedelta(days=before) > opened_on:
        plan.append(("herinnering", deadline - timedelta(days=before)))
    if deadline > opened_on:
        plan.append(("deadline", deadline))
    if after:
        plan.append(("te_laat", deadline + timedelta(days=after)))
    return plan


def due(plan: list[tuple[str, date]], today: date) -> tuple[str, date] | None:
    """The latest mail of the plan that is due on `today`; the earlier ones it replaces are never sent late.

    So a mail server that was down for a week, or a timer that did not run, gives one mail with
    the news of today, not a pile of stale reminders.
    """
    passed = [step for step in plan if step[1] <= today]
    return passed[-1] if passed else None


def progress(updated: bool, deadline: date, today: date) -> str:
    """'bijgewerkt', 'open' (still in time) or 'te_laat' (the deadline has passed without an update)."""
    if updated:
        return "bijgewerkt"
    return "te_laat" if today > deadline else "open"


PROGRESS = {"bijgewerkt": "Bijgewerkt", "open": "Nog niet bijgewerkt", "te_laat": "Te laat"}
