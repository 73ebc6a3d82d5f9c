"""Errors of the API as problem details (RFC 9457): Dutch, JSON, and never a page of HTML."""
from __future__ import annotations

import json
import secrets

from flask import Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from core.errors import (
    BudgetStopError,
    DomainError,
    NotFound,
    PermissionDenied,
    Refusals,
)

MEDIA_TYPE = "application/problem+json"

#: The title of each status a client may meet; the detail says what to do.
TITLES = {
    400: "Ongeldig verzoek",
    401: "Niet aangemeld",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Methode niet toegestaan",
    406: "Niet aanvaardbaar",
    409: "Conflict",
    412: "Voorwaarde niet vervuld",
    413: "Verzoek te groot",
    415: "Verkeerd inhoudstype",
    422: "Niet verwerkt",
    428: "Voorwaarde vereist",
    429: "Te veel verzoeken",
    500: "Interne fout",
    503: "Tijdelijk niet beschikbaar",
}
DETAILS = {
    400: "Het verzoek kon niet worden verwerkt. Controleer de invoer.",
    401: "Stuur een geldig, niet verlopen en niet ingetrokken token mee: Authorization: Bearer <token>.",
    403: "Uw rol of het bereik van uw token staat dit niet toe.",
    404: "Dit bestaat niet (meer).",
    405: "Deze methode is op dit adres niet mogelijk.",
    413: "Het verzoek is groter dan toegestaan.",
    415: "Stuur de gegevens als JSON (Content-Type: application/json).",
    429: "U heeft te veel verzoeken gedaan. Wacht een minuut en probeer het opnieuw.",
}


def problem(status: int, detail: str | None = None, *, errors: list | None = None, headers: dict | None = None,
            **extra) -> Response:
    """One problem details response; `errors` lists {'veld', 'melding'} for each refused field."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Fout"), "status": status,
            "detail": detail or DETAILS.get(status, TITLES.get(status, "Fout")), "instance": request.path}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(exc: DomainError, field_names: dict | None = None) -> list[dict]:
    """Each refusal of `exc` as {'veld', 'melding'}; `field_names` maps a service's field to the API's name."""
    names = field_names or {}
    items = exc.errors if isinstance(exc, Refusals) else [exc]
    return [{"veld": names.get(e.field, e.field) if e.field else None, "melding": e.message} for e in items]


def from_domain(exc: DomainError, field_names: dict | None = None) -> Response:
    """A refused change: 404 / 403 for what it is, 422 for every rule (budget stop, closed period, a taken kenmerk).

    409 is kept for a change based on a stale version (api.unit), which the client resolves by reading again.
    """
    if isinstance(exc, NotFound):
        return problem(404, exc.message)
    if isinstance(exc, PermissionDenied):
        return problem(403, exc.message)
    extra = {}
    stops = [e for e in (exc.errors if isinstance(exc, Refusals) else [exc]) if isinstance(e, BudgetStopError)]
    if stops:
        extra["tekort"] = {str(y): str(a) for y, a in stops[0].shortfalls.items()}
    return problem(422, exc.message, errors=field_errors(exc, field_names), **extra)


def from_http(error: HTTPException) -> Response:
    """Any HTTP error under /api as a problem; a 500 logs its incident id, the client gets only the id."""
    code = error.code or 500
    if code >= 500 and code != 503:
        incident = g.get("request_id") or secrets.token_hex(6)
        original = getattr(error, "original_exception", None) or error
        current_app.logger.error("Incident %s bij %s %s", incident, request.method, request.path, exc_info=original)
        return problem(500, f"Er is een fout opgetreden (incident {incident}). Probeer het later opnieuw.",
                       incident=incident)
    data = getattr(error, "data", None) or {}
    errors = None
    if "messages" in data:  # webargs: {location: {field: [messages]}}; "_schema" is the body as a whole
        errors = [{"veld": None if name == "_schema" else name,
                   "melding": " ".join(_WEBARGS.get(m, m) for m in _flat(msgs))}
                  for fields in data["messages"].values() for name, msgs in _items(fields)]
    headers = dict(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if code == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    detail = data.get("message") or ("De invoer klopt niet; zie per veld wat er mis is." if errors and code == 422
                                     else DETAILS.get(code))
    return problem(code, detail, errors=errors, headers=headers)


#: webargs' own words for a body it cannot read at all (the fields' messages are Dutch in api.schemas).
_WEBARGS = {"Invalid JSON body.": "De inhoud is geen geldige JSON."}


def _items(fields):
    if isinstance(fields, dict):
        return fields.items()
    return [(None, fields)]


def _flat(messages) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, dict):
        return [f"{k}: {' '.join(_flat(v))}" for k, v in messages.items()]
    return [m for item in messages for m in _flat(item)]
