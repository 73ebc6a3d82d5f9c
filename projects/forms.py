"""Portfolio forms: project, organisation and status update (choices filled in by the views)."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.forms import DateField, MoneyField, MultiCheckboxField, VersionField
from core.once import OnceTokenField
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    RAG,
    STATUSES,
)

_CHOOSE = SelectChoice("", _l("— kies —"))
NONE = SelectChoice("", _l("— geen —"))


def optional_int(value):
    """Coerce a select value to int; the empty option means 'none'."""
    if value in (None, "", "None"):
        return None
    return int(value)


def choices(items, blank=None) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices, after an optional empty first option."""
    return ([blank] if blank is not None else []) + [SelectChoice(value, label) for value, label in items]


class ProjectForm(FlaskForm):
    form_token = OnceTokenField()
    version = VersionField()
    code = StringField(_l("Projectcode"), validators=[DataRequired(_l("Vul een projectcode in.")),
                                                     Length(max=30, message=_l("Hoogstens 30 tekens."))])
    title = StringField(_l("Titel"), validators=[DataRequired(_l("Vul een titel in.")),
                                                 Length(max=300, message=_l("Hoogstens 300 tekens."))])
    summary = TextAreaField(_l("Openbare samenvatting"), render_kw={"rows": 4})
    category = SelectField(_l("Categorie"), choices=choices(CATEGORIES.items(), _CHOOSE),
                           validators=[InputRequired(_l("Kies een categorie."))])
    line = SelectField(_l("Programmalijn"), choices=choices(LINES.items(), _CHOOSE),
                       validators=[InputRequired(_l("Kies een programmalijn."))])
    forms = MultiCheckboxField(_l("Vormen van uitbuiting"), choices=choices(EXPLOITATION_FORMS.items()))
    status = SelectField(_l("Beginstatus"), choices=choices(STATUSES.items()), default="voorstel")
    instrument = SelectField(_l("Instrument"), choices=choices(INSTRUMENTS.items(), _CHOOSE),
                             validators=[InputRequired(_l("Kies een instrument."))])
    organisation_id = SelectField(_l("Organisatie (penvoerder)"), coerce=optional_int, choices=[NONE])
    owner_id = SelectField(_l("Projectleider"), coerce=optional_int, choices=[NONE])
    predecessor_id = SelectField(_l("Voorgaand project"), coerce=optional_int, choices=[NONE])
    predecessor_outside = StringField(_l("Voorganger buiten het systeem"),
                                      validators=[Length(max=200, message=_l("Hoogstens 200 tekens."))])
    start_date = DateField(_l("Startdatum"), validators=[Optional()])
    end_date = DateField(_l("Einddatum"), validators=[Optional()])
    requested_amount = MoneyField(_l("Gevraagd bedrag (euro)"))
    contact_person = StringField(_l("Contactpersoon (intern)"),
                                 validators=[Length(max=200, message=_l("Hoogstens 200 tekens."))])
    internal_notes = TextAreaField(_l("Interne notities"), render_kw={"rows": 4})


class OrganisationForm(FlaskForm):
    form_token = OnceTokenField()
    version = VersionField()
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul een naam in.")),
                                               Length(max=200, message=_l("Hoogstens 200 tekens."))])
    type = SelectField(_l("Type (krachtenveld)"), choices=choices(ORGANISATION_TYPES.items(), _CHOOSE),
                       validators=[InputRequired(_l("Kies een type."))])


class StatusUpdateForm(FlaskForm):
    form_token = OnceTokenField()
    # The view offers only the statuses this user may set; a posted status is judged by the rule
    # (projects.rules.check_status_change), whose message says why, not by "not a valid choice".
    status = SelectField(_l("Nieuwe status"), choices=[], validate_choice=False)
    rag = SelectField(_l("Voortgang"), choices=choices(RAG.items(), _CHOOSE),
                      validators=[InputRequired(_l("Kies hoe het project ervoor staat."))])
    update_date = DateField(_l("Datum"), default=date.today,
                            validators=[InputRequired(_l("Vul een datum in."))])
    progress = TextAreaField(_l("Toelichting (intern)"), render_kw={"rows": 4})
    public_text = TextAreaField(_l("Openbare tekst voor de Kamer"), render_kw={"rows": 4})
    next_steps = TextAreaField(_l("Volgende stappen"), render_kw={"rows": 3})
