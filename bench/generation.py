"""Generation benchmark: speed of each backend on fixed prompts, and faithfulness of answers.

    .venv/bin/python bench/generation.py                      # llama.cpp speed + faithfulness (50 questions)
    .venv/bin/python bench/generation.py --transformers       # also transformers on the same GGUF (slow: ~9 GB, ~1 min load)
    .venv/bin/python bench/generation.py --questions 20 --no-speed
    .venv/bin/python bench/generation.py --no-speed --questions 0 --coaching 30   # coaching of 30 graded answers
    .venv/bin/python bench/generation.py --no-speed --questions 0 --startup       # a fresh `assistant ask`, phase by phase
    .venv/bin/python bench/generation.py --no-speed --no-compare --references 1  # the best reference alone in the prompt

Speed: time to first token, tokens/s (llama.cpp counts tokens with the model's tokenizer) and the
process's peak RSS, each backend in its own process. Faithfulness: in-scope questions from
bench/data/retrieval_queries.tsv (every fourth, in file order); an answer counts as faithful when
the model's answer was kept (every sentence supported by a reference sentence) and it cites at
least one acceptable id for the question. Fallbacks are counted apart. Every answer, with its
notices and the reference answers it cites, is written to bench/results/faithfulness.jsonl so a
person can read each kept answer against its references (the README reports that reading).

Coaching: the good, partial and wrong answers of the team set's first questions are graded by the
judged grader and coached; bench/results/coaching.jsonl holds each one with the grader's covered
points, for reading every sentence that credits the candidate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ASK_HELDOUT = ROOT / "bench" / "data" / "ask_heldout2.tsv"  # read in session 16 (20/30), as ask_heldout.tsv in 15: both dev sets now
sys.path.insert(0, str(ROOT))
PROMPTS = [
    [{"role": "system", "content": "You are a deep-learning interview coach. Answer in two sentences."},
     {"role": "user", "content": "What is dropout and why does it help?"}],
    [{"role": "system", "content": "You are a deep-learning interview coach. Answer in two sentences."},
     {"role": "user", "content": "Explain the difference between batch normalization and layer normalization."}],
    [{"role": "system", "content": "You are a deep-learning interview coach. Answer in two sentences."},
     {"role": "user", "content": "Why do we initialise weights randomly?"}],
]


def speed(backend: str) -> dict:
    from assistant.config import Settings
    from assistant.models.language import backends

    generator, _ = backends(Settings().with_overrides(backend=backend))
    started = time.perf_counter()
    generator.load()
    load_s = time.perf_counter() - started
    rows = []
    for messages in PROMPTS:
        started, first, text = time.perf_counter(), None, ""
        for piece in generator.stream(messages, 96):
            first = first or time.perf_counter() - started
            text += piece
        total = time.perf_counter() - started
        if backend == "llama":
            tokens = len(generator.load().tokenize(text.encode(), add_bos=False))
        else:
            tokens = len(generator.load()[1](text, add_special_tokens=False)["input_ids"])
        rows.append((first, tokens / max(1e-9, total - first), tokens))
    return {"backend": generator.name, "load_s": load_s, "ttft_s": [r[0] for r in rows], "tok_s": [r[1] for r in rows],
            "tokens": [r[2] for r in rows], "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def benchmark_questions(n: int) -> list:
    """The first ``n`` of the 50 questions the faithfulness reading uses: every fourth in-scope query of the retrieval set."""
    from bench.retrieval import load_queries

    return [q for q in load_queries() if q.ids][::4][:n]


def faithfulness(n: int, heldout: Path | None = None, compare: bool = True) -> None:
    from bench.retrieval import load_queries
    from assistant.coach.answer import Answer
    from assistant.engine import Engine

    engine = Engine(log=lambda m: None)
    queries = load_queries(heldout)[:n] if heldout else benchmark_questions(n)
    kept = correct = fallbacks = out_of_scope = trimmed = 0
    ttfts, totals, reasons, saved, compared = [], [], [], [], []
    spent = Spent(engine)
    for q in queries:
        spent.start()
        started, first, answer = time.perf_counter(), None, None
        pieces = []
        for event in engine.chat.ask_stream(q.text):
            if isinstance(event, Answer):
                answer = event
            else:
                pieces.append(event)
                if isinstance(event, str):  # not a Checking status: text on screen, a verified sentence
                    first = first or time.perf_counter() - started
        totals.append(time.perf_counter() - started)
        spent.stop(totals[-1])
        if first is not None:
            ttfts.append(first)
            if compare:
                compared.append(compare_checks(engine, q.text, pieces))
        trimmed += any(n.startswith("Left out") for n in answer.notices)
        saved.append({"query": q.text, "acceptable": sorted(q.ids), "answer": answer.text, "citations": list(answer.citations),
                      "fallback": answer.fallback, "in_scope": answer.in_scope, "notices": list(answer.notices),
                      "references": {rid: engine.corpus.get(rid).answer_text for rid in answer.citations}})
        if not answer.in_scope:
            out_of_scope += 1
        elif answer.fallback:
            fallbacks += 1
            reasons.append(f"{q.text!r}: {answer.notices[-1]}")
        else:
            kept += 1
            correct += bool(set(answer.citations) & q.ids)
            if not set(answer.citations) & q.ids:
                reasons.append(f"{q.text!r}: cites {', '.join(answer.citations)}, acceptable {', '.join(sorted(q.ids))}")
    n = len(queries)
    print(f"faithfulness over {n} in-scope questions ({engine.model.writer.name if engine.model.writer else 'no model'}):")
    print(f"  model answer kept (every sentence supported): {kept}/{n}; of those citing an acceptable question: {correct}/{kept}")
    print(f"  answers that cite a correct question and are supported: {correct}/{n} ({correct / n:.0%})")
    print(f"  fell back to the extractive answer: {fallbacks}; judged out of scope (model not called): {out_of_scope}; "
          f"kept with unsupported sentences left out: {trimmed}")
    if ttfts:
        print(f"  first text on screen (retrieval, prompt, a sentence and its check): p50 {np.percentile(ttfts, 50):.2f} s, "
              f"p95 {np.percentile(ttfts, 95):.2f} s, max {max(ttfts):.2f} s")
        print(f"  whole checked answer: p50 {np.percentile(totals, 50):.2f} s, p95 {np.percentile(totals, 95):.2f} s")
        print(f"  where an answer's time goes (p50 over answers; the rest is retrieval, citing and the model's generating): "
              + spent.summary())
    if compared:
        for name in ("verifier", "judge"):
            rows = [c[name] for c in compared]
            verdicts = [v for r in rows for _, v in r["verdicts"]]
            print(f"  {name} reading the same texts: {len(verdicts)} sentences, supported {verdicts.count('supported')}, "
                  f"contradicted {verdicts.count('contradicted')}, not addressed {verdicts.count('not addressed')}; "
                  f"p50 {np.percentile([r['s'] for r in rows], 50):.2f} s, p95 {np.percentile([r['s'] for r in rows], 95):.2f} s per answer")
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "faithfulness-checks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in compared), encoding="utf-8")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / (f"faithfulness-{heldout.stem}.jsonl" if heldout else "faithfulness.jsonl")).write_text("".join(json.dumps(r) + "\n" for r in saved), encoding="utf-8")
    for reason in reasons:
        print(f"  not counted: {reason}")


class Spent:
    """Where each answer's time goes: the writer's wait for its first piece (reading the prompt) and
    the judge's calls (checking sentences), timed by wrapping the two objects in this process."""

    def __init__(self, engine) -> None:
        self.rows: list[dict] = []
        self._now: dict = {}
        writer, judge = engine.model.writer, engine.model.judge
        if writer is not None:
            stream = writer.stream

            def timed_stream(*args, **kwargs):
                begun = time.perf_counter()
                for i, piece in enumerate(stream(*args, **kwargs)):
                    if i == 0:
                        self._now["prompt"] += time.perf_counter() - begun
                    yield piece
            writer.stream = timed_stream
        if judge is not None:
            choose = judge.backend.choose

            def timed_choose(*args, **kwargs):
                begun = time.perf_counter()
                try:
                    return choose(*args, **kwargs)
                finally:
                    self._now["checks"] += time.perf_counter() - begun
                    self._now["check calls"] += 1
            judge.backend.choose = timed_choose

    def start(self) -> None:
        self._now = {"prompt": 0.0, "checks": 0.0, "check calls": 0}

    def stop(self, total: float) -> None:
        self.rows.append({**self._now, "total": total})

    def summary(self) -> str:
        if not self.rows:
            return "nothing timed"
        share = [r["checks"] / r["total"] for r in self.rows if r["total"]]
        return (f"prompt read (to the first piece) {np.median([r['prompt'] for r in self.rows]):.2f} s, "
                f"judge checks {np.median([r['checks'] for r in self.rows]):.2f} s over "
                f"{np.median([r['check calls'] for r in self.rows]):.0f} calls ({np.median(share):.0%} of the answer)")


def fresh_processes(n: int) -> None:
    """A new user's `assistant ask`: whole processes, the model's against the extractive backend, alternated."""
    from bench.retrieval import load_queries

    queries = [q.text for q in load_queries() if q.ids][1::4][:n]
    times: dict[str, list[float]] = {"llama": [], "extractive": []}
    for query in queries:
        for backend in times:
            started = time.perf_counter()
            subprocess.run([str(ROOT / ".venv" / "bin" / "assistant"), "--backend", backend, "ask", query],
                           capture_output=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            times[backend].append(time.perf_counter() - started)
    llama, extractive = np.median(times["llama"]), np.median(times["extractive"])
    print(f"fresh 'assistant ask' processes ({n} questions): llama p50 {llama:.1f} s (max {max(times['llama']):.1f}), "
          f"extractive p50 {extractive:.1f} s; ratio {llama / extractive:.1f}x")


def startup_phases(query: str, backend: str) -> dict:
    """Where a fresh `assistant ask` spends its time, phase by phase, in this (fresh) process: what the
    CLI does, in its order, each phase timed on its own."""
    marks, started = {}, time.perf_counter()

    def mark(name: str) -> None:
        nonlocal started
        marks[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    import assistant.cli.main  # noqa: F401  (the CLI's own imports)
    from assistant.config import Settings
    from assistant.engine import Engine
    mark("imports")
    engine = Engine(Settings().with_overrides(backend=backend), log=lambda m: None)
    engine.corpus
    mark("corpus")
    engine.retriever
    mark("index and embedder")
    engine.search(query)
    mark("first search")
    if backend != "extractive":
        engine.model.writer.load()
        mark("writer load")
        if engine.model.judge is not None and hasattr(engine.model.judge.backend, "load"):
            engine.model.judge.backend.load()  # its own llama.cpp context
            mark("judge load")
    first, begun = None, time.perf_counter()
    for event in engine.chat.ask_stream(query):
        if first is None and isinstance(event, str):
            first = time.perf_counter() - begun
    mark("answer")
    marks["of which first shown sentence"] = round(first or 0.0, 2)
    return marks


def compare_checks(engine, query: str, pieces: list[str]) -> dict:
    """The model's whole text for a question (generated again without stopping: greedy, so the same
    start) read sentence by sentence by each checker: the verifier, and the judge (the old way)."""
    from assistant.coach.answer import answer_hits
    from assistant.coach.ask import ANSWER_TOKENS, MAX_REFERENCES, ask_messages

    chat = engine.chat
    result = chat.retrieve(query)
    records = [engine.corpus.get(h.id) for h in answer_hits(result, MAX_REFERENCES)]
    text = "".join(engine.model.writer.stream(ask_messages(result.query, records), ANSWER_TOKENS)).strip()
    out = {"query": query, "text": text, "references": {r.id: r.answer_text for r in records}}
    verifier = chat.verifier
    for name, checker in (("verifier", engine.verifier), ("judge", None)):
        chat.verifier = checker
        started = time.perf_counter()
        verdicts = chat.check_text(text, records)
        out[name] = {"s": time.perf_counter() - started, "sentences": len(verdicts), "verdicts": verdicts}
    chat.verifier = verifier
    return out


def coaching(n: int) -> None:
    from assistant.engine import Engine
    from bench.grading import TEAM_SET, load_set

    engine = Engine(log=lambda m: None)
    grader = engine.best_grader()
    rows, saved = load_set(TEAM_SET), []
    for row in rows[: (n + 2) // 3]:
        for kind in ("good", "partial", "wrong"):
            grade = grader.grade(row["id"], row[kind])
            coach = engine.coach.coach(grade)
            saved.append({"id": row["id"], "kind": kind, "answer": row[kind], "score": grade.score, "verdict": grade.verdict,
                          "covered": [p.point for p in grade.covered], "feedback": coach.feedback, "backend": coach.backend,
                          "fallback": coach.fallback})
    saved = saved[:n]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "coaching.jsonl").write_text("".join(json.dumps(r) + "\n" for r in saved), encoding="utf-8")
    print(f"coaching of {len(saved)} graded answers ({grader.name if hasattr(grader, 'name') else 'quick'}): "
          f"{sum(not r['fallback'] and r['backend'] != 'extractive' for r in saved)} with the model's advice; "
          f"written to {RESULTS / 'coaching.jsonl'}")
    for r in saved:
        print(f"- [{r['id']} {r['kind']}] {r['score']} {r['verdict']}: {r['feedback']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transformers", action="store_true")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--heldout", nargs="?", type=Path, const=ASK_HELDOUT, default=None,
                        help="a question set instead of the retrieval set's: by default data/ask_heldout2.tsv (reported once; a dev set now)")
    parser.add_argument("--no-compare", action="store_true", help="skip reading each text again with both checkers")
    parser.add_argument("--coaching", type=int, default=0, help="coach this many graded answers of the team set")
    parser.add_argument("--processes", type=int, default=0, help="time this many fresh 'assistant ask' processes, and as many extractive ones")
    parser.add_argument("--references", type=int, default=0,
                        help="references in the Ask prompt (default: coach/ask.py's MAX_REFERENCES, the best and two runners-up)")
    parser.add_argument("--startup", action="store_true", help="where a fresh 'assistant ask' process spends its time, by phase")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--phases", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(speed(args.one)))
        return
    if args.phases:
        print(json.dumps(startup_phases("what is dropout?", args.phases)))
        return
    if args.startup:
        for backend in ("extractive", "llama"):
            out = subprocess.run([sys.executable, __file__, "--phases", backend], capture_output=True, text=True,
                                 env={**os.environ, "HF_HUB_OFFLINE": "1"})
            phases = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {"failed": out.stderr[-300:]}
            print(f"fresh 'assistant ask' ({backend}), seconds by phase: " + ", ".join(f"{k} {v}" for k, v in phases.items()))
    if not args.no_speed:
        print(f"{'backend':<28} {'load s':>7} {'first token s':>14} {'tok/s':>7} {'peak MB':>8}")
        for backend in ["llama"] + (["transformers"] if args.transformers else []):
            out = subprocess.run([sys.executable, __file__, "--one", backend], capture_output=True, text=True)
            if out.returncode:
                print(f"{backend:<28} failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            ttft = sorted(r["ttft_s"])[len(r["ttft_s"]) // 2]
            tok_s = sum(r["tok_s"]) / len(r["tok_s"])
            print(f"{r['backend']:<28} {r['load_s']:7.1f} {ttft:14.2f} {tok_s:7.1f} {r['peak_mb']:8.0f}")
    if args.processes:
        fresh_processes(args.processes)
    if args.references:
        import assistant.coach.ask as ask

        ask.MAX_REFERENCES = args.references  # read by Chat.ask_stream at each question
    if args.questions:
        faithfulness(args.questions, args.heldout, not args.no_compare)
    if args.coaching:
        coaching(args.coaching)


if __name__ == "__main__":
    main()
