"""Service settings, only from the environment (prefix CRM_)."""
from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .business_time import BUSINESS_ZONE_DEFAULT, zone_named

DEFAULT_PORTS = {"intake": 8001, "grading": 8002, "followup": 8003, "analytics": 8004}


class Settings(BaseSettings):
    """Everything a service process needs; compose and `crm up` set the same names."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service: str = "intake"
    database_url: str = "postgresql://postgres@localhost:5432/crm_intake"
    # The key vault (one key per customer; erasure destroys it): shared by every service.
    vault_url: str = "postgresql://postgres@localhost:5432/crm_vault"
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Kafka client security (shared.runtime.kafka.client_kwargs; deploy/README.md). The default
    # PLAINTEXT is the embedded stack on loopback; production logs in with SASL/SCRAM as the
    # service's own principal, which the broker's ACLs (deploy/kafka/acls.txt) hold to its topics.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256"] = "SCRAM-SHA-512"
    kafka_username: str = ""
    kafka_password: SecretStr = Field(default=SecretStr(""), repr=False)
    kafka_ssl_cafile: str | None = None  # SASL_SSL: the CA that signed the broker's certificate (else the system's)
    # Idempotent producers (no duplicates from a retried send). Only the Tansu fallback broker,
    # which has no idempotent producer, turns it off (crm.stack sets it per broker).
    kafka_idempotence: bool = True
    auth_secret: SecretStr = Field(default=SecretStr(""), repr=False)
    http_host: str = "127.0.0.1"
    http_port: int = 0  # 0: the service's default port
    log_level: str = "INFO"
    # per-library levels on top of log_level, e.g. "aiokafka.consumer=DEBUG,asyncpg=WARNING"
    log_levels: str = ""
    topic_partitions: int = 4
    topic_replication: int = 1
    max_body_bytes: int = 2 * 1024 * 1024  # larger bodies get 413 (batch imports go in chunks)
    # Lookups of customers by phone or email per person and minute (429 beyond): enough for a desk,
    # too few to walk a phone book.
    lookup_limit_per_minute: int = Field(default=30, ge=1)
    # The sales organisation's time zone (an IANA name): which business day everything falls on.
    # shared.business_time reads it once for every service; declared here like every other setting.
    business_zone: str = BUSINESS_ZONE_DEFAULT
    # Runtime tuning: bounded batches keep handlers well inside max_poll_interval.
    consumer_batch: int = 500  # set-based handlers: a bigger batch costs the same statements (docs/benchmarks.md)
    # The broker answers a consumer's fetch once this much is waiting, or after this wait: under light
    # load a batch gathers up to 50 ms of events instead of one or two (each batch is a transaction of
    # about 8 round trips, and each fetch a broker request); under heavy load 64 KiB is there at once
    # and nothing waits. Under bench.http_intake's load: 1.4-1.6x the contacts/s, consumers' CPU per
    # contact a third to a half, POST -> 360 p99 80-128 -> 151-170 ms. The price: an idle consumer asks
    # 20 times a second, and the idle stack uses 0.16 of a core instead of 0.06. A linger in the consumer
    # instead cost the same latency for less (docs/benchmarks.md, session 10).
    consumer_fetch_min_bytes: int = Field(default=64 * 1024, ge=1)
    consumer_fetch_max_wait_ms: int = Field(default=50, ge=0)
    # A batch is sent once the one before it is acknowledged (a customer's order): smaller batches keep
    # the broker and this process busy at once; 500 published 1.2-1.4x the events/s of 2000 (docs/benchmarks.md)
    relay_batch: int = 500
    relay_poll_seconds: float = 1.0
    broker_check_seconds: float = 5.0
    # Tests move time with this offset (seconds) instead of sleeping; see shared.clock.
    clock_offset_file: str | None = None

    @field_validator("business_zone")
    @classmethod
    def _known_business_zone(cls, value: str) -> str:
        zone_named(value)
        return value

    @model_validator(mode="after")
    def _kafka_login_is_complete(self) -> "Settings":
        if self.kafka_security_protocol.startswith("SASL_") and not (
                self.kafka_username and self.kafka_password.get_secret_value()):
            raise ValueError(f"CRM_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                             "CRM_KAFKA_USERNAME and CRM_KAFKA_PASSWORD")
        return self

    @property
    def port(self) -> int:
        return self.http_port or DEFAULT_PORTS.get(self.service, 8000)


@lru_cache
def get_settings() -> Settings:
    return Settings()
