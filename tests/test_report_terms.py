"""The Begrippen and the peildatum in the heading of the report page and the HTML download; the charts' Dutch, cloudless modebar."""
from __future__ import annotations

import json
import re
from datetime import date
from html import unescape

import pytest

from reports import charts, services
from reports.terms import TERMS
from tests.factories import commit_money, fund, login, make_programme, make_project, make_user

HEADING = "Stand van zaken 2025, stand t/m 30 juni 2025"


@pytest.fixture
def reader(client, session):
    fin = make_user(session, "financieel")
    programme = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, programme, {2024: "2.000.000", 2025: "2.000.000", 2026: "2.000.000"})
    commit_money(session, fin, make_project(session, fin, programme), {2025: 100_000}, signed=date(2025, 1, 10))
    session.commit()
    login(client, make_user(session, "lezer"))
    return {"programme": programme, "fin": fin}


def _text(html: str) -> str:
    """The page as a reader sees it: no tags, entities read, whitespace as single spaces."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _begrippen(html: str) -> str:
    start = html.index('<section class="terms"')
    return html[start:html.index("</section>", start)]


@pytest.mark.parametrize("path", ["/rapportage", "/rapportage/stand.html"])
def test_begrippen_and_the_peildatum_on_the_page_and_in_the_download(client, reader, path):
    html = client.get(f"{path}?jaar=2025&peildatum=2025-06-30").get_data(as_text=True)
    block = _begrippen(html)
    assert '<h2 id="begrippen">Begrippen</h2>' in block
    # Every term with its own wording from reports/terms.py, as a definition list, in that order.
    terms = re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", block, re.S)
    assert [(unescape(t), unescape(d)) for t, d in terms] == TERMS
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    h1 = _text(re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1))
    assert title.startswith(HEADING) and h1.startswith(HEADING)
    # Another peildatum, another heading: never the year alone.
    other = client.get(f"{path}?jaar=2025&peildatum=2025-12-31").get_data(as_text=True)
    assert "Stand van zaken 2025, stand t/m 31 december 2025" in _text(other)


def test_a_snapshot_report_names_the_snapshots_peildatum(client, session, reader):
    snap = services.create_snapshot(session, reader["fin"], reader["programme"], date(2025, 3, 31),
                                    "Stand maart 2025")
    session.commit()
    html = client.get(f"/rapportage?stand={snap.id}&jaar=2025").get_data(as_text=True)
    assert "Stand van zaken 2025, stand t/m 31 maart 2025" in _text(html)


def test_modebar_is_download_and_reset_only_in_dutch_without_a_cloud():
    config = json.loads(charts.chart_config())
    assert config["modeBarButtons"] == [["toImage", "resetScale2d"]]
    assert config["displaylogo"] is False
    assert config["showSendToCloud"] is False and config["plotlyServerURL"] == ""
    assert config["locale"] == "nl"
    words = config["locales"]["nl"]["dictionary"]
    assert words["Download plot as a PNG"] == "Download als PNG" and words["Reset axes"] == "Assen herstellen"
    # The keys are the English texts of the bundled plotly.js: a plotly update that renames them fails here.
    plotly_js = charts.PLOTLY_JS.read_text(encoding="utf-8")
    for english in words:
        assert f'"{english}"' in plotly_js, english
    for button in ("toImage", "resetScale2d"):
        assert f"{button}={{name:\"{button}\"" in plotly_js.replace(" ", ""), button


def test_every_chart_page_carries_the_one_config(client, reader):
    """Dashboard and report page hand the config to charts.js; the HTML download carries it and charts.js inline."""
    config = charts.chart_config()
    for path in ("/?jaar=2025&peildatum=2025-06-30", "/rapportage?jaar=2025&peildatum=2025-06-30"):
        html = client.get(path).get_data(as_text=True)
        attribute = re.search(r'<script src="/static/charts.js" data-config=\'([^\']*)\'', html).group(1)
        assert json.loads(unescape(attribute)) == json.loads(config), path
    standalone = client.get("/rapportage/stand.html?jaar=2025&peildatum=2025-06-30").get_data(as_text=True)
    attribute = re.search(r"<script data-config='([^']*)'>", standalone).group(1)
    assert json.loads(unescape(attribute)) == json.loads(config)
    assert charts.CHARTS_JS.read_text(encoding="utf-8") in standalone
    assert "cloud.plotly.com" not in standalone.replace(charts.PLOTLY_JS.read_text(encoding="utf-8"), "")
