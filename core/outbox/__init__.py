"""Reliable task delivery: the transactional outbox and the ledger of effects done once."""
