"""The Word annex and the PDF: the workbook's figures, the letter's numbers, public only, via the CLI and the page."""
from __future__ import annotations

import io
import re
import time
import unicodedata
import zipfile
from datetime import date
from decimal import Decimal as D

import docx
import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.money import format_millions, format_pct, format_thousands, parse_eur
from reports import pdf, services, word
from reports.models import ReportSnapshot
from reports.queries import live_frames
from tests.factories import entered_on, login, make_project, make_user
from tests.test_reports import ALL_SENTINELS, PEIL, _eur, _table, scenario  # noqa: F401 (fixture)

ARGS = ["--programme", "TST", "--year", "2025", "--peildatum", "2025-06-30"]
CHECKED = ("Beschikbaar budget", "Verplicht totaal", "Gerealiseerd t/m peildatum", "Vrije ruimte")
ROLES = ("beheerder", "financieel", "projectleider", "lezer")


def _cli(runner, tmp_path, kind: str, *extra) -> bytes:
    out = tmp_path / f"stand.{kind}"
    result = runner.invoke(args=["report", kind, *ARGS, *extra, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


def _docx_tables(data: bytes) -> list[list[list[str]]]:
    document = docx.Document(io.BytesIO(data))
    return [[[c.text for c in row.cells] for row in t.rows] for t in document.tables]


def _all_text(data: bytes) -> str:
    """Every XML part of the .docx (body, headers, footers, properties): what a reader could dig out."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


def test_format_millions_rounds_half_up_from_the_exact_amount():
    assert format_millions(D("2750000.00")) == "€\xa02,75\xa0mln."
    assert format_millions(D("1245000.00")) == "€\xa01,25\xa0mln."  # half up, not to even
    assert format_millions(D("1244999.99")) == "€\xa01,24\xa0mln."
    assert format_millions(D("-4999.99")) == "€\xa00,00\xa0mln."
    assert format_millions(D("-120000.00")) == "€\xa0-0,12\xa0mln."
    assert format_millions(D("1234567890.00")) == "€\xa01.234,57\xa0mln."


def test_docx_summary_equals_the_workbook_cell_by_cell(session, scenario, runner, tmp_path):
    for extra in ((), ("--thousands",)):
        book = openpyxl.load_workbook(io.BytesIO(_cli(runner, tmp_path, "xlsx", *extra)))
        header, body = _table(book["Samenvatting"], "Omschrijving")
        workbook = {r[0]: dict(zip(header[1:], r[1:])) for r in body}
        summary = _docx_tables(_cli(runner, tmp_path, "docx", *extra))[0]
        years = [int(y) for y in summary[0][1:]]
        assert summary[0][0] == "Omschrijving" and years == header[1:] == [2024, 2025, 2026]
        rows = {r[0]: dict(zip(years, r[1:])) for r in summary[1:]}
        for label in CHECKED:
            for year in years:
                exact = _eur(workbook[label][year])
                shown = rows[label][year]
                if extra:
                    assert shown == format_thousands(exact), (label, year)
                else:
                    assert parse_eur(shown) == exact, (label, year, shown)
        for label in ("% verplicht", "% gerealiseerd"):
            for year in years:
                assert rows[label][year] == format_pct(D(str(workbook[label][year])).quantize(D("0.001"))), label
        assert rows["Vrije ruimte"][2025] == ("2.090" if extra else "2.090.000,00")


def test_docx_holds_every_kamer_table_and_the_public_annex(session, scenario, runner, tmp_path):
    data = _cli(runner, tmp_path, "docx")
    tables = _docx_tables(data)
    firsts = [t[0][0] for t in tables]
    # Tabel 1-4 (Kamer tables), 5-7 (the budget documents: instrument, moments, verloop), the annex.
    assert firsts == ["Omschrijving", "Categorie", "Programmalijn", "Categorie", "Omschrijving", "Omschrijving",
                      "Categorie", "Code"]
    annex = tables[-1]
    assert [r[0] for r in annex[1:]] == ["A-01", "B-01", "C-01", "Totaal"]
    a01 = annex[1]
    assert "Stichting Opvang Noord" in a01 and "De opvang loopt volgens plan." in a01
    assert "1-1-2024 t/m 31-12-2026" in a01[4]  # the looptijd, its hyphens unbreakable in Word
    # Every header row repeats on a new page.
    document = docx.Document(io.BytesIO(data))
    for t in document.tables:
        assert t.rows[0]._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None
    text = "\n".join(p.text for p in document.paragraphs)
    for term in ("Begrippen", "In voorbereiding", "Kasschuif", "Vrije ruimte"):
        assert term in text
    assert "stand t/m 30 juni 2025" in text and "Openbare versie" in text
    footer = document.sections[0].footer._element.xml
    assert "PAGE" in footer and "NUMPAGES" in footer and "Pagina" in footer
    assert document.sections[-1].orientation == docx.enum.section.WD_ORIENT.LANDSCAPE


def test_docx_holds_no_personal_data_live_or_from_a_snapshot(session, scenario, runner, tmp_path):
    services.create_snapshot(session, scenario["fin"], scenario["programme"], PEIL, "Voorjaar 2025")
    session.commit()
    snap = session.scalar(select(ReportSnapshot))
    outputs = {"live": _cli(runner, tmp_path, "docx")}
    result = runner.invoke(args=["report", "docx", "--snapshot", str(snap.id), "--out", str(tmp_path / "s.docx")])
    assert result.exit_code == 0, result.output
    outputs["snapshot"] = (tmp_path / "s.docx").read_bytes()
    for name, data in outputs.items():
        text = _all_text(data)
        for sentinel in ALL_SENTINELS + [scenario["owner"].email, scenario["fin"].email, "python-docx"]:
            assert sentinel not in text, (name, sentinel)
        assert "De opvang loopt volgens plan." in text
    assert "Vastgelegde stand" in _all_text(outputs["snapshot"]) and "Voorjaar 2025" in _all_text(outputs["snapshot"])
    # Public by construction: there is no --internal, and an internal report is refused.
    assert runner.invoke(args=["report", "docx", *ARGS, "--internal", "--out", str(tmp_path / "x")]).exit_code != 0
    with pytest.raises(ValueError):
        word.build_docx(live_frames(session, scenario["programme"], 2025, PEIL, internal=True))


def test_the_letter_paragraph_states_the_figures(session, scenario, runner, tmp_path):
    document = docx.Document(io.BytesIO(_cli(runner, tmp_path, "docx")))
    letter = next(p.text for p in document.paragraphs if p.text.startswith("Per 30 juni 2025"))
    # By hand: 2.000.000 + 500.000 + 100.000 (Voorjaarsnota) + 150.000 (kasschuif) available; committed
    # 300.000 staffing + 400.000 − 40.000 for A-01; paid 2 × 75.000 staffing + 150.000 − 10.000 + 100.000.
    assert letter.replace("\xa0", " ") == (
        "Per 30 juni 2025 is van het beschikbare budget 2025 van € 2,75 mln. € 0,66 mln. (24,0%) verplicht en "
        "€ 0,39 mln. (14,2%) gerealiseerd; de vrije ruimte is € 2,09 mln.")
    rf = live_frames(session, scenario["programme"], 2025, PEIL)
    s = rf.summary[2025]
    for label in CHECKED:
        assert format_millions(s[label]) in letter
    assert format_pct(s["% verplicht"]) in letter and format_pct(s["% gerealiseerd"]) in letter
    # A year past the budget stop gets its own sentence.
    rf.summary.loc["Vrije ruimte", 2026] = D("-120000.00")
    rf.overruns = {2026: "2026: de vrije ruimte is negatief (€ -120.000,00)."}
    assert word.letter_paragraph(rf).endswith("In 2026 is €\xa00,12\xa0mln. meer verplicht dan er beschikbaar is; "
                                              "de budgetstop is doorbroken.")
    # The note stands on the first page (for the letter) and above Tabel 1, whose 2026 cells are red.
    document = docx.Document(io.BytesIO(word.build_docx(rf)))
    notes = [p for p in document.paragraphs if p.text.startswith("Let op: 2026: de vrije ruimte is negatief")]
    assert len(notes) == 2 and notes[0].runs[0].font.color.rgb == docx.shared.RGBColor.from_string("C00000")
    summary = document.tables[0]
    free = next(r for r in summary.rows if r.cells[0].text == "Vrije ruimte")
    assert free.cells[3].text == "-120.000,00" and 'w:fill="FDE9E7"' in free.cells[3]._tc.xml


def _pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    # Words a table cell wraps come out on two lines: compare with single spaces. A font with ligatures
    # (DejaVu Sans: "slachtoﬀers") gives their own characters back: NFKC reads them as the letters.
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(unicodedata.normalize("NFKC", text).split())


def test_pdf_has_text_page_numbers_and_no_personal_data(session, scenario, runner, tmp_path):
    data = _cli(runner, tmp_path, "pdf")
    assert data.startswith(b"%PDF")
    pages, text = _pdf_text(data)
    assert "Vrije ruimte" in text and "Opvang slachtoffers" in text
    assert f"Pagina 1 van {pages}" in text and f"Pagina {pages} van {pages}" in text
    assert "stand t/m 30 juni 2025" in text
    for sentinel in ALL_SENTINELS:
        assert sentinel not in text, sentinel
    assert runner.invoke(args=["report", "pdf", *ARGS, "--internal", "--out", str(tmp_path / "x")]).exit_code != 0


def test_pdf_repeats_the_annex_header_on_every_page(session, scenario, runner, tmp_path):
    for n in range(60):
        project = make_project(session, scenario["fin"], scenario["programme"], code=f"R-{n:02d}",
                               title=f"Regionale aanpak {n}")
        entered_on(session, project, date(2024, 1, 1))
    session.commit()
    reader = PdfReader(io.BytesIO(_cli(runner, tmp_path, "pdf")))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    annex = [i for i, text in enumerate(pages) if "R-" in text]
    assert len(annex) >= 2  # the annex runs over pages...
    for i in annex:  # ...and each of them opens with the header row (thead repeats in print)
        assert "Projectcode Project Categorie" in pages[i], i
        assert f"Pagina {i + 1} van {len(pages)}" in pages[i]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_finds_and_gets_the_public_word_annex(client, session, scenario, role):
    login(client, make_user(session, role))
    page = client.get("/rapportage?jaar=2025&peildatum=2025-06-30").get_data(as_text=True)
    assert 'href="/rapportage/bijlage.docx?jaar=2025&amp;peildatum=2025-06-30"' in page
    assert 'href="/rapportage/stand.pdf?jaar=2025&amp;peildatum=2025-06-30"' in page
    r = client.get("/rapportage/bijlage.docx?jaar=2025&peildatum=2025-06-30")
    assert r.status_code == 200 and r.mimetype.endswith("wordprocessingml.document")
    assert r.headers["Content-Disposition"] == 'attachment; filename="stand-van-zaken-TST-2025-20250630-openbaar.docx"'
    assert "NOTITIE" not in _all_text(r.data) and "Sentinel" not in _all_text(r.data)
    if role in ("beheerder", "financieel"):
        # On the internal view the links still lead to the public version.
        page = client.get("/rapportage?jaar=2025&peildatum=2025-06-30&versie=intern").get_data(as_text=True)
        links = re.findall(r'href="(/rapportage/(?:bijlage\.docx|stand\.pdf)[^"]*)"', page)
        assert len(links) == 2 and not any("intern" in link for link in links)


def test_pdf_download_from_the_page(client, session, scenario):
    login(client, make_user(session, "lezer"))
    r = client.get("/rapportage/stand.pdf?jaar=2025&peildatum=2025-06-30&duizenden=1")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == 'attachment; filename="stand-van-zaken-TST-2025-20250630-openbaar.pdf"'
    pages, text = _pdf_text(r.data)
    assert f"Pagina 1 van {pages}" in text and "Vrije ruimte" in text and "Sentinel" not in text


def test_without_chromium_the_pdf_says_how_to_install_it(client, session, scenario, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "chromium_path", lambda: None)
    login(client, make_user(session, "lezer"))
    r = client.get("/rapportage/stand.pdf?jaar=2025&peildatum=2025-06-30")
    assert r.status_code == 302 and r.headers["Location"].startswith("/rapportage?")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "De PDF kan op deze server niet worden gemaakt" in page and "apt-get install" in page
    result = runner.invoke(args=["report", "pdf", *ARGS, "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1 and "apt-get install -y --no-install-recommends chromium" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.pdf").exists()


def test_the_word_annex_writes_a_large_annex_quickly(session, scenario):
    rf = live_frames(session, scenario["programme"], 2025, PEIL)
    rf.projects = pd.concat([rf.projects.iloc[[0]]] * 3000, ignore_index=True)
    start = time.perf_counter()
    data = word.build_docx(rf)
    assert time.perf_counter() - start < 20
    assert len(docx.Document(io.BytesIO(data)).tables[-1].rows) == 3002  # header + rows + Totaal
