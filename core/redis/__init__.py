"""Redis helpers the standard cache API lacks: key builders, generation counters, locks,
availability tracking (cache bypass while Redis is down) and server statistics.

Connection setup is plain settings (``CACHES`` through django-redis, see ``config``); nothing
here re-implements what django-redis already does.
"""
