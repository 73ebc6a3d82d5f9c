"""Download file names are safe whatever the programme code: the Content-Disposition header stays one clean value."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.factories import fund, login, make_programme, make_user

URLS = ["/rapportage/werkboek.xlsx", "/rapportage/stand.html", "/rapportage/stand.html?versie=intern",
        "/rapportage/bijlage.docx", "/rapportage/open-data.zip",
        "/import/export.xlsx"]
SAFE = re.compile(r'attachment; filename="[A-Za-z0-9._-]+"')


@pytest.mark.parametrize("code", ['Q"; X=Y', "A\r\nB", "A\nSet-Cookie: x=y", 'É;"\\', "../../etc"])
def test_a_hostile_programme_code_cannot_break_the_download_header(app, session, code):
    boss, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    programme = make_programme(session, boss)
    fund(session, fin, programme, {2025: Decimal("1000")})
    # Written past the service, as an old import or a direct database edit could have left it.
    programme.code = code
    session.commit()
    client = app.test_client()
    login(client, fin)
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        disposition = response.headers["Content-Disposition"]
        assert SAFE.fullmatch(disposition), disposition
        assert not any(cookie.startswith("x=") for cookie in response.headers.getlist("Set-Cookie"))


def test_a_plain_code_keeps_its_readable_file_name(app, session):
    boss, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    fund(session, fin, make_programme(session, boss, code="STM"), {2025: Decimal("1000")})
    session.commit()
    client = app.test_client()
    login(client, fin)
    name = client.get("/rapportage/werkboek.xlsx?jaar=2025&peildatum=2025-06-30").headers["Content-Disposition"]
    assert name == 'attachment; filename="stand-van-zaken-STM-2025-20250630-openbaar.xlsx"'
    assert client.get("/import/export.xlsx").headers["Content-Disposition"] == 'attachment; filename="STM-export.xlsx"'
