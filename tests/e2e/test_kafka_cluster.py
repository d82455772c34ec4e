"""Faults only a real Kafka cluster has, on three Apache Kafka nodes on loopback (each broker
and controller; replication factor 3, min.insync.replicas=2, no unclean leader election)
with the whole system running on them: a leader killed under load, brokers down and back,
the whole stack restarted, a topic deleted and recreated."""
from __future__ import annotations

import asyncio
import re
import shutil
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from crm.stack import KafkaCluster, Stack, free_port
from shared.events.topics import ALL_TOPICS
from shared.runtime import kafka
from shared.settings import DEFAULT_PORTS
from tests.support.fixtures import ARTIFACTS, Api
from tests.support.reliability import APPLIED_ONCE

from .test_faults import analytics_mirrors_producers, assert_each_applied_once, post_contacts, republish_count

pytestmark = pytest.mark.slow
CONTACTS = "contact-received"


@dataclass
class Rig:
    cluster: KafkaCluster
    stack: Stack
    api: Api

    def dump_task_stacks(self) -> None:
        """Each service logs where its asyncio tasks wait (shared.diagnostics): read with the
        logs kept in the artifacts when a test here fails."""
        for svc in self.stack.services.values():
            if svc.proc is not None and svc.proc.poll() is None:
                svc.proc.send_signal(signal.SIGUSR1)

    def restart_everything(self) -> None:
        """Stop the services, the cluster and PostgreSQL; start them again on the same folders."""
        self.stack.stop()
        self.cluster.start()
        self.stack = Stack(self.stack.root, ports=self.stack.ports, extra_env=self.stack.extra_env,
                           broker=self.cluster)
        self.stack.start()
        self.api.stack = self.stack


@pytest.fixture(autouse=True)
async def stacks_dumped_on_failure(request, rig: Rig) -> AsyncIterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and (report.failed or (report.skipped and hasattr(report, "wasxfail"))):
        rig.dump_task_stacks()
        await asyncio.sleep(1.0)


@pytest.fixture(scope="module")
async def rig(work_dir: Path) -> AsyncIterator[Rig]:
    cluster = KafkaCluster(work_dir / "cluster")
    await asyncio.to_thread(cluster.start)
    root = work_dir / "cluster" / "stack"
    stack = Stack(root, ports={n: free_port() for n in DEFAULT_PORTS}, broker=cluster,
                  extra_env={"CRM_BROKER_CHECK_SECONDS": "1"})
    await asyncio.to_thread(stack.start)
    api = Api(stack)
    rig = Rig(cluster, stack, api)
    try:
        await api.join_roster({"c-001": "north"})
        yield rig
    finally:
        await api.client.aclose()
        await asyncio.to_thread(rig.stack.stop)
        await asyncio.to_thread(cluster.stop)
        for logs in (root / "logs", work_dir / "cluster" / "logs"):  # kept for a failed run to be read
            if logs.exists():
                shutil.copytree(logs, ARTIFACTS / "cluster-logs", dirs_exist_ok=True)


async def describe(bootstrap: str, topics: list[str]) -> dict[str, list[dict]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        return {t["topic"]: t["partitions"] for t in await admin.describe_topics(topics)}
    finally:
        await admin.close()


async def leader_of(cluster: KafkaCluster, topic: str, partition: int) -> int:
    partitions = (await describe(cluster.bootstrap, [topic]))[topic]
    return next(p["leader"] for p in partitions if p["partition"] == partition)


async def wait_fully_replicated(cluster: KafkaCluster, timeout: float = 90) -> None:
    """Every partition of every topic has all three replicas in sync again (the node caught up)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        topics = await describe(cluster.bootstrap, list(ALL_TOPICS))
        lagging = [f"{t}/{p['partition']}" for t, parts in topics.items() for p in parts
                   if len(p["isr"]) < cluster.replication or p["leader"] < 0]
        if not lagging and len(topics) == len(ALL_TOPICS):
            return
        assert asyncio.get_running_loop().time() < deadline, f"not back in sync: {lagging[:5]}"
        await asyncio.sleep(0.5)


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    described = await describe(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p["partition"]) for t, parts in described.items() for p in parts]
        return await consumer.end_offsets(partitions)
    finally:
        await kafka.stop_quietly(consumer)


async def duplicates_consumed(api: Api) -> float:
    """Messages the consumers of all four services found already applied (since they started)."""
    total = 0.0
    for service in api.stack.services:
        text = (await api.client.get(api.url(service, "/metrics"))).text
        total += sum(float(m.group(1)) for m in
                     re.finditer(r'^crm_events_consumed_total\{[^}]*result="duplicate"[^}]*\} (\S+)$', text, re.M))
    return total


async def unpublished(api: Api, service: str, ids: list[str]) -> int:
    conn = await api.db(service)
    try:
        return await conn.fetchval("select count(*) from outbox_pending join event_store using (position) "
                                   "where customer_id = any($1)",
                                   [uuid.UUID(i) for i in ids])
    finally:
        await conn.close()


async def all_marked_published(api: Api, service: str, ids: list[str], timeout: float = 90) -> None:
    """The outbox rows end marked. Not at once: a relay whose sends timed out while the brokers were
    gone restarts (a fresh producer and topic check, each bounded by the send timeout) and marks the
    rows on its next pass, while the messages the timed-out producer still delivered may already
    have been applied. Until marked, a row is only sent again, which the consumers' inbox absorbs."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := await unpublished(api, service, ids)) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(1)
    assert left == 0, f"{left} of {len(ids)} outbox rows still unpublished {timeout:.0f}s after the brokers returned"


async def test_sigkill_of_a_partition_leader_under_load(rig: Rig, reliability):
    reliability.record("SIGKILL of a partition leader under steady load (3-broker cluster, RF 3, min ISR 2)", 1,
                       APPLIED_ONCE + "; the killed broker rejoins and catches up")
    posting = asyncio.create_task(post_contacts(rig.api, 150, concurrency=8))
    await asyncio.sleep(1.0)
    leader = await leader_of(rig.cluster, CONTACTS, 0)
    rig.cluster.nodes[leader].kill()
    ids = await posting
    await assert_each_applied_once(rig.api, ids)
    more = await post_contacts(rig.api, 5)  # consumers moved on to the new leaders
    await assert_each_applied_once(rig.api, more)
    await asyncio.to_thread(rig.cluster.start_node, leader)
    await wait_fully_replicated(rig.cluster)


async def test_one_broker_down_then_back(rig: Rig, reliability):
    reliability.record("one of three brokers down for a while, then back (3-broker cluster)", 1,
                       APPLIED_ONCE + " while it is down; back up, it catches up (all replicas in sync)")
    await asyncio.to_thread(rig.cluster.nodes[3].stop)
    ids = await post_contacts(rig.api, 20)
    await assert_each_applied_once(rig.api, ids)
    await asyncio.to_thread(rig.cluster.start_node, 3)
    await wait_fully_replicated(rig.cluster)
    more = await post_contacts(rig.api, 5)
    await assert_each_applied_once(rig.api, ids + more)


async def test_two_brokers_down_holds_writes_in_the_outbox(rig: Rig, reliability):
    reliability.record("two of three brokers down (no quorum, fewer than min.insync.replicas)", 1,
                       "contacts accepted into the outbox, none published or applied while down; "
                       "all flow once the brokers return, " + APPLIED_ONCE)
    try:
        await two_brokers_down(rig)
    except BaseException:
        rig.dump_task_stacks()  # where each service waits, before the restart below clears it
        await asyncio.sleep(1.0)
        # leave the module's other tests a working system: every node up, fresh consumers everywhere
        await asyncio.to_thread(rig.cluster.start)
        await asyncio.to_thread(restart_services, rig)
        await wait_fully_replicated(rig.cluster)
        raise


def restart_services(rig: Rig) -> None:
    for svc in rig.stack.services.values():
        svc.stop()
        svc.start()
    for svc in rig.stack.services.values():
        svc.wait_ready(90)


async def two_brokers_down(rig: Rig) -> None:
    rig.cluster.nodes[2].kill()
    rig.cluster.nodes[3].kill()
    ids = await post_contacts(rig.api, 10)  # intake answers from PostgreSQL: held in its outbox
    await asyncio.sleep(5)
    assert await unpublished(rig.api, "intake", ids) == len(ids), "an event was acknowledged without two replicas"
    conn = await rig.api.db("grading")
    try:
        graded = await conn.fetchval("select count(*) from prospects where customer_id = any($1)",
                                     [uuid.UUID(i) for i in ids])
    finally:
        await conn.close()
    assert graded == 0
    for n in (2, 3):
        rig.cluster.nodes[n].launch()
    for n in (2, 3):
        await asyncio.to_thread(rig.cluster.nodes[n].wait_ready, 90, 3)
    await assert_each_applied_once(rig.api, ids)
    await all_marked_published(rig.api, "intake", ids)
    await analytics_mirrors_producers(rig.api, ids)
    await wait_fully_replicated(rig.cluster)


async def test_whole_stack_restart_keeps_messages_and_offsets(rig: Rig, reliability):
    reliability.record("the whole embedded stack stopped and started again (cluster, PostgreSQL, services)", 1,
                       "every message kept, no republish, no message consumed twice, new contacts flow")
    before = await post_contacts(rig.api, 10)
    await assert_each_applied_once(rig.api, before)
    await analytics_mirrors_producers(rig.api, before)
    ends = await end_offsets(rig.cluster.bootstrap, list(ALL_TOPICS))
    await asyncio.to_thread(rig.restart_everything)
    assert await end_offsets(rig.cluster.bootstrap, list(ALL_TOPICS)) == ends  # nothing lost or sent again
    after = await post_contacts(rig.api, 10)
    await assert_each_applied_once(rig.api, before + after)
    await analytics_mirrors_producers(rig.api, before + after)
    for service in ("intake", "grading", "followup"):
        assert await republish_count(rig.api, service) == 0, service
    # committed offsets were kept: no consumer read an old message again
    assert await duplicates_consumed(rig.api) == 0


async def test_topic_deleted_and_recreated_is_republished(rig: Rig, reliability):
    reliability.record(f"topic {CONTACTS} deleted and recreated on the cluster (its messages truly lost)", 1,
                       "intake's relay republishes from its store; consumers deduplicate; " + APPLIED_ONCE)
    before = await post_contacts(rig.api, 10)
    await assert_each_applied_once(rig.api, before)
    republished = await republish_count(rig.api, "intake")
    admin = AIOKafkaAdminClient(bootstrap_servers=rig.cluster.bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        await admin.delete_topics([CONTACTS])
    finally:
        await admin.close()
    deadline = asyncio.get_running_loop().time() + 30
    while CONTACTS in await describe(rig.cluster.bootstrap, [CONTACTS]) and \
            sum((await end_offsets(rig.cluster.bootstrap, [CONTACTS])).values()) > 0:
        assert asyncio.get_running_loop().time() < deadline, "the topic was never deleted"
        await asyncio.sleep(0.5)
    await kafka.ensure_topics(rig.cluster.bootstrap, [CONTACTS], 4, rig.cluster.replication)
    after = await post_contacts(rig.api, 10)
    await assert_each_applied_once(rig.api, before + after)
    # the relay compares its offsets with the broker's every few seconds (broker_check_seconds): the
    # contacts sent after the topic came back may be applied before it has looked
    deadline = asyncio.get_running_loop().time() + 30
    while await republish_count(rig.api, "intake") < republished + 1:
        assert asyncio.get_running_loop().time() < deadline, "the lost events were never republished"
        await asyncio.sleep(0.5)
    await analytics_mirrors_producers(rig.api, before + after)
