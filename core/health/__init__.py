"""Liveness/readiness probes and the registry of component checks (database now; caches,
broker and storage register theirs in their own modules)."""
