from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from core.health import views as health
from core.landing import home
from core.metrics.views import metrics

urlpatterns = [
    path("", home, name="home"),
    path("health/live/", health.live, name="health-live"),
    path("health/ready/", health.ready, name="health-ready"),
    path("metrics", metrics, name="metrics"),
    path("api/v1/", include("api.v1.urls")),
    path("ops/", include("core.ops.urls")),
    path("admin/", admin.site.urls),
]

if settings.BENCH_ENDPOINTS:
    # Named by a setting, imported by include(): config never imports bench/ (import-linter).
    urlpatterns += [path("", include(settings.BENCH_URLCONF))]

# Unknown URLs under /api/ answer JSON (core/api/errors.py); others Django's page.
handler404 = "core.api.errors.not_found"
