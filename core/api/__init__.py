"""API plumbing shared by every endpoint: renderer, pagination, errors, fast serializers."""
