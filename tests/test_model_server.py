"""The model on a real inference server: llama.cpp's OpenAI-compatible server (llama-cpp-python[server])
with the packaged GGUF, on loopback, driven through the official openai client."""

import json

import pytest

from assistant.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_server(model_cache):
    from servers import LlamaServer

    from assistant.models.weights import gguf_path, language_model

    pytest.importorskip("llama_cpp.server.app", reason="llama-cpp-python[server] is not installed (make llm)")
    server = LlamaServer(gguf_path(language_model("qwen-1.5b"), model_cache)).start()
    yield server.url
    server.close()


@pytest.fixture
def on_server(llama_server, monkeypatch):
    monkeypatch.setenv("ASSISTANT_BACKEND", "openai")
    monkeypatch.setenv("ASSISTANT_OPENAI_URL", llama_server)
    monkeypatch.setenv("ASSISTANT_OPENAI_MODEL", "qwen-1.5b")


def test_ask_through_the_server_streams_a_cited_supported_answer(on_server):
    import io

    out = io.StringIO()
    assert main(["ask", "What does dropout mean?", "--json"], stdout=out) == 0
    answer = json.loads(out.getvalue())
    assert answer["backend"] == "openai:qwen-1.5b" and answer["fallback"] is False
    assert "p3-q26" in answer["citations"] and "[p3-q26]" in answer["answer"]


def test_the_judge_reads_log_probabilities_from_the_server(on_server):
    from assistant.engine import Engine

    engine = Engine(log=lambda m: None)
    judged = engine.judged_grader
    swap = judged.grade("p1-q10", "ReLU keeps negative values and zeroes positive ones.")
    good = judged.grade("p3-q26", "Dropout randomly switches neurons off during training so the network does not "
                                  "rely on any one of them; at inference it is turned off.")
    assert swap.grader == good.grader == "judged (openai:qwen-1.5b)"
    assert swap.score <= 3 < 7 <= good.score


def test_coaching_through_the_server(on_server):
    import io

    out = io.StringIO()
    assert main(["grade", "p3-q26", "--answer", "Dropout switches neurons off.", "--coach", "--json"], stdout=out) == 0
    coaching = json.loads(out.getvalue())["coaching"]
    assert coaching["backend"] == "openai:qwen-1.5b" and coaching["feedback"] and coaching["follow_up"].endswith("?")
