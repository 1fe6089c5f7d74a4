"""Field types every schema shares."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from renewmap.vocabulary import MAX_ID, MIN_ID

# A database id (or a version number) in a body: outside the range it names nothing.
Id = Annotated[int, Field(ge=MIN_ID, le=MAX_ID)]
