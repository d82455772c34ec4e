"""Prometheus metrics every service exposes at /metrics (docs/observability.md lists them)."""
from prometheus_client import Counter, Gauge, Histogram

# method, route template (never the raw path: no ids, no query values) and status
HTTP_REQUESTS = Counter("crm_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
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
# Read from the database when /metrics is scraped (the same in every replica)
DEAD_LETTERS_STORED = Gauge("crm_dead_letters_stored", "Dead letters this service's consumers ever recorded",
                            ["consumer"])
FOLLOWUP_TASKS = Gauge("crm_followup_tasks", "Follow-up tasks not yet done, by status (open, overdue)", ["status"])
ANALYTICS_UNFOLDED = Gauge("crm_analytics_unfolded",
                           "Customers whose logged events analytics has not folded yet (waiting), or could not (failed)",
                           ["state"])
