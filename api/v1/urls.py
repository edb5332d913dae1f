"""Routes of API v1, collected from the modules (``core.registry.register_route``/``_urls`` in
each ``AppConfig.ready()``, INSTALLED_APPS order). Names are a contract with clients."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from core.registry import registry

router = SimpleRouter()
module_urls = []
for route in registry["routes"]:
    if route.viewset is not None:
        router.register(route.prefix, route.viewset, basename=route.basename)
    else:
        module_urls.extend(route.urlpatterns)

urlpatterns = [
    *module_urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]
