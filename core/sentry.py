"""Error reporting with sentry-sdk (issue 12, "Sentry").

``SENTRY_DSN`` set: the settings call :func:`init_sentry`, which turns on the Django and Celery
integrations in every process that loads the settings (web, worker, beat, ``manage.py``). Empty
(the default): sentry-sdk is not initialised and costs nothing. sentry-sdk's defaults send no
personal data (no cookies, no user e-mail); each event carries the request id
(``core.requestid``) as a tag.
"""

from __future__ import annotations

__all__ = ["init_sentry"]


def _tag_request_id(event, hint):
    try:
        from core.requestid import get_request_id
    except ImportError:  # pragma: no cover - settings loaded before core is importable
        return event
    request_id = get_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def init_sentry(
    dsn: str,
    *,
    environment: str = "",
    release: str = "",
    traces_sample_rate: float = 0.0,
    transport=None,
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options = {}
    if transport is not None:  # tests: a capturing transport instead of HTTP
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        before_send=_tag_request_id,
        **options,
    )
