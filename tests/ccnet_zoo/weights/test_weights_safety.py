"""The registry and bundles never touch what is not theirs: validated names, listing that never deletes, stamps
that notice replaced files, bounded downloads, no silent replacement, bundles validated before building."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ccnet_zoo.cli import main
from ccnet_zoo.models.errors import CheckpointError
from ccnet_zoo.weights import DownloadError, Registry, WeightsError, WeightsNotAvailableError
from ccnet_zoo.weights.download import LimitedDownloader, size_limit

PAYLOAD = bytes(range(256)) * 400  # 100 kB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _shipped(tmp_path: Path, entries: dict) -> Path:
    path = tmp_path / "shipped" / "registry.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": 1, "entries": entries}))
    return path


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("../evil", {}),
        ("a/b", {}),
        ("/abs", {}),
        (".hidden", {}),
        ("ok", {"file": "../../outside.bin"}),
        ("ok", {"file": "/etc/passwd"}),
        ("ok", {"file": "sub\\x.bin"}),
        ("ok", {"package_file": "../x.bin"}),
        ("ok", {"installed": ["../../x.pt"]}),
        ("ok", {"installed": ["/abs/x.pt"]}),
        ("ok", {"archive": {"member": "../x.pt", "sha256": "a" * 64}}),
    ],
)
def test_registry_names_and_file_fields_are_validated(tmp_path: Path, cache: Path, name: str, fields: dict) -> None:
    entry = {"file": "w.bin", "sha256": SHA, **fields}
    with pytest.raises(WeightsError, match=r"plain name|relative path|must not contain"):
        Registry.load(shipped=_shipped(tmp_path, {name: entry}))
    user = cache / "registry.json"  # the user registry is read with the same rules
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(json.dumps({"format": 1, "entries": {name: entry}}))
    with pytest.raises(WeightsError):
        Registry.load(shipped=_shipped(tmp_path, {}))


def _cached(cache: Path, tmp_path: Path) -> tuple[Registry, Path]:
    src = tmp_path / "w.bin"
    src.write_bytes(PAYLOAD)
    reg = Registry.load()
    reg.add("mine", file=src)
    return reg, reg.path("mine")


def test_listing_never_deletes(cache: Path, tmp_path: Path) -> None:
    _, path = _cached(cache, tmp_path)
    path.write_bytes(b"x" + PAYLOAD[1:])
    r = CliRunner().invoke(main, ["weights", "list"])
    assert r.exit_code == 0 and "missing" in r.output
    assert path.read_bytes()[:1] == b"x"  # still there, just not trusted
    with pytest.raises(WeightsNotAvailableError):
        Registry.load().path("mine")
    assert path.exists()


def test_a_file_replaced_with_same_size_and_mtime_is_rehashed(cache: Path, tmp_path: Path) -> None:
    reg, path = _cached(cache, tmp_path)
    st = path.stat()
    other = path.with_name("other")
    other.write_bytes(b"y" + PAYLOAD[1:])  # same size
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    os.replace(other, path)  # another inode
    with pytest.raises(WeightsNotAvailableError):
        reg.path("mine")


def test_verify_forces_a_full_hash(cache: Path, tmp_path: Path) -> None:
    reg, path = _cached(cache, tmp_path)
    stamp = path.with_name(f".{path.name}.verified")
    doc = json.loads(stamp.read_text())
    stamp.write_text(json.dumps({**doc, "sha256": "0" * 64}))  # a stamp that lies about the file
    with pytest.raises(WeightsNotAvailableError):
        reg.path("mine")
    assert reg.path("mine", verify=True) == path
    r = CliRunner().invoke(main, ["weights", "path", "mine", "--verify"])
    assert r.exit_code == 0 and r.output.strip() == str(path)


def test_add_refuses_to_replace_without_force(cache: Path, tmp_path: Path) -> None:
    reg, _ = _cached(cache, tmp_path)
    other = tmp_path / "other.bin"
    other.write_bytes(PAYLOAD[::-1])
    with pytest.raises(WeightsError, match="already registered; pass --force"):
        reg.add("mine", file=other)
    r = CliRunner().invoke(main, ["weights", "add", "mine", "--file", str(other)])
    assert r.exit_code == 2 and "--force" in r.stderr and "Traceback" not in r.stderr
    assert Registry.load().entry("mine").sha256 == SHA
    r = CliRunner().invoke(main, ["weights", "add", "mine", "--file", str(other), "--force"])
    assert r.exit_code == 0, r.output
    assert Registry.load().path("mine").read_bytes() == PAYLOAD[::-1]


def test_download_larger_than_registered_is_stopped(server, cache: Path, tmp_path: Path) -> None:
    big = PAYLOAD * 12  # 1.2 MB, registered as 100 kB: over the 1 MiB margin
    (server.root / "w.bin").write_bytes(big)
    entry = {"file": "w.bin", "sha256": hashlib.sha256(big).hexdigest(), "size": 1000, "urls": [f"{server.url}/w.bin"]}
    reg = Registry.load(shipped=_shipped(tmp_path, {"w": entry}))
    with pytest.raises(DownloadError, match="allowed"):
        reg.fetch("w")
    assert not any(p.is_file() for p in cache.rglob("*") if p.name != "registry.json")
    assert size_limit(1000) == 1000 + (1 << 20) and size_limit(None) == 4 << 30


def test_streamed_size_and_deadline_limits(server, tmp_path: Path) -> None:
    (server.root / "w.bin").write_bytes(PAYLOAD)
    with pytest.raises(DownloadError, match="allowed"):  # counted while streaming, whatever the header said
        LimitedDownloader(max_bytes=1 << 16)(f"{server.url}/nolength/w.bin", str(tmp_path / "a"))
    with pytest.raises(DownloadError, match="not finished within"):
        LimitedDownloader(max_bytes=1 << 20, deadline_s=0.0)(f"{server.url}/w.bin", str(tmp_path / "b"))
    LimitedDownloader(max_bytes=1 << 20)(f"{server.url}/w.bin", str(tmp_path / "c"))
    assert (tmp_path / "c").read_bytes() == PAYLOAD


def _bundle_with(tmp_path: Path, edit) -> Path:
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from ccnet_zoo.weights.registry import PACKAGE_DIR

    src = PACKAGE_DIR / "ccnet-tiny-phantom.safetensors"
    with safe_open(str(src), framework="pt") as fh:
        meta = json.loads(fh.metadata()["ccnet_zoo"])
    edit(meta)
    out = tmp_path / "b.safetensors"
    save_file(load_file(str(src)), str(out), metadata={"ccnet_zoo": json.dumps(meta)})
    return out


def test_bundle_config_larger_than_its_tensors_is_refused_before_building(tmp_path: Path, monkeypatch) -> None:
    import torch

    from ccnet_zoo.pipeline.loading import read_bundle

    def huge(meta):
        levels = len(meta["config"]["ldm"]["params"]["channels"])
        meta["config"]["ldm"]["params"]["channels"] = [4096] + [8192] * (levels - 1)
        meta["config"]["controlnet"]["params"]["channels"] = [4096] + [8192] * (levels - 1)

    path = _bundle_with(tmp_path, huge)
    import safetensors.torch

    import ccnet_zoo.pipeline.loading as factory

    def never(*a, **k):
        raise AssertionError("tensors loaded or a network built before the bundle was validated")

    monkeypatch.setattr(safetensors.torch, "load_file", never)
    real_build = factory.build_denoiser

    def meta_only(cfg, *a, **k):  # 4096/8192 channels on a real device would take GBs
        assert torch.empty(0).device.type == "meta", "a network was built before the bundle was validated"
        return real_build(cfg, *a, **k)

    monkeypatch.setattr(factory, "build_denoiser", meta_only)
    with pytest.raises(CheckpointError, match="refusing to build"):
        read_bundle(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["config"].update(image_size="big"),
        lambda m: m["config"]["train"].update(hack={}),
        lambda m: m.update(config=[]),
        lambda m: m["config"]["ldm"].update(kind="sd"),
    ],
)
def test_bundle_schema_is_checked(tmp_path: Path, edit) -> None:
    from ccnet_zoo.pipeline.loading import read_bundle

    with pytest.raises(CheckpointError):
        read_bundle(_bundle_with(tmp_path, edit))


def test_shipped_bundle_passes_the_checks() -> None:
    from ccnet_zoo.pipeline.loading import check_bundle
    from ccnet_zoo.weights.registry import PACKAGE_DIR

    assert check_bundle(PACKAGE_DIR / "ccnet-tiny-phantom.safetensors")["config"]["image_size"] == 64
