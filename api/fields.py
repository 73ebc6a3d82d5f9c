"""The API's field types (marshmallow): amounts as exact text, shares, dates and codes, every error in Dutch."""
from __future__ import annotations

import re
from datetime import timezone
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

#: Amounts travel as text with a decimal point and at most two decimals: a JSON number would be a float.
AMOUNT_PATTERN = r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$"
_AMOUNT = re.compile(AMOUNT_PATTERN)


class _Dutch:
    """The messages every field shares, in Dutch (marshmallow's own are English)."""

    default_error_messages = {
        "required": "Dit veld is verplicht.",
        "null": "Dit veld mag niet leeg (null) zijn.",
        "validator_failed": "Ongeldige waarde.",
    }


class Text(_Dutch, fields.String):
    default_error_messages = {"invalid": "Geef hier tekst.", "invalid_utf8": "Geen geldige UTF-8-tekst."}


class Int(_Dutch, fields.Integer):
    default_error_messages = {"invalid": "Geef een geheel getal.", "too_large": "Dit getal is te groot."}


class Day(_Dutch, fields.Date):
    default_error_messages = {"invalid": "Geef een datum als JJJJ-MM-DD.", "format": "Geef een datum als JJJJ-MM-DD."}


class Moment(_Dutch, fields.DateTime):
    default_error_messages = {"invalid": "Geef een tijdstip (ISO 8601)."}

    def _serialize(self, value, attr, obj, **kwargs):
        # Stored in UTC; SQLite hands it back without its zone, and RFC 3339 wants one.
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class Flag(_Dutch, fields.Boolean):
    default_error_messages = {"invalid": "Geef true of false."}


class Items(_Dutch, fields.List):
    default_error_messages = {"invalid": "Geef een lijst."}


class Obj(_Dutch, fields.Nested):
    default_error_messages = {"type": "Geef een object."}


class Amount(_Dutch, fields.Field):
    """Euros as text, '1250.00' or '-500': exact, never a float."""

    default_error_messages = {"invalid": "Geef een bedrag als tekst met een punt en hoogstens twee decimalen, "
                                         "bijvoorbeeld \"1250.00\"."}

    def __init__(self, **kwargs):
        metadata = {"type": "string", "pattern": AMOUNT_PATTERN, "example": "1250.00", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(Decimal(value).quantize(Decimal("0.01")), "f")

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _AMOUNT.match(value):
            raise self.make_error("invalid")
        return Decimal(value)


class Share(_Dutch, fields.Field):
    """A share as a fraction rounded once to 0,1 % (0.553 is 55,3 %), as every output has it; null without a base."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{3}$", "example": "0.553",
                                   "description": "Fractie, afgerond op 0,1 %: 0.553 is 55,3 %."},
                         allow_none=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format(Decimal(value), "f")


def one_of(codes: dict) -> validate.OneOf:
    return validate.OneOf(list(codes), error="Kies uit: {choices}.")


class Schema(ma.Schema):
    """Unknown fields are refused in Dutch; the order of the fields is the document's."""

    class Meta:
        ordered = True

    error_messages = {"unknown": "Onbekend veld.", "type": "Geef een JSON-object."}
