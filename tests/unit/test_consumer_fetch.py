"""The services' consumers fetch with the settings' batching window (Settings.consumer_fetch_*)."""
import pytest
from pydantic import ValidationError

from shared.runtime import kafka
from shared.settings import Settings


@pytest.fixture
def built(monkeypatch):
    seen: dict = {}

    class Recorder:
        def __init__(self, *topics, **kwargs):
            seen.clear()
            seen.update(kwargs)

    monkeypatch.setattr(kafka, "AIOKafkaConsumer", Recorder)
    for name in ("CRM_CONSUMER_FETCH_MIN_BYTES", "CRM_CONSUMER_FETCH_MAX_WAIT_MS"):
        monkeypatch.delenv(name, raising=False)
    return seen


def test_a_consumer_waits_up_to_50_ms_for_64_kib_by_default(built):
    kafka.consumer("kafka:9092", "followup", "contact-received", settings=Settings())
    assert (built["fetch_min_bytes"], built["fetch_max_wait_ms"]) == (64 * 1024, 50)


def test_the_window_is_a_setting(built, monkeypatch):
    monkeypatch.setenv("CRM_CONSUMER_FETCH_MIN_BYTES", "1")
    monkeypatch.setenv("CRM_CONSUMER_FETCH_MAX_WAIT_MS", "500")
    kafka.consumer("kafka:9092", "followup", "contact-received")
    assert (built["fetch_min_bytes"], built["fetch_max_wait_ms"]) == (1, 500)


def test_a_window_of_no_bytes_is_refused_naming_the_setting():
    with pytest.raises(ValidationError, match="consumer_fetch_min_bytes"):
        Settings(consumer_fetch_min_bytes=0)
