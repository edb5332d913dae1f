"""``GET /metrics`` in the Prometheus text format.

Open unless ``METRICS_TOKEN`` is set; then ``Authorization: Bearer <METRICS_TOKEN>`` is required
(401 otherwise). With ``METRICS_REQUIRE_TOKEN`` (on in prod settings) and no ``METRICS_TOKEN``, it
refuses every request (403) instead of serving the figures to anyone. Plain Django view: no DRF,
no session.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .registry import REGISTRY


@never_cache
@require_GET
def metrics(request):
    token = settings.METRICS_TOKEN
    if not token and settings.METRICS_REQUIRE_TOKEN:
        return HttpResponse(
            "/metrics is closed: set METRICS_TOKEN and scrape with "
            "'Authorization: Bearer <METRICS_TOKEN>'.\n",
            status=403,
            content_type="text/plain",
        )
    if token:
        supplied = request.headers.get("Authorization", "")
        if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
            response = HttpResponse(
                "Missing or wrong bearer token: send 'Authorization: Bearer <METRICS_TOKEN>'.\n",
                status=401,
                content_type="text/plain",
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
