from django.urls import path

from . import views

urlpatterns = [
    path("", views.ops_page, name="ops"),
    path("data/", views.ops_data, name="ops-data"),
]
