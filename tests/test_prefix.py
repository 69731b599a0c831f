"""The prefix cache's size cap (models/prefix.py): the least recently used states go first."""

import os

from assistant.models.prefix import _evict


def test_the_least_recently_used_states_are_evicted_first(tmp_path):
    for age, name in enumerate(["newest", "middle", "oldest"]):
        path = tmp_path / f"{name}.kv"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    (tmp_path / "notes.txt").write_bytes(b"x" * 1000)  # not a state: never counted or removed
    _evict(tmp_path, budget=250)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["middle.kv", "newest.kv", "notes.txt"]
    _evict(tmp_path, budget=1000)
    assert len(list(tmp_path.glob("*.kv"))) == 2
