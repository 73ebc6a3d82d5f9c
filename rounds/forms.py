"""Forms of the round pages: open a round, change it, close it, remind one person."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from core.forms import DateField, IntegerField, VersionField
from core.once import OnceTokenField
from rounds.models import MAX_REMIND_DAYS

_DAYS = [InputRequired(_l("Vul een aantal dagen in (0 voor geen herinnering).")),
         NumberRange(0, MAX_REMIND_DAYS, _l("Kies 0 tot en met %(max)s dagen.", max=MAX_REMIND_DAYS))]


class RoundFieldsForm(FlaskForm):
    """The fields a round keeps while it is open."""

    title = StringField(_l("Titel"), validators=[DataRequired(_l("Geef de ronde een titel.")), Length(max=200)])
    deadline = DateField(_l("Deadline voor de statusupdates"),
                         validators=[DataRequired(_l("Vul een geldige deadline in."))])
    kamerstuk = StringField(_l("Kamerstuk (optioneel)"), validators=[Optional(), Length(max=200)])
    remind_days_before = IntegerField(_l("Herinnering, dagen voor de deadline"), default=3, validators=_DAYS)
    remind_days_after = IntegerField(_l("Herinnering, dagen na de deadline"), default=3, validators=_DAYS)

    def values(self) -> dict:
        return {name: self[name].data for name in ("title", "deadline", "kamerstuk", "remind_days_before",
                                                   "remind_days_after")}


class OpenRoundForm(RoundFieldsForm):
    form_token = OnceTokenField()
    peildatum = DateField(_l("Peildatum (stand per)"), validators=[DataRequired(_l("Vul een geldige peildatum in."))])
    projects = TextAreaField(_l("Alleen deze projecten (optioneel)"), validators=[Optional()])

    def codes(self) -> list[str]:
        return [code for code in (self.projects.data or "").replace(",", " ").split() if code]


class EditRoundForm(RoundFieldsForm):
    version = VersionField()


class CloseRoundForm(FlaskForm):
    form_token = OnceTokenField()
    close_period = BooleanField(_l("Sluit ook de boeken af t/m de peildatum"), default=True)
    allow_missing = BooleanField(_l("Toch afsluiten, ook al ontbreken er updates"))


class RemindForm(FlaskForm):
    user_id = HiddenField(validators=[DataRequired()])
