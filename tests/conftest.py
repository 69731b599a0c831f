import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One cache for the real models per test session: assembled and exported to ONNX once."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, request):
    """Every test gets its own index and data folders, and no network beyond loopback; the
    cache is the test's own too, except for real models (slow tests share one per session)."""
    slow = "slow" in request.keywords
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(request.getfixturevalue("model_cache") if slow else tmp_path / "cache"))
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(ROOT / "corpus"))
    if not slow:
        monkeypatch.setenv("ASSISTANT_EMBEDDER", "fake")
        monkeypatch.setenv("ASSISTANT_GRADER_EMBEDDER", "fake")
        monkeypatch.setenv("ASSISTANT_BACKEND", "extractive")
        monkeypatch.setenv("ASSISTANT_RERANKER", "off")  # the fake embedder's fusion; tests of the reranker inject a fake
    else:  # the real defaults, whatever the environment says
        for name in ("ASSISTANT_EMBEDDER", "ASSISTANT_GRADER_EMBEDDER", "ASSISTANT_BACKEND", "ASSISTANT_RERANKER"):
            monkeypatch.delenv(name, raising=False)
    real_connect = socket.socket.connect

    def guarded(self, address, *args):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and not host.startswith("/"):
            raise RuntimeError(f"tests must not reach the network (tried {address})")
        return real_connect(self, address, *args)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """A writable copy of the real corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", target)
    return target


@pytest.fixture(scope="session")
def corpus():
    from assistant.corpus import load_corpus

    return load_corpus(ROOT / "corpus")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """The Gradio app launched on a free loopback port (fake embedder, no language model)."""
    import os

    pytest.importorskip("gradio")
    root = tmp_path_factory.mktemp("app")
    saved = dict(os.environ)
    os.environ.update(ASSISTANT_EMBEDDER="fake", ASSISTANT_GRADER_EMBEDDER="fake", ASSISTANT_BACKEND="extractive", ASSISTANT_RERANKER="off",
                      ASSISTANT_INDEX_DIR=str(root / "index"),
                      ASSISTANT_DATA_DIR=str(root / "data"), ASSISTANT_CACHE_DIR=str(root / "cache"),
                      ASSISTANT_CORPUS_DIR=str(ROOT / "corpus"))
    try:
        import app  # its engine takes its settings from the environment now, once
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, show_error=False)
    yield f"http://127.0.0.1:{port}/"
    app.demo.close()


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the test session (Debian's binaries, loopback, temporary data)."""
    from servers import PostgresServer, binaries

    if binaries() is None and os.environ.get("CI"):
        pytest.fail("PostgreSQL is not installed; .ci/run installs Debian's postgresql package")
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer().start()
    yield server
    server.close()
