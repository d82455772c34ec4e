"""The time a service works with; tests move it instead of sleeping.

When CRM_CLOCK_OFFSET_FILE names a file, its content (seconds, may be
fractional) is added to the wall clock; the file is re-read when it changes,
so a test can move time in running service processes.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset_file: str | None = None) -> None:
        self.offset_file = offset_file
        self._mtime: float | None = None
        self._offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self._current_offset()

    def _current_offset(self) -> timedelta:
        if not self.offset_file:
            return self._offset
        try:
            mtime = os.stat(self.offset_file).st_mtime_ns
        except FileNotFoundError:
            return timedelta()
        if mtime != self._mtime:
            with open(self.offset_file) as f:
                self._offset = timedelta(seconds=float(f.read().strip() or 0))
            self._mtime = mtime
        return self._offset
