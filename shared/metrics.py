"""Prometheus metrics every service exposes at /metrics."""
from prometheus_client import Counter, Gauge, Histogram

HTTP_LATENCY = Histogram(
    "crm_http_request_seconds", "HTTP request latency", ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_APPENDED = Counter("crm_events_appended_total", "Events stored in the outbox", ["event_type"])
EVENTS_PUBLISHED = Counter("crm_events_published_total", "Events published by the relay", ["topic"])
RELAY_BACKLOG = Gauge("crm_relay_backlog", "Stored events not yet published")
RELAY_REPUBLISHES = Counter("crm_relay_republish_total", "Times the relay found the broker emptied and republished")
EVENTS_CONSUMED = Counter("crm_events_consumed_total", "Messages applied by consumers", ["consumer", "topic", "result"])
CONSUMER_LAG = Gauge("crm_consumer_lag", "Messages behind the partition end", ["consumer", "topic", "partition"])
DEAD_LETTERS = Counter("crm_dead_letters_total", "Messages sent to the dead-letter topic", ["consumer", "topic"])
