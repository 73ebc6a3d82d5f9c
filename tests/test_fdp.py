"""Open data as a Fiscal Data Package: valid (frictionless), the workbook's figures exactly, no personal data."""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import frictionless
import openpyxl
import pytest
from frictionless import Metadata
from sqlalchemy import select

from budget.demo import load_demo
from core.policy import ALL, POLICY
from core.users import User
from projects.models import Programme, Project, StatusUpdate
from reports import excel, fdp, services
from reports.queries import live_frames
from tests.factories import login, make_user

PEIL = date(2025, 6, 30)
QUERY = "jaar=2025&peildatum=2025-06-30"
URL = f"/rapportage/open-data.zip?{QUERY}"
#: Where frictionless looks up the profile `fiscal-data-package` (frictionless.package.package).
FDP_PROFILE_URL = "https://specs.frictionlessdata.io/schemas/fiscal-data-package.json"
#: The Fiscal Data Package's rules for the descriptor (specs.frictionlessdata.io/fiscal-data-package, the model of
#: v0.3 that the profile's JSON schema checks), written out here: the tests have no network to fetch it.
FDP_RULES = {
    "type": "object",
    "required": ["name", "title", "resources", "model"],
    "properties": {
        "name": {"type": "string", "pattern": "^[-a-z0-9._/]+$"},
        "countryCode": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "granularity": {"enum": ["aggregated", "transactional"]},
        "fiscalPeriod": {"type": "object", "required": ["start"],
                         "properties": {"start": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                                        "end": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}}},
        "resources": {"type": "array", "minItems": 1,
                      "items": {"type": "object", "required": ["name", "path", "schema", "profile"]}},
        "model": {"type": "object", "required": ["measures", "dimensions"], "properties": {
            "measures": {"type": "object", "minProperties": 1, "additionalProperties": {
                "type": "object", "required": ["source", "currency"], "properties": {
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                    "factor": {"type": "number"},
                    "direction": {"enum": ["expenditure", "revenue"]},
                    "phase": {"enum": ["proposed", "approved", "adjusted", "executed"]}}}},
            "dimensions": {"type": "object", "minProperties": 1, "additionalProperties": {
                "type": "object", "required": ["attributes", "primaryKey"], "properties": {
                    "attributes": {"type": "object", "minProperties": 1,
                                   "additionalProperties": {"type": "object", "required": ["source"]}},
                    "primaryKey": {"anyOf": [{"type": "string"},
                                             {"type": "array", "minItems": 1, "items": {"type": "string"}}]},
                    "dimensionType": {"enum": ["datetime", "entity", "classification", "activity", "fact",
                                               "location", "other"]},
                    "classificationType": {"enum": ["functional", "administrative", "economic"]}}}}}},
    },
}


@pytest.fixture
def fdp_profile(monkeypatch):
    """frictionless checks `profile: fiscal-data-package` against FDP_RULES instead of fetching the schema."""
    original = Metadata.metadata_retrieve.__func__

    def retrieve(cls, descriptor, **options):
        if descriptor == FDP_PROFILE_URL:
            return FDP_RULES
        return original(cls, descriptor, **options)

    monkeypatch.setattr(Metadata, "metadata_retrieve", classmethod(retrieve))


@pytest.fixture
def demo(session):
    """The demo programme with its users (names and e-mails to look for), at 30 June 2025."""
    load_demo(session, with_users=True)
    session.commit()
    return session.scalar(select(Programme).where(Programme.code == "STM"))


def _validate(path: Path) -> frictionless.Report:
    report = frictionless.validate(str(path))
    assert report.flatten(["type", "note"]) == []
    assert report.valid and report.stats["errors"] == 0 and report.stats["tasks"] == 4
    return report


def _check_model(descriptor: dict) -> None:
    """What a JSON schema cannot say: every measure and attribute names a field of its resource."""
    fields = {r["name"]: {f["name"]: f["type"] for f in r["schema"]["fields"]} for r in descriptor["resources"]}
    for key, measure in descriptor["model"]["measures"].items():
        assert fields[measure["resource"]][measure["source"]] == "number", key
        assert measure["currency"] == "EUR" and measure["direction"] == "expenditure"
    for key, dimension in descriptor["model"]["dimensions"].items():
        for name, attribute in dimension["attributes"].items():
            assert attribute["source"] in fields[attribute["resource"]], (key, name)
            assert attribute.get("labelfor", dimension["primaryKey"]) in dimension["attributes"]
        assert dimension["primaryKey"] in dimension["attributes"], key


def _rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _amount(text: str) -> D | None:
    return D(text) if text != "" else None


def _sheet(wb, name: str, first: str) -> dict:
    """{label: [values]} of the table on `name` whose header row starts with `first`."""
    rows = list(wb[name].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == first)
    return {r[0]: list(r[1:]) for r in rows[start + 1:] if r[0] is not None}


def _eur(value) -> D | None:
    # The workbook holds a double; the cents survive.
    return None if value is None else D(str(value)).quantize(D("0.01"))


def _personal_data(session) -> list[str]:
    """Everything about civil servants and internal work in the demo: none may leave in open data."""
    values = []
    for user in session.scalars(select(User)):
        values += [user.name, user.email]
    for project in session.scalars(select(Project)):
        values += [project.contact_person, project.internal_notes]
        if project.contact_person:
            values.append(project.contact_person.split(" (")[0].split()[-1])  # the surname alone
    for update in session.scalars(select(StatusUpdate)):
        values += [update.progress, update.next_steps]
    return sorted({v for v in values if v and len(v) > 3})


def test_demo_package_is_valid_has_the_workbooks_figures_and_no_personal_data(session, demo, tmp_path,
                                                                              fdp_profile):
    files = fdp.build(live_frames(session, demo, 2025, PEIL))
    fdp.write_dir(files, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(files)
    _validate(tmp_path / "datapackage.json")
    descriptor = json.loads(files["datapackage.json"])
    _check_model(descriptor)
    assert descriptor["profile"] == "fiscal-data-package" and descriptor["name"] == "stm-stand-van-zaken-2025-20250630"
    phases = {k: m.get("phase") for k, m in descriptor["model"]["measures"].items()}
    assert phases["samenvatting_beschikbaar_budget"] == "adjusted"
    assert phases["samenvatting_structureel_budget"] == phases["samenvatting_incidenteel_budget"] == "approved"
    assert phases["samenvatting_gerealiseerd"] == phases["projecten_gerealiseerd"] == "executed"
    assert phases["samenvatting_verplicht_totaal"] is None and phases["categorieen_verplicht"] is None

    # The same figures as the workbook, built apart from the package.
    wb = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(live_frames(session, demo, 2025, PEIL))))
    summary = _sheet(wb, "Samenvatting", "Omschrijving")
    years = list(range(2023, 2029))
    rows = _rows(files["data/samenvatting.csv"])
    assert [int(r["jaar"]) for r in rows] == years
    fields = {f["title"]: f["name"] for f in descriptor["resources"][0]["schema"]["fields"]}
    assert set(summary) == set(fields) - {"Jaar"}
    for label, values in summary.items():
        exact = [_amount(r[fields[label]]) for r in rows]
        if label.startswith("%"):
            assert exact == [None if v is None else D(str(v)) for v in values], label
        else:
            assert exact == [_eur(v) for v in values], label
    assert sum(_amount(r["gerealiseerd"]) for r in rows) > 0
    for sheet, first, name in (("Per categorie", "Categorie", "categorieen"),
                               ("Per programmalijn", "Programmalijn", "programmalijnen")):
        table = _sheet(wb, sheet, first)
        got = {r[name[:-2]]: r for r in _rows(files[f"data/{name}.csv"])}  # by label: categorie, programmalijn
        assert set(got) == set(table) - {"Totaal", "Totaal projecten"}
        for label, r in got.items():
            count, committed, paid, pipeline = table[label]
            assert (int(r["aantal_projecten"]) if r["aantal_projecten"] else None) == count
            assert (_amount(r["verplicht"]), _amount(r["gerealiseerd"]), _amount(r["in_voorbereiding"])) == (
                _eur(committed), _eur(paid), _eur(pipeline)), (name, label)
        total = next(v for k, v in table.items() if k.startswith("Totaal"))
        assert sum(_amount(r["verplicht"]) for r in got.values()) == _eur(total[1])
    projects = _sheet(wb, "Projecten", "Projectcode")
    got = {r["projectcode"]: r for r in _rows(files["data/projecten.csv"])}
    assert set(got) == set(projects) - {"Totaal"} and len(got) > 10
    for code, r in got.items():
        assert (_amount(r["verplicht"]), _amount(r["gerealiseerd"]), _amount(r["verplicht_totaal"])) == tuple(
            _eur(v) for v in projects[code][8:11]), code
        assert r["categorie_code"] in ("lopend", "vervolg", "op_de_plank", "nieuw")

    # Public by construction: no internal column, no name, e-mail, contact person, note or progress text.
    headers = " ".join(f["name"] + f["title"] for r in descriptor["resources"] for f in r["schema"]["fields"])
    for internal in ("Projectleider", "Contactpersoon", "Interne notitie", "projectleider", "contact", "notitie"):
        assert internal not in headers
    secrets = _personal_data(session)
    assert len(secrets) > 40 and "projectleider@demo.example" in secrets
    text = "\n".join(data.decode("utf-8") for data in files.values())
    assert [s for s in secrets if s in text] == []
    assert "@" not in text


def test_the_builder_refuses_the_internal_version(session, demo):
    with pytest.raises(ValueError):
        fdp.build(live_frames(session, demo, 2025, PEIL, internal=True))


def test_cli_writes_a_valid_package(session, demo, runner, tmp_path, fdp_profile):
    out = tmp_path / "open-data"
    result = runner.invoke(args=["export", "fdp", "--programme", "STM", "--year", "2025", "--peildatum", "2025-06-30",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Fiscal Data Package" in result.output and "4 CSV-bestanden" in result.output
    _validate(out / "datapackage.json")
    descriptor = json.loads((out / "datapackage.json").read_text())
    assert descriptor["peildatum"] == "2025-06-30" and descriptor["rapportagejaar"] == 2025
    assert descriptor["audittrailKop"]["id"]  # recorded like every report, for `audit verify`
    assert (out / "data" / "projecten.csv").read_bytes() == fdp.build(live_frames(session, demo, 2025, PEIL))[
        "data/projecten.csv"]

    # The FDP rules do bite: a phase the FDP does not know, or a currency that is no ISO code, is an error.
    descriptor["model"]["measures"]["samenvatting_verplicht_totaal"]["phase"] = "committed"
    descriptor["model"]["measures"]["samenvatting_gerealiseerd"]["currency"] = "euro"
    (out / "datapackage.json").write_text(json.dumps(descriptor))
    notes = " ".join(note for (note,) in frictionless.validate(str(out / "datapackage.json")).flatten(["note"]))
    assert "'committed' is not one of" in notes and "'euro' does not match" in notes

    bad = runner.invoke(args=["export", "fdp", "--programme", "NOPE", "--out", str(out)])
    assert bad.exit_code != 0 and "bestaat niet" in bad.output


def test_a_snapshot_gives_the_same_zip_every_time(session, demo):
    snap = services.create_snapshot(session, make_user(session, "financieel"), demo, PEIL, "Voorjaar 2025")
    session.commit()
    zips = []
    for _ in range(2):
        rf = services.snapshot_frames(snap, 2025)
        zips.append(fdp.zip_bytes(fdp.build(rf), rf.meta["made_at"]))
    first = zips[0]
    assert zips[1] == first
    descriptor = json.loads(zipfile.ZipFile(io.BytesIO(first)).read("datapackage.json"))
    assert descriptor["vastgelegdeStand"]["nummer"] == snap.id


@pytest.mark.parametrize("role", ALL)
def test_whoever_may_download_the_public_report_downloads_the_zip(app, client, session, demo, role, tmp_path,
                                                                  fdp_profile):
    assert POLICY["reports.open_data"] == POLICY["reports.workbook"]
    user = make_user(session, role)
    session.commit()
    assert client.get(URL).status_code == 302  # signed out: to the login page
    login(client, user)
    response = client.get(URL)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="stand-van-zaken-STM-2025-20250630-openbaar.zip"')
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist()[0] == "datapackage.json"
        archive.extractall(tmp_path)
    _validate(tmp_path / "datapackage.json")
    assert f'href="/rapportage/open-data.zip?{QUERY}"'.replace("&", "&amp;") in client.get(
        f"/rapportage?{QUERY}").get_data(as_text=True)
    # Asking for the internal version: refused without a finance role, and public all the same with one.
    internal = client.get(f"{URL}&versie=intern")
    if role in ("beheerder", "financieel"):
        assert internal.status_code == 200
        text = "\n".join(zipfile.ZipFile(io.BytesIO(internal.data)).read(n).decode() for n in
                         zipfile.ZipFile(io.BytesIO(internal.data)).namelist())
        assert "Projectleider" not in text and "@" not in text
    else:
        assert internal.status_code == 403
