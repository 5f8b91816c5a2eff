"""Infrastructure every feature stands on (database, errors, auth, limits, outbox, money, ids, logging, metrics); it imports no feature."""
