"""``/health/live/`` (no backend touched) and ``/health/ready/`` (one entry per component).

Plain Django views, no DRF and no authentication: probes must be cheap.
"""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .registry import run_checks


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
    return JsonResponse(
        {"status": status, "components": components}, status=200 if is_ready else 503
    )
