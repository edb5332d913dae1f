"""Routes of API v1, collected from the modules (``core.registry.register_route``/``_urls`` in
each ``AppConfig.ready()``, INSTALLED_APPS order). Names are a contract with clients."""

from importlib import import_module

from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from core.api.schema import CachedSpectacularAPIView
from core.landing import api_root
from core.registry import registry, resolve

router = SimpleRouter()
module_urls = []
for route in registry["routes"]:
    if route.viewset is not None:  # dotted paths are imported here, not in ready()
        router.register(route.prefix, resolve(route.viewset), basename=route.basename)
    elif route.urlconf:
        module_urls.extend(import_module(route.urlconf).urlpatterns)
    else:
        module_urls.extend(route.urlpatterns)

urlpatterns = [
    *module_urls,
    path("schema/", CachedSpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, so the
    # page works under the Content-Security-Policy (script-src 'self').
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    # Our template: no Google Fonts, no inline script (works offline and under the CSP).
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html"),
        name="redoc",
    ),
    path("", api_root, name="api-root"),
    path("", include(router.urls)),
]
