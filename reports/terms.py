"""The Begrippen of the stand van zaken: one wording for the report page, the HTML report, the Word annex and the workbook."""
from __future__ import annotations

#: (term, definition) in the order a reader meets them in the tables. Public text: no names, no internals.
TERMS: list[tuple[str, str]] = [
    ("Peildatum", "De dag tot en met welke de stand geldt. Wat na die dag gedateerd is, telt niet mee."),
    ("Beschikbaar budget", "De toekenningen van alle financieringsbronnen voor het jaar plus de mutaties "
                           "(ontwerpbegroting, Voorjaarsnota, Najaarsnota, kasschuiven), zoals ze op de peildatum "
                           "stonden."),
    ("Verplicht", "De reservering voor ambtelijke ondersteuning plus het kasritme van de aangegane "
                  "verplichtingen (subsidies, opdrachten, bijdragen) voor het jaar, met hun bijstellingen."),
    ("Vrijval na vaststelling", "Bij de vaststelling van een subsidie wordt het definitieve bedrag bepaald; wat "
                                "lager uitvalt dan verleend, gaat van de verplichtingen af en komt terug in de vrije "
                                "ruimte van het jaar. Ter informatie: het is al afgetrokken van verplicht."),
    ("Gerealiseerd", "Wat er in het jaar tot en met de peildatum is betaald, inclusief de kosten van de "
                     "ambtelijke ondersteuning; een terugbetaling telt negatief."),
    ("Voorschot", "Een betaling vooruit op een subsidie. Een voorschot telt als openstaand tot de vaststelling van "
                  "de subsidie: dan staat vast waaraan het is besteed."),
    ("Vrije ruimte", "Beschikbaar budget min verplicht: wat nog vrij te besteden is. Negatief betekent dat er "
                     "meer is verplicht dan er beschikbaar is."),
    ("In voorbereiding", "Het gevraagde bedrag van projecten die op de peildatum de status voorstel of in "
                         "behandeling hebben: nog niet verplicht, wel in aantocht."),
    ("Kasschuif", "Het verschuiven van budget van het ene jaar naar een ander; de regels van een kasschuif "
                  "tellen samen op tot nul."),
]
