"""File storage configuration (``STORAGES``) chosen purely from the environment."""
