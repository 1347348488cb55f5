"""Schema validation of loader outputs, with one error message for every source.

Every loader checks the tables it returns against a pandera schema. :func:`validate_frame`
runs the check lazily (all failures at once) and turns pandera's errors into
:class:`sahel_causal.errors.SchemaError` with a message that names the source and the table
and says what to do.
"""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError as PanderaSchemaError
from pandera.errors import SchemaErrors as PanderaSchemaErrors

from sahel_causal.errors import SchemaError

#: What to do when a loader's output fails its schema (the default advice).
ADVICE = ("The raw file or the loader changed; check the file against MANIFEST.md and fix the loader.")


def validate_frame(df: pd.DataFrame, schema: pa.DataFrameSchema, source_id: str,
                   what: str = "country-year table", *, advice: str = ADVICE) -> pd.DataFrame:
    """``df`` validated by ``schema`` (lazily: all failures are reported together).

    Raises :class:`SchemaError` with the message ``"<source_id>: <what> fails its schema:
    <pandera report>. <advice>"``; ``advice`` defaults to :data:`ADVICE` (check the file
    against MANIFEST.md and fix the loader).
    """
    try:
        return schema.validate(df, lazy=True)
    except (PanderaSchemaError, PanderaSchemaErrors) as exc:
        raise SchemaError(f"{source_id}: {what} fails its schema: {exc}. {advice}") from None
