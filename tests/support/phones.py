"""Mobile numbers no other contact of the test session has.

The session's stack keeps every customer every test made. A random number drawn from 10^8 meets an
earlier test's customer now and then, and that contact then joins the old customer (identity
resolution, as it should), so a test counting one task per new customer counts one too many. The
numbers here come from a counter under a prefix (198) no other test draws from."""
import itertools

_NEXT = itertools.count(1)


def unique_mobile() -> str:
    """A valid mainland mobile number, different on every call in this process."""
    return f"198{next(_NEXT):08d}"
