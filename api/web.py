"""Plugging the API into the app: flask-smorest's OpenAPI document, the docs page, errors, limits, no CSRF."""
from __future__ import annotations

import os
from http import HTTPStatus

import flask_smorest
from flask import (
    Blueprint,
    Flask,
    current_app,
    render_template,
    request,
    send_from_directory,
)
from flask_smorest.utils import prepare_response

from api.auth import log_use, rate_key
from api.problems import MEDIA_TYPE, from_http
from api.schemas import ProblemSchema
from api.views import bp
from core.auth import limiter

#: Swagger UI's files come with the swagger-ui-py package: the docs page works without a CDN.
_SWAGGER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")

docs = Blueprint("api_docs", __name__, url_prefix="/api/v1", template_folder="templates", static_folder="static",
                 static_url_path="/docs/static")


class Api(flask_smorest.Api):
    """flask-smorest with problem details (RFC 9457) as every error, documented and answered."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Fout (problem details, RFC 9457)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error):
        # Registered by flask-smorest for the whole app: the pages keep their own error pages.
        if request.path.startswith("/api/"):
            return from_http(error)
        return error


# Once, on the blueprint (every app of the tests registers it again): per token, and failed
# authentications per address, like the login.
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=rate_key)(bp)
limiter.limit("20 per minute", deduct_when=lambda response: response.status_code == 401)(bp)
bp.after_request(log_use)


@bp.after_request
def _etag(response):
    """Every read gets an ETag of its body; a client that sends it back in If-None-Match gets a bare 304."""
    if request.method in ("GET", "HEAD") and response.status_code == 200 and not response.direct_passthrough:
        response.add_etag()
        response.make_conditional(request)
    return response


def _swagger_dir() -> str:
    import swagger_ui

    return os.path.join(os.path.dirname(swagger_ui.__file__), "static")


@docs.get("/docs")
def page():
    return render_template("api/docs.html")


@docs.get("/docs/swagger/<name>")
def swagger_file(name: str):
    if name not in _SWAGGER_FILES:
        return from_http(_not_found())
    return send_from_directory(_swagger_dir(), name, max_age=24 * 3600)


def _not_found():
    from werkzeug.exceptions import NotFound

    return NotFound()


def init_app(app: Flask) -> None:
    from api import models  # noqa: F401 - registers the tables
    from app import csrf

    app.config.setdefault("API_TITLE", "Programmamonitor API")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Lezen en boeken in Programmamonitor met een persoonlijk token (Authorization: "
                                "Bearer ...), te maken op de pagina API-tokens van uw account. Een token doet nooit "
                                "meer dan de rol van zijn gebruiker. Fouten zijn problem details (RFC 9457) met "
                                "Nederlandse meldingen; elke POST vraagt een Idempotency-Key."},
        "security": [{"token": []}],
    })
    app.config.setdefault("API_RATE_LIMIT", os.environ.get("API_RATE_LIMIT", "600 per minute"))
    # A session cookie is never accepted on the API (api.auth), so there is no cross-site request to forge.
    csrf.exempt(bp)
    api = Api(app)
    api.spec.components.security_scheme("token", {"type": "http", "scheme": "bearer",
                                                  "description": "Persoonlijk API-token (pm_...)."})
    api.register_blueprint(bp)
    app.register_blueprint(docs)
    from api.account import bp as tokens_bp

    app.register_blueprint(tokens_bp)
