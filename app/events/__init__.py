"""Events: what features changed, recorded as Event rows with the resource as it was (outbox for webhooks)."""
