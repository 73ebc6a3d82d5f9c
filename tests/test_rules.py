"""The rule layer without a database: every Dutch message of budget.rules, projects.rules and core.validate."""
from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from budget import rules as money
from core import validate
from core.errors import BudgetStopError, Conflict, InvalidTransition, PermissionDenied, ValidationError
from core.money import format_pct, share
from projects import rules as portfolio

D = Decimal
YEARS = [2023, 2024, 2025, 2026, 2027]
#: A commitment of 1.000 over 2025 and 2026, 300 of it paid.
STATE = money.CommitmentState(D("1000.00"), D("300.00"), {2025: D("600.00"), 2026: D("400.00")}, "BS-1")
ROOT = Path(__file__).resolve().parent.parent


def _refused(call, error, message, field="unset"):
    with pytest.raises(error) as refused:
        call()
    assert refused.value.message == message
    if field != "unset":
        assert refused.value.field == field
    return refused.value


# --- core.validate -------------------------------------------------------------------------------

@pytest.mark.parametrize("call, message, field", [
    (lambda: validate.text("  ", "een naam", "name"), "Vul een naam in.", "name"),
    (lambda: validate.text("x" * 201, "een naam", "name", max_len=200),
     "Een naam is te lang (hoogstens 200 tekens).", "name"),
    (lambda: validate.text("x" * 101, "", "reference", required=False, max_len=100),
     "De tekst is te lang (hoogstens 100 tekens).", "reference"),
    (lambda: validate.code("geheim", {"a": "Aap", "b": "Beer"}, "soort", "kind"),
     "Onbekende soort 'geheim'; kies uit: Aap, Beer.", "kind"),
    (lambda: validate.year("twintig"), "Vul een jaartal in.", "year"),
    (lambda: validate.year(None, "first_year"), "Vul een jaartal in.", "first_year"),
    (lambda: validate.year(1999), "Het jaar moet tussen 2000 en 2100 liggen.", "year"),
    (lambda: validate.year("٢٠٢٦"), "Vul een jaartal in.", "year"),
    (lambda: validate.amount("-1"), "Het bedrag kan niet negatief zijn.", "amount"),
    (lambda: validate.amount("0", allow_zero=False), "Het bedrag kan niet nul zijn.", "amount"),
    (lambda: validate.day("2025-01-01", "date"), "Vul een geldige datum in.", "date"),
    (lambda: validate.day(date(1990, 1, 15), "date"), "De datum moet tussen 1 januari 2000 en 31 december 2100 liggen.", "date"),
    (lambda: validate.plausible_day(date(2101, 1, 1), "end_date"),
     "De datum moet tussen 1 januari 2000 en 31 december 2100 liggen.", "end_date"),
])
def test_validate_messages(call, message, field):
    _refused(call, ValidationError, message, field)


def test_validate_returns_clean_values():
    assert validate.text("  Opvang  ", "een titel", "title") == "Opvang"
    assert validate.year("2025") == 2025
    assert validate.amount("1.234,5") == D("1234.50")
    assert validate.amount("-5", allow_negative=True) == D("-5.00")
    assert validate.day(date(2025, 1, 1), "date") == date(2025, 1, 1)


# --- budget.rules: closed periods and plausible payment dates ---------------------------------------

JUNE_30, TODAY = date(2025, 6, 30), date(2025, 11, 30)
CLOSED = ("De periode t/m 30 juni 2025 is afgesloten; wat op of vóór die datum is gedateerd, kan niet meer worden "
          "toegevoegd, gewijzigd of verwijderd. Een beheerder kan de periode heropenen.")


@pytest.mark.parametrize("call, error, message, field", [
    (lambda: money.check_open(JUNE_30, JUNE_30, "payment_date"), Conflict, CLOSED, "payment_date"),
    (lambda: money.check_open(JUNE_30, date(2024, 12, 31), "date"), Conflict, CLOSED, "date"),
    (lambda: money.close_through(None, date(2025, 12, 1), TODAY), ValidationError,
     "Een periode sluit u af tot en met vandaag (30 november 2025) of eerder.", "through"),
    (lambda: money.close_through(JUNE_30, JUNE_30, TODAY), Conflict,
     "De periode is al afgesloten t/m 30 juni 2025; een eerdere datum kiezen is heropenen, en dat doet een "
     "beheerder.", "through"),
    (lambda: money.close_through(None, None, TODAY), ValidationError, "Vul een geldige datum in.", "through"),
    (lambda: money.reopen_to("financieel", JUNE_30, None, "Correctie na de brief"), PermissionDenied,
     "Alleen een beheerder kan een afgesloten periode heropenen.", None),
    (lambda: money.reopen_to("beheerder", None, None, "Correctie na de brief"), Conflict,
     "Er is geen afgesloten periode om te heropenen.", None),
    (lambda: money.reopen_to("beheerder", JUNE_30, JUNE_30, "Correctie na de brief"), ValidationError,
     "Heropenen gaat naar een datum vóór 30 juni 2025, of laat de datum leeg om de hele periode te heropenen.",
     "through"),
    (lambda: money.reopen_to("beheerder", JUNE_30, None, "  kort  "), ValidationError,
     "Geef een reden van minstens 10 tekens voor het heropenen.", "reason"),
    (lambda: money.payment_day(date(2025, 1, 14), date(2025, 1, 15), TODAY, "BS-1"), ValidationError,
     "De betaling ligt vóór de ondertekening van verplichting BS-1 (15 januari 2025).", "payment_date"),
    (lambda: money.adjustment_day(date(2025, 1, 14), date(2025, 1, 15), "BS-1"), ValidationError,
     "De bijstelling ligt vóór de ondertekening van verplichting BS-1 (15 januari 2025).", "adjustment_date"),
    (lambda: money.payment_day(date(2025, 12, 1), date(2025, 1, 15), TODAY), ValidationError,
     "Een betaling kan niet na vandaag (30 november 2025) zijn gedateerd.", "payment_date"),
])
def test_closed_period_and_payment_day_messages(call, error, message, field):
    _refused(call, error, message, field)


def test_closed_period_and_payment_day_pass_what_is_open_and_plausible():
    assert money.check_open(None, date(2000, 1, 1), "date") == date(2000, 1, 1)
    assert money.check_open(JUNE_30, date(2025, 7, 1), "date") == date(2025, 7, 1)
    assert money.close_through(None, TODAY, TODAY) == TODAY
    assert money.close_through(JUNE_30, date(2025, 7, 1), TODAY) == date(2025, 7, 1)
    assert money.reopen_to("beheerder", JUNE_30, date(2025, 3, 31), " Correctie na de brief ") == (
        date(2025, 3, 31), "Correctie na de brief")
    assert money.reopen_to("beheerder", JUNE_30, None, "Correctie na de brief") == (None, "Correctie na de brief")
    # The signing day and today themselves are fine.
    assert money.payment_day(date(2025, 1, 15), date(2025, 1, 15), TODAY) == date(2025, 1, 15)
    assert money.payment_day(TODAY, date(2025, 1, 15), TODAY) == TODAY


# --- budget.rules: commitments and payments -------------------------------------------------------

@pytest.mark.parametrize("call, error, message, field", [
    (lambda: money.commitment_schedule({2030: 100}, YEARS), ValidationError,
     "2030 valt buiten de programmajaren 2023–2027.", "schedule"),
    (lambda: money.commitment_schedule({"x": 100}, YEARS), ValidationError, "Vul een jaartal in.", "schedule"),
    (lambda: money.commitment_schedule({2025: -100}, YEARS), ValidationError,
     "Het bedrag kan niet negatief zijn.", "schedule"),
    (lambda: money.new_commitment(0, {2025: 0}, YEARS), ValidationError,
     "Een verplichting heeft een bedrag groter dan nul.", "total"),
    (lambda: money.new_commitment(None, [(2025, 0)], YEARS), ValidationError,
     "Een verplichting heeft een bedrag groter dan nul.", "total"),
    (lambda: money.new_commitment("-5", {2025: 5}, YEARS), ValidationError,
     "Het bedrag kan niet negatief zijn.", "total"),
    (lambda: money.new_commitment("1.000", {2025: 600, 2026: 300}, YEARS), ValidationError,
     "Het kasritme telt op tot €\xa0900,00, maar de verplichting is €\xa01.000,00.", "schedule"),
    (lambda: money.adjust(STATE, {}), ValidationError, "Geef per jaar het bedrag van de bijstelling.", "changes"),
    (lambda: money.adjust(STATE, {2026: D("-400.01")}), ValidationError,
     "De bijstelling maakt het kasritme in 2026 negatief.", "changes"),
    (lambda: money.adjust(STATE, {2027: D("-1.00")}), ValidationError,
     "De bijstelling maakt het kasritme in 2027 negatief.", "changes"),
    (lambda: money.adjust(STATE, {2025: D("-600.00"), 2026: D("-200.00")}), ValidationError,
     "Na deze bijstelling is de verplichting €\xa0200,00, maar er is al €\xa0300,00 betaald.", "changes"),
    (lambda: money.payment_amount("100", "cadeau"), ValidationError,
     "Onbekende soort betaling 'cadeau'; kies uit: Voorschot, Betaling, Eindbetaling, Terugbetaling.", "kind"),
    (lambda: money.payment_amount("0", "betaling"), ValidationError, "Het bedrag kan niet nul zijn.", "amount"),
    (lambda: money.payment_amount("-100", "voorschot"), ValidationError,
     "Een negatief bedrag boekt u als terugbetaling.", "amount"),
    (lambda: money.pay(STATE, money.payment_amount("700,01", "betaling"), date(2026, 3, 1)), BudgetStopError,
     "Betaling geweigerd: verplichting BS-1 is €\xa01.000,00; deze betaling gaat daar €\xa00,01 overheen.", None),
    (lambda: money.pay(STATE, money.payment_amount("300,01", "terugbetaling"), date(2026, 3, 1)), ValidationError,
     "De terugbetaling is groter dan wat er op deze verplichting is betaald.", "amount"),
])
def test_commitment_and_payment_messages(call, error, message, field):
    _refused(call, error, message, field)


def test_overpayment_is_a_shortfall_in_the_payments_year():
    refused = _refused(lambda: money.pay(STATE, money.payment_amount(800, "eindbetaling"), date(2026, 3, 1)),
                       BudgetStopError,
                       "Betaling geweigerd: verplichting BS-1 is €\xa01.000,00; deze betaling gaat daar "
                       "€\xa0100,00 overheen.")
    assert refused.shortfalls == {2026: D("100.00")}


def test_commitment_rules_return_the_next_state():
    assert money.commitment_schedule([(2025, "100"), (2025, "50"), (2026, 0)], YEARS) == {2025: D("150.00")}
    state = money.new_commitment("1.000", {2025: "600", 2026: "400"}, YEARS, "BS-1")
    assert state == money.CommitmentState(D("1000.00"), D("0.00"), {2025: D("600.00"), 2026: D("400.00")}, "BS-1")
    assert money.new_commitment(None, [(2025, D("10.00"))], YEARS).total == D("10.00")
    lower = money.adjust(STATE, {2026: D("-100.00"), 2027: D("50.00")})
    assert (lower.total, dict(lower.years)) == (D("950.00"), {2025: D("600.00"), 2026: D("300.00"),
                                                               2027: D("50.00")})
    assert STATE.total == D("1000.00")  # a rule never changes the state it was given
    assert money.pay(STATE, money.payment_amount("700", "eindbetaling"), date(2026, 1, 1)).paid == D("1000.00")
    assert money.pay(STATE, money.payment_amount("300", "terugbetaling"), date(2026, 1, 1)).paid == D("0.00")
    assert money.pay(STATE, money.payment_amount("-300", "terugbetaling"), date(2026, 1, 1)).paid == D("0.00")
    assert money.payment_amount("250", "terugbetaling") == D("-250.00")


# --- budget.rules: mutations, kasschuif, staffing -------------------------------------------------

def _fields(**overrides):
    args = {"kind": "beleidsmatig", "moment": "intern", "reason": "Nodig", "reference": "",
            "mutation_day": date(2025, 1, 1)} | overrides
    return lambda: money.mutation_fields(**args)


@pytest.mark.parametrize("call, error, message, field", [
    (_fields(kind="cadeau"), ValidationError, "Onbekende soort mutatie 'cadeau'; kies uit: Beleidsmatig, "
                                              "Technisch, Kasschuif, Eindejaarsmarge, Overboeking.", "kind"),
    (_fields(moment="kerst"), ValidationError, "Onbekende moment 'kerst'; kies uit: Ontwerpbegroting, "
                                               "Voorjaarsnota, Najaarsnota, Slotwet, Intern.", "moment"),
    (_fields(reason=" "), ValidationError, "Vul een toelichting in.", "reason"),
    (_fields(reference="x" * 201), ValidationError, "De tekst is te lang (hoogstens 200 tekens).", "reference"),
    (_fields(mutation_day=None), ValidationError, "Vul een geldige datum in.", "date"),
    (lambda: money.single_mutation("kasschuif"), ValidationError,
     "Een kasschuif boekt u over meerdere jaren tegelijk, als kasschuif.", "kind"),
    (lambda: money.kasschuif({2025: 100, 2026: 0}), ValidationError,
     "Een kasschuif verschuift geld tussen minstens twee jaren.", "amounts"),
    (lambda: money.kasschuif({2025: "100", 2026: "-99,99"}), ValidationError,
     "Een kasschuif moet op nul uitkomen; het saldo is nu €\xa00,01.", "amounts"),
    (lambda: money.kasschuif({1999: 100, 2026: -100}), ValidationError,
     "Het jaar moet tussen 2000 en 2100 liggen.", "year"),
    (lambda: money.staffing_fte("-0,5"), ValidationError, "Het aantal fte kan niet negatief zijn.", "fte"),
    (lambda: money.staffing_day(date(2026, 1, 1), 2025), ValidationError,
     "Deze reservering is voor 2025; de datum valt in 2026.", "cost_date"),
    (lambda: money.staffing_day("2025-01-01", 2025), ValidationError, "Vul een geldige datum in.", "cost_date"),
    (lambda: money.staffing_room(D("900.00"), D("100.01"), D("1000.00"), 2025), BudgetStopError,
     "De personeelskosten komen boven de reservering van €\xa01.000,00 voor 2025 (tekort €\xa00,01).", None),
    (lambda: money.staffing_room(D("100.00"), D("-100.01"), D("1000.00"), 2025), ValidationError,
     "Een correctie kan de geboekte personeelskosten niet negatief maken.", "amount"),
    (lambda: money.staffing_removal(D("-0.01")), Conflict,
     "Zonder deze boeking zouden de correcties de personeelskosten negatief maken.", None),
])
def test_mutation_and_staffing_messages(call, error, message, field):
    _refused(call, error, message, field)


def test_mutation_and_staffing_rules_return_clean_values():
    assert money.kasschuif([(2025, "100"), (2026, "-100"), (2027, 0)]) == {2025: D("100.00"), 2026: D("-100.00")}
    assert money.staffing_room(D("900.00"), D("100.00"), D("1000.00"), 2025) == D("1000.00")
    assert money.staffing_fte("0,8") == D("0.80")
    assert _fields(reference=" K-1 ")()["reference"] == "K-1"
    money.single_mutation("technisch")
    money.staffing_removal(D("0.00"))


@pytest.mark.parametrize("today, moment", [
    (date(2025, 1, 1), "voorjaarsnota"),
    (date(2025, 6, 30), "voorjaarsnota"),
    (date(2025, 7, 1), "najaarsnota"),
    (date(2025, 12, 31), "najaarsnota"),
])
def test_default_moment_follows_the_half_of_the_year(today, moment):
    assert money.default_moment(today) == moment


# --- budget.rules: the budget stop and who may override it ----------------------------------------

FREE = {2025: D("100.00"), 2026: D("-50.00")}


@pytest.mark.parametrize("deltas, shortfalls", [
    ({2025: D("-100.00")}, {}),
    ({2025: D("-100.01")}, {2025: D("0.01")}),
    ({2026: D("10.00")}, {}),  # raising a year that is short already is always allowed
    ({2026: D("-1.00"), 2025: D("-150.00")}, {2025: D("50.00"), 2026: D("51.00")}),
    ({2027: D("-5.00")}, {2027: D("5.00")}),  # a year without figures has no free room
])
def test_budget_stop_shortfalls(deltas, shortfalls):
    assert money.budget_stop(FREE, deltas) == shortfalls


SHORT = {2026: D("51.00"), 2025: D("1234.50")}


@pytest.mark.parametrize("role, reason, error, message, field", [
    ("financieel", None, BudgetStopError,
     ("Budgetstop: onvoldoende vrije ruimte in 2025 (vrije ruimte nu €\xa0100,00, tekort €\xa01.234,50); "
      "2026 (vrije ruimte nu €\xa0-50,00, tekort €\xa051,00). "
      "Alleen een beheerder mag de budgetstop doorbreken, met een reden."), None),
    ("beheerder", "   ", BudgetStopError,
     ("Budgetstop: onvoldoende vrije ruimte in 2025 (vrije ruimte nu €\xa0100,00, tekort €\xa01.234,50); "
      "2026 (vrije ruimte nu €\xa0-50,00, tekort €\xa051,00). "
      "Alleen een beheerder mag de budgetstop doorbreken, met een reden."), None),
    ("financieel", "Besluit van de DG van 1 maart", PermissionDenied,
     "Alleen een beheerder mag een budgetstop doorbreken.", None),
    (None, "Besluit van de DG van 1 maart", PermissionDenied,
     "Alleen een beheerder mag een budgetstop doorbreken.", None),
    ("beheerder", " te kort  ", ValidationError,
     "Geef een reden van minstens 10 tekens voor het doorbreken van de budgetstop.", "override_reason"),
])
def test_override_messages(role, reason, error, message, field):
    refused = _refused(lambda: money.override(role, reason, SHORT, FREE), error, message, field)
    if error is BudgetStopError:
        assert refused.shortfalls == {2025: D("1234.50"), 2026: D("51.00")}


def test_the_budget_stop_without_the_free_room_still_names_year_shortfall_and_who():
    # The import judges a year it had no figures for before: there is no "free room now" to name.
    assert money.shortfall_message({2027: D("5.00")}) == (
        "Budgetstop: onvoldoende vrije ruimte in 2027 (tekort €\xa05,00). "
        "Alleen een beheerder mag de budgetstop doorbreken, met een reden.")


def test_override_by_a_beheerder_with_a_reason():
    assert money.override("financieel", None, {}) is None
    assert money.override("beheerder", "  Besluit DG 1-3  ", SHORT) == {
        "reason": "Besluit DG 1-3", "shortfalls": {"2025": "1234.50", "2026": "51.00"}}


# --- projects.rules -------------------------------------------------------------------------------

LOOKUPS = portfolio.ProjectLookups(
    programme_id=1, project_id=10, organisations={5}, active_owners={7},
    # 10 <- 11 <- 12 is a chain of follow-ups in programme 1, 13 another project there; 20 is in programme 2.
    projects={10: (1, None), 11: (1, 10), 12: (1, 11), 13: (1, None), 20: (2, None)}, taken_codes={"STM-002"})
VALID = {"code": " STM-001 ", "title": "Opvang Noord", "category": "lopend", "line": "zorg",
         "instrument": "subsidie", "forms": ["overig", "overig"], "organisation_id": 5, "owner_id": 7,
         "start_date": date(2025, 1, 1), "end_date": date(2025, 12, 31), "requested_amount": "1.000"}


@pytest.mark.parametrize("changes, error, message, field", [
    ({"code": ""}, ValidationError, "Vul een projectcode in.", "code"),
    ({"code": "X" * 31}, ValidationError, "Een projectcode is te lang (hoogstens 30 tekens).", "code"),
    ({"title": None}, ValidationError, "Vul een titel in.", "title"),
    ({"title": "x" * 301}, ValidationError, "Een titel is te lang (hoogstens 300 tekens).", "title"),
    ({"category": "geheim"}, ValidationError,
     "Onbekende categorie 'geheim'; kies uit: Lopend, Vervolg, Op de plank, Nieuw.", "category"),
    ({"line": None}, ValidationError, "Onbekende programmalijn 'None'; kies uit: Preventie, "
                                      "Zicht op slachtoffers, Zorg, Opsporing en vervolging.", "line"),
    ({"instrument": "lening"}, ValidationError, "Onbekende instrument 'lening'; kies uit: Subsidie, Opdracht, "
                                                "Bijdrage medeoverheid, Bijdrage zbo/rwt, Overig.", "instrument"),
    ({"forms": ["overig", "roof"]}, ValidationError, "Onbekende vorm van uitbuiting 'roof'; kies uit: Seksuele "
                                                     "uitbuiting, Arbeidsuitbuiting, Criminele uitbuiting, "
                                                     "Gedwongen orgaanverwijdering, Overig.", "forms"),
    ({"forms": []}, ValidationError, "Kies minstens één vorm van uitbuiting.", "forms"),
    ({"organisation_id": 6}, ValidationError, "Onbekende organisatie.", "organisation_id"),
    ({"owner_id": 8}, ValidationError, "Onbekende of inactieve projectleider.", "owner_id"),
    ({"predecessor_id": 99}, ValidationError, "Het voorgaande project hoort niet bij dit programma.",
     "predecessor_id"),
    ({"predecessor_id": 20}, ValidationError, "Het voorgaande project hoort niet bij dit programma.",
     "predecessor_id"),
    ({"predecessor_id": 10}, ValidationError,
     "Een project kan geen vervolg zijn van zichzelf of van een eigen vervolg.", "predecessor_id"),
    ({"predecessor_id": 12}, ValidationError,
     "Een project kan geen vervolg zijn van zichzelf of van een eigen vervolg.", "predecessor_id"),
    ({"category": "vervolg"}, ValidationError, "Een vervolgproject noemt het project waarop het volgt: een "
     "project uit de lijst of een voorganger buiten het systeem.", "predecessor_id"),
    ({"predecessor_id": 13, "predecessor_outside": "Oud project"}, ValidationError, "Kies een voorgaand project "
     "uit de lijst óf noem een voorganger buiten het systeem, niet allebei.", "predecessor_outside"),
    ({"predecessor_outside": "x" * 201}, ValidationError, "De tekst is te lang (hoogstens 200 tekens).",
     "predecessor_outside"),
    ({"end_date": date(2024, 12, 31)}, ValidationError, "De einddatum ligt voor de startdatum.", "end_date"),
    ({"requested_amount": "-0,01"}, ValidationError, "Het gevraagde bedrag kan niet negatief zijn.",
     "requested_amount"),
    ({"contact_person": "x" * 201}, ValidationError, "De tekst is te lang (hoogstens 200 tekens).",
     "contact_person"),
    ({"code": "STM-002"}, Conflict, "Projectcode STM-002 bestaat al in dit programma.", "code"),
])
def test_project_messages(changes, error, message, field):
    _refused(lambda: portfolio.check_project(VALID | changes, LOOKUPS), error, message, field)


def test_check_project_returns_clean_values():
    clean = portfolio.check_project(VALID, LOOKUPS)
    assert (clean["code"], clean["forms"], clean["requested_amount"]) == ("STM-001", ["overig"], D("1000.00"))
    assert clean["predecessor_id"] is None and clean["summary"] == ""
    # A new project (no project_id) may follow any project of its programme, also the end of a chain.
    new = portfolio.ProjectLookups(programme_id=1, projects={12: (1, 11)}, organisations={5}, active_owners={7})
    clean = portfolio.check_project(VALID | {"category": "vervolg", "predecessor_id": 12, "requested_amount": ""},
                                    new)
    assert (clean["predecessor_id"], clean["requested_amount"]) == (12, None)


@pytest.mark.parametrize("first, last, message, field", [
    (2025, 2024, "Het laatste jaar ligt voor het eerste jaar.", "last_year"),
    ("", 2025, "Vul een jaartal in.", "first_year"),
    (2025, 2101, "Het jaar moet tussen 2000 en 2100 liggen.", "last_year"),
])
def test_programme_year_messages(first, last, message, field):
    _refused(lambda: portfolio.check_programme_years(first, last), ValidationError, message, field)


@pytest.mark.parametrize("value", ['Q"; X=Y', "A\nB", "STM 2", "ÉÉN", ""])
def test_programme_codes_are_capitals_digits_and_hyphens(value):
    with pytest.raises(ValidationError) as refused:
        portfolio.programme_code(value)
    assert refused.value.field == "code"


def test_programme_code_is_upper_case():
    assert portfolio.programme_code(" stm-2 ") == "STM-2"


def test_programme_years_are_clean():
    assert portfolio.check_programme_years("2023", None) == (2023, None)
    assert portfolio.check_programme_years(2023, 2023) == (2023, 2023)


@pytest.mark.parametrize("role, current, new, error, message", [
    ("financieel", "voorstel", "klaar", ValidationError,
     "Onbekende status 'klaar'; kies uit: Voorstel, In behandeling, Toegekend, In uitvoering, Afgerond, "
     "Afgewezen, Ingetrokken, Opgeschort."),
    ("financieel", "voorstel", "afgerond", InvalidTransition,
     "Van 'Voorstel' kan de status niet naar 'Afgerond'; toegestaan: Afgewezen, In behandeling, Ingetrokken."),
    ("beheerder", "afgerond", "voorstel", InvalidTransition,
     "Van 'Afgerond' kan de status niet naar 'Voorstel'; toegestaan: geen."),
    ("projectleider", "in_behandeling", "toegekend", PermissionDenied,
     "De status 'Toegekend' is een financieel besluit; die zet alleen een financieel medewerker of beheerder."),
    ("projectleider", "voorstel", "afgewezen", PermissionDenied,
     "De status 'Afgewezen' is een financieel besluit; die zet alleen een financieel medewerker of beheerder."),
    ("projectleider", "in_uitvoering", "afgerond", PermissionDenied,
     "De status 'Afgerond' is een financieel besluit; die zet alleen een financieel medewerker of beheerder."),
])
def test_status_messages(role, current, new, error, message):
    _refused(lambda: portfolio.check_status_change(role, current, new), error, message, "status")


@pytest.mark.parametrize("role, current, expected", [
    ("projectleider", "voorstel", ["in_behandeling", "ingetrokken"]),
    ("projectleider", "in_behandeling", ["ingetrokken"]),
    ("projectleider", "toegekend", ["in_uitvoering", "ingetrokken", "opgeschort"]),
    ("projectleider", "in_uitvoering", ["ingetrokken", "opgeschort"]),
    ("financieel", "in_behandeling", ["toegekend", "afgewezen", "ingetrokken"]),
    ("beheerder", "in_uitvoering", ["afgerond", "ingetrokken", "opgeschort"]),
    ("financieel", "afgerond", []),
])
def test_settable_statuses_by_role(role, current, expected):
    assert portfolio.settable_statuses(role, current) == expected


def test_a_projectleider_may_keep_a_financial_status():
    assert portfolio.check_status_change("projectleider", "toegekend", "toegekend") == "toegekend"
    assert portfolio.check_status_change("projectleider", "toegekend", "in_uitvoering") == "in_uitvoering"


def test_status_path():
    assert portfolio.status_path("voorstel", "afgerond") == ["in_behandeling", "toegekend", "in_uitvoering",
                                                             "afgerond"]
    assert portfolio.status_path("opgeschort", "afgerond") == ["in_uitvoering", "afgerond"]
    assert portfolio.status_path("voorstel", "voorstel") == []
    with pytest.raises(ValueError, match="niet bereikbaar"):
        portfolio.status_path("afgewezen", "toegekend")


# --- purity ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["budget/rules.py", "projects/rules.py", "core/validate.py"])
def test_rule_modules_take_no_session_and_import_no_database_or_web(path):
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in ("sqlalchemy", "flask", "flask_login", "flask_wtf")}
    assert "core.db" not in imported and "core.locking" not in imported
    params = {a.arg for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for a in node.args.args}
    assert "session" not in params


def test_the_kind_of_a_source_is_fixed_once_its_amounts_count():
    today = date(2026, 11, 30)
    _refused(lambda: money.source_kind("Structureel", "structureel", "incidenteel", date(2025, 1, 1), today),
             Conflict, "De soort van financieringsbron 'Structureel' verandert niet meer nu haar bedragen in standen "
             "meetellen: eerdere standen zouden veranderen. Zet haar bedragen met een datum op nul en voeg een bron "
             "met de juiste soort toe.", "kind")
    # Without amounts, or with amounts counting from today on only, a wrong kind may still be corrected.
    assert money.source_kind("Nieuw", "structureel", "incidenteel", None, today) == "incidenteel"
    assert money.source_kind("Nieuw", "structureel", "incidenteel", today, today) == "incidenteel"
    assert money.source_kind("Oud", "structureel", "structureel", date(2025, 1, 1), today) == "structureel"


# --- Percentages: rounded once ------------------------------------------------------------------


@pytest.mark.parametrize("part, whole, fraction, text", [
    ("2930000", "2750000", "1.065", "106,5%"),   # 106,545...%: not 106,55 rounded again to 106,6
    ("2131000", "2000000", "1.066", "106,6%"),   # exactly 106,55 %: half up
    ("329000", "2000000", "0.165", "16,5%"),     # exactly 16,45 %: half up (half even would give 16,4)
    ("390000", "2750000", "0.142", "14,2%"),
    ("0", "2000000", "0.000", "0,0%"),
    ("-100000", "300000", "-0.333", "-33,3%"),
    ("12345600", "1000", "12345.600", "1.234.560,0%"),
])
def test_a_share_is_rounded_once_to_a_tenth_of_a_percent(part, whole, fraction, text):
    value = share(Decimal(part), Decimal(whole))
    assert value == Decimal(fraction) and value.as_tuple().exponent == -3
    assert format_pct(value) == text


def test_a_share_of_nothing_is_none_and_shows_a_dash():
    assert share(Decimal("5"), Decimal("0")) is None
    assert format_pct(None) == "–"
