"""Named exceptions of sahel-causal.

Every error says what went wrong and what to do about it; none is raised with ``assert``.
"""
from __future__ import annotations


class SahelCausalError(Exception):
    """Base class of all errors raised by sahel-causal."""


class RawDataError(SahelCausalError):
    """A raw source file is missing, unreadable or not the registered version."""


class ChecksumError(RawDataError):
    """A raw file's sha256 differs from the one pinned in ``data/sources.toml``."""


class UnknownCountryError(SahelCausalError):
    """A source holds country names that the crosswalk cannot resolve."""


class DuplicateKeyError(SahelCausalError):
    """A table that must be unique on its key (e.g. iso3-year) is not."""


class ImplausibleValueError(SahelCausalError):
    """A value fails a plausibility rule and no documented correction covers it."""


class SchemaError(SahelCausalError):
    """A table does not have the columns, types or ranges its schema requires."""


class SpecificationError(SahelCausalError):
    """A specification file is invalid (unknown key, variable, estimator, empty sample)."""


class ReferenceDataError(SahelCausalError):
    """A hand-coded reference table (timelines, corrections) is malformed."""
