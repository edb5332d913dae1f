"""The operations page ``/ops/`` (staff only): live state of every component, refreshed in place
(docs/operations.md, "The operations page")."""
