"""Forms of the report pages: freezing a stand (snapshot)."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length, Optional

from core.forms import DateField
from core.once import OnceTokenField


class SnapshotForm(FlaskForm):
    form_token = OnceTokenField()
    peildatum = DateField(_l("Peildatum (stand t/m)"), default=date.today,
                          validators=[DataRequired(_l("Vul een geldige peildatum in."))])
    title = StringField(_l("Titel"), validators=[DataRequired(_l("Geef de stand een titel.")), Length(max=200)])
    kamerstuk = StringField(_l("Kamerstuk (optioneel)"), validators=[Optional(), Length(max=200)])
    close = BooleanField(_l("Sluit ook de periode af t/m deze peildatum"))
