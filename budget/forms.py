"""Budget forms: funding, mutations and kasschuif, staffing, commitments, adjustments and payments."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from budget import rules
from budget.models import FUNDING_KINDS, MUTATION_KINDS, MUTATION_MOMENTS, PAYMENT_KINDS
from core.errors import ValidationError as DomainValidationError
from core.forms import DateField, IntegerField, MoneyField, VersionField
from core.money import parse_eur
from core.once import OnceTokenField
from projects.models import YEAR_MAX, YEAR_MIN

_REQUIRED_AMOUNT = _l("Vul een bedrag in.")


def _choices(codes: dict, skip: tuple = ()) -> list[SelectChoice]:
    return [SelectChoice(code, label) for code, label in codes.items() if code not in skip]


_REQUIRED_DATE = _l("Vul een geldige datum in.")


def _year_field(label, required=True):
    checks = [NumberRange(YEAR_MIN, YEAR_MAX, _l("Het jaar moet tussen %(min)s en %(max)s liggen.",
                                                  min=YEAR_MIN, max=YEAR_MAX))]
    first = InputRequired(_l("Vul een jaartal in.")) if required else Optional()
    return IntegerField(label, validators=[first, *checks])


class OverrideMixin:
    """Only a beheerder keeps this field (views delete it for others): breaking the budget stop needs a reason."""

    override_reason = TextAreaField(_l("Reden om de budgetstop te doorbreken"), validators=[Optional()])


def year_key(year: int) -> str:
    return f"jaar_{year}"


def with_years(base: type, years, label_suffix: str = "", allow_negative: bool = False) -> type:
    """A subclass of `base` with one MoneyField per year (named jaar_YYYY), as the schedule of the form."""
    attrs = {year_key(y): MoneyField(f"{y}{label_suffix}", validators=[Optional()], allow_negative=allow_negative)
             for y in years}
    form = type(base.__name__, (base,), attrs)
    form.year_list = list(years)
    return form


def year_amounts(form) -> dict:
    """The filled-in yearly amounts of a with_years form, {year: Decimal}."""
    return {y: form[year_key(y)].data for y in form.year_list if form[year_key(y)].data is not None}


class FundingSourceForm(FlaskForm):
    form_token = OnceTokenField()
    version = VersionField()
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul een naam in.")), Length(max=200)])
    kind = SelectField(_l("Soort"), choices=_choices(FUNDING_KINDS))
    reference = StringField(_l("Kenmerk (Kamerstuk)"), validators=[Length(max=200)])
    range_from = _year_field(_l("Van jaar"), required=False)
    range_to = _year_field(_l("Tot en met jaar"), required=False)
    range_amount = MoneyField(_l("Bedrag voor elk van die jaren"), validators=[Optional()])
    valid_from = DateField(_l("Geldt vanaf"), default=date.today, validators=[Optional()])
    override_reason = OverrideMixin.override_reason

    def validate(self, extra_validators=None):
        # Checked here, not inline: an empty optional field stops its own validator chain.
        ok = super().validate(extra_validators)
        try:
            self._check_range()
        except ValidationError as exc:
            self.range_to.errors = list(self.range_to.errors) + [str(exc)]
            return False
        return ok

    def _check_range(self):
        filled = [f.data is not None for f in (self.range_from, self.range_to, self.range_amount)]
        if any(filled) and not all(filled):
            raise ValidationError(_l("Vul voor 'zelfde bedrag per jaar' van jaar, tot en met jaar én bedrag in."))
        if all(filled) and self.range_to.data < self.range_from.data:
            raise ValidationError(_l("Het laatste jaar ligt vóór het eerste jaar."))
        if all(filled) and self.range_to.data - self.range_from.data > 30:
            raise ValidationError(_l("Geef hoogstens 31 jaren tegelijk."))

    def amounts(self) -> dict:
        """Per-year fields first; the 'same amount for years X–Y' range wins for its years."""
        # An emptied year means no money that year (a year without a row stays without one).
        amounts = {y: self[year_key(y)].data if self[year_key(y)].data is not None else Decimal("0.00")
                   for y in self.year_list}
        if self.range_amount.data is not None and self.range_from.data and self.range_to.data:
            for y in range(self.range_from.data, self.range_to.data + 1):
                amounts[y] = self.range_amount.data
        return amounts


class MutationForm(FlaskForm):
    form_token = OnceTokenField()
    version = VersionField()
    year = _year_field(_l("Jaar"))
    amount = MoneyField(_l("Bedrag (negatief voor een verlaging)"), allow_negative=True,
                        validators=[InputRequired(_REQUIRED_AMOUNT)])
    kind = SelectField(_l("Soort mutatie"), choices=_choices(MUTATION_KINDS, skip=("kasschuif",)))
    moment = SelectField(_l("Moment"), choices=_choices(MUTATION_MOMENTS))
    reason = TextAreaField(_l("Toelichting"), validators=[DataRequired(_l("Vul een toelichting in."))])
    reference = StringField(_l("Kenmerk"), validators=[Length(max=200)])
    date = DateField(_l("Datum"), validators=[InputRequired(_REQUIRED_DATE)])
    override_reason = OverrideMixin.override_reason

    def validate_amount(self, field):
        if field.data is not None and field.data == 0:
            raise ValidationError(_l("Het bedrag kan niet nul zijn."))


class KasschuifForm(FlaskForm):
    form_token = OnceTokenField()
    version = VersionField()
    moment = SelectField(_l("Moment"), choices=_choices(MUTATION_MOMENTS))
    reason = TextAreaField(_l("Toelichting"), validators=[DataRequired(_l("Vul een toelichting in."))])
    reference = StringField(_l("Kenmerk"), validators=[Length(max=200)])
    date = DateField(_l("Datum"), validators=[InputRequired(_REQUIRED_DATE)])
    override_reason = OverrideMixin.override_reason


class StaffingForm(FlaskForm):
    form_token = OnceTokenField()
    version = VersionField()
    year = _year_field(_l("Jaar"))
    fte = StringField(_l("Fte"), validators=[DataRequired(_l("Vul het aantal fte in."))])
    amount = MoneyField(_l("Bedrag"), validators=[InputRequired(_REQUIRED_AMOUNT)])
    valid_from = DateField(_l("Geldt vanaf"), default=date.today, validators=[Optional()])
    override_reason = OverrideMixin.override_reason

    def validate_fte(self, field):
        try:
            value = parse_eur(field.data)
        except DomainValidationError:
            raise ValidationError(_l("Schrijf het aantal fte als bijvoorbeeld 2,5.")) from None
        try:
            rules.staffing_fte(value)
        except DomainValidationError as exc:
            raise ValidationError(exc.message) from None


class StaffingCostForm(FlaskForm):
    form_token = OnceTokenField()
    version = VersionField()
    cost_date = DateField(_l("Datum"), validators=[InputRequired(_REQUIRED_DATE)])
    amount = MoneyField(_l("Bedrag (negatief voor een correctie)"), allow_negative=True,
                        validators=[InputRequired(_REQUIRED_AMOUNT)])
    description = StringField(_l("Omschrijving"), validators=[Length(max=500)])
    reference = StringField(_l("Kenmerk"), validators=[Length(max=100)])


class CommitmentForm(FlaskForm):
    form_token = OnceTokenField()
    reference = StringField(_l("Kenmerk (beschikking of contract)"),
                            validators=[DataRequired(_l("Vul een kenmerk in.")), Length(max=100)])
    signed_date = DateField(_l("Datum ondertekening"), validators=[InputRequired(_REQUIRED_DATE)])
    total = MoneyField(_l("Totaalbedrag"), validators=[InputRequired(_REQUIRED_AMOUNT)])
    description = TextAreaField(_l("Omschrijving"), validators=[Optional()])
    # A total of zero is refused by the rule (budget.rules.new_commitment), on this field.
    override_reason = OverrideMixin.override_reason


class AdjustmentForm(FlaskForm):
    form_token = OnceTokenField()
    adjustment_date = DateField(_l("Datum bijstelling"), validators=[InputRequired(_REQUIRED_DATE)])
    reason = TextAreaField(_l("Reden"), validators=[DataRequired(_l("Vul een reden in."))])
    reference = StringField(_l("Kenmerk"), validators=[Length(max=100)])
    override_reason = OverrideMixin.override_reason


class PaymentForm(FlaskForm):
    form_token = OnceTokenField()
    payment_date = DateField(_l("Datum"), validators=[InputRequired(_REQUIRED_DATE)])
    amount = MoneyField(_l("Bedrag"), validators=[InputRequired(_REQUIRED_AMOUNT)])
    kind = SelectField(_l("Soort betaling"), choices=_choices(PAYMENT_KINDS), default="betaling")
    reference = StringField(_l("Kenmerk (boekingsnummer)"), validators=[Length(max=100)])
    description = StringField(_l("Omschrijving"), validators=[Length(max=500)])

    def validate_amount(self, field):
        if field.data is not None and field.data == 0:
            raise ValidationError(_l("Het bedrag kan niet nul zijn."))


class SettlementForm(FlaskForm):
    form_token = OnceTokenField()
    settlement_date = DateField(_l("Datum vaststelling"), validators=[InputRequired(_REQUIRED_DATE)])
    amount = MoneyField(_l("Vastgesteld bedrag"), validators=[InputRequired(_REQUIRED_AMOUNT)])
    # Required by the rule (budget.rules via the service), which says it in the same words as the import.
    reference = StringField(_l("Kenmerk vaststellingsbeschikking"), validators=[Length(max=100)])
    note = TextAreaField(_l("Toelichting"), validators=[Length(max=2000)])
    recovery_due = DateField(_l("Terugvordering uiterlijk"), validators=[Optional()])
    override_reason = OverrideMixin.override_reason


class SettlementTermForm(FlaskForm):
    months = IntegerField(_l("Vast te stellen na (maanden na de einddatum van het project)"),
                          validators=[InputRequired(_l("Vul een aantal maanden in."))])


class ConfirmForm(FlaskForm):
    """Empty form for delete buttons: only the CSRF token."""


class ClosePeriodForm(FlaskForm):
    form_token = OnceTokenField()
    through = DateField(_l("Afsluiten t/m"), validators=[InputRequired(_REQUIRED_DATE)])


class ReopenPeriodForm(FlaskForm):
    """A beheerder's reopen: to an earlier date, or fully when the date stays empty."""

    form_token = OnceTokenField()
    reopen_through = DateField(_l("Afgesloten blijft t/m (leeg: alles heropenen)"), validators=[Optional()])
    reason = TextAreaField(_l("Reden"), validators=[DataRequired(_l("Vul een reden in."))])
