"""What-if scenarios on the current stand: entries the services would book, compared with the base, adopted at once."""
