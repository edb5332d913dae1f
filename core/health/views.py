"""``/health/live/`` (no backend touched) and ``/health/ready/`` (one entry per component).

Plain Django views, no DRF: probes must be cheap. ``/health/ready/`` answers every caller with
the overall status and each component's ``status``; the details (latencies, memory, keys, disk
sizes, error texts, versions) only to a caller with ``Authorization: Bearer <METRICS_TOKEN>`` or
a staff session (the same audience as ``/metrics`` and ``/ops/``).
"""

import hmac

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .registry import run_checks


def may_see_details(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "")
        if hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
            return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    is_ready, components = run_checks()
    degraded = any(c["status"] != "ok" for c in components.values())
    status = "ok" if not degraded else ("degraded" if is_ready else "down")
    if not may_see_details(request):
        components = {name: {"status": c["status"]} for name, c in components.items()}
    return JsonResponse(
        {"status": status, "components": components}, status=200 if is_ready else 503
    )
