"""The project list's money columns, sorting, page sizes and its .csv/.xlsx downloads, through the test client."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from budget import services as budget
from core.paging import Page
from projects import services as portfolio
from tests.factories import (
    commit_money,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)

#: (code, title, line, committed per year, payments, adjustment of 2025, owner?) of the money world.
PROJECTS = [
    ("STM-001", "Opvang Noord", "zorg", {2025: "300000.00"}, ["100000.00", "25000.50"], None, True),
    ("STM-002", "Voorlichting scholen", "preventie", {2025: "50000.00", 2026: "70000.25"}, ["50000.00"], None, False),
    ("STM-003", "Zorgcoördinatie Zuid", "zorg", {2025: "120000.00"}, [], "-20000.00", True),
    ("STM-004", "Zonder geld", "zorg", {}, [], None, False),
    ("STM-005", "=Som van alles", "zorg", {2026: "999.99"}, ["999.99"], None, False),
]


@pytest.fixture
def world(app, session):
    """A programme with money on most projects; the owner leads two of them; a contact person on one."""
    admin, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    owner = make_user(session, "projectleider")
    owner.name = "Petra Projectleider"
    programme = make_programme(session, admin)
    fund(session, fin, programme, {2024: Decimal(2000000), 2025: Decimal(2000000), 2026: Decimal(2000000)})
    org = portfolio.create_organisation(session, admin, "Stichting Voorbeeld", "ngo")
    projects = {}
    for code, title, line, schedule, payments, adjustment, owned in PROJECTS:
        project = make_project(session, admin, programme, code=code, title=title, line=line, status="toegekend",
                               organisation_id=org.id, owner_id=owner.id if owned else None,
                               contact_person="Jan Contact" if code == "STM-001" else "",
                               internal_notes="Werknotitie" if code == "STM-001" else "",
                               start_date=date(2025, 1, 6), end_date=date(2026, 12, 31))
        projects[code] = project
        if not schedule:
            continue
        commitment = commit_money(session, fin, project, {y: Decimal(a) for y, a in schedule.items()},
                                  signed=date(2025, 1, 15))
        for amount in payments:
            budget.add_payment(session, fin, commitment, payment_date=date(2025, 3, 1), amount=Decimal(amount),
                               kind="betaling")
        if adjustment:
            budget.adjust_commitment(session, fin, commitment, adjustment_date=date(2025, 6, 1),
                                     changes={2025: Decimal(adjustment)}, reason="Lagere vaststelling")
    session.commit()
    return {"admin": admin, "fin": fin, "owner": owner, "lezer": make_user(session, "lezer"),
            "programme": programme, "projects": projects}


def client_for(app, session, user):
    session.commit()
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def page_rows(page: str) -> list[dict]:
    """The list's body rows as the page shows them: code and the three amounts (as Decimal)."""
    body = page.split("<tbody>")[1].split("</tbody>")[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL):
        code = re.search(r'<td class="nowrap">([^<]*)</td>', row).group(1)
        amounts = [euros(a) for a in re.findall(r'<td class="num">([^<]*)</td>', row)]
        rows.append({"code": code, "verplicht": amounts[0], "betaald": amounts[1], "resterend": amounts[2]})
    return rows


def page_totals(page: str) -> list[Decimal]:
    foot = page.split("<tfoot>")[1].split("</tfoot>")[0]
    return [euros(a) for a in re.findall(r'<td class="num">([^<]*)</td>', foot)]


def euros(text: str) -> Decimal:
    """'€ 1.234,56' (Babel, nl) -> Decimal('1234.56')."""
    text = text.replace("\xa0", " ").replace("€", "").replace(".", "").replace(",", ".").strip()
    return Decimal(text.replace(" ", ""))


def codes(page: str) -> list[str]:
    return [r["code"] for r in page_rows(page)]


# --- money columns and totals ----------------------------------------------------------------

def test_list_shows_committed_paid_and_remaining_per_project_and_in_total(app, session, world):
    page = html(client_for(app, session, world["lezer"]).get("/projecten"))
    rows = {r["code"]: r for r in page_rows(page)}
    # Committed counts the signed total with its adjustments, as the project page does.
    assert rows["STM-001"] == {"code": "STM-001", "verplicht": Decimal("300000.00"), "betaald": Decimal("125000.50"),
                               "resterend": Decimal("174999.50")}
    assert rows["STM-002"]["verplicht"] == Decimal("120000.25")
    assert rows["STM-003"]["verplicht"] == Decimal("100000.00") and rows["STM-003"]["resterend"] == Decimal("100000.00")
    assert rows["STM-004"] == {"code": "STM-004", "verplicht": Decimal("0.00"), "betaald": Decimal("0.00"),
                               "resterend": Decimal("0.00")}
    assert page_totals(page) == [Decimal("521000.24"), Decimal("176000.49"), Decimal("344999.75")]
    assert "Totaal van alle 5 projecten" in page


def test_totals_cover_every_page_not_just_the_one_shown(app, session, world):
    for n in range(10, 40):
        make_project(session, world["admin"], world["programme"], code=f"STM-{n:03d}")
    page = html(client_for(app, session, world["lezer"]).get("/projecten"))
    assert len(codes(page)) == 25 and "Pagina 1 van 2" in page
    assert page_totals(page) == [Decimal("521000.24"), Decimal("176000.49"), Decimal("344999.75")]


# --- sorting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("sorteer=verplicht&richting=af", ["STM-001", "STM-002", "STM-003", "STM-005", "STM-004"]),
    ("sorteer=verplicht", ["STM-004", "STM-005", "STM-003", "STM-002", "STM-001"]),
    ("sorteer=betaald&richting=af", ["STM-001", "STM-002", "STM-005", "STM-003", "STM-004"]),
    # Equal amounts (0,00) fall back to the code, so the order and the pages are stable.
    ("sorteer=resterend", ["STM-004", "STM-005", "STM-002", "STM-003", "STM-001"]),
    ("sorteer=resterend&richting=af", ["STM-001", "STM-003", "STM-002", "STM-004", "STM-005"]),
])
def test_sorting_on_the_money_columns(app, session, world, query, expected):
    page = html(client_for(app, session, world["lezer"]).get(f"/projecten?{query}"))
    assert codes(page) == expected


def test_sortable_headers_say_which_column_sorts_and_keep_the_filters(app, session, world):
    page = html(client_for(app, session, world["lezer"]).get("/projecten?lijn=zorg&sorteer=betaald&richting=af"))
    header = re.search(r'<th scope="col" class="num" aria-sort="descending">\s*<a href="([^"]*)">Betaald', page)
    assert header, "the sorted column carries aria-sort"
    link = header.group(1).replace("&amp;", "&")
    assert "sorteer=betaald" in link and "richting=op" in link and "lijn=zorg" in link
    assert page.count("aria-sort=") == 1
    # Every column but the forms (a list of several) is a sort link.
    for key in ("code", "titel", "categorie", "lijn", "organisatie", "status", "verplicht", "resterend"):
        assert f"sorteer={key}" in page, key


def test_an_unknown_sort_key_sorts_on_code(app, session, world):
    page = html(client_for(app, session, world["lezer"]).get("/projecten?sorteer=onbekend&richting=af"))
    assert codes(page) == sorted(codes(page), reverse=True)


# --- page size and the last page -----------------------------------------------------------------

@pytest.mark.parametrize("total, per_page, sizes", [
    (0, 25, [0]), (25, 25, [25]), (26, 25, [26]), (30, 25, [30]), (31, 25, [25, 6]), (55, 25, [25, 30]), (60, 25, [25, 25, 10]),
    (61, 25, [25, 25, 11]), (105, 50, [50, 55]), (120, 50, [50, 50, 20]), (300, None, [300]),
])
def test_the_last_page_takes_up_to_five_orphans(total, per_page, sizes):
    first = Page(1, per_page, total)
    got = []
    for number in range(1, first.pages + 1):
        page = Page(number, per_page, total)
        got.append(min(total - page.offset, page.limit if page.limit is not None else total))
    assert got == sizes


def test_26_projects_make_one_page_not_a_lone_project_on_page_2(app, session, world):
    for n in range(10, 31):
        make_project(session, world["admin"], world["programme"], code=f"STM-{n:03d}")
    page = html(client_for(app, session, world["lezer"]).get("/projecten"))
    assert len(codes(page)) == 26 and 'rel="next"' not in page and "Pagina 1 van" not in page


@pytest.mark.parametrize("size, shown", [("25", 25), ("50", 50), ("100", 60), ("alle", 60), ("7", 25), ("", 25)])
def test_page_size_choice(app, session, world, size, shown):
    for n in range(10, 65):
        make_project(session, world["admin"], world["programme"], code=f"STM-{n:03d}")
    page = html(client_for(app, session, world["lezer"]).get(f"/projecten?per_pagina={size}&sorteer=titel"))
    assert len(codes(page)) == shown
    assert re.search(rf'<option value="{size if size in ("25", "50", "100", "alle") else "25"}" selected>', page)
    if shown < 60:
        # The next page keeps the size and the sort.
        link = re.search(r'href="([^"]*)" rel="next"', page).group(1).replace("&amp;", "&")
        assert "sorteer=titel" in link and (size not in ("50",) or "per_pagina=50" in link)


# --- downloads ------------------------------------------------------------------------------------

def test_csv_of_a_filtered_sorted_list_opens_in_pandas_as_the_page_shows_it(app, session, world):
    client = client_for(app, session, world["lezer"])
    query = "lijn=zorg&sorteer=verplicht&richting=af"
    page = html(client.get(f"/projecten?{query}&per_pagina=alle"))
    # The page's download link is the one a user clicks: it carries the filter and sort, not the page.
    link = re.search(r'href="(/projecten/projecten\.csv[^"]*)"', page).group(1).replace("&amp;", "&")
    assert "lijn=zorg" in link and "sorteer=verplicht" in link and "per_pagina" not in link
    response = client.get(link)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="projecten-TST-\d{8}-openbaar\.csv"',
                        response.headers["Content-Disposition"])
    raw = response.data
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Dutch Excel reads the accents right
    frame = pd.read_csv(io.BytesIO(raw), sep=";", decimal=",")  # as the issue asks: no encoding given
    shown = page_rows(page)
    assert list(frame["Code"]) == [r["code"] for r in shown] == ["STM-001", "STM-003", "STM-005", "STM-004"]
    for column in ("Verplicht", "Betaald", "Resterend"):
        as_read = [Decimal(str(v)).quantize(Decimal("0.01")) for v in frame[column]]
        assert as_read == [r[column.lower()] for r in shown], column
    totals = page_totals(page)
    assert [Decimal(str(round(frame[c].sum(), 2))).quantize(Decimal("0.01"))
            for c in ("Verplicht", "Betaald", "Resterend")] == totals
    assert frame["Titel"].tolist()[1] == "Zorgcoördinatie Zuid"
    text = raw.decode("utf-8-sig")
    # Dutch notation as Excel-NL reads it: decimal comma, no thousands separator, d-m-jjjj.
    assert "300000,00;125000,50;174999,50" in text and ";6-1-2025;31-12-2026;" in text
    # A title that starts like a formula stays text in a spreadsheet.
    assert ";'=Som van alles;" in text


def test_xlsx_of_the_list_holds_the_same_rows_and_totals(app, session, world):
    client = client_for(app, session, world["lezer"])
    page = html(client.get("/projecten?lijn=zorg&sorteer=betaald&richting=af"))
    response = client.get("/projecten/projecten.xlsx?lijn=zorg&sorteer=betaald&richting=af")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('-openbaar.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Projecten", "Toelichting"]
    rows = list(book["Projecten"].iter_rows(values_only=True))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert "Projectleider" not in header
    col = {name: header.index(name) for name in header}
    assert [r[col["Code"]] for r in body] == codes(page)
    assert [Decimal(str(r[col["Betaald"]])).quantize(Decimal("0.01")) for r in body] == [
        r["betaald"] for r in page_rows(page)]
    assert body[0][col["Startdatum"]].date() == date(2025, 1, 6)
    assert total[0] == "Totaal"
    assert [Decimal(str(total[col[c]])).quantize(Decimal("0.01")) for c in ("Verplicht", "Betaald", "Resterend")] \
        == page_totals(page)
    # Text stays text, even when it looks like a formula.
    assert "=Som van alles" in [r[col["Titel"]] for r in body]


@pytest.mark.parametrize("role", ["lezer", "owner", "fin"])
def test_the_public_export_holds_no_personal_data(app, session, world, role):
    client = client_for(app, session, world[role])
    for ext in ("csv", "xlsx"):
        response = client.get(f"/projecten/projecten.{ext}")
        assert response.status_code == 200
        if ext == "csv":
            frame = pd.read_csv(io.BytesIO(response.data), sep=";", decimal=",")
            assert "Projectleider" not in frame.columns and "Contactpersoon" not in frame.columns
            assert b"Petra Projectleider" not in response.data and b"Jan Contact" not in response.data
        else:
            values = {str(c) for row in openpyxl.load_workbook(io.BytesIO(response.data))["Projecten"].iter_rows(
                values_only=True) for c in row}
            assert not values & {"Petra Projectleider", "Jan Contact", "Werknotitie", "Projectleider"}


def test_finance_may_download_the_internal_version_with_leader_and_contact(app, session, world):
    client = client_for(app, session, world["fin"])
    page = html(client.get("/projecten"))
    assert "/projecten/projecten.csv?versie=intern" in page
    response = client.get("/projecten/projecten.csv?versie=intern&sorteer=code")
    assert response.headers["Content-Disposition"].endswith('-intern.csv"')
    frame = pd.read_csv(io.BytesIO(response.data), sep=";", decimal=",", keep_default_na=False)
    assert list(frame.columns[-3:]) == ["Projectleider", "Contactpersoon", "Interne notitie"]
    first = frame.iloc[0]
    assert (first["Code"], first["Projectleider"], first["Contactpersoon"], first["Interne notitie"]) == (
        "STM-001", "Petra Projectleider", "Jan Contact", "Werknotitie")
    book = openpyxl.load_workbook(io.BytesIO(client.get("/projecten/projecten.xlsx?versie=intern").data))
    header = next(book["Projecten"].iter_rows(values_only=True))
    assert header[-3:] == ("Projectleider", "Contactpersoon", "Interne notitie")


@pytest.mark.parametrize("role", ["lezer", "owner"])
def test_other_roles_get_no_internal_version(app, session, world, role):
    client = client_for(app, session, world[role])
    assert "versie=intern" not in html(client.get("/projecten"))
    for ext in ("csv", "xlsx"):
        assert client.get(f"/projecten/projecten.{ext}?versie=intern").status_code == 403


def test_exports_need_a_login(client, world):
    for ext in ("csv", "xlsx"):
        response = client.get(f"/projecten/projecten.{ext}")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_empty_filtered_list_exports_only_the_header(app, session, world):
    client = client_for(app, session, world["lezer"])
    frame = pd.read_csv(io.BytesIO(client.get("/projecten/projecten.csv?zoek=bestaat-niet").data), sep=";",
                        decimal=",")
    assert frame.empty and "Verplicht" in frame.columns
