#!/usr/bin/env bash
# Runs the whole test suite on SQLite, then again on PostgreSQL; arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY=.venv/bin/python
DEFAULT_PG_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# Stop before any test runs rather than fail the browser tests at the end of a long run.
bash scripts/need-chromium.sh

echo "=== Testsuite op SQLite ==="
TEST_DATABASE_URL= "$PY" -m pytest "$@"

# An explicit PostgreSQL URL wins; otherwise the local server this machine provides.
pg_url="${TEST_DATABASE_URL:-}"
if [[ "$pg_url" != postgresql* ]]; then
    pg_url="$DEFAULT_PG_URL"
fi
# Never print a password into (CI) logs.
shown_url=$(sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$pg_url")

# psycopg wants a plain libpq URL, so drop the SQLAlchemy "+driver" part.
if "$PY" - "$pg_url" <<'PYEOF'
import re
import sys

import psycopg

url = re.sub(r"^postgresql\+\w+://", "postgresql://", sys.argv[1])
try:
    psycopg.connect(url, connect_timeout=3).close()
except psycopg.Error as exc:
    print(f"PostgreSQL: {exc}".strip(), file=sys.stderr)
    sys.exit(1)
PYEOF
then
    echo "=== Testsuite op PostgreSQL ==="
    TEST_DATABASE_URL="$pg_url" "$PY" -m pytest "$@"
elif [[ "${CI:-}" == "true" || "$pg_url" != "$DEFAULT_PG_URL" ]]; then
    # Required in CI, and an explicitly given server must not be skipped quietly either.
    {
        echo "############################################################"
        if [[ "${CI:-}" == "true" ]]; then
            echo "FOUT: PostgreSQL is vereist in CI maar niet bereikbaar op $shown_url"
        else
            echo "FOUT: TEST_DATABASE_URL wijst naar PostgreSQL, maar dat is niet bereikbaar op $shown_url"
        fi
        echo "############################################################"
    } >&2
    exit 1
else
    echo "LET OP: PostgreSQL niet bereikbaar op $shown_url: de PostgreSQL-tests zijn overgeslagen." >&2
    echo "        Zet TEST_DATABASE_URL=postgresql+psycopg://... of start PostgreSQL om ze te draaien." >&2
fi
