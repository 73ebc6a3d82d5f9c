"""Prometheus metrics of the app (prometheus_client): requests, latency, database errors, cache, imports, reports, mail.

With several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (an empty directory per start): every worker then
writes its counts there and /metrics adds them up (gunicorn.conf.py clears a stopped worker's files).
"""
from __future__ import annotations

import functools
import os
import time

from flask import Flask, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine

REQUESTS = Counter("programmamonitor_requests_total", "HTTP requests by endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("programmamonitor_request_seconds", "Time to answer a request, by endpoint", ["endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
DB_ERRORS = Counter("programmamonitor_database_errors_total", "Statements the database refused or could not run")
CACHE = Counter("programmamonitor_figures_cache_total", "Figures cache look-ups, by result (hit or miss)",
                ["result"])
IMPORT_SECONDS = Histogram("programmamonitor_import_seconds", "Time to check and apply an import file",
                           buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
REPORT_SECONDS = Histogram("programmamonitor_report_seconds", "Time to write a report file, by format", ["format"],
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
MAILS = Counter("programmamonitor_reminders_total", "Reminder mails of the reporting rounds, by result", ["result"])


def timed(histogram, **labels):
    """Decorator: observe how long the function takes (also when it raises)."""
    def decorator(function):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - start)
        return wrapped
    return decorator


@event.listens_for(Engine, "handle_error")
def _database_error(context) -> None:
    DB_ERRORS.inc()


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this worker's, or every worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def init_app(app: Flask) -> None:
    @app.before_request
    def _start():
        g.metrics_start = time.perf_counter()

    @app.after_request
    def _count(response):
        start = g.pop("metrics_start", None)
        # The route, not the path: ids in paths would make a series per project.
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "(geen route)"
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        if start is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - start)
        return response
