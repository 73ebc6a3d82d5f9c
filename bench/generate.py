"""Synthetic portfolio: `python -m bench.generate --projects N --programmes P --seed S` (bulk inserts)."""
from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select

from budget.models import (
    AllocationChange,
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    CommitmentSchedule,
    FundingSource,
    Payment,
    StaffingChange,
    StaffingCost,
    StaffingReservation,
)
from core.bulk import advance_id_sequences
from core.users import User
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    Organisation,
    Programme,
    Project,
    ProjectExploitation,
    StatusUpdate,
)

# Ten years that lie in the past: a payment is never dated after today (budget.rules.payment_day), so an
# export of this portfolio imports again.
FIRST_YEAR, YEARS = 2016, 10
BATCH = 5000


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    """A whole-euro amount between low and high euros (as Decimal, never float)."""
    return Decimal(rng.randrange(low, high + 1))


def _insert(session, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start:start + BATCH])


def _next_id(session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def generate(session, projects: int, programmes: int, seed: int) -> dict[str, int]:
    """Add `projects` projects spread over `programmes` new programmes; deterministic per seed.

    Ids are assigned here, so rows link up without reading anything back per row.
    """
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    owner_id = _next_id(session, User)
    _insert(session, User, [{"id": owner_id + i, "email": f"bench-{seed}-{owner_id + i}@bench.example",
                             "name": f"Projectleider {i}", "role": "projectleider",
                             "password_hash": "!", "active": True} for i in range(20)])
    org_id = _next_id(session, Organisation)
    org_types = list(ORGANISATION_TYPES)
    _insert(session, Organisation, [{"id": org_id + i, "name": f"Organisatie {seed}-{org_id + i}",
                                     "type": org_types[i % len(org_types)]} for i in range(200)])
    prog_id, source_id = _next_id(session, Programme), _next_id(session, FundingSource)
    per_programme = [projects // programmes + (1 if i < projects % programmes else 0) for i in range(programmes)]
    progs, sources, allocs, mutations, reservations, costs, changes = [], [], [], [], [], [], []
    reservation_id = _next_id(session, StaffingReservation)
    for p, n in enumerate(per_programme):
        pid = prog_id + p
        progs.append({"id": pid, "code": f"B{seed % 1000:03d}{pid}", "name": f"Benchmarkprogramma {pid}",
                      "ministry": "Ministerie van JenV", "budget_article": "33", "first_year": FIRST_YEAR,
                      "last_year": FIRST_YEAR + YEARS - 1})
        sources.append({"id": source_id + p, "programme_id": pid, "name": "Structureel", "kind": "structureel",
                        "reference": "bench"})
        for y in range(FIRST_YEAR, FIRST_YEAR + YEARS):
            mutations.append({"programme_id": pid, "year": y, "amount": _cents(rng, 1_000, 50_000),
                              "kind": "beleidsmatig", "moment": "voorjaarsnota", "reason": "Voorjaarsnota",
                              "reference": "", "date": date(y, 4, 15)})
            reservations.append({"id": reservation_id, "programme_id": pid, "year": y, "fte": Decimal("2.00"),
                                 "amount": Decimal(200_000)})
            # Reserved from the first of January of the year before: it counts before its first cost.
            changes.append({"reservation_id": reservation_id, "valid_from": date(y - 1, 1, 1),
                            "fte": Decimal("2.00"), "amount": Decimal(200_000)})
            for q in range(4):
                costs.append({"reservation_id": reservation_id, "reference": "", "amount": Decimal(50_000),
                              "date": date(y, 3 * q + 3, 28), "description": f"Q{q + 1}"})
            reservation_id += 1
    for model, rows in ((Programme, progs), (FundingSource, sources),
                        (BudgetMutation, mutations), (StaffingReservation, reservations), (StaffingCost, costs),
                        (StaffingChange, changes)):
        _insert(session, model, rows)
        counts[model.__tablename__] = len(rows)

    project_id, commitment_id = _next_id(session, Project), _next_id(session, Commitment)
    cats, lines, instruments, forms = list(CATEGORIES), list(LINES), list(INSTRUMENTS), list(EXPLOITATION_FORMS)
    rows: dict[type, list[dict]] = {m: [] for m in (Project, ProjectExploitation, StatusUpdate, Commitment,
                                                    CommitmentSchedule, Payment)}
    committed: dict[tuple[int, int], Decimal] = {}
    for p, n in enumerate(per_programme):
        first_project = project_id
        for _ in range(n):
            start = date(FIRST_YEAR, 1, 1) + timedelta(days=rng.randrange(0, 365 * (YEARS - 3)))
            end = start + timedelta(days=rng.randrange(180, 365 * 3))
            status = rng.choice(("voorstel", "in_behandeling", "toegekend", "in_uitvoering", "in_uitvoering",
                                 "afgerond", "afgerond", "afgewezen"))
            category = rng.choice(cats)
            # A follow-up continues an earlier project of its programme (the domain requires one).
            predecessor = rng.randrange(first_project, project_id) if project_id > first_project else None
            if category == "vervolg" and predecessor is None:
                category = "lopend"
            rows[Project].append({
                "id": project_id, "programme_id": prog_id + p, "code": f"P{project_id:06d}",
                "title": f"Project {project_id} tegen uitbuiting", "summary": "Synthetisch project.",
                "category": category, "line": rng.choice(lines),
                "predecessor_id": predecessor if category == "vervolg" else None, "instrument": rng.choice(instruments),
                "organisation_id": org_id + rng.randrange(200), "owner_id": owner_id + rng.randrange(20),
                "status": status, "start_date": start, "end_date": end,
                "requested_amount": _cents(rng, 20_000, 400_000), "internal_notes": "", "contact_person": ""})
            for form in rng.sample(forms, rng.randint(1, 3)):
                rows[ProjectExploitation].append({"project_id": project_id, "form": form})
            for k in range(rng.randint(1, 4)):
                rows[StatusUpdate].append({
                    "project_id": project_id, "author_id": owner_id, "date": start + timedelta(days=90 * k),
                    "status": status, "rag": rng.choice(("op_koers", "risico", "achter")),
                    "progress": "Voortgang", "public_text": "Openbare stand", "next_steps": ""})
            if status in ("voorstel", "in_behandeling", "afgewezen"):
                project_id += 1
                continue
            # 3-6 commitments for the 5 in 8 projects with money: about three per project overall.
            for c in range(rng.randint(3, 6)):
                first = min(start.year + c, FIRST_YEAR + YEARS - 1)
                span = [y for y in range(first, first + rng.randint(1, 4)) if y < FIRST_YEAR + YEARS]
                amounts = [_cents(rng, 5_000, 60_000) for _ in span]
                total = sum(amounts, Decimal(0))
                signed = date(first, 1, 1) + timedelta(days=rng.randrange(0, 300))
                rows[Commitment].append({"id": commitment_id, "project_id": project_id,
                                         "reference": f"BS-{seed}-{commitment_id}", "signed_date": signed,
                                         "total": total, "description": ""})
                for year, amount in zip(span, amounts):
                    committed[(prog_id + p, year)] = committed.get((prog_id + p, year), Decimal(0)) + amount
                    rows[CommitmentSchedule].append({"commitment_id": commitment_id, "year": year, "amount": amount})
                # About eight payments that together stay within the total.
                part = (total / 10).quantize(Decimal("0.01"))
                for k in range(rng.randint(6, 10)):
                    rows[Payment].append({"commitment_id": commitment_id, "reference": None,
                                          "date": min(signed + timedelta(days=30 * k + 1),
                                                      date(FIRST_YEAR + YEARS - 1, 12, 31)),
                                          "amount": part, "kind": "voorschot" if k == 0 else "betaling",
                                          "description": ""})
                commitment_id += 1
            project_id += 1
    # Budget sized to what was committed: about 60 % of every year committed, so the free room stays
    # positive and the budget stop lets an export of this data import again.
    alloc_id, alloc_changes = _next_id(session, BudgetAllocation), []
    for p in range(programmes):
        for y in range(FIRST_YEAR, FIRST_YEAR + YEARS):
            need = committed.get((prog_id + p, y), Decimal(0)) + 200_000
            amount = (need / 6 * 10).quantize(Decimal(1))
            allocs.append({"id": alloc_id, "source_id": source_id + p, "year": y, "amount": amount})
            # Known from the first of January of the year before (a ontwerpbegroting), in two steps: a
            # raise of a tenth from 1 July of that year gives each allocation a history.
            raise_ = (amount / 11).quantize(Decimal(1))
            alloc_changes += [{"allocation_id": alloc_id, "valid_from": date(y - 1, 1, 1), "amount": amount - raise_},
                              {"allocation_id": alloc_id, "valid_from": date(y - 1, 7, 1), "amount": raise_}]
            alloc_id += 1
    rows[BudgetAllocation] = allocs
    rows[AllocationChange] = alloc_changes
    for model, model_rows in rows.items():
        _insert(session, model, model_rows)
        counts[model.__tablename__] = len(model_rows)
    advance_id_sequences(session, [m.__table__ for m in (User, Organisation, Programme, FundingSource,
                                                          StaffingReservation, Project, Commitment,
                                                          BudgetAllocation)])
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Maak een synthetische portefeuille (bulk).")
    parser.add_argument("--projects", type=int, required=True)
    parser.add_argument("--programmes", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    from app import create_app
    from core.db import db

    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        counts = generate(db.session, args.projects, args.programmes, args.seed)
        db.session.commit()
        took = time.perf_counter() - started
    print(f"{args.projects} projecten in {args.programmes} programma's ({took:.1f} s): "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
