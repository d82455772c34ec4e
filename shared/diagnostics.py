"""`kill -USR1 <pid>`: every asyncio task of the service writes where it is waiting to the log.

For an operator facing a service that is up but not moving (a consumer that
stopped taking messages after a broker outage, a job that never returns): the
stack of each task names the await it is parked on, which py-spy cannot show for
coroutines. Frames are code locations only, never argument values, so no
personal data reaches the log.
"""
from __future__ import annotations

import asyncio
import signal

from .logging import get_logger

log = get_logger(__name__)


def awaited_chain(coro: object) -> tuple[list[str], str | None]:
    """The code locations from a coroutine down the chain of what it awaits, and the
    type of the innermost awaited object (a Future, usually)."""
    where: list[str] = []
    current, seen = coro, 0
    while current is not None and seen < 64:
        seen += 1
        frame = getattr(current, "cr_frame", None) or getattr(current, "gi_frame", None) \
            or getattr(current, "ag_frame", None)
        if frame is not None:
            where.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}")
        nxt = getattr(current, "cr_await", None) or getattr(current, "gi_yieldfrom", None) \
            or getattr(current, "ag_await", None)
        if nxt is None:
            return where, None if frame is not None else type(current).__name__
        current = nxt
    return where, None


def task_stacks() -> list[dict]:
    """Name and awaited chain (outermost first) of every task of the running loop."""
    found = []
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        where, innermost = awaited_chain(coro)
        found.append({"task": task.get_name(), "coroutine": getattr(coro, "__qualname__", repr(coro)),
                      "awaiting": innermost, "stack": where})
    return found


def dump_task_stacks() -> None:
    for found in task_stacks():
        log.warning("task_stack", **found)


def install_task_dump(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """SIGUSR1 dumps the task stacks. Where the platform has no SIGUSR1 (Windows) or the loop
    takes no signal handlers (not the main thread), the service runs without the dump and says so."""
    loop = loop or asyncio.get_running_loop()
    usr1 = getattr(signal, "SIGUSR1", None)
    if usr1 is None:
        log.info("task_dump_unavailable", reason="no SIGUSR1 on this platform")
        return
    try:
        loop.add_signal_handler(usr1, dump_task_stacks)
    except RuntimeError as exc:  # asyncio refuses signal handlers outside the main thread
        log.info("task_dump_unavailable", reason=str(exc))
