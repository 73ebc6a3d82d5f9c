"""Read-only reporting: figures as tables and pages; nothing here changes data."""
