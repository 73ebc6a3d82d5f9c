"""Infrastructure shared by every feature: database, money, audit, auth, errors."""
