"""Provenance record of an output: what made it, from what, with which randomness.

The record holds the git commit (and whether the work tree had uncommitted changes), the
package version, the sha256 of ``requirements.lock``, the specification file actually used (its
path, sha256 and, for a rerun, the ``--set`` overrides), the panel's sha256 and every seed of
the specification (any key named ``seed`` at any depth, with its dotted path). ``provenance_record``
is pure (values in, dict out); ``gather`` reads them from the working copy.
"""
from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def seeds_of(doc: Mapping[str, Any], prefix: str = "") -> dict[str, int]:
    """Every ``seed`` in a parsed specification, by dotted path (lists indexed ``[i]``)."""
    out: dict[str, int] = {}
    for k, v in doc.items():
        path = f"{prefix}.{k}" if prefix else str(k)
        if k == "seed" and isinstance(v, int) and not isinstance(v, bool):
            out[path] = v
        elif isinstance(v, Mapping):
            out.update(seeds_of(v, path))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                if isinstance(item, Mapping):
                    out.update(seeds_of(item, f"{path}[{i}]"))
    return out


def provenance_record(*, commit: str | None, dirty: bool | None, package_version: str, lock_sha256: str | None,
                      spec_path: str, spec_sha256: str, overrides: Sequence[str], panel_sha256: str,
                      seeds: Mapping[str, int]) -> dict[str, Any]:
    """The provenance dictionary written next to an output (JSON-ready, sorted keys)."""
    return {
        "git_commit": commit,
        "git_dirty": dirty,
        "package_version": package_version,
        "requirements_lock_sha256": lock_sha256,
        "spec": {"path": spec_path, "sha256": spec_sha256, "overrides": list(overrides)},
        "panel_sha256": panel_sha256,
        "seeds": dict(sorted(seeds.items())),
    }


def _sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the working copy at ``root``; (None, None) outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, check=True).stdout
        return commit, bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        return None, None


def gather(spec_path: Path, spec_doc: Mapping[str, Any], panel_path: Path, overrides: Sequence[str] = (),
           root: Path | None = None) -> dict[str, Any]:
    """Read commit, versions and checksums from the working copy and build the record."""
    from sahel_causal import __version__
    from sahel_causal.paths import PROJECT_ROOT

    root = root or PROJECT_ROOT
    commit, dirty = git_state(root)
    try:
        rel = Path(spec_path).resolve().relative_to(root).as_posix()
    except ValueError:
        rel = Path(spec_path).name
    return provenance_record(commit=commit, dirty=dirty, package_version=__version__,
                             lock_sha256=_sha(root / "requirements.lock"), spec_path=rel,
                             spec_sha256=_sha(Path(spec_path)) or "", overrides=overrides,
                             panel_sha256=_sha(Path(panel_path)) or "", seeds=seeds_of(spec_doc))
