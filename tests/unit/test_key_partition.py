"""The relay picks each event's partition itself: exactly the partition Kafka's default
partitioner (aiokafka's, Java's) would pick, so a customer's events stay on one partition."""
import uuid

from aiokafka.partitioner import DefaultPartitioner, murmur2
from hypothesis import given
from hypothesis import strategies as st

from shared.runtime.kafka import _murmur2, key_partition


@given(st.binary(max_size=80))
def test_murmur2_is_kafkas(key):
    assert _murmur2(key) == murmur2(key)


@given(st.uuids(), st.integers(min_value=1, max_value=64))
def test_a_customer_key_goes_where_the_default_partitioner_sends_it(customer_id, partitions):
    key = str(customer_id).encode()
    everyone = list(range(partitions))
    assert key_partition(key, partitions) == DefaultPartitioner()(key, everyone, everyone)


def test_known_values():
    # Kafka's own test vectors (org.apache.kafka.common.utils.UtilsTest.testMurmur2)
    assert _murmur2(b"21") == -973932308 & 0xFFFFFFFF
    assert _murmur2(b"foobar") == -790332482 & 0xFFFFFFFF
    assert _murmur2(b"") == 275646681
    assert key_partition(str(uuid.UUID(int=0)).encode(), 4) in range(4)
