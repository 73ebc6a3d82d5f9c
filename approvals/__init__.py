"""Four eyes: financial entries above a programme's threshold count only after a second person approves."""
