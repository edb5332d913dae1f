"""RBAC: named permissions, the roles that grant them, and the one DRF mechanism enforcing them."""
