"""Benchmark: `crm import` of 100,000 business cards keeps memory bounded.

Runs the CLI's import pipeline (both passes: check, then read, dedup within
the file, chunk) over a generated file, with the HTTP sending replaced by a
sink, and reports time and peak Python memory (tracemalloc). The server side
is bounded by design: one request is at most 1,000 rows in one transaction.

    .venv/bin/python -m services.intake.benchmarks.import_memory [ROWS] [csv|xlsx]
"""
from __future__ import annotations

import csv
import io
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from services.intake.cli import ImportChannel, Importer, _results, _run
from services.intake.domain.sample_cards import write_sample_cards


class Sink(Importer):
    def send(self, rows) -> None:  # what would go over HTTP: counted, then dropped
        self.tally.created += len(rows)


def main(rows: int = 100_000, fmt: str = "csv") -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"cards.{fmt}"
        plan = write_sample_cards(path, rows, seed=7)
        tracemalloc.start()
        started = time.perf_counter()
        total = sum(1 for _ in _results(path, "bench", ImportChannel.BULK_IMPORT, None))
        sink = Sink(client=None, report=csv.writer(io.StringIO()), chunk=500)  # type: ignore[arg-type]
        _run(sink, _results(path, "bench", ImportChannel.BULK_IMPORT, None), total)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert sink.tally.created == plan.expected_accepted, (sink.tally.created, plan.expected_accepted)
    print(f"{rows} rows ({fmt}): {elapsed:.1f}s, {rows / elapsed:.0f} rows/s, peak Python memory "
          f"{peak / 2**20:.1f} MiB, accepted {sink.tally.created}, rejected {sum(sink.tally.rejected.values())}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, sys.argv[2] if len(sys.argv) > 2 else "csv")
