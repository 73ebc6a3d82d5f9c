"""Reporting rounds: ask project leaders for their status updates, remind them by e-mail, freeze the stand."""
