"""Download headers: a Content-Disposition that no programme code or title can break."""
from __future__ import annotations

from werkzeug.utils import secure_filename


def attachment(name: str, fallback: str = "download") -> str:
    """`attachment; filename="..."` with only ASCII letters, digits, '.', '_' and '-' in the name.

    The name is built from data (a programme code): a quote, semicolon or line break in it
    would otherwise end the file name, add header parameters or break the response.
    """
    return f'attachment; filename="{secure_filename(name) or fallback}"'
