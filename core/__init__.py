"""Cross-cutting infrastructure of ERP Core: database, tenancy, permissions, API plumbing, health."""
