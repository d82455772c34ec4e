"""Background loops end only on shutdown: a CancelledError raised inside a client library (as
aiokafka does after a broker outage) is a failure to restart from, not a reason to stop."""
from __future__ import annotations

import asyncio
import io
import json

from shared.diagnostics import task_stacks
from shared.logging import configure_logging
from shared.runtime.kafka import stop_quietly
from shared.runtime.supervise import keep_running, watch


async def _inner_cancel() -> None:
    """What aiokafka's stop() does: cancel one of its own tasks and await it."""
    inner = asyncio.create_task(asyncio.sleep(10))
    await asyncio.sleep(0)
    inner.cancel()
    await inner


async def test_a_cancellation_raised_inside_a_library_restarts_the_loop():
    attempts = 0
    failures = 0

    async def attempt() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            await _inner_cancel()
        else:
            await asyncio.sleep(10)

    def failed() -> None:
        nonlocal failures
        failures += 1

    loop_task = asyncio.create_task(keep_running(attempt, "test_restarting", pause=0.01, on_failure=failed))
    await asyncio.sleep(0.2)
    assert not loop_task.done()
    assert (attempts, failures) == (3, 2)
    loop_task.cancel()  # shutdown: this one ends the loop
    await asyncio.gather(loop_task, return_exceptions=True)
    assert loop_task.cancelled()


async def test_an_exception_is_logged_and_retried():
    stream = io.StringIO()
    configure_logging("test", stream=stream)
    calls = 0

    async def attempt() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("broker gone")
        await asyncio.sleep(10)

    loop_task = asyncio.create_task(keep_running(attempt, "test_restarting", pause=0.01, job="x"))
    await asyncio.sleep(0.1)
    loop_task.cancel()
    await asyncio.gather(loop_task, return_exceptions=True)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert any(line["event"] == "test_restarting" and "broker gone" in line["error"] and line["job"] == "x"
               for line in lines)
    assert calls == 2


class _ClientCancellingItself:
    async def stop(self) -> None:
        await _inner_cancel()


async def test_stop_quietly_swallows_a_client_cancelling_itself_but_not_shutdown():
    await stop_quietly(_ClientCancellingItself())  # returns: logged, not raised

    class Slow:
        async def stop(self) -> None:
            await asyncio.sleep(10)

    stopping = asyncio.create_task(stop_quietly(Slow()))
    await asyncio.sleep(0.05)
    stopping.cancel()
    await asyncio.gather(stopping, return_exceptions=True)
    assert stopping.cancelled()


async def test_a_background_task_that_ends_is_logged_unless_stopping():
    stream = io.StringIO()
    configure_logging("test", stream=stream)
    stopping = False
    ended = watch(asyncio.create_task(_inner_cancel(), name="consumer-x"), lambda: stopping)
    await asyncio.gather(ended, return_exceptions=True)
    await asyncio.sleep(0)
    stopping = True
    quiet = watch(asyncio.create_task(asyncio.sleep(0), name="relay"), lambda: stopping)
    await quiet
    await asyncio.sleep(0)
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["event"], e["task"]) for e in events if e["event"] == "background_task_ended"] == \
        [("background_task_ended", "consumer-x")]


async def test_task_stacks_name_where_each_task_waits():
    async def parked() -> None:
        await asyncio.Event().wait()

    task = asyncio.create_task(parked(), name="parked-consumer")
    await asyncio.sleep(0)
    found = {t["task"]: t for t in task_stacks()}
    assert any("parked" in frame for frame in found["parked-consumer"]["stack"])
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
