"""Tenancy: every business row belongs to one organization; every request and task runs in one."""
