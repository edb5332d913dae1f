"""Prometheus collector for the cache aliases; registered by CoreConfig.ready().

Values come from Redis itself (PING, INFO) at scrape time, so they are the same whichever
gunicorn process answers the scrape.
"""

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from core.registry import register_metrics_collector

from .stats import all_stats, is_redis

GAUGES = {
    "used_memory": ("erp_redis_used_memory_bytes", "Memory used by Redis (INFO used_memory)"),
    "maxmemory": ("erp_redis_maxmemory_bytes", "Configured maxmemory (0 = unlimited)"),
    "connected_clients": ("erp_redis_connected_clients", "Connected clients"),
    "ops_per_sec": ("erp_redis_ops_per_second", "Instantaneous operations per second"),
}
COUNTERS = {
    "keyspace_hits": ("erp_redis_keyspace_hits", "Successful key lookups"),
    "keyspace_misses": ("erp_redis_keyspace_misses", "Failed key lookups"),
    "evicted_keys": ("erp_redis_evicted_keys", "Keys evicted because of maxmemory"),
    "expired_keys": ("erp_redis_expired_keys", "Keys removed on TTL expiry"),
}


class RedisCollector:
    def collect(self):
        stats = [s for s in all_stats() if is_redis(s.alias)]
        up = GaugeMetricFamily(
            "erp_redis_up", "1 if the alias's Redis answers PING", labels=["alias"]
        )
        ping = GaugeMetricFamily("erp_redis_ping_seconds", "PING round trip", labels=["alias"])
        ratio = GaugeMetricFamily(
            "erp_redis_hit_ratio", "keyspace_hits / (hits + misses)", labels=["alias"]
        )
        policy = GaugeMetricFamily(
            "erp_redis_maxmemory_policy_info", "Eviction policy", labels=["alias", "policy"]
        )
        keys = GaugeMetricFamily("erp_redis_db_keys", "Keys per database", labels=["alias", "db"])
        gauges = {f: GaugeMetricFamily(n, h, labels=["alias"]) for f, (n, h) in GAUGES.items()}
        counters = {
            f: CounterMetricFamily(n, h, labels=["alias"]) for f, (n, h) in COUNTERS.items()
        }
        for s in stats:
            up.add_metric([s.alias], 1 if s.reachable else 0)
            if not s.reachable:
                continue
            ping.add_metric([s.alias], s.ping_ms / 1000)
            if s.hit_ratio is not None:
                ratio.add_metric([s.alias], s.hit_ratio)
            policy.add_metric([s.alias, s.maxmemory_policy], 1)
            for db, count in s.keys.items():
                keys.add_metric([s.alias, db], count)
            for name, family in [*gauges.items(), *counters.items()]:
                if (value := getattr(s, name)) is not None:
                    family.add_metric([s.alias], value)
        yield from (up, ping, ratio, policy, keys, *gauges.values(), *counters.values())


register_metrics_collector("redis", RedisCollector())
