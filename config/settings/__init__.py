"""Settings package.

Layering: ``base`` reads every connection detail and secret from the environment (through
django-environ) and holds no defaults for them; ``dev`` and ``test`` add local defaults; ``prod``
adds none and refuses to start with an insecure configuration. Pick one with
``DJANGO_SETTINGS_MODULE=config.settings.<name>``.
"""
