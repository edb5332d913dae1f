"""``/ops/`` (server-rendered, staff only) and ``/ops/data/`` (the same data as JSON, polled by
the page every ``OPS_REFRESH_SECONDS``)."""

from __future__ import annotations

import time
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.doctor import worst

from . import history, panels


def staff_only(*, json: bool = False):
    """Anonymous: the admin login (page) or 401 (JSON); signed in but not staff: 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                if json:
                    return JsonResponse({"detail": "Sign in as staff (/admin/login/)."}, status=401)
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not (user.is_active and user.is_staff):
                if json:
                    return JsonResponse({"detail": "Staff only."}, status=403)
                return HttpResponseForbidden("The operations page is for staff only.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def snapshot() -> dict:
    started = time.perf_counter()
    sections = panels.collect()
    charts: dict = {}
    try:
        charts["requests"] = history.request_series()
        charts["queues"] = history.queue_series(history.samples())
    except Exception as exc:  # noqa: BLE001 - the broker's Redis is down: no charts this time
        charts["error"] = f"chart history unavailable: {type(exc).__name__}: {exc}"[:300]
    return {
        "generated_at": time.time(),
        "status": worst(s["status"] for s in sections),
        "sections": sections,
        "charts": charts,
        "render_ms": round((time.perf_counter() - started) * 1000, 1),
    }


@never_cache
@require_GET
@staff_only()
def ops_page(request):
    return render(
        request,
        "ops/index.html",
        {
            "data": snapshot(),
            "refresh_seconds": settings.OPS_REFRESH_SECONDS,
            "data_url": reverse("ops-data"),
            "title": "Operations",
        },
    )


@never_cache
@require_GET
@staff_only(json=True)
def ops_data(request):
    return JsonResponse(snapshot())
