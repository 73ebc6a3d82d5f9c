"""Excel import and export of a programme's data in the template format (validated, all-or-nothing)."""
