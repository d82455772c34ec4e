"""Background loops (relay, consumers, periodic jobs) that outlive every failure but shutdown.

Found with the 3-broker cluster tests (issue 15): when brokers die, aiokafka can end
`stop()` or a commit with a CancelledError of its own (it cancels its internal tasks
and awaits them). A loop that re-raised every CancelledError as "we are shutting
down" ended silently there: analytics' consumer and follow-up's relay stopped for
good with nothing logged while /ready still said yes. Only a cancellation *of our
own task* (Task.cancelling(), shutdown) may end a loop; any other is a failure to
restart from, like any exception.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ..logging import get_logger

log = get_logger(__name__)


def shutting_down() -> bool:
    """True when the current task itself has been asked to cancel (not a library's inner cancel)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def keep_running(attempt: Callable[[], Awaitable[None]], event: str, pause: float = 1.0,
                       on_failure: Callable[[], None] | None = None, **context: object) -> None:
    """Run `attempt` again after every failure, logging `event` with the error; end only on shutdown.
    `attempt` returning normally is also run again (a periodic job, a loop that gave up its lead)."""
    while True:
        try:
            await attempt()
        except asyncio.CancelledError:
            if shutting_down():
                raise
            log.warning(event, error="CancelledError raised inside a client library", **context)
            if on_failure:
                on_failure()
        except Exception as exc:  # noqa: BLE001 - background work must outlive outages
            log.warning(event, error=repr(exc), **context)
            if on_failure:
                on_failure()
        await asyncio.sleep(pause)


def watch(task: asyncio.Task, stopping: Callable[[], bool]) -> asyncio.Task:
    """Log a background task that ends while the service is not `stopping` (it should never end)."""
    def ended(done: asyncio.Task) -> None:
        if stopping():
            return
        exc = None if done.cancelled() else done.exception()
        log.error("background_task_ended", task=done.get_name(),
                  error=repr(exc) if exc else ("cancelled" if done.cancelled() else "returned"))
    task.add_done_callback(ended)
    return task
