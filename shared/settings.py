"""Service settings, only from the environment (prefix CRM_)."""
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PORTS = {"intake": 8001, "grading": 8002, "followup": 8003, "analytics": 8004}


class Settings(BaseSettings):
    """Everything a service process needs; compose and `crm up` set the same names."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service: str = "intake"
    database_url: str = "postgresql://postgres@localhost:5432/crm_intake"
    # The key vault (one key per customer; erasure destroys it): shared by every service.
    vault_url: str = "postgresql://postgres@localhost:5432/crm_vault"
    kafka_bootstrap: str = "127.0.0.1:9092"
    auth_secret: SecretStr = Field(default=SecretStr(""), repr=False)
    http_host: str = "127.0.0.1"
    http_port: int = 0  # 0: the service's default port
    log_level: str = "INFO"
    topic_partitions: int = 4
    topic_replication: int = 1
    max_body_bytes: int = 2 * 1024 * 1024  # larger bodies get 413 (batch imports go in chunks)
    # Runtime tuning: bounded batches keep handlers well inside max_poll_interval.
    consumer_batch: int = 200
    relay_batch: int = 500
    relay_poll_seconds: float = 1.0
    broker_check_seconds: float = 5.0
    # Tests move time with this offset (seconds) instead of sleeping; see shared.clock.
    clock_offset_file: str | None = None

    @property
    def port(self) -> int:
        return self.http_port or DEFAULT_PORTS.get(self.service, 8000)


@lru_cache
def get_settings() -> Settings:
    return Settings()
