"""The account page API-tokens: a user makes, sees and revokes their own personal access tokens."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from api import tokens
from api.models import SCOPES
from core import once, unit
from core.db import db
from core.errors import DomainError
from core.forms import DateField, apply_domain_error
from core.locking import serialise
from projects.forms import choices

bp = Blueprint("tokens", __name__, template_folder="templates")


class TokenForm(FlaskForm):
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul een naam in.")),
                                                     Length(max=100, message=_l("Hoogstens 100 tekens."))],
                       description=_l("Waarvoor het token is, bijvoorbeeld 'Koppeling financiële administratie'."))
    scope = RadioField(_l("Bevoegdheid"), choices=choices(SCOPES.items()), default="read",
                       validators=[InputRequired(_l("Kies een bevoegdheid."))])
    expires_on = DateField(_l("Geldig tot en met"), default=lambda: date.today() + timedelta(days=tokens.DEFAULT_DAYS),
                           validators=[InputRequired(_l("Vul een geldige datum in."))])
    form_token = once.OnceTokenField()


class RevokeForm(FlaskForm):
    """Only the CSRF token: the token to revoke is in the URL."""


def _page(form, secret=None, made=None, status=200):
    return render_template("api/tokens.html", form=form, revoke=RevokeForm(), secret=secret, made=made,
                           items=tokens.user_tokens(db.session, current_user.id), state=tokens.state,
                           scopes=SCOPES, max_days=tokens.MAX_DAYS), status


@bp.route("/account/api-tokens", methods=["GET", "POST"])
def index():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400 if form.errors else 200)
    session = db.session
    try:
        serialise(session)
        # A double click makes one token: the second post finds the form's token used.
        if once.claim(session, form.form_token.data, current_user.id) is not None:
            session.rollback()
            flash(_("Dit formulier was al verwerkt; er is geen tweede token gemaakt. Trek het token in als u "
                    "het niet heeft kunnen kopiëren."), "info")
            return redirect(url_for("tokens.index"))
        made, secret = tokens.create_token(session, current_user, name=form.name.data, scope=form.scope.data,
                                           expires_on=form.expires_on.data)
        once.done(session, form.form_token.data, url_for("tokens.index"))
        session.commit()
    except DomainError as exc:
        session.rollback()
        apply_domain_error(form, exc)
        return _page(form, status=400)
    # Shown in this answer only (never stored, never in a redirect or a flash message).
    return _page(TokenForm(formdata=None), secret=secret, made=made, status=201)


@bp.post("/account/api-tokens/<int:token_id>/intrekken")
def revoke(token_id: int):
    form = RevokeForm()
    if not form.validate_on_submit():
        return redirect(url_for("tokens.index"))
    return unit.run(lambda: tokens.revoke_token(db.session, current_user, token_id),
                    _("Het token is ingetrokken; het werkt niet meer."), url_for("tokens.index"),
                    lambda message: _("Niet ingetrokken: %(m)s", m=message))
