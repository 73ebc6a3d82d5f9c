"""Forms of the approval pages: approve, reject with a reason, and the programme's four-eyes setting."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, TextAreaField

from core.forms import MoneyField, VersionField


class ApproveForm(FlaskForm):
    version = VersionField()


class RejectForm(FlaskForm):
    version = VersionField()
    reason = TextAreaField(_l("Reden van de afwijzing"))


class SettingsForm(FlaskForm):
    version = VersionField()
    four_eyes = BooleanField(_l("Vier ogen: financiële boekingen boven de drempel tellen pas na goedkeuring door een ander"))
    approval_threshold = MoneyField(_l("Drempel (€)"))
    four_eyes_payments = BooleanField(_l("Ook betalingen boven de drempel wachten op goedkeuring"))
