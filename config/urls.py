from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from core.api.errors import UNKNOWN_API_URL, unknown_api_url
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
if settings.API_BROWSABLE:
    # The browsable API's log in / log out pages (a session; DRF's convention, outside /api/).
    urlpatterns += [path("api-auth/", include("rest_framework.urls"))]


# Under /api/ Django's own error pages answer JSON too (core.api.errors).
handler400 = "core.api.errors.bad_request"
handler403 = "core.api.errors.permission_denied"
handler404 = "core.api.errors.page_not_found"
handler500 = "core.api.errors.server_error"

if settings.BENCH_ENDPOINTS:
    # Named by a setting, imported by include(): config never imports bench/ (import-linter).
    urlpatterns += [path("", include(settings.BENCH_URLCONF))]

# Last: an unknown URL under /api/ is a JSON 404 in every settings module. handler404 alone is
# not enough: with DEBUG=True Django answers an unmatched URL with its HTML technical page.
urlpatterns += [re_path(r"^api/", unknown_api_url, name=UNKNOWN_API_URL)]
