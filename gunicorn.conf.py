"""gunicorn settings for `make serve` and bench B5: workers, timeouts, access log, no control socket."""
import os

# Loopback by default: in production a reverse proxy with TLS sits in front (README, Productie).
bind = os.environ.get("BIND", "127.0.0.1:8000")
# Two sync workers per core is enough here: a request is short and waits on the database.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "sync"
# The longest legitimate request is a large import through the web (large files belong on the CLI).
timeout = 60
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests, so a slow leak can never grow without bound.
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
# gunicorn 27 otherwise opens a control socket (and leaves ~/.gunicorn/gunicorn.ctl behind).
control_socket_disable = True
proc_name = "programmamonitor"


def child_exit(server, worker):
    # With PROMETHEUS_MULTIPROC_DIR (core.metrics) a stopped worker's live gauges go with it; its counts stay.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
