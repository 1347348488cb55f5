"""Download registered raw files from their canonical public locations, checksum-verified.

Uses pooch (Uieda et al. 2020) with the sha256 pinned in ``data/sources.toml``: a download
whose bytes differ is rejected and not kept. Files without a public location (derived for
this study) are reported, not fetched. Existing files with the right checksum are skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sahel_causal.data.registry import Source, registry, sha256_file


@dataclass(frozen=True)
class FetchOutcome:
    """What happened to one file: 'present', 'downloaded', 'no-url', 'offline' or 'failed: ...'."""

    source: str
    path: str
    status: str


class OfflineError(ConnectionError):
    """No network connection to the download host."""


def _download(url: str, sha256: str, target: Path) -> None:
    import pooch

    target.parent.mkdir(parents=True, exist_ok=True)
    pooch.retrieve(url=url, known_hash=f"sha256:{sha256}", fname=target.name,
                   path=target.parent, progressbar=False)


def _is_offline_error(exc: BaseException) -> bool:
    import socket

    names = {"ConnectionError", "NewConnectionError", "MaxRetryError", "ConnectTimeout",
             "gaierror", "Timeout", "ReadTimeout"}
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, (socket.gaierror, ConnectionError, TimeoutError)) or type(seen).__name__ in names:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def fetch(raw_dir: Path, sources: list[str] | None = None) -> list[FetchOutcome]:
    """Fetch every registered file (or those of ``sources``) into ``raw_dir``.

    Stops at the first network failure and raises :class:`OfflineError` with one clear line.
    """
    reg = registry()
    chosen: list[Source] = [reg[s] for s in (sources or list(reg))]
    out: list[FetchOutcome] = []
    for src in chosen:
        for sf in src.files:
            target = raw_dir / sf.path
            if target.is_file() and sha256_file(target) == sf.sha256:
                out.append(FetchOutcome(src.id, sf.path, "present"))
                continue
            if not sf.url:
                out.append(FetchOutcome(src.id, sf.path, "no-url"))
                continue
            try:
                _download(sf.url, sf.sha256, target)
            except Exception as exc:  # noqa: BLE001 - classified below
                if _is_offline_error(exc):
                    raise OfflineError(
                        "No internet connection: cannot download the raw sources; copy them into "
                        f"{raw_dir} by hand (see data/sources.toml) or rerun when online."
                    ) from exc
                out.append(FetchOutcome(src.id, sf.path, f"failed: {exc}"))
                continue
            out.append(FetchOutcome(src.id, sf.path, "downloaded"))
    return out
