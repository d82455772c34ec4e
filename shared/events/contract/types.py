"""Shared field types of the event contract and the HTTP bodies built on it."""
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def no_lone_surrogate(value: Any) -> Any:
    """Text must be Unicode: a lone surrogate (JSON "\\ud800" unpaired) cannot be stored, encoded as
    UTF-8 or sent on, so it is refused here, naming the field, before anything deeper fails on it."""
    if isinstance(value, str) and not value.isascii():
        found = _LONE_SURROGATE.search(value)
        if found is not None:
            raise PydanticCustomError("lone_surrogate", "must be valid Unicode text (found a lone surrogate U+{code})",
                                      {"code": f"{ord(found.group()):04X}"})
    return value


# Single-line text: no control characters (they break CSV exports, logs and terminals).
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$"),
                      BeforeValidator(no_lone_surrogate)]
# Free text: line breaks and tabs allowed, other control characters not.
Text = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"),
                 BeforeValidator(no_lone_surrogate)]
# Ids people and systems type (consultants, teams): letters, digits and a few separators.
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]*$"
IDENTIFIER_MAX = 64
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN)]
Money = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
