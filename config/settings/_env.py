"""Environment loading shared by every settings module.

Precedence, highest first: the process environment, then a ``.env`` file at the project root
(read with ``overwrite=False`` so it never overrides a variable that is already set), then the
defaults that ``dev``/``test`` put in place with ``os.environ.setdefault`` *after* this runs.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def email_settings(default_backend: str) -> dict:
    """The ``EMAIL_*`` settings, for every settings module alike (each passes its own default).

    ``EMAIL_URL`` (django-environ's ``email_url``: ``smtp+tls://user:pw@smtp.example.com:587``,
    ``smtp+ssl://...:465``, ``consolemail://``, ``filemail://``, ``memorymail://``,
    ``dummymail://``) sets backend, host, port, user, password and TLS/SSL at once; then
    ``EMAIL_BACKEND``, ``EMAIL_FILE_PATH``, ``EMAIL_TIMEOUT`` and ``DEFAULT_FROM_EMAIL`` override
    single values. Neither set: ``default_backend``.
    """
    config = {"EMAIL_BACKEND": default_backend}
    if env.str("EMAIL_URL", default=""):
        parsed = env.email_url("EMAIL_URL")
        options = parsed.pop("OPTIONS", {}) or {}
        config.update({key: value for key, value in parsed.items() if value not in (None, "")})
        if "TIMEOUT" in options:
            config["EMAIL_TIMEOUT"] = options["TIMEOUT"]
    for name in ("EMAIL_BACKEND", "EMAIL_FILE_PATH", "DEFAULT_FROM_EMAIL"):
        if env.str(name, default=""):
            config[name] = env.str(name)
    if env.str("EMAIL_TIMEOUT", default=""):
        config["EMAIL_TIMEOUT"] = env.float("EMAIL_TIMEOUT")
    return config
