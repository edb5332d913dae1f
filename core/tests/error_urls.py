"""config.urls plus one view that crashes (test_api_errors: the 500 page under /api/)."""

from django.urls import path

from config.urls import *  # noqa: F403
from config.urls import urlpatterns as base_patterns


def boom(request):
    raise RuntimeError("relation secret_table does not exist")


urlpatterns = [path("api/v1/test-boom/", boom), *base_patterns]


def inline_script(request):
    from django.http import HttpResponse

    return HttpResponse("<html><body><script>document.title='ran'</script></body></html>")


urlpatterns.insert(0, path("api/v1/test-inline/", inline_script))
