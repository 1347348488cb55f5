"""The source registry: which raw files the study reads, pinned by sha256.

``data/sources.toml`` is the single list of sources. :func:`resolve` returns the verified
path of one registered file; it refuses a missing file or a file whose checksum differs from
the pinned one, naming the file, both checksums and where to get the right version.
"""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sahel_causal.errors import ChecksumError, RawDataError
from sahel_causal.paths import SOURCES_TOML


@dataclass(frozen=True)
class SourceFile:
    """One raw file of a source: its path under the raw directory, checksum and public URL."""

    path: str
    sha256: str
    url: str | None = None


@dataclass(frozen=True)
class Source:
    """One registered data source with the metadata the README and codebook cite."""

    id: str
    title: str
    publisher: str
    version: str
    licence: str
    citation: str
    caveats: str
    files: tuple[SourceFile, ...] = field(default_factory=tuple)

    def file(self, name: str) -> SourceFile:
        """The registered file whose path ends with ``name``."""
        hits = [f for f in self.files if f.path.endswith(name)]
        if len(hits) != 1:
            raise RawDataError(f"Source {self.id!r} has no single registered file matching {name!r}.")
        return hits[0]


def load_registry(path: Path = SOURCES_TOML) -> dict[str, Source]:
    """Parse the registry file into ``{source id: Source}``, checking it is well formed."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    out: dict[str, Source] = {}
    required = {"id", "title", "publisher", "version", "licence", "citation", "caveats", "files"}
    for i, entry in enumerate(raw.get("source", [])):
        missing = required - set(entry)
        unknown = set(entry) - required
        if missing or unknown:
            raise RawDataError(
                f"{path}: source #{i + 1} ({entry.get('id', '?')}) has missing keys {sorted(missing)} "
                f"or unknown keys {sorted(unknown)}."
            )
        files = tuple(SourceFile(**f) for f in entry["files"])
        for f in files:
            if len(f.sha256) != 64:
                raise RawDataError(f"{path}: {entry['id']}: {f.path} has a malformed sha256.")
        if entry["id"] in out:
            raise RawDataError(f"{path}: source id {entry['id']!r} is registered twice.")
        out[entry["id"]] = Source(**{**entry, "files": files})
    return out


@lru_cache(maxsize=1)
def registry() -> dict[str, Source]:
    """The project's registry (cached)."""
    return load_registry()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _where_to_get(sf: SourceFile) -> str:
    if sf.url:
        return f"download it with `sahel-causal data fetch` (from {sf.url})"
    return ("it has no public download location (derived for this study); copy it from the "
            "project's shared raw-data folder (see MANIFEST.md there)")


def verify_file(raw_dir: Path, sf: SourceFile) -> Path:
    """Return the path of ``sf`` under ``raw_dir`` after checking it exists and its checksum."""
    p = raw_dir / sf.path
    if not p.is_file():
        raise RawDataError(f"Missing raw file {sf.path} under {raw_dir}: {_where_to_get(sf)}.")
    found = sha256_file(p)
    if found != sf.sha256:
        raise ChecksumError(
            f"Checksum mismatch for {sf.path}: expected sha256 {sf.sha256}, found {found}. "
            f"The file is not the registered version; restore it ({_where_to_get(sf)}), or, if the "
            "source was deliberately updated, change data/sources.toml and rebuild the panel."
        )
    return p


_VERIFIED: dict[tuple[str, str], Path] = {}
#: The latest ``(serial, source id, path)`` handed out by :func:`resolve`: when a loader fails on
#: a malformed file, :func:`sahel_causal.data.schema_check.fails_loudly` names the file it was reading.
_RESOLVED: list[tuple[int, str, Path]] = []
_SERIAL = [0]


def resolved_mark() -> int:
    """The serial number of the latest :func:`resolve` call (see :func:`resolved_since`)."""
    return _SERIAL[0]


def resolved_since(mark: int) -> list[tuple[str, Path]]:
    """The ``(source id, path)`` pairs resolved after ``mark`` (a former :func:`resolved_mark`)."""
    return [(s, p) for n, s, p in _RESOLVED if n > mark]


def resolve(source_id: str, name: str, raw_dir: Path) -> Path:
    """Verified path of the registered file ``name`` of ``source_id`` in ``raw_dir``."""
    src = registry().get(source_id)
    if src is None:
        raise RawDataError(f"Unknown source id {source_id!r}; registered: {sorted(registry())}.")
    sf = src.file(name)
    key = (str(raw_dir), sf.path)
    p = raw_dir / sf.path
    _SERIAL[0] += 1
    _RESOLVED.append((_SERIAL[0], source_id, p))
    del _RESOLVED[:-64]  # keep the record short; only the latest entries are ever read
    cached = _VERIFIED.get(key)
    if cached is not None and p.is_file():
        st = p.stat()
        if (st.st_size, st.st_mtime_ns) == cached:
            return p
    verify_file(raw_dir, sf)
    st = p.stat()
    _VERIFIED[key] = (st.st_size, st.st_mtime_ns)  # type: ignore[assignment]
    return p


def verify_all(raw_dir: Path) -> list[tuple[str, str, str]]:
    """Check every registered file; return ``(source, path, status)`` rows, status 'ok' or the error."""
    rows = []
    for src in registry().values():
        for sf in src.files:
            try:
                verify_file(raw_dir, sf)
                rows.append((src.id, sf.path, "ok"))
            except RawDataError as exc:
                rows.append((src.id, sf.path, str(exc)))
    return rows
