"""Command line: thin commands over the engine; domain errors become one line and exit code 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, TextIO

from assistant.config import Settings
from assistant.errors import AssistantError, InvalidInputError, ModelError

if TYPE_CHECKING:
    from assistant.coach.answer import Answer

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Offline deep-learning interview coach. With no command: an interactive question prompt.",
    )
    parser.add_argument("--corpus", type=Path, help="folder of *.md question banks (env ASSISTANT_CORPUS_DIR)")
    parser.add_argument("--index", type=Path, help="folder for the built index (env ASSISTANT_INDEX_DIR)")
    parser.add_argument("--embedder", choices=["minilm", "mpnet", "tuned"],
                        help="retrieval's embedding model (env ASSISTANT_EMBEDDER; default mpnet; tuned: MiniLM tuned on the bank)")
    parser.add_argument("--backend", choices=["llama", "transformers", "openai", "extractive"],
                        help="who writes answers and coaching (env ASSISTANT_BACKEND; default llama)")
    parser.add_argument("--llm", choices=["qwen-1.5b", "qwen-0.5b"], help="packaged language model (env ASSISTANT_LLM)")
    parser.add_argument("--reranker", choices=["learned", "cross-encoder", "off"],
                        help="what reorders the search's first candidates and decides scope (env ASSISTANT_RERANKER): learned "
                             "(default: the learnt ranking), cross-encoder (the one 'train reranker' made; it measured worse, "
                             "README) or off (the fusion alone)")
    sub = parser.add_subparsers(dest="command")

    index = sub.add_parser("index", help="build the search index or show its status")
    index.add_argument("action", choices=["build", "status"])
    index.add_argument("--expand", action="store_true",
                       help="first have the language model write searches for questions that have none (about 6 s each)")

    show = sub.add_parser("show", help="print one question and its reference answer")
    show.add_argument("id", help="question id, e.g. p3-q26")

    search = sub.add_parser("search", help="rank the questions that match a query")
    search.add_argument("query", help="the query, or - to read one query per line from stdin")
    search.add_argument("--k", type=int, default=5, help="how many hits (default 5)")
    search.add_argument("--json", action="store_true", help="one JSON object per query")

    ask = sub.add_parser("ask", help="answer a question from the reference answers, with citations")
    ask.add_argument("question", help="the question, or - to read one per line from stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")

    grade = sub.add_parser(
        "grade",
        help="grade an answer: score, key points covered and missed, feedback",
        description="Grade ID --answer TEXT (or --answer-file F, or the answer on stdin); "
        "grade --question Q --reference R --answer A for any question; "
        'grade --json - for JSON lines {"id", "answer"} (or question/reference) on stdin.',
    )
    grade.add_argument("id", nargs="?", help="question id (e.g. p3-q26), or - for JSON lines on stdin")
    grade.add_argument("--answer", help="the answer text")
    grade.add_argument("--answer-file", type=Path, help="read the answer from this file")
    grade.add_argument("--audio", type=Path, help="a spoken answer (any format ffmpeg reads): transcribed on this machine, then graded")
    grade.add_argument("--question", help="a question of your own (with --reference)")
    grade.add_argument("--reference", help="the reference answer for --question")
    grade.add_argument("--json", action="store_true", help="print JSON")
    grade.add_argument("--coach", action="store_true", help="add coaching feedback and a follow-up question")
    grade.add_argument("--fast", action="store_true", help="the quick grade: key-point coverage only, without the language model")
    grade.add_argument("--no-save", action="store_true", help="do not keep the attempt in progress (a bank question's attempt is kept by default)")

    sub.add_parser("chat", help="interactive chat: questions and follow-ups (the default with no command)")

    interview = sub.add_parser("interview", help="be interviewed: questions due for review first, graded and coached")
    interview.add_argument("--count", type=int, default=5, help="how many questions (default 5)")
    interview.add_argument("--part", type=int, action="append", help="only this part (1-4); repeat for several")
    interview.add_argument("--export", type=Path, help="write the session summary (markdown) here")
    interview.add_argument("--fast", action="store_true", help="quick grades (key-point coverage only), without the language model's judgement")

    progress = sub.add_parser("progress", help="mastery per part and the review queue")
    progress.add_argument("--export", type=Path, help="copy the progress file here")
    progress.add_argument("--import", dest="import_", type=Path, help="replace progress with an exported file")
    progress.add_argument("--reset", action="store_true", help="delete all progress (asks to confirm)")
    check = sub.add_parser(
        "check", help="is a statement true according to the bank? supported / contradicted / not addressed, and the point it rests on",
        description='check ID "statement"; check --json - for JSON lines {"id", "statement"} on stdin.')
    check.add_argument("id", help="question id (e.g. p3-q26), or - for JSON lines on stdin")
    check.add_argument("statement", nargs="?", help="what you believe, in your own words")
    check.add_argument("--json", action="store_true", help="one JSON object per statement")

    train = sub.add_parser("train", help="train the project's own models from the bank: the verifier, the learnt ranking, "
                                         "the reranker, the tuned retrieval embedder")
    train.add_argument("model", choices=["verifier", "ranking", "reranker", "embedder"])
    train.add_argument("--queries", type=Path, action="append",
                       help="ranking: a file of 'query<TAB>ids' lines people wrote (repeat for several; default: "
                            "bench/data's retrieval_queries.tsv, retrieval_heldout.tsv and retrieval_heldout2.tsv)")
    train.add_argument("--write", action="store_true",
                       help="first have the language model write statements (verifier, about 20 s per key point) or queries "
                            "(reranker, about 6 s per key point) for key points that have none; resumable")
    train.add_argument("--write-only", action="store_true", help="with --write: stop after writing (training is its own step)")
    train.add_argument("--limit", type=int, help="with --write: at most this many key points this run")
    train.add_argument("--statements", type=Path, help="with --write: the file the statements or queries go to (default: the cache folder's)")
    train.add_argument("--every-record", action="store_true", help="train on every record (default: the train split only)")
    train.add_argument("--epochs", type=int, help="passes over the pairs (default: 3 for the verifier, 2 for the reranker, 1 for the embedder)")
    train.add_argument("--out", type=Path, help="where the model goes (default: the cache folder, used from then on)")
    train.add_argument("--judge-share", type=float, default=0.5,
                       help="how much of a written statement's target is the judge's opinion (0-1; default 0.5)")

    users = sub.add_parser("users", help="logins for a coach hosted for several people: add, list, remove")
    users.add_argument("action", choices=["add", "list", "remove"])
    users.add_argument("name", nargs="?", help="the user name (add, remove)")
    users.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    return parser


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    args = _parser().parse_args(argv)
    settings = Settings().with_overrides(
        corpus_dir=args.corpus, index_dir=args.index, embedder=args.embedder, backend=args.backend, llm=args.llm,
        reranker=args.reranker,
    )
    try:
        from assistant.engine import Engine

        engine = Engine(settings)
        if args.command == "index":
            return _index(engine, args.action, stdout, args.expand)
        if args.command == "show":
            record = engine.corpus.get(args.id)
            print(f"[{record.id}] {record.part_label}\n{record.question}\n\n{record.answer}", file=stdout)
            return 0
        if args.command == "search":
            if args.k < 1:
                raise InvalidInputError("--k must be at least 1.")
            return _run(engine, args.query, stdin, stdout, lambda q: _search(engine, q, args.k, args.json, stdout))
        if args.command == "ask":
            return _run(engine, args.question, stdin, stdout, lambda q: _ask(engine, q, args.json, stdout))
        if args.command == "grade":
            return _grade(engine, args, stdin, stdout)
        if args.command == "interview":
            from assistant.cli.interview import run_interview

            return run_interview(engine, args, stdin, stdout)
        if args.command == "progress":
            from assistant.cli.interview import run_progress

            return run_progress(engine, args, stdin, stdout)
        if args.command == "check":
            return _run_checks(engine, args, stdin, stdout)
        if args.command == "train":
            return _train(engine, args, stdout)
        if args.command == "users":
            return _users(settings, args, stdin, stdout)
        return _interactive(engine, stdin, stdout)  # "chat", or no command
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _run(engine, query: str, stdin: TextIO, stdout: TextIO, handle) -> int:
    """One query, or with '-' one per stdin line; in batch mode a bad line reports and the batch goes on."""
    if query != "-":
        handle(query)
        return 0
    engine.retriever  # load models once, before the first line
    failed = 0
    for line in stdin:
        line = line.rstrip("\n")
        try:
            handle(line)
        except InvalidInputError as exc:
            failed += 1
            print(json.dumps({"query": line, "error": str(exc)}), file=stdout, flush=True)
    return 1 if failed else 0


def _notices(notices: Iterable[str]) -> None:
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)


def _search(engine, query: str, k: int, as_json: bool, stdout: TextIO) -> None:
    result = engine.search(query, k=k)
    _notices(result.notices)
    if as_json:
        print(json.dumps(result.to_json()), file=stdout, flush=True)
        return
    if not result.in_scope:
        print("Not covered by the question bank; closest questions:", file=stdout)
    for rank, hit in enumerate(result.hits, 1):
        print(f"{rank}. [{hit.id}] {hit.question}  ({hit.part}; score {hit.score:.3f})", file=stdout)


def _ask(engine, question: str, as_json: bool, stdout: TextIO, history=()) -> "Answer":
    """Stream the verified sentences (text mode; "checking…" on a terminal while one is held) or
    print the answer whole (JSON); when the model's answer is not used, the reference is printed."""
    from assistant.coach.answer import Answer
    from assistant.coach.ask import Checking

    streamed = False
    status = not as_json and sys.stderr.isatty()
    for event in engine.chat.ask_stream(question, history):
        if isinstance(event, Answer):
            answer = event
        elif isinstance(event, Checking):
            if status:
                print("checking…", end="\r", file=sys.stderr, flush=True)
        elif not as_json:
            if status:
                print(" " * 9, end="\r", file=sys.stderr, flush=True)
            print(event, end="", file=stdout, flush=True)
            streamed = True
    if status:
        print(" " * 9, end="\r", file=sys.stderr, flush=True)
    _notices(answer.notices)
    if as_json:
        print(json.dumps(answer.to_json()), file=stdout, flush=True)
    elif not streamed:
        print(answer.text, file=stdout, flush=True)
    else:
        print(file=stdout, flush=True)
    return answer


def _grade(engine, args, stdin: TextIO, stdout: TextIO) -> int:
    """One answer through the answer step (quick, judged, saved for a bank question unless --no-save,
    coached with --coach), or JSON lines of them with '-'."""
    store = None if args.no_save else _store(engine)
    if args.id == "-":
        return _grade_batch(engine, store, args.fast, stdin, stdout)
    transcript = delivery = None
    if args.audio is not None:
        if args.id:
            engine.corpus.get(args.id)  # an unknown id is said before the audio is transcribed
        transcript, delivery = engine.listen(args.audio, args.id)
        answer = transcript.text
    elif args.answer is not None:
        answer = args.answer
    elif args.answer_file is not None:
        try:
            answer = args.answer_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"Cannot read the answer file {args.answer_file}: {getattr(exc, 'strerror', None) or exc}.") from None
    else:
        answer = stdin.read()
    if not args.id and not (args.question and args.reference):
        raise InvalidInputError("Name a question id (assistant grade p3-q26 --answer …) or give --question and --reference.")
    outcome = engine.answer_step.final(answer, args.id, question=args.question or "", reference=args.reference or "",
                                       store=store, delivery=delivery.to_json() if delivery else None, fast=args.fast,
                                       coaching=args.coach)
    grade = outcome.grade
    data = grade.to_json()
    text = _render_grade(grade)
    if transcript is not None:
        data.update(transcript=transcript.text, delivery=delivery.to_json())
        text = f"Transcript: {transcript.text}\nDelivery: {delivery.summary()}\n\n{text}"
    if outcome.coaching is not None:
        coaching = outcome.coaching
        data["coaching"] = {"feedback": coaching.feedback, "follow_up": coaching.follow_up, "backend": coaching.backend}
        text += f"\n\nCoach ({coaching.backend}): {coaching.feedback}\n{coaching.follow_up}"
    data["saved"] = outcome.saved
    if outcome.saved:
        text += "\n\n(Kept in your progress; --no-save grades without keeping it.)"
    print(json.dumps(data) if args.json else text, file=stdout)
    return 0


def _store(engine):
    from assistant.progress import open_store

    return open_store(engine.settings, engine.settings.user)


def _json_lines(stdin: TextIO, stdout: TextIO, example: str, handle) -> int:
    """JSON objects in, one JSON object out per line; a line that fails gets {"id", "error"} and the batch goes on."""
    failed = 0
    for number, line in enumerate(stdin, 1):
        if not line.strip():
            continue
        item: dict = {}
        try:
            try:
                item = json.loads(line)
            except ValueError:
                raise InvalidInputError(f"not valid JSON; each line must be an object like {example}") from None
            if not isinstance(item, dict):
                raise InvalidInputError("each line must be a JSON object")
            out = handle(item)
        except AssistantError as exc:
            failed += 1
            out = {"id": item.get("id") if isinstance(item, dict) else None, "error": f"line {number}: {exc}"}
        print(json.dumps(out), file=stdout, flush=True)
    return 1 if failed else 0


def _grade_batch(engine, store, fast: bool, stdin: TextIO, stdout: TextIO) -> int:
    def grade(item: dict) -> dict:
        if not item.get("id") and not (item.get("question") and item.get("reference")):
            raise InvalidInputError('give "id", or "question" and "reference", with "answer"')
        outcome = engine.answer_step.final(str(item.get("answer") or ""), str(item["id"]) if item.get("id") else None,
                                           question=str(item.get("question") or ""), reference=str(item.get("reference") or ""),
                                           store=store, fast=fast, coaching=False)
        out = {k: v for k, v in outcome.grade.to_json().items() if k != "reference"}
        return {**out, "id": item.get("id"), "saved": outcome.saved}

    return _json_lines(stdin, stdout, '{"id": "p3-q26", "answer": "..."}', grade)


def _run_checks(engine, args, stdin: TextIO, stdout: TextIO) -> int:
    """One statement, or with '-' JSON lines {"id", "statement"}; a bad line gets {"error"} and the batch goes on."""
    if args.id != "-":
        verdict = engine.check(args.id, args.statement or "")
        print(json.dumps(verdict.to_json(args.id)) if args.json else _render_verdict(verdict), file=stdout)
        return 0
    return _json_lines(stdin, stdout, '{"id": "p3-q26", "statement": "..."}',
                       lambda item: engine.check(str(item.get("id") or ""), str(item.get("statement") or "")).to_json(item.get("id")))


def _render_verdict(verdict) -> str:
    words = {"supported": "Supported by the bank", "contradicted": "Contradicted by the bank",
             "not addressed": "Not addressed by this question's reference"}
    lines = [f"{words[verdict.verdict]} ({verdict.scores[verdict.verdict]:.0%})."]
    if verdict.evidence:
        lines.append(f"The reference says: {verdict.evidence}")
    return "\n".join(lines)


def _train(engine, args, stdout: TextIO) -> int:
    if (args.epochs is not None and args.epochs < 1) or not 0 <= args.judge_share <= 1:
        raise InvalidInputError("--epochs must be at least 1 and --judge-share between 0 and 1.")
    if args.model == "reranker":
        return _train_reranker(engine, args, stdout)
    if args.model == "ranking":
        return _train_ranking(engine, args, stdout)
    if args.model == "embedder":  # from the reranker's queries (write them with 'train reranker --write')
        if args.write:
            raise InvalidInputError("The embedder learns from the reranker's queries: write them with "
                                    "'assistant train reranker --write', then run 'assistant train embedder'.")
        from assistant.retrieval.tuning import EPOCHS as TUNING_EPOCHS, train_embedder

        out = args.out or engine.settings.cache_dir / "tuned-embedder"
        meta = train_embedder(engine, out, epochs=args.epochs or TUNING_EPOCHS)
        print(f"Tuned the retrieval embedder on {meta['used']} queries in {meta['train_seconds']:.0f} s. Saved in {out} "
              f"(SHA-256 {meta['sha256']})" + ("; '--embedder tuned' uses it from now on." if args.out is None else "."), file=stdout)
        return 0
    from assistant.verify.train import EPOCHS, run

    if args.write:
        from assistant.verify.data import StatementStore, write_statements

        store, shipped = _written_stores(engine, args, StatementStore, "verifier_statements.json")
        count = write_statements(engine.corpus, store, engine.model.writer, engine.model.judge, limit=args.limit, known=shipped)
        print(f"Wrote statements for {count} key points (kept in {store.path}).", file=stdout)
        if args.write_only:
            return 0
    out, meta = run(engine, args.out, every_record=args.every_record, epochs=args.epochs or EPOCHS, judge_share=args.judge_share)
    dev = meta["dev_accuracy_by_epoch"]
    print(f"Trained the verifier on {meta['pairs']} pairs ({meta['records']}) in {meta['train_seconds']:.0f} s"
          + (f"; dev accuracy {dev[-1]:.3f}" if dev else "") + f". Saved in {out} (SHA-256 {meta['sha256']})"
          + ("; it is used from now on." if args.out is None else "."), file=stdout)
    return 0


def _written_stores(engine, args, store_type, filename: str):
    """For --write: the file the model's lines go to (--statements, else the cache folder's) and the
    shipped one whose points are skipped (None when they are the same file). Needs the model."""
    if engine.model.writer is None:
        raise ModelError("--write needs the language model; drop --backend extractive.")
    store, shipped = store_type(args.statements or engine.settings.cache_dir / filename), store_type()
    return store, None if store.path.resolve() == shipped.path.resolve() else shipped


def _train_reranker(engine, args, stdout: TextIO) -> int:
    """The reranker: first (with --write) its training queries, then the model."""
    from assistant.rerank.train import EPOCHS, run

    if args.write:
        from assistant.rerank.data import QueryStore, survival, write_queries

        store, shipped = _written_stores(engine, args, QueryStore, "reranker_queries.json")
        count = write_queries(engine.corpus, store, engine.model.writer, limit=args.limit, known=shipped)
        kept, rejected = survival(store)
        print(f"Wrote queries for {count} key points (kept in {store.path}): {kept} kept in all, "
              f"{rejected} rejected for using their record's title words.", file=stdout)
        if args.write_only:
            return 0
    out, meta = run(engine, args.out, every_record=args.every_record, epochs=args.epochs or EPOCHS)
    dev = meta["dev_by_epoch"]
    print(f"Trained the reranker on {meta['pairs']} pairs ({meta['records']}) in {meta['train_seconds']:.0f} s"
          + (f"; dev R@1 {dev[-1]['r1']:.3f}, scope accuracy {dev[-1]['scope_accuracy']:.3f}" if dev else "")
          + f". Saved in {out} (SHA-256 {meta['sha256']})" + ("; '--reranker cross-encoder' uses it." if args.out is None else "."), file=stdout)
    return 0


def _train_ranking(engine, args, stdout: TextIO) -> int:
    """The learnt ranking: fitted in seconds on query files, after five folds measured on them."""
    from assistant.rerank.learned import DEFAULT_QUERIES, train
    from assistant.retrieval.retriever import Retriever

    out = args.out or engine.settings.cache_dir / "ranking"
    fusion = Retriever(engine.corpus.records, engine.index, engine.embedder, engine.retrieval_config)
    meta = train(fusion, engine.view, args.queries or DEFAULT_QUERIES, out)
    print(f"Fitted the learnt ranking on {meta['queries']} queries ({meta['in_scope']} in scope).", file=stdout)
    folds = meta["cross_validation"]
    if folds:
        for name, label in (("fusion", "the fusion alone"), ("learned", "the learnt ranking")):
            m = folds[name]
            print(f"  out of fold, {label}: R@1 {m['r1']:.3f}, R@5 {m['r5']:.3f}, MRR {m['mrr']:.3f}, "
                  f"scope accuracy {m['scope_accuracy']:.3f}", file=stdout)
    print(f"Saved in {out} (SHA-256 {meta['sha256']})" + ("; it is used from now on." if args.out is None else "."), file=stdout)
    return 0


def _render_grade(grade) -> str:
    lines = [f"Score {grade.score:.1f}/10 ({grade.verdict}), {grade.origin}", ""]
    if grade.covered:
        lines.append("Covered:")
        lines += [f"  + {p.point}\n      you said: {p.evidence}" for p in grade.covered]
    if grade.missed:
        lines.append("Missed:")
        lines += [f"  - {p.point}" + ("  (contradicted by: " + p.evidence + ")" if p.contradicted else "") for p in grade.missed]
    lines += ["", f"Feedback: {grade.feedback}", "", "Reference answer:", grade.reference]
    return "\n".join(lines)


def _users(settings: Settings, args, stdin: TextIO, stdout: TextIO) -> int:
    from assistant.progress.users import UsersFile

    users = UsersFile(settings.users_file)
    if args.action == "list":
        names = users.names()
        print("\n".join(names) if names else f"No users yet ({users.path}): anyone who reaches the app may use it.", file=stdout)
        return 0
    if not args.name:
        raise InvalidInputError(f"'assistant users {args.action}' needs a user name.")
    if args.action == "remove":
        users.remove(args.name)
        print(f"Removed {args.name}; their progress is kept.", file=stdout)
        return 0
    if args.password_stdin:
        password = stdin.readline().rstrip("\n")
    else:
        import getpass

        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            raise InvalidInputError("The two passwords differ; nothing was changed.")
    new = users.add(args.name, password)
    print(f"{'Added' if new else 'Changed the password of'} {args.name} ({users.path}).", file=stdout)
    return 0


def _index(engine, action: str, stdout: TextIO, expand: bool = False) -> int:
    """Build or check every index the engine uses: retrieval, the learnt ranking's view and, with another model, grading."""
    from assistant.retrieval.index import index_status, rebuild_index

    records = engine.corpus.records
    if expand:
        from assistant.retrieval.expansion import expand as write_searches

        if engine.model.writer is None:
            raise ModelError("--expand needs a language model; drop --backend extractive.")
        count = write_searches(records, engine.expansions, engine.model.writer)
        print(f"Wrote searches for {count} questions (kept in {engine.expansions.cache_file}).", file=stdout)
    expansions = engine.expansions.for_records(records)
    needed = [(engine.index_dir(), lambda: engine.embedder, expansions)]
    if engine.settings.grader_embedder != engine.settings.embedder:  # grading reads record vectors only
        needed.append((engine.index_dir(engine.settings.grader_embedder), lambda: engine.grading_embedder, {}))
    if engine.ranking is not None:  # its second view: the tuned embedder's search
        needed.append((engine.index_dir("tuned"), lambda: engine.view_embedder, expansions))
    status = 0
    for directory, embedder, searches in needed:
        if action == "build":
            manifest = rebuild_index(records, engine.corpus.content_hash, embedder(), directory, searches).manifest
            print(f"Built {directory}: {manifest.count} questions, {manifest.chunk_count} answer chunks, "
                  f"{manifest.expansion_count} written searches, {manifest.embedder} ({manifest.dim}-d), "
                  f"{manifest.build_seconds:.1f} s.", file=stdout)
            continue
        manifest, problem = index_status(directory, engine.corpus.content_hash, embedder().name, searches)
        if manifest is None:
            print(f"{directory}: not usable ({problem}); it will be built on first use, or run 'assistant index build'.", file=stdout)
        else:
            print(f"{directory}: {manifest.count} questions, {manifest.chunk_count} answer chunks, "
                  f"{manifest.expansion_count} written searches, {manifest.embedder} ({manifest.dim}-d, {manifest.kind}), "
                  f"built {manifest.built_at}; "
                  + (f"not usable as it is ({problem}): it will be rebuilt on first use." if problem else "up to date."),
                  file=stdout)
        status = status or (1 if problem else 0)
    return status


def _interactive(engine, stdin: TextIO, stdout: TextIO) -> int:
    print(f"Interview coach: {len(engine.corpus)} questions. Ask a question (follow-ups use the conversation); "
          "'show ID' prints one; 'new' starts over; 'quit' ends.", file=stdout)
    engine.retriever
    history: list[tuple[str, str]] = []
    while True:
        print("\nyou> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        command = line.strip().lower()
        if not line or command in {"quit", "exit", ":q"}:
            return 0
        try:
            if command == "new":
                history.clear()
                continue
            if command.startswith("show "):
                record = engine.corpus.get(line.split(None, 1)[1].strip())
                print(f"[{record.id}] {record.question}\n\n{record.answer}", file=stdout)
                continue
            answer = _ask(engine, line, False, stdout, history)
            history += [("user", line.strip()), ("assistant", answer.text)]
        except AssistantError as exc:
            print(f"error: {exc}", file=stdout)
