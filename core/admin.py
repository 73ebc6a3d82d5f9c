"""User administration for the beheerder: add, change role, deactivate/reactivate, set a password."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from core import sso, unit, users
from core.auth import role_required
from core.db import db
from core.once import OnceTokenField
from core.users import MIN_PASSWORD_LENGTH, ROLES, User

bp = Blueprint("users", __name__, url_prefix="/gebruikers")
admin_only = role_required("beheerder")

_PASSWORD_HINT = _l("Minstens %(n)s tekens.", n=MIN_PASSWORD_LENGTH)


def _password_fields():
    password = PasswordField(_l("Wachtwoord"), validators=[
        DataRequired(_l("Vul een wachtwoord in.")),
        Length(min=MIN_PASSWORD_LENGTH, message=_l("Een wachtwoord heeft minstens %(n)s tekens.",
                                                   n=MIN_PASSWORD_LENGTH))])
    repeat = PasswordField(_l("Herhaal wachtwoord"), validators=[
        DataRequired(_l("Herhaal het wachtwoord.")),
        EqualTo("password", _l("De twee wachtwoorden zijn niet gelijk."))])
    return password, repeat


def _sso_subject_field():
    return StringField(_l("Kenmerk bij de identiteitsprovider (sub)"), validators=[Length(max=255)])


class UserForm(FlaskForm):
    form_token = OnceTokenField()
    email = EmailField(_l("E-mailadres"), validators=[DataRequired(_l("Vul een e-mailadres in.")), Length(max=254)])
    name = StringField(_l("Naam"), validators=[DataRequired(_l("Vul een naam in.")), Length(max=200)])
    # The least a new account can do: a beheerder raises it on purpose, never by leaving the default.
    role = SelectField(_l("Rol"), choices=[SelectChoice(code, label) for code, label in ROLES.items()],
                       default="lezer")
    password, password_repeat = _password_fields()
    sso_subject = _sso_subject_field()


class RoleForm(FlaskForm):
    role = SelectField(_l("Rol"), choices=[SelectChoice(code, label) for code, label in ROLES.items()])


class PasswordForm(FlaskForm):
    password, password_repeat = _password_fields()


class SsoForm(FlaskForm):
    sso_subject = _sso_subject_field()


class ConfirmForm(FlaskForm):
    """Only the CSRF token, for the (de)activate button."""


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/")
@admin_only
def index():
    rows = users.in_list_order(db.session)
    return render_template("users/index.html", users=rows, roles=ROLES)


def _create(form) -> User:
    password = form.password.data if "password" in form else None
    user = users.create_user(db.session, current_user, form.email.data, form.name.data, form.role.data, password)
    if "sso_subject" in form:
        users.link_sso(db.session, current_user, user, form.sso_subject.data)
    return user


@bp.route("/nieuw", methods=["GET", "POST"])
@admin_only
def new():
    form = UserForm()
    if current_app.config["LOCAL_LOGIN"]:
        del form.sso_subject
    else:
        # Passwords are off: the new colleague signs in with the ministry account, linked right here.
        del form.password, form.password_repeat
    if form.validate_on_submit() and (done := unit.save(
            form, lambda: _create(form),
            lambda user: _("Gebruiker %(email)s toegevoegd.", email=user.email), url_for("users.index"))):
        return done
    return render_template("users/new.html", form=form, hint=_PASSWORD_HINT), 400 if form.errors else 200


def _detail(user, role_form=None, password_form=None, sso_form=None, status: int = 200):
    role_form = role_form or RoleForm(formdata=None, role=user.role)
    password_form = password_form or PasswordForm(formdata=None)
    sso_form = sso_form or SsoForm(formdata=None, sso_subject=user.sso_subject)
    return render_template("users/detail.html", user=user, role_form=role_form, password_form=password_form,
                           sso_form=sso_form, sso=sso.enabled(), confirm=ConfirmForm(formdata=None),
                           hint=_PASSWORD_HINT, is_self=user.id == current_user.id), status


@bp.route("/<int:user_id>")
@admin_only
def detail(user_id: int):
    return _detail(_user(user_id))


@bp.route("/<int:user_id>/rol", methods=["POST"])
@admin_only
def change_role(user_id: int):
    user = _user(user_id)
    form = RoleForm()
    if form.validate_on_submit() and (done := unit.save(
            form, lambda: users.change_role(db.session, current_user, user, form.role.data),
            _("Rol van %(email)s is nu %(role)s.", email=user.email, role=ROLES.get(form.role.data)),
            url_for("users.detail", user_id=user.id))):
        return done
    return _detail(user, role_form=form, status=400)


@bp.route("/<int:user_id>/wachtwoord", methods=["POST"])
@admin_only
def set_password(user_id: int):
    user = _user(user_id)
    form = PasswordForm()
    if form.validate_on_submit() and (done := unit.save(
            form, lambda: users.reset_password(db.session, current_user, user, form.password.data),
            _("Nieuw wachtwoord ingesteld voor %(email)s. Geef het via een veilig kanaal door.", email=user.email),
            url_for("users.detail", user_id=user.id))):
        return done
    return _detail(user, password_form=form, status=400)


@bp.route("/<int:user_id>/sso", methods=["POST"])
@admin_only
def link_sso(user_id: int):
    user = _user(user_id)
    form = SsoForm()
    if form.validate_on_submit() and (done := unit.save(
            form, lambda: users.link_sso(db.session, current_user, user, form.sso_subject.data),
            _("SSO-koppeling van %(email)s opgeslagen.", email=user.email),
            url_for("users.detail", user_id=user.id))):
        return done
    return _detail(user, sso_form=form, status=400)


@bp.route("/<int:user_id>/<any(activeren, deactiveren):action>", methods=["POST"])
@admin_only
def set_active(user_id: int, action: str):
    user = _user(user_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    active = action == "activeren"
    return unit.run(lambda: users.set_active(db.session, current_user, user, active),
                    _("%(email)s is weer actief.", email=user.email) if active
                    else _("%(email)s is gedeactiveerd en kan niet meer inloggen.", email=user.email),
                    url_for("users.detail", user_id=user.id))
