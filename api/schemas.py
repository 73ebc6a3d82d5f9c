"""The API's request and response shapes (marshmallow): the OpenAPI document is generated from these."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from api.fields import Amount, Day, Int, Items, Moment, Obj, Schema, Share, Text, one_of
from budget.models import MUTATION_KINDS, MUTATION_MOMENTS, PAYMENT_KINDS
from core.validate import YEAR_MAX, YEAR_MIN
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    RAG,
    STATUSES,
)

# --- Reading -----------------------------------------------------------------------------------------

class ProgrammeSchema(Schema):
    code = Text(required=True)
    naam = Text(required=True)
    ministerie = Text(required=True)
    begrotingsartikel = Text(required=True)
    jaren = Items(Int(), required=True, metadata={"description": "De jaren van het programma."})


class FiguresQuery(Schema):
    peildatum = Day(metadata={"description": "De dag waarop de stand wordt opgemaakt; standaard vandaag "
                                             "(voor een afgelopen jaar 31 december)."})


class SummarySchema(Schema):
    """The Samenvatting of the stand van zaken, row by row."""

    structureel_budget = Amount(required=True)
    incidenteel_budget = Amount(required=True)
    mutaties = Amount(required=True)
    beschikbaar_budget = Amount(required=True)
    ambtelijke_ondersteuning = Amount(required=True)
    verplicht_projecten = Amount(required=True)
    vrijval_na_vaststelling = Amount(required=True, metadata={
        "description": "Ter informatie: al afgetrokken van verplicht_projecten, telt in geen totaal mee."})
    verplicht_totaal = Amount(required=True)
    gerealiseerd = Amount(required=True)
    vrije_ruimte = Amount(required=True)
    aandeel_verplicht = Share(required=True)
    aandeel_gerealiseerd = Share(required=True)


class GroupSchema(Schema):
    omschrijving = Text(required=True)
    code = Text(required=True, allow_none=True, metadata={"description": "null voor het totaal en de "
                                                                          "ambtelijke ondersteuning."})
    aantal_projecten = Int(required=True, allow_none=True)
    verplicht = Amount(required=True)
    gerealiseerd = Amount(required=True)
    in_voorbereiding = Amount(required=True)


class MatrixCellSchema(Schema):
    categorie = Text(required=True)
    programmalijn = Text(required=True)
    verplicht = Amount(required=True)


class FiguresSchema(Schema):
    programma = Text(required=True)
    jaar = Int(required=True)
    peildatum = Day(required=True)
    samenvatting = Obj(SummarySchema, required=True)
    categorieen = Items(Obj(GroupSchema), required=True)
    programmalijnen = Items(Obj(GroupSchema), required=True)
    matrix = Items(Obj(MatrixCellSchema), required=True, metadata={
        "description": "Verplicht per categorie en programmalijn (zonder totalen)."})


class ProjectQuery(Schema):
    categorie = Text(validate=one_of(CATEGORIES))
    lijn = Text(validate=one_of(LINES))
    status = Text(validate=one_of(STATUSES))
    organisatie = Int(validate=validate.Range(min=1, max=2**31 - 1, error="Geef een organisatienummer."))
    vorm = Text(validate=one_of(EXPLOITATION_FORMS))
    zoek = Text(validate=validate.Length(max=100, error="Hoogstens {max} tekens."))
    sorteer = Text(load_default="code", validate=validate.OneOf(
        ["code", "titel", "categorie", "lijn", "status", "organisatie", "verplicht", "betaald", "resterend"],
        error="Kies uit: {choices}."))
    richting = Text(load_default="op", validate=validate.OneOf(["op", "af"], error="Kies uit: {choices}."))
    pagina = Int(load_default=1, validate=validate.Range(min=1, max=1_000_000, error="Geef een paginanummer."))
    per_pagina = Int(load_default=50, validate=validate.Range(min=1, max=500, error="Tussen {min} en {max}."))


class ProjectSchema(Schema):
    id = Int(required=True)
    code = Text(required=True)
    titel = Text(required=True)
    samenvatting = Text(required=True)
    categorie = Text(required=True, validate=one_of(CATEGORIES))
    programmalijn = Text(required=True, validate=one_of(LINES))
    instrument = Text(required=True, validate=one_of(INSTRUMENTS))
    status = Text(required=True, validate=one_of(STATUSES))
    vormen = Items(Text(validate=one_of(EXPLOITATION_FORMS)), required=True)
    organisatie = Text(required=True, allow_none=True)
    startdatum = Day(required=True, allow_none=True)
    einddatum = Day(required=True, allow_none=True)
    verplicht = Amount(required=True)
    betaald = Amount(required=True)
    resterend = Amount(required=True)
    versie = Int(required=True, metadata={"description": "Meesturen bij een statusupdate: was het project in de "
                                                          "tussentijd gewijzigd, dan volgt 409."})
    # Internal: only for roles that see it on the project page (finance roles, the project's own leader).
    projectleider = Text(metadata={"description": "Alleen voor financiële rollen en de eigen projectleider."})
    contactpersoon = Text(metadata={"description": "Alleen voor financiële rollen en de eigen projectleider."})
    interne_notitie = Text(metadata={"description": "Alleen voor financiële rollen en de eigen projectleider."})


class ProjectPageSchema(Schema):
    pagina = Int(required=True)
    per_pagina = Int(required=True)
    paginas = Int(required=True)
    totaal = Int(required=True)
    totalen = Obj(Schema.from_dict({"verplicht": Amount(required=True), "betaald": Amount(required=True),
                                    "resterend": Amount(required=True)}, name="ProjectTotals"), required=True)
    items = Items(Obj(ProjectSchema), required=True)


class YearAmountSchema(Schema):
    jaar = Int(required=True, validate=validate.Range(min=YEAR_MIN, max=YEAR_MAX,
                                                      error="Het jaar moet tussen {min} en {max} liggen."))
    bedrag = Amount(required=True)


class AdjustmentSchema(Schema):
    datum = Day(required=True)
    jaar = Int(required=True)
    bedrag = Amount(required=True)
    reden = Text(required=True)
    kenmerk = Text(required=True)


class PaymentSchema(Schema):
    id = Int(required=True)
    datum = Day(required=True)
    soort = Text(required=True, validate=one_of(PAYMENT_KINDS))
    bedrag = Amount(required=True)
    kenmerk = Text(required=True, allow_none=True)
    omschrijving = Text(required=True)


class SettlementSchema(Schema):
    datum = Day(required=True)
    vastgesteld_bedrag = Amount(required=True)
    terugvordering = Amount(required=True)
    terugvordering_uiterlijk = Day(required=True, allow_none=True)
    kenmerk = Text(required=True)


class CommitmentSchema(Schema):
    id = Int(required=True)
    project = Text(required=True, metadata={"description": "Projectcode."})
    kenmerk = Text(required=True)
    datum_ondertekening = Day(required=True)
    omschrijving = Text(required=True)
    totaal = Amount(required=True, metadata={"description": "Na bijstellingen en vaststelling."})
    betaald = Amount(required=True)
    kasritme = Items(Obj(YearAmountSchema), required=True, metadata={"description": "Na bijstellingen."})
    bijstellingen = Items(Obj(AdjustmentSchema), required=True)
    betalingen = Items(Obj(PaymentSchema), required=True)
    vaststelling = Obj(SettlementSchema, required=True, allow_none=True)


class ProjectMoneySchema(Schema):
    project = Text(required=True)
    verplicht = Amount(required=True)
    betaald = Amount(required=True)
    verplichtingen = Items(Obj(CommitmentSchema), required=True)


class SnapshotSchema(Schema):
    id = Int(required=True)
    programma = Text(required=True)
    peildatum = Day(required=True)
    titel = Text(required=True)
    kamerstuk = Text(required=True)
    vastgelegd_op = Moment(required=True)
    sha256 = Text(required=True, metadata={"description": "Van de vastgelegde stand; verandert nooit."})
    jaren = Items(Int(), required=True)


class AuditQuery(Schema):
    soort = Text(validate=validate.Length(max=50, error="Hoogstens {max} tekens."),
                 metadata={"description": "Soort object, bijvoorbeeld Commitment."})
    object = Int(validate=validate.Range(min=1, max=2**31 - 1, error="Geef een objectnummer."))
    pagina = Int(load_default=1, validate=validate.Range(min=1, max=1_000_000, error="Geef een paginanummer."))
    per_pagina = Int(load_default=100, validate=validate.Range(min=1, max=500, error="Tussen {min} en {max}."))


class AuditEntrySchema(Schema):
    id = Int(required=True)
    tijdstip = Moment(required=True)
    door = Text(required=True)
    handeling = Text(required=True)
    soort = Text(required=True)
    object = Int(required=True, allow_none=True)
    wijzigingen = fields.Dict(required=True)
    hash = Text(required=True)


class AuditPageSchema(Schema):
    pagina = Int(required=True)
    per_pagina = Int(required=True)
    paginas = Int(required=True)
    totaal = Int(required=True)
    items = Items(Obj(AuditEntrySchema), required=True)


# --- Writing -----------------------------------------------------------------------------------------

class IdempotencyHeader(Schema):
    class Meta:
        ordered = True
        unknown = ma.EXCLUDE  # every other header of the request

    idempotency_key = Text(required=True, data_key="Idempotency-Key", validate=validate.Regexp(
        r"^[\x21-\x7e]{8,255}$", error="Geef een Idempotency-Key van 8 tot 255 zichtbare tekens."),
        metadata={"description": "Een unieke sleutel per boeking (bijvoorbeeld een UUID). Hetzelfde verzoek met "
                                 "dezelfde sleutel boekt niet nog eens maar geeft het eerste antwoord terug."})


class StatusUpdateIn(Schema):
    status = Text(required=True, validate=one_of(STATUSES))
    voortgang = Text(required=True, validate=one_of(RAG), metadata={"description": "op_koers, risico of achter."})
    datum = Day(required=True)
    toelichting = Text(load_default="", validate=validate.Length(max=5000, error="Hoogstens {max} tekens."),
                       metadata={"description": "Interne toelichting op de voortgang."})
    openbare_tekst = Text(load_default="", validate=validate.Length(max=5000, error="Hoogstens {max} tekens."))
    vervolgstappen = Text(load_default="", validate=validate.Length(max=5000, error="Hoogstens {max} tekens."))
    versie = Int(metadata={"description": "De versie van het project waarop de update is gebaseerd (409 als die "
                                          "niet meer klopt)."})


class StatusUpdateOut(Schema):
    id = Int(required=True)
    project = Text(required=True)
    datum = Day(required=True)
    status = Text(required=True)
    voortgang = Text(required=True)
    projectversie = Int(required=True)


class CommitmentIn(Schema):
    kenmerk = Text(required=True, validate=validate.Length(max=100, error="Hoogstens {max} tekens."))
    datum_ondertekening = Day(required=True)
    totaal = Amount(required=True)
    kasritme = Items(Obj(YearAmountSchema), required=True, validate=validate.Length(
        min=1, max=100, error="Geef het kasritme: een bedrag per jaar."))
    omschrijving = Text(load_default="", validate=validate.Length(max=5000, error="Hoogstens {max} tekens."))
    reden_doorbraak = Text(metadata={"description": "Alleen een beheerder: boek ondanks de budgetstop, met reden."})


class AdjustmentIn(Schema):
    datum = Day(required=True)
    wijzigingen = Items(Obj(YearAmountSchema), required=True, validate=validate.Length(
        min=1, max=100, error="Geef per jaar het verschil."), metadata={"description": "Verschil per jaar (+/-)."})
    reden = Text(required=True, validate=validate.Length(max=5000, error="Hoogstens {max} tekens."))
    kenmerk = Text(load_default="", validate=validate.Length(max=100, error="Hoogstens {max} tekens."))
    reden_doorbraak = Text()


class PaymentIn(Schema):
    datum = Day(required=True)
    bedrag = Amount(required=True)
    soort = Text(required=True, validate=one_of(PAYMENT_KINDS))
    kenmerk = Text(load_default="", validate=validate.Length(max=100, error="Hoogstens {max} tekens."))
    omschrijving = Text(load_default="", validate=validate.Length(max=5000, error="Hoogstens {max} tekens."))


class MutationIn(Schema):
    jaar = Int(required=True, validate=validate.Range(min=YEAR_MIN, max=YEAR_MAX,
                                                      error="Het jaar moet tussen {min} en {max} liggen."))
    bedrag = Amount(required=True)
    soort = Text(required=True, validate=one_of({k: v for k, v in MUTATION_KINDS.items() if k != "kasschuif"}))
    moment = Text(required=True, validate=one_of(MUTATION_MOMENTS))
    reden = Text(required=True, validate=validate.Length(max=5000, error="Hoogstens {max} tekens."))
    datum = Day(required=True)
    kenmerk = Text(load_default="", validate=validate.Length(max=100, error="Hoogstens {max} tekens."))
    reden_doorbraak = Text()


class MutationOut(Schema):
    id = Int(required=True)
    jaar = Int(required=True)
    bedrag = Amount(required=True)
    soort = Text(required=True)
    moment = Text(required=True)
    reden = Text(required=True)
    datum = Day(required=True)
    kenmerk = Text(required=True)
    versie = Int(required=True)


class PendingSchema(Schema):
    """202: the booking waits for a second person (four eyes); no figure has changed yet."""

    status = Text(required=True, metadata={"description": "Altijd ter_goedkeuring."})
    boeking = Int(required=True, metadata={"description": "Nummer van de boeking ter goedkeuring."})
    melding = Text(required=True)


class ProblemSchema(Schema):
    """Problem details (RFC 9457)."""

    type = Text(required=True)
    title = Text(required=True)
    status = Int(required=True)
    detail = Text(required=True)
    instance = Text(required=True)
    errors = Items(Obj(Schema.from_dict({"veld": Text(allow_none=True), "melding": Text(required=True)},
                                        name="FieldError")))
    tekort = fields.Dict(keys=Text(), values=Text(), metadata={"description": "Budgetstop: tekort per jaar."})
    incident = Text()
