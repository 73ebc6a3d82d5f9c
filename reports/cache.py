"""Dashboard figures cached per process and keyed by the newest audit entry, so every write invalidates them."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from flask import current_app
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.metrics import CACHE

#: Entries per process: a few programmes x years x peildata is all a dashboard is asked for.
SIZE = 64


class FiguresCache:
    """A small LRU of built dashboard parts.

    Every write in the app goes through a service that appends to the audit trail (the
    audit tests hold every service to that), so the newest audit id changes with every
    change to the money; it is read first, in the same request, so a write that lands
    between stamp and build can only make the entry newer than its stamp, never older.
    Appends are serialised (advisory lock on PostgreSQL, one writer on SQLite), so ids
    become visible in order. Rows written outside the app (bench.generate, SQL by hand)
    are not seen until the next audited write or a restart.
    """

    def __init__(self, size: int = SIZE):
        self._size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.builds = 0

    def get(self, session, key: tuple, build: Callable[[], object]):
        stamp = session.scalar(select(func.max(AuditEntry.id)))
        full_key = (*key, stamp)
        with self._lock:
            if full_key in self._entries:
                self._entries.move_to_end(full_key)
                CACHE.labels("hit").inc()
                return self._entries[full_key]
        CACHE.labels("miss").inc()
        value = build()
        with self._lock:
            self.builds += 1
            self._entries[full_key] = value
            self._entries.move_to_end(full_key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


def figures_cache() -> FiguresCache:
    """This app's cache (one per app, so tests with their own app never share entries)."""
    return current_app.extensions.setdefault("programmamonitor.figures_cache", FiguresCache())
