"""Last of the run (the files run in name order): no log line of the whole run held a secret or a personal note."""
from __future__ import annotations

import logging

from tests.logwatch import WATCH


def test_no_log_line_of_the_run_holds_a_secret(client):
    # This test's own request is logged as well, so the watch is known to see lines.
    client.get("/healthz")
    assert WATCH in logging.getLogger("programmamonitor").handlers and WATCH.lines > 0
    assert WATCH.findings == []
