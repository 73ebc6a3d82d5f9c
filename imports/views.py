"""Import page: upload, preview (dry run), confirm by posting the same file again, summary."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, abort, render_template, session
from flask_babel import gettext as _
from flask_login import current_user

from core.auth import role_required
from core.db import db
from core.download import attachment
from core.users import FINANCE_ROLES
from core.web import current_programme
from imports import reader
from imports.forms import UploadForm
from imports.services import run_import

bp = Blueprint("imports", __name__, url_prefix="/import", template_folder="templates")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Errors listed on the page; the rest is counted.
MAX_SHOWN_ERRORS = 200
_SESSION_KEY = "import_sha256"


def _download(data: bytes, name: str) -> Response:
    return Response(data, mimetype=XLSX, headers={"Content-Disposition": attachment(name, "export.xlsx"),
                                                  "X-Content-Type-Options": "nosniff"})


@bp.route("/")
@role_required(*FINANCE_ROLES)
def index():
    return render_template("imports/index.html", form=UploadForm(), programme=current_programme())


@bp.route("/sjabloon.xlsx")
@role_required(*FINANCE_ROLES)
def template():
    from imports.writer import template_bytes

    return _download(template_bytes(), "importsjabloon.xlsx")


@bp.route("/export.xlsx")
@role_required(*FINANCE_ROLES)
def export():
    from imports.writer import export_bytes

    programme = current_programme()
    if programme is None:
        abort(404)
    return _download(export_bytes(db.session, programme), f"{programme.code}-export.xlsx")


def _read_upload(form: UploadForm) -> bytes:
    # Read into memory only: the upload is never stored under its own name nor served back.
    return form.file.data.read(reader.MAX_UPLOAD_BYTES + 1)


def _checked(form: UploadForm, dry_run: bool):
    """(result, sha256) of the upload, or (None, None) with the refusal on the form."""
    data = _read_upload(form)
    try:
        result = run_import(db.session, current_user, data, dry_run=dry_run,
                            filename=form.file.data.filename or "")
    except reader.UnsafeFile as exc:
        db.session.rollback()
        form.file.errors.append(exc.message)
        return None, None
    except BaseException:
        db.session.rollback()
        raise
    return result, hashlib.sha256(data).hexdigest()


@bp.route("/controleren", methods=["POST"])
@role_required(*FINANCE_ROLES)
def preview():
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("imports/index.html", form=form, programme=current_programme()), 400
    result, digest = _checked(form, dry_run=True)
    db.session.rollback()  # a dry run writes nothing
    if result is None:
        return render_template("imports/index.html", form=form, programme=current_programme()), 400
    if result.ok:
        session[_SESSION_KEY] = digest
    return render_template("imports/preview.html", result=result, confirm=UploadForm(formdata=None),
                           max_errors=MAX_SHOWN_ERRORS), (200 if result.ok else 400)


@bp.route("/bevestigen", methods=["POST"])
@role_required(*FINANCE_ROLES)
def confirm():
    """Import for real: the same file is posted again and checked again from scratch (stateless app)."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("imports/index.html", form=form, programme=current_programme()), 400
    data = _read_upload(form)
    form.file.data.seek(0)
    if hashlib.sha256(data).hexdigest() != session.get(_SESSION_KEY):
        form.file.errors.append(_("Dit is niet het bestand dat u heeft gecontroleerd. "
                                  "Controleer het bestand eerst opnieuw."))
        return render_template("imports/index.html", form=form, programme=current_programme()), 400
    result, _digest = _checked(form, dry_run=False)
    if result is None:
        return render_template("imports/index.html", form=form, programme=current_programme()), 400
    if result.must_write:
        db.session.commit()
    else:
        db.session.rollback()
    if not result.ok:
        return render_template("imports/preview.html", result=result, confirm=UploadForm(formdata=None),
                               max_errors=MAX_SHOWN_ERRORS), 400
    session.pop(_SESSION_KEY, None)
    return render_template("imports/summary.html", result=result)
