"""The dashboard answers "how much is still free, and where did the money go?": the free room first, as a sum."""
from __future__ import annotations

import html as html_module
import re
from datetime import date
from decimal import Decimal as D

import pytest

from budget import services as budget
from reports.dashboard import elapsed_share, realisation_lag
from tests.factories import (
    commit_money,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)


@pytest.fixture
def world(session):
    """2025: 1.850.000 available, 1.200.000 committed (signed 15-01), 100.000,60 paid on 1 February."""
    fin = make_user(session, "financieel")
    boss = make_user(session, "beheerder")
    programme = make_programme(session, boss)  # 2024–2026
    fund(session, fin, programme, {2024: "1.000.000", 2025: "1.850.000", 2026: "1.000.000"})
    project = make_project(session, fin, programme, category="lopend", line="zorg")
    commitment = commit_money(session, fin, project, {2025: D(1200000)}, signed=date(2025, 1, 15))
    budget.add_payment(session, fin, commitment, payment_date=date(2025, 2, 1), amount="100.000,60",
                       kind="voorschot")
    session.commit()
    return {"fin": fin, "boss": boss, "programme": programme, "project": project}


def _page(client, url: str) -> str:
    """The page as a user reads it: entities decoded, no-break spaces as plain spaces, tags kept."""
    return html_module.unescape(client.get(url).get_data(as_text=True)).replace("\xa0", " ")


def _between(html: str, start: str, end: str) -> str:
    """From the end of the tag that holds `start` up to `end`."""
    part = html[html.index(start):]
    part = part[part.index(">") + 1:]
    return part[:part.index(end)]


def _words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_the_free_room_comes_first_and_is_shown_as_the_sum_it_is(client, world):
    login(client, world["fin"])
    html = _page(client, "/?jaar=2025&peildatum=2025-03-31")
    main = html[html.index("<main"):]
    # The first figure after the heading and the form is the year's free room.
    first_h2 = re.search(r"<h2[^>]*>(.*?)</h2>", main).group(1)
    assert first_h2 == "Vrije ruimte 2025"
    hero = _words(_between(main, 'id="vrije-ruimte"', "</section>"))
    assert hero.startswith("Vrije ruimte 2025 € 650.000 ")
    assert "Beschikbaar € 1.850.000 − verplicht € 1.200.000 = vrije ruimte € 650.000" in hero
    assert main.index('id="vrije-ruimte"') < main.index('id="kerncijfers"')
    # Nothing is wrong in this year: no alert and no lag warning.
    assert 'role="alert"' not in hero and "loopt achter" not in hero


def test_tiles_show_whole_euros_and_the_tables_keep_the_cents(client, world):
    login(client, world["fin"])
    html = _page(client, "/?jaar=2025&peildatum=2025-03-31")
    tiles = dict(re.findall(r"<dt>([^<]+)</dt><dd>(.*?)</dd>", _between(html, 'id="kerncijfers"', "</dl>")))
    assert tiles["Gerealiseerd"] == "€ 100.001"  # 100.000,60 rounded half up, on the tile only
    assert tiles["Verplicht"] == "€ 1.200.000"
    assert tiles["% verplicht"] == "64,9%" and tiles["% gerealiseerd"] == "5,4%"
    assert not any("," in v for k, v in tiles.items() if not k.startswith("%"))
    categories = _between(html, 'id="tabel-categorie"', "</table>")
    assert "€ 100.000,60" in categories  # exact in the table


def test_the_sum_shows_cents_when_an_amount_has_them_so_it_adds_up(client, session, world):
    budget.add_mutation(session, world["fin"], world["programme"], year=2025, amount="0,40", kind="technisch",
                        moment="najaarsnota", reason="Afronding", mutation_date=date(2025, 3, 1))
    session.commit()
    login(client, world["fin"])
    hero = _words(_between(_page(client, "/?jaar=2025&peildatum=2025-03-31"), 'id="vrije-ruimte"', "</section>"))
    assert "Beschikbaar € 1.850.000,40 − verplicht € 1.200.000,00 = vrije ruimte € 650.000,40" in hero


def test_each_figure_is_not_repeated_in_tiles_tables_and_overview(client, world):
    login(client, world["fin"])
    html = _page(client, "/?jaar=2025&peildatum=2025-03-31")
    # One multi-year table (it is also the data under the budget chart), no separate chart table.
    assert html.count('id="tabel-samenvatting"') == 1
    assert 'id="tabel-grafiek-budget"' not in html
    # Available budget is in the sum and in the multi-year table, not on a tile as well.
    tiles = _between(html, 'id="kerncijfers"', "</dl>")
    assert "Beschikbaar" not in tiles and "Vrije ruimte" not in tiles
    # The charts are still there, each with its data as a table.
    assert 'id="grafiek-budget"' in html and 'id="grafiek-groepen"' in html
    assert html.count("<figcaption>") == 2 and 'id="tabel-matrix"' in html


def test_a_negative_free_room_is_a_clear_warning(client, session, world):
    # A beheerder broke through the budget stop: 2025 is now 150.000 short.
    project = make_project(session, world["fin"], world["programme"], code="P-OVER")
    commit_money(session, world["boss"], project, {2025: D(800000)}, signed=date(2025, 2, 1),
                 override_reason="Besluit van de minister van 1 februari")
    session.commit()
    login(client, world["fin"])
    # At today's peildatum the audit trail holds the override, so the note says who and why.
    html = _page(client, f"/?jaar=2025&peildatum={date.today().isoformat()}")
    section = _between(html, 'id="vrije-ruimte"', "</section>")
    assert 'class="free-room negative"' in html
    hero = _words(section)
    assert hero.startswith("Vrije ruimte 2025 € -150.000 ")
    assert "= vrije ruimte € -150.000" in hero
    alert = _words(_between(section, 'id="kerncijfers-overschrijding"', "</p>"))
    assert alert.startswith("Tekort: er is meer verplicht dan beschikbaar. 2025: de vrije ruimte is negatief "
                            "(€ -150.000,00)")
    assert "Besluit van de minister van 1 februari" in alert


def test_realisation_that_lags_the_time_of_year_is_signalled(client, world):
    login(client, world["fin"])
    # 30 September: 74,8% of the year has passed, 8,3% of the 1.200.000 committed is realised.
    html = _page(client, "/?jaar=2025&peildatum=2025-09-30")
    note = _words(_between(html, 'id="realisatie-achterstand"', "</p>"))
    assert "Realisatie loopt achter." in note
    assert "Op 30 september 2025 is 74,8% van het jaar voorbij, maar pas 8,3% van het verplichte bedrag " \
           "is gerealiseerd." in note
    assert "25 procentpunten" in note
    # At the end of March (24,7% of the year) the same realisation is no reason for alarm.
    assert 'id="realisatie-achterstand"' not in _page(client, "/?jaar=2025&peildatum=2025-03-31")
    # Nor for a year the peildatum is not in: 2025 seen at a peildatum in 2026 is a finished year.
    assert 'id="realisatie-achterstand"' not in _page(client, "/?jaar=2025&peildatum=2026-01-31")


@pytest.mark.parametrize("peildatum, committed, paid, lags", [
    (date(2025, 9, 30), D(1000), D(497), True),    # 74,8% passed, 49,7% realised: 25,1 points behind
    (date(2025, 9, 30), D(1000), D(498), False),   # exactly 25,0 points: not more than the margin
    (date(2025, 12, 31), D(1000), D(749), True),   # the whole year passed
    (date(2025, 3, 1), D(1000), D(0), False),      # 16,4% passed: nobody can lag 25 points yet
    (date(2025, 9, 30), D(0), D(0), False),        # nothing committed, nothing to realise
    (date(2026, 1, 1), D(1000), D(0), False),      # another year than the peildatum's
])
def test_the_lag_rule(peildatum, committed, paid, lags):
    assert (realisation_lag(2025, peildatum, committed, paid) is not None) is lags


def test_elapsed_share_counts_the_peildatum_itself():
    assert elapsed_share(date(2025, 1, 1)) == D("0.003")
    assert elapsed_share(date(2025, 12, 31)) == D("1.000")
    assert elapsed_share(date(2024, 7, 1)) == D("0.500")  # 183 of 366 days


def test_the_thousands_toggle_divides_the_tables_and_says_so(app, client, world):
    login(client, world["fin"])
    plain = _page(client, "/?jaar=2025&peildatum=2025-03-31")
    html = _page(client, "/?jaar=2025&peildatum=2025-03-31&duizenden=1")
    # The form keeps the choice, with the year and the peildatum.
    form = _between(html, 'class="filters"', "</form>")
    assert re.search(r'name="duizenden" value="1" checked', form)
    assert 'name="duizenden" value="1" checked' not in _between(plain, 'class="filters"', "</form>")
    categories = _between(html, 'id="tabel-categorie"', "</table>")
    assert "(bedragen x € 1.000)" in categories
    total = re.search(r">Totaal</th>(.*?)</tr>", categories, re.DOTALL).group(1)
    assert [_words(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", total, re.DOTALL)] == ["1", "1.200", "100", "0"]
    summary = _between(html, 'id="tabel-samenvatting"', "</table>")
    assert "bedragen x € 1.000" in summary
    assert "1.850" in summary and "€ 1.850.000,00" not in summary
    assert "bedragen x € 1.000" in _between(html, 'id="tabel-matrix"', "</table>")
    # The tiles and the sum stay in whole euros; the plain page has exact euros in its tables.
    assert "Beschikbaar € 1.850.000 − verplicht € 1.200.000" in _words(html)
    assert "€ 1.850.000,00" in _between(plain, 'id="tabel-samenvatting"', "</table>")
    assert "bedragen x € 1.000" not in plain


def test_the_toggle_is_part_of_the_cache_key(app, client, world):
    login(client, world["fin"])
    client.get("/?jaar=2025&peildatum=2025-03-31")
    cache = app.extensions["programmamonitor.figures_cache"]
    builds = cache.builds
    assert "bedragen x € 1.000" in _page(client, "/?jaar=2025&peildatum=2025-03-31&duizenden=1")
    assert cache.builds == builds + 1
    assert "bedragen x € 1.000" not in _page(client, "/?jaar=2025&peildatum=2025-03-31")
    assert cache.builds == builds + 1  # served again from the cache, in euros
