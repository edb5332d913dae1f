"""Collectors of the core itself: build info."""

from django.conf import settings
from prometheus_client.core import GaugeMetricFamily

from core.registry import register_metrics_collector


class BuildInfoCollector:
    def collect(self):
        family = GaugeMetricFamily("erp_build_info", "ERP Core version", labels=["version"])
        family.add_metric([settings.APP_VERSION], 1)
        yield family


register_metrics_collector("build_info", BuildInfoCollector())
