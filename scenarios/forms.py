"""Scenario forms: the budget forms themselves, with the project or commitment an entry is for."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from budget.forms import (
    AdjustmentForm,
    CommitmentForm,
    KasschuifForm,
    MutationForm,
    StaffingForm,
)
from core.once import OnceTokenField


class ScenarioForm(FlaskForm):
    form_token = OnceTokenField()
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul een naam in.")),
                                               Length(max=200, message=_l("Hoogstens 200 tekens."))])
    description = TextAreaField(_l("Toelichting"), render_kw={"rows": 3})


class ProposalForm(CommitmentForm):
    project_id = SelectField(_l("Project"), coerce=int, validators=[InputRequired(_l("Kies een project."))])


class ScheduleChangeForm(AdjustmentForm):
    commitment_id = SelectField(_l("Verplichting"), coerce=int, validators=[InputRequired(_l("Kies een verplichting."))])


class ActionForm(FlaskForm):
    """Only the CSRF token: adopt, delete, remove an entry."""


#: Per entry kind: its form, and whether it has an amount per year (with_years) and may go below zero.
ENTRY_FORMS = {
    "commitment": (ProposalForm, True, False),
    "adjustment": (ScheduleChangeForm, True, True),
    "kasschuif": (KasschuifForm, True, True),
    "mutation": (MutationForm, False, False),
    "staffing": (StaffingForm, False, False),
}
