"""Stand van zaken: figures as DataFrames, the Kamer workbook, charts, snapshots (read-only on the ledger)."""

#: Written into every report's Verantwoording, so a reader knows which build made it.
APP_VERSION = "1.0.0"
