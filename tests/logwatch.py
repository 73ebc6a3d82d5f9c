"""Every log line of the test run, searched for secrets and personal notes (read by test_zz_log_secrets.py)."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from core.logs import JsonFormatter
from tests.factories import OIDC_CLIENT_SECRET, PASSWORD

ROOT = Path(__file__).resolve().parent.parent
#: An API token (api.tokens: pm_ and 43 URL-safe characters), a TOTP secret (32 base32 characters) and a
#: signed JWT such as the identity provider's id token (base64url JSON header and claims).
PATTERNS = [re.compile(r"pm_[A-Za-z0-9_-]{30,}"), re.compile(r"(?<![A-Za-z0-9])[A-Z2-7]{32}(?![A-Za-z0-9])"),
            re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.")]


def _notes() -> list[str]:
    """The demo's internal notes and contact persons: personal and working notes that stay in the app."""
    data = json.loads((ROOT / "data" / "demo" / "stm.json").read_text())
    found = []

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("internal_notes", "contact_person", "progress") and isinstance(item, str) and len(item) > 8:
                    found.append(item)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(data)
    return found


class Watch(logging.Handler):
    """Formats every record as production would (JSON) and keeps the lines that hold a secret."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines = 0
        self.findings: list[str] = []
        self.words = [PASSWORD, OIDC_CLIENT_SECRET, *_notes()]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is the logging test's business, not this one's
            return
        self.lines += 1
        if any(word in line for word in self.words) or any(p.search(line) for p in PATTERNS):
            self.findings.append(line[:500])


WATCH = Watch()


#: The app's loggers: Flask's ("app"), the named ones and every package's (__name__). On these, not on the root:
#: Alembic's logging setup replaces the root's handlers whenever the tests migrate a database.
LOGGERS = ("app", "programmamonitor", "core", "api", "approvals", "budget", "imports", "projects", "reports",
           "rounds", "scenarios")


def start() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(WATCH)
        logger.setLevel(logging.INFO)  # the request and audit lines too, whatever level the root has
