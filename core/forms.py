"""Form pieces shared by every feature: Dutch money, date and number fields, multi-checkboxes, domain errors."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import DateField as _DateField
from wtforms import HiddenField, SelectMultipleField, StringField, widgets
from wtforms import IntegerField as _IntegerField

from core.errors import DomainError, StaleEdit, ValidationError
from core.money import format_eur, parse_eur


class MoneyField(StringField):
    """Amount typed in Dutch notation ('1.234,56'); `data` is a Decimal or None."""

    def __init__(self, label=None, validators=None, allow_negative: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.allow_negative = allow_negative

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, Decimal):
            # Shown back without the € sign so the user can edit the number directly.
            return format_eur(self.data).replace("€", "").replace("\u00a0", "").strip()
        return ""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                self.data = parse_eur(valuelist[0])
            except ValidationError as exc:
                raise ValueError(exc.message) from None
            if self.data < 0 and not self.allow_negative:
                self.data = None
                raise ValueError(str(_l("Het bedrag kan niet negatief zijn.")))


def _ascii(valuelist) -> bool:
    # int() and strptime() read any script's digits ('٢٠٢٦', '２０２６'); input is written in 0-9.
    return all(value.isascii() for value in valuelist or [] if isinstance(value, str))


class _AsciiDutch:
    """Digits 0-9 only, and a Dutch message when the value cannot be read (WTForms' own is English)."""

    parse_error = ""

    def process_formdata(self, valuelist):
        try:
            if not _ascii(valuelist):
                raise ValueError
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(self.parse_error)) from None


class DateField(_AsciiDutch, _DateField):
    parse_error = _l("Vul een geldige datum in.")


class IntegerField(_AsciiDutch, _IntegerField):
    parse_error = _l("Vul een heel getal in, bijvoorbeeld 2025.")


class MultiCheckboxField(SelectMultipleField):
    """Several choices as checkboxes (forms of exploitation, years)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def apply_domain_error(form, exc: DomainError, field_map: dict[str, str] | None = None,
                       skip: frozenset[str] | set[str] = frozenset()) -> None:
    """Show a refused change on the form: next to its field when known, else in the summary.

    Refusals put each of their errors in its place. `skip`: fields that already say what is wrong
    with them (their own validators), so a rule's word on the same field would only repeat it.
    """
    for error in getattr(exc, "errors", None) or [exc]:
        name = (field_map or {}).get(error.field, error.field)
        if name and name in form:
            if name not in skip:
                form[name].errors = list(form[name].errors) + [error.message]
        elif error.message not in form.form_errors:
            form.form_errors.append(error.message)
    # form.errors is cached by WTForms; reset so the summary includes the new messages.
    form._errors = None


class VersionField(HiddenField):
    """The version of the record the form was filled from (filled by `obj=` on GET)."""


def check_version(obj, form) -> None:
    """Refuse a POST based on an older version of `obj` (HTTP 409 via core.web), or on no version (400)."""
    from flask import abort

    from core.audit import snapshot

    sent = (form.version.data or "").strip() if isinstance(form.version.data, str) else form.version.data
    if sent in (None, ""):
        # Every edit page sends the version it showed; without it nobody can tell whether the
        # form is older than the record, so saving could silently overwrite a colleague's change.
        abort(400)
    if str(sent) != str(obj.version):
        raise StaleEdit(snapshot(obj), what=type(obj).__name__)
