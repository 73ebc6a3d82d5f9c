"""The upload form of the import page (the file is checked by content in the service, not by name)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class UploadForm(FlaskForm):
    file = FileField(_l("Excel-werkmap (.xlsx, hoogstens 20 MB)"),
                     validators=[FileRequired(_l("Kies een Excel-bestand."))])
