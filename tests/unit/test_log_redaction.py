"""One redaction for every log line: structlog events and standard-library records."""
import logging

from shared.logging import RedactingFilter
from shared.pii import REDACTED, redact_pii


def test_secrets_are_redacted_too():
    out = redact_pii(None, "info", {"event": "x", "token": "abc", "Authorization": "Bearer abc"})
    assert out["token"] == REDACTED and out["Authorization"] == REDACTED


def test_stdlib_records_and_tracebacks_are_redacted():
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "lookup %s failed", ("138 0013 8000",),
                               None)
    try:
        raise ValueError("Key (key)=(phone:+8613800138000) already exists; id 11010519491231002X")
    except ValueError:
        import sys
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    text = logging.Formatter("%(message)s").format(record)
    assert "13800138000" not in text.replace(" ", "") and "11010519491231002X" not in text
    assert text.startswith(f"lookup {REDACTED} failed") and "ValueError" in text
