"""The portfolio: programmes, organisations, projects and their status updates."""
