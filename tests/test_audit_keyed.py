"""The keyed, anchored trail: what an attacker with database access but without AUDIT_KEY tries is caught."""
from __future__ import annotations

import io
import sqlite3
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from app import create_app
from budget import services as budget
from core.audit import AuditAnchor, AuditEntry, _canonical_time, _digest, verify_chain
from core.auditkey import key_id
from core.db import db
from tests.factories import fund, make_programme, make_user
from tests.server import AUDIT_KEY

GUARDS = {"sqlite": ["audit_entry_no_update", "audit_entry_no_delete", "audit_entry_no_replace"],
          "postgresql": ["audit_entry_append_only", "audit_entry_no_truncate"]}


@pytest.fixture
def trail(session):
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, prog, {2024: "1.000", 2025: "2.000"})
    for n in range(12):
        budget.add_mutation(session, fin, prog, year=2025, amount=f"{n + 1}", kind="technisch", moment="intern",
                            reason=f"Mutatie {n}", mutation_date=date(2025, 1, 1))
    session.commit()
    return session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()


def _lift_guards(session, db_kind) -> None:
    """What the table's owner can do: take the append-only triggers away (SQLite: for good)."""
    for name in GUARDS[db_kind]:
        if db_kind == "postgresql":
            session.execute(text(f"ALTER TABLE audit_entry DISABLE TRIGGER {name}"))
        else:
            session.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def _restore_guards(session, db_kind) -> None:
    # PostgreSQL keeps a disabled trigger disabled after commit, for the next tests on this database too.
    if db_kind == "postgresql":
        for name in GUARDS[db_kind]:
            session.execute(text(f"ALTER TABLE audit_entry ENABLE TRIGGER {name}"))


def _rechain(session, db_kind, start: int, key: bytes | None, end: int | None = None,
             forged_label: str = "iemand-anders@demo.example"):
    """Rewrite entry `start` and recompute every hash after it (to `end`), as REVIEW-SECURITY H2's rechain.py."""
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    _lift_guards(session, db_kind)
    prev = next((r.entry_hash for r in rows if r.id == start - 1), "0" * 64)
    for r in [r for r in rows if start <= r.id <= (end or r.id)]:
        label = forged_label if r.id == start else r.actor_label
        changes = '{"forged": true}' if r.id == start else r.changes
        digest = _digest(prev, _canonical_time(r.at), r.actor_id, label, r.action, r.entity, r.entity_id, changes,
                         key)
        session.execute(text("UPDATE audit_entry SET actor_label = :l, changes = :c, prev_hash = :p, entry_hash = :h,"
                             " key_id = :k WHERE id = :id"),
                        {"l": label, "c": changes, "p": prev, "h": digest, "id": r.id,
                         "k": key_id(key) if key else None})
        prev = digest
    _restore_guards(session, db_kind)
    session.commit()
    session.expire_all()


def _verify(runner, *args):
    return runner.invoke(args=["audit", "verify", *args])


def test_untouched_keyed_trail_verifies_and_names_its_key(runner, session, trail):
    entries = session.scalars(select(AuditEntry)).all()
    assert {e.key_id for e in entries} == {key_id(AUDIT_KEY.encode())}
    result = _verify(runner)
    assert result.exit_code == 0 and f"{len(trail)} regels, keten ongebroken" in result.output


@pytest.mark.parametrize("attacker_key", [None, b"geraden-sleutel-0123456789abcdef"])
def test_rewrite_and_rechain_without_the_key_is_detected(runner, session, db_kind, trail, attacker_key):
    victim = trail[4]
    _rechain(session, db_kind, victim, attacker_key)
    result = _verify(runner)
    assert result.exit_code != 0, result.output
    if attacker_key is None:  # rechained as plain sha256, like the entries from before the key
        assert f"Regel {victim} is niet ondertekend, maar volgt op ondertekende regels" in result.output
    else:
        assert f"Regel {victim}" in result.output and "onbekende sleutel" in result.output


def test_rewrite_and_rechain_claiming_our_key_id_is_detected_at_the_rewritten_entry(runner, session, db_kind, trail):
    victim = trail[4]
    _rechain(session, db_kind, victim, b"geraden-sleutel-0123456789abcdef")
    # Relabel the forged entries with the real key's id: the HMAC still gives them away.
    _lift_guards(session, db_kind)
    session.execute(text("UPDATE audit_entry SET key_id = :k WHERE id >= :v"),
                    {"k": key_id(AUDIT_KEY.encode()), "v": victim})
    _restore_guards(session, db_kind)
    session.commit()
    result = _verify(runner)
    assert result.exit_code != 0 and f"Regel {victim} is gewijzigd" in result.output


def test_the_same_rechain_with_the_key_passes_so_the_key_is_what_protects(session, db_kind, trail):
    _rechain(session, db_kind, trail[4], AUDIT_KEY.encode())
    assert verify_chain(session)[0]


def _report(runner, tmp_path) -> tuple[int, str]:
    out = tmp_path / "stand.xlsx"
    result = runner.invoke(args=["report", "xlsx", "--programme", "TST", "--peildatum", "2025-06-30",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = dict(openpyxl.load_workbook(out)["Verantwoording"].iter_rows(min_row=3, values_only=True))
    head = rows["Audittrail (kop)"]
    entry_id, entry_hash = head.removeprefix("regel ").split(", hash ")
    return int(entry_id), entry_hash


def test_a_generated_report_records_the_head_in_its_verantwoording(runner, session, tmp_path, trail):
    entry_id, entry_hash = _report(runner, tmp_path)
    assert (entry_id, entry_hash) == (trail[-1], session.get(AuditEntry, trail[-1]).entry_hash)
    anchor = session.scalars(select(AuditAnchor)).one()
    assert (anchor.entry_id, anchor.entry_hash) == (entry_id, entry_hash) and anchor.source.startswith("werkboek TST")
    result = _verify(runner, "--kop", f"{entry_id}:{entry_hash}")
    assert result.exit_code == 0 and "2 vastgelegde koppen kloppen" in result.output


def test_web_downloads_record_the_head_too(app, session, trail):
    from tests.factories import login

    reader = make_user(session, "lezer")
    session.commit()
    client = app.test_client()
    login(client, reader)
    workbook = client.get("/rapportage/werkboek.xlsx?jaar=2025&peildatum=2025-06-30")
    rows = dict(openpyxl.load_workbook(io.BytesIO(workbook.data))["Verantwoording"].iter_rows(min_row=3,
                                                                                              values_only=True))
    head = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert rows["Audittrail (kop)"] == f"regel {head.id}, hash {head.entry_hash}"
    html = client.get("/rapportage/stand.html").get_data(as_text=True)
    assert f"Audittrail t/m regel {head.id}, hash {head.entry_hash}." in html
    session.expire_all()
    assert [a.source.split()[0] for a in session.scalars(select(AuditAnchor).order_by(AuditAnchor.id))] == [
        "werkboek", "HTML-rapport"]


def test_truncating_the_tail_is_detected_by_a_recorded_head(runner, session, db_kind, tmp_path, trail):
    entry_id, entry_hash = _report(runner, tmp_path)
    session.rollback()
    keep = trail[-10] - 1
    if db_kind == "postgresql":
        # REVIEW-SECURITY H2.3: keep the first rows, TRUNCATE, put them back (the owner lifts the guard).
        session.execute(text(f"CREATE TEMP TABLE keep AS SELECT * FROM audit_entry WHERE id <= {keep}"))
        session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_truncate"))
        session.execute(text("TRUNCATE audit_entry"))
        session.execute(text("INSERT INTO audit_entry SELECT * FROM keep"))
        session.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_truncate"))
        session.commit()
    else:
        _lift_guards(session, db_kind)
        session.execute(text(f"DELETE FROM audit_entry WHERE id > {keep}"))
        _restore_guards(session, db_kind)
        session.commit()
    result = _verify(runner)
    assert result.exit_code != 0
    assert f"Regel {entry_id} ontbreekt" in result.output and "ingekort" in result.output
    # The report itself is the anchor outside the database: its head also tells.
    assert "ontbreekt" in _verify(runner, "--kop", f"{entry_id}:{entry_hash}").output


def test_a_snapshot_records_the_head_and_verify_checks_it(runner, session, db_kind, trail):
    from projects.models import Programme
    from reports.services import create_snapshot, snapshot_frames

    fin = make_user(session, "financieel")
    snap = create_snapshot(session, fin, session.scalar(select(Programme)), date(2025, 6, 30), "Kamerbrief")
    session.commit()
    assert snap.audit_head_id is not None and snapshot_frames(snap).meta["audit_head"]["id"] == snap.audit_head_id
    _rechain(session, db_kind, snap.audit_head_id, AUDIT_KEY.encode())  # even with the key: the head differs
    result = _verify(runner)
    assert result.exit_code != 0
    assert f"Regel {snap.audit_head_id} is herschreven: vastgelegde stand {snap.id}" in result.output


def test_insert_or_replace_is_refused_on_sqlite(app, session, db_kind, trail):
    if db_kind != "sqlite":
        pytest.skip("INSERT OR REPLACE is SQLite's")
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    db.session.remove()
    conn = sqlite3.connect(path)  # as with the sqlite3 shell: no pragmas of the app
    columns = "id, at, actor_id, actor_label, action, entity, entity_id, changes, prev_hash, entry_hash, key_id"
    attacks = [
        f"INSERT OR REPLACE INTO audit_entry ({columns}) SELECT id, at, actor_id, 'forged', action, entity, "
        f"entity_id, changes, prev_hash, entry_hash, key_id FROM audit_entry WHERE id = {trail[5]}",
        f"REPLACE INTO audit_entry ({columns}) SELECT id, at, actor_id, 'forged', action, entity, "
        f"entity_id, changes, prev_hash, entry_hash, key_id FROM audit_entry WHERE id = {trail[6]}",
        f"UPDATE audit_entry SET actor_label = 'x' WHERE id = {trail[5]}",
        f"DELETE FROM audit_entry WHERE id = {trail[5]}",
    ]
    for sql in attacks:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    conn.execute("INSERT INTO audit_anchor (id, at, source, entry_id, entry_hash) "
                 f"SELECT 1, at, 'x', id, entry_hash FROM audit_entry WHERE id = {trail[0]}")
    conn.commit()
    for sql in ("INSERT OR REPLACE INTO audit_anchor (id, at, source, entry_id, entry_hash) "
                "VALUES (1, '2026-01-01', 'y', 1, 'h')",
                "UPDATE audit_anchor SET entry_id = 2", "DELETE FROM audit_anchor"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    conn.close()
    assert verify_chain(db.session)[0] and db.session.get(AuditEntry, trail[5]).actor_label != "forged"
    # With a new id REPLACE has nothing to replace (entry_hash is not unique): it is a plain append,
    # which deletes nothing and which verify names.
    conn = sqlite3.connect(path)
    conn.execute(f"INSERT OR REPLACE INTO audit_entry ({columns}) SELECT 9999, at, actor_id, 'forged', action, "
                 f"entity, entity_id, changes, prev_hash, entry_hash, key_id FROM audit_entry WHERE id = {trail[5]}")
    conn.commit()
    conn.close()
    db.session.remove()
    assert db.session.scalar(select(AuditEntry.actor_label).where(AuditEntry.id == trail[5])) != "forged"
    ok, first_bad, _message = verify_chain(db.session)
    assert not ok and first_bad == 9999


@pytest.mark.parametrize("sql", ["TRUNCATE audit_entry", "TRUNCATE audit_anchor", 'TRUNCATE "user" CASCADE',
                                 "UPDATE audit_anchor SET entry_id = 1", "DELETE FROM audit_anchor",
                                 "INSERT INTO audit_entry SELECT * FROM audit_entry LIMIT 1 "
                                 "ON CONFLICT (id) DO UPDATE SET actor_label = 'x'"])
def test_truncate_and_the_other_rewrites_are_refused_on_postgresql(session, db_kind, trail, sql):
    if db_kind != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    last = session.get(AuditEntry, trail[-1])
    session.add(AuditAnchor(source="test", entry_id=last.id, entry_hash=last.entry_hash))
    session.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text(sql))
    session.rollback()
    assert len(session.scalars(select(AuditEntry.id)).all()) == len(trail)
    assert verify_chain(session)[0]


def _legacy_trail(session, db_kind, count: int = 5) -> None:
    """Entries as a database from before migration 0013 holds them: plain sha256, no key id."""
    prev = "0" * 64
    for n in range(1, count + 1):
        at = "2026-01-0%dT10:00:00.000000" % n
        fields = (None, "oud@demo.example", "create", "Programme", n, '{"n": %d}' % n)
        digest = _digest(prev, at, *fields, None)
        session.execute(text("INSERT INTO audit_entry (id, at, actor_id, actor_label, action, entity, entity_id, "
                             "changes, prev_hash, entry_hash, key_id) VALUES (:id, :at, :a, :l, :ac, :e, :ei, "
                             ":c, :p, :h, NULL)"),
                        {"id": n, "at": at.replace("T", " "), "a": fields[0], "l": fields[1], "ac": fields[2],
                         "e": fields[3], "ei": fields[4], "c": fields[5], "p": prev, "h": digest})
        prev = digest
    if db_kind == "postgresql":
        session.execute(text("SELECT setval(pg_get_serial_sequence('audit_entry', 'id'), :n)"), {"n": count})
    session.commit()


def test_entries_from_before_the_key_must_be_sealed_and_then_are_protected(runner, session, db_kind):
    _legacy_trail(session, db_kind)
    result = _verify(runner)
    assert result.exit_code != 0 and "niet verzegeld" in result.output and "audit seal" in result.output
    sealed = runner.invoke(args=["audit", "seal"])
    assert sealed.exit_code == 0, sealed.output
    seal_entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert seal_entry.action == "seal" and seal_entry.key_id == key_id(AUDIT_KEY.encode())
    ok = _verify(runner)
    assert ok.exit_code == 0 and "Regels t/m 5 zijn van vóór AUDIT_KEY" in ok.output
    # Without the key, rewriting the old entries and re-chaining them (plain sha256) breaks the seal's link.
    _rechain(session, db_kind, 2, None, end=5)
    broken = _verify(runner)
    assert broken.exit_code != 0 and f"Keten gebroken bij regel {seal_entry.id}" in broken.output


def _app_with_keys(app, current: str, previous: str = ""):
    return create_app({k: app.config[k] for k in ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI")}
                      | {"AUDIT_KEY": current, "AUDIT_KEY_PREVIOUS": previous})


def test_key_rotation_verifies_with_the_previous_key_and_refuses_the_old_key_afterwards(app, session, trail):
    new_key, old_key = "nieuwe-sleutel-0123456789abcdef-0123", AUDIT_KEY
    db.session.remove()
    rotated = _app_with_keys(app, new_key, old_key)
    with rotated.app_context():
        runner = rotated.test_cli_runner()
        assert runner.invoke(args=["audit", "seal"]).exit_code == 0
        assert _verify(runner).exit_code == 0
        db.session.remove()
        db.engine.dispose()
    forgotten = _app_with_keys(app, new_key)
    with forgotten.app_context():
        result = _verify(forgotten.test_cli_runner())
        assert result.exit_code != 0 and "onbekende sleutel" in result.output and "AUDIT_KEY_PREVIOUS" in result.output
        db.session.remove()
        db.engine.dispose()
    # Someone who still has the old key appends after the rotation: refused by verify.
    fin = make_user(db.session, "lezer")
    db.session.commit()
    with rotated.app_context():
        result = _verify(rotated.test_cli_runner())
        assert result.exit_code != 0 and "al was vervangen" in result.output, result.output
        db.session.remove()
        db.engine.dispose()
    assert fin.id
