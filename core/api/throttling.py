"""Throttles (DRF's throttling, on the ``default`` cache alias: Redis in dev/prod).

- :class:`FailedLoginThrottle` and its two scopes guard ``POST /api/v1/auth/token/``: they *check*
  on every attempt but only *failed* attempts are recorded (:meth:`FailedLoginThrottle.record_failure`,
  called by the view), so successful logins never count. Once a username has
  ``LOGIN_FAILURES_PER_USERNAME`` failures in the window (default ``10/15m``), or an IP address
  ``LOGIN_FAILURES_PER_IP`` (default ``50/15m``), every further attempt for it, the correct
  password included, gets 429 with ``Retry-After`` until the oldest failure leaves the window.
- :class:`UserRateThrottle`/:class:`AnonRateThrottle`: per-user (and anonymous) API throttles,
  DRF's, in ``DEFAULT_THROTTLE_CLASSES`` only when ``API_THROTTLE_USER_RATE`` /
  ``API_THROTTLE_ANON_RATE`` are set (off by default: no cache round trip per request).

Rates are DRF's ``<count>/<period>`` with an optional multiple (``10/15m``, ``1000/h``).
"""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings

from core.redis.keys import digest

__all__ = [
    "AnonRateThrottle",
    "FailedLoginThrottle",
    "LoginIPThrottle",
    "LoginUsernameThrottle",
    "UserRateThrottle",
    "parse_rate",
]

_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int | None, int | None]:
    """``"10/15m"`` → ``(10, 900)``; DRF's own forms (``"100/hour"``) too."""
    if rate is None:
        return None, None
    match = _RATE.fullmatch(rate)
    if match is None:
        raise ValueError(f"Bad throttle rate {rate!r}: use <count>/<n><s|m|h|d>, e.g. 10/15m.")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNIT[unit]


class _MultiplePeriods:
    def parse_rate(self, rate):
        return parse_rate(rate)

    def get_rate(self):
        # DRF binds THROTTLE_RATES at import; read the current settings instead.
        rates = api_settings.DEFAULT_THROTTLE_RATES
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}.")
        return rates[self.scope]


class FailedLoginThrottle(_MultiplePeriods, throttling.SimpleRateThrottle):
    """Checks the history of failed attempts; records nothing by itself."""

    def ident_for(self, request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request, view):
        ident = self.ident_for(request)
        if not ident:
            return None
        return self.cache_format % {"scope": self.scope, "ident": digest(ident, length=32)}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        return len(self.history) < self.num_requests

    def wait(self):
        """Seconds until one more attempt is allowed: until the failure that is
        ``num_requests``-th newest leaves the window."""
        if len(self.history) < self.num_requests:
            return None
        return max(1.0, self.duration - (self.now - self.history[self.num_requests - 1]))

    def record_failure(self, request) -> None:
        if self.rate is None:
            return
        key = self.get_cache_key(request, None)
        if key is None:
            return
        now = self.timer()
        history = [t for t in self.cache.get(key, []) if t > now - self.duration]
        history.insert(0, now)
        self.cache.set(key, history, self.duration)


class LoginUsernameThrottle(FailedLoginThrottle):
    scope = "login_username"

    def ident_for(self, request):
        data = request.data if hasattr(request, "data") else {}
        username = data.get("username") if hasattr(data, "get") else None
        return username.strip() if isinstance(username, str) else None


class LoginIPThrottle(FailedLoginThrottle):
    scope = "login_ip"

    def ident_for(self, request):
        return self.get_ident(request)


class UserRateThrottle(_MultiplePeriods, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(_MultiplePeriods, throttling.AnonRateThrottle):
    pass
