"""Pausing Python's cyclic garbage collector while a large report is built."""
from __future__ import annotations

import functools
import gc
import threading

# Building a 10,000-project report allocates some 10^5 rows, dicts and cells that all stay alive
# until the workbook is written. The cyclic collector keeps running over them (and over the whole
# heap at every full pass) and finds nothing to free: about 6% of the report's time. Reference
# counting still frees everything as usual; only the cycle search waits until the outermost
# pause ends. A counter, not a flag, so nested and concurrent pauses end where the last one does.
_lock = threading.Lock()
_depth = 0
_reenable = False


def gc_paused(fn):
    """Decorator: run `fn` with the cyclic collector paused (re-entrant, thread-safe)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        global _depth, _reenable
        with _lock:
            if _depth == 0:
                _reenable = gc.isenabled()
                gc.disable()
            _depth += 1
        try:
            return fn(*args, **kwargs)
        finally:
            with _lock:
                _depth -= 1
                if _depth == 0 and _reenable:
                    gc.enable()

    return wrapper
