"""Excel import against hostile files, the web flow (upload, preview, confirm) and a killed import."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from core.db import db
from imports.cli import IMPORT_ACTOR
from imports.reader import UnsafeFile
from imports.services import run_import
from tests.factories import login as login_as
from tests.factories import make_user
from tests.test_import import big_file, counts, small_programme, xlsx

ROOT = Path(__file__).resolve().parent.parent


def _rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    """The same workbook with some parts replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, (replace or {}).get(info.filename, src.read(info.filename)))
        for name, content in (add or {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def zip_bomb() -> bytes:
    # 60 MB of one repeated byte squeezes into a few dozen kB: a ratio no real workbook has.
    return _rezip(xlsx(small_programme()), add={"xl/worksheets/sheet99.xml": b"<a>" + b" " * 60_000_000 + b"</a>"})


def billion_laughs() -> bytes:
    lol = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b']><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">&lol9;</workbook>')
    return _rezip(xlsx(small_programme()), replace={"xl/workbook.xml": lol})


def renamed_executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + os.urandom(4096)


def macro_workbook() -> bytes:
    data = xlsx(small_programme())
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        types = z.read("[Content_Types].xml")
    types = types.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                          b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    return _rezip(data, replace={"[Content_Types].xml": types}, add={"xl/vbaProject.bin": os.urandom(2048)})


HOSTILE = {
    "zip-bomb": (zip_bomb, "zip-bom"),
    "billion-laughs": (billion_laughs, "DTD of entiteiten"),
    "renamed-exe": (renamed_executable, "geen Excel-werkmap"),
    "xlsm": (macro_workbook, "macro"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_file_is_refused_with_a_dutch_message_and_nothing_written(session, kind):
    make, message = HOSTILE[kind]
    before = counts(session)
    with pytest.raises(UnsafeFile) as refused:
        run_import(session, IMPORT_ACTOR, make())
    assert message in refused.value.message
    session.rollback()
    assert counts(session) == before


@pytest.mark.parametrize("kind", ["zip-bomb", "billion-laughs"])
def test_cli_refuses_a_bomb_and_stays_under_300_mb(app, tmp_path, kind):
    path = tmp_path / "bom.xlsx"
    path.write_bytes(HOSTILE[kind][0]())
    # VmHWM is the child's own peak; ru_maxrss would carry over the pytest parent's after fork+exec.
    code = ("import sys\nfrom flask.cli import main\nsys.argv = ['flask', '--app', 'app', 'import', 'run', "
            f"{str(path)!r}]\ntry:\n    main()\nexcept SystemExit as exc:\n    print('EXIT', exc.code)\n"
            "print('MAXRSS', [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n")
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x" * 32,
           "AUDIT_KEY": app.config["AUDIT_KEY"]}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert HOSTILE[kind][1] in done.stderr
    assert "EXIT 1" in done.stdout
    maxrss_kb = int(done.stdout.split("MAXRSS")[1].split()[0])
    assert maxrss_kb < 300 * 1024


def test_cli_refuses_an_oversize_file(runner, tmp_path):
    path = tmp_path / "groot.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\0" * (21 * 1024 * 1024))
    result = runner.invoke(args=["import", "run", str(path)])
    assert result.exit_code != 0 and "groter dan 20 MB" in result.output


# --- Web -------------------------------------------------------------------------------------


def _login(client, session, role="financieel"):
    user = make_user(session, role)
    session.commit()
    login_as(client, user)
    return user


def _upload(client, url, data: bytes, name="import.xlsx"):
    return client.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_import_page_is_for_finance_roles_only(client, session):
    _login(client, session, "lezer")
    assert client.get("/import/").status_code == 403
    assert _upload(client, "/import/controleren", xlsx(small_programme())).status_code == 403


def test_web_preview_writes_nothing_then_confirm_with_the_same_file_imports(client, session):
    _login(client, session, "beheerder")
    page = client.get("/import/")
    assert page.status_code == 200 and "Importsjabloon downloaden" in page.text
    template = client.get("/import/sjabloon.xlsx")
    assert template.status_code == 200
    assert "Programma" in openpyxl.load_workbook(io.BytesIO(template.data)).sheetnames
    data = xlsx(small_programme())
    before = counts(session)
    preview = _upload(client, "/import/controleren", data)
    assert preview.status_code == 200
    assert "Wat de import zou doen" in preview.text and "Importeren" in preview.text
    session.rollback()
    assert counts(session) == before
    other = _upload(client, "/import/bevestigen", xlsx(small_programme(Betalingen=[])))
    assert other.status_code == 400 and "niet het bestand dat u heeft gecontroleerd" in other.text
    session.rollback()
    assert counts(session) == before
    done = _upload(client, "/import/bevestigen", data)
    assert done.status_code == 200 and "Import voltooid" in done.text
    session.rollback()
    after = counts(session)
    assert after["Commitment"] == 1 and after["Payment"] == 2
    export = client.get("/import/export.xlsx?programma=TST")
    assert export.status_code == 200 and export.data[:2] == b"PK"
    assert "attachment" in export.headers["Content-Disposition"]


def test_web_preview_lists_errors_by_sheet_row_and_column(client, session):
    _login(client, session)
    sheets = small_programme()
    sheets["Projecten"][0][5] = "Onzin"
    page = _upload(client, "/import/controleren", xlsx(sheets))
    assert page.status_code == 400
    assert "Fouten per regel" in page.text and "Programmalijn" in page.text and "Onzin" in page.text
    # A finance officer may not create programmes: said on the row, nothing written.
    page = _upload(client, "/import/controleren", xlsx(small_programme()))
    assert page.status_code == 400 and "Alleen een beheerder kan een programma aanmaken" in page.text
    assert "/import/bevestigen" not in page.text  # no confirm button on a refused file
    session.rollback()
    assert counts(session)["Programme"] == 0


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_web_refuses_hostile_uploads(client, session, kind):
    _login(client, session)
    before = counts(session)
    page = _upload(client, "/import/controleren", HOSTILE[kind][0](), name="onschuldig.xlsx")
    assert page.status_code == 400 and HOSTILE[kind][1] in page.text
    session.rollback()
    assert counts(session) == before


def test_web_oversize_upload_gets_the_dutch_413_page(client, session):
    _login(client, session)
    page = _upload(client, "/import/controleren", b"PK\x03\x04" + b"\0" * (21 * 1024 * 1024))
    assert page.status_code == 413 and "Bestand te groot" in page.text


# --- Killed halfway --------------------------------------------------------------------------


def test_cli_import_killed_halfway_leaves_the_database_as_it_was(app, session, tmp_path, db_kind):
    run_import(session, IMPORT_ACTOR, xlsx(small_programme()))
    session.commit()
    before = counts(session)
    path = tmp_path / "groot.xlsx"
    path.write_bytes(big_file(payments=1500))
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x" * 32,
           "AUDIT_KEY": app.config["AUDIT_KEY"]}
    session.close()
    proc = subprocess.Popen([str(ROOT / ".venv/bin/flask") if (ROOT / ".venv/bin/flask").exists() else "flask",
                             "--app", "app", "import", "run", str(path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("bezig: 30%"):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "".join(seen)
    assert counts(session) == before
    if db_kind == "sqlite":
        assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
