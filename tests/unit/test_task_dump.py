"""`install_task_dump`: SIGUSR1 dumps the task stacks where the loop can take it; elsewhere the
service starts without it (never an exception at start-up)."""
import asyncio
import os
import signal
import threading

import pytest

from shared import diagnostics


def test_a_loop_outside_the_main_thread_starts_without_the_dump():
    failures = []

    def run():
        loop = asyncio.new_event_loop()
        try:
            diagnostics.install_task_dump(loop)
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            failures.append(exc)
        finally:
            loop.close()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert failures == []


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="no SIGUSR1 on this platform")
async def test_sigusr1_dumps_the_stacks(monkeypatch):
    dumped = asyncio.Event()
    monkeypatch.setattr(diagnostics, "dump_task_stacks", dumped.set)
    loop = asyncio.get_running_loop()
    diagnostics.install_task_dump(loop)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.wait_for(dumped.wait(), 5)
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
