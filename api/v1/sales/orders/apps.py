from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "api.v1.sales.orders"
    label = "orders"
    verbose_name = "Orders"
