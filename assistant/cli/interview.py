"""The terminal interview and progress commands (thin: the logic is in coach/ — the order, the answer step — and progress/)."""

from __future__ import annotations

from typing import TextIO

from assistant.errors import InvalidInputError
from assistant.coach.interview import Session, plan_questions, summarize
from assistant.progress import open_store
from assistant.progress.portable import export_progress, import_progress

HELP = "Type your answer; finish with an empty line. Commands: /skip, /show (reference answer), /end."


def _read_answer(stdin: TextIO, stdout: TextIO) -> str | None:
    """Lines until an empty one; None at end of input."""
    lines = []
    while True:
        print("> " if not lines else "  ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return "\n".join(lines) if lines else None
        if not line.strip():
            if lines:
                return "\n".join(lines)
            continue
        if line.strip().startswith("/") and not lines:
            return line.strip()
        lines.append(line.rstrip("\n"))


def run_interview(engine, args, stdin: TextIO, stdout: TextIO) -> int:
    if args.count < 1:
        raise InvalidInputError("--count must be at least 1.")
    store = open_store(engine.settings, engine.settings.user)
    corpus = engine.corpus
    labels = {r.part: r.part_label for r in corpus}
    unknown = sorted(set(args.part or ()) - set(labels))
    if unknown:
        raise InvalidInputError(f"No part {unknown[0]}; the parts are {', '.join(map(str, sorted(labels)))}.")
    parts = [labels[p] for p in args.part] if args.part else None
    session = Session(plan_questions(corpus, store, parts, args.count))
    step = engine.answer_step
    print(f"Interview: {len(session.questions)} questions. {HELP}", file=stdout)
    while not session.finished:
        record = corpus.get(session.current)
        print(f"\nQuestion {len(session.results) + 1}/{len(session.questions)} [{record.id}] ({record.part_label})\n{record.question}", file=stdout)
        if not args.fast:
            step.warm(record.id)  # the judge reads the question and its key points while you type
        answer = _read_answer(stdin, stdout)
        if answer is None or answer == "/end":
            session = session.ended()
            break
        if answer == "/skip":
            session = session.skipped()
            continue
        if answer == "/show":
            print(f"\nReference answer:\n{record.answer}", file=stdout)
            session = session.skipped()
            continue
        try:
            outcome = step.final(answer, record.id, store=store, fast=args.fast, session=session)
        except InvalidInputError as exc:
            print(f"error: {exc} Try again, or /skip.", file=stdout)
            continue
        grade, coaching = outcome.grade, outcome.coaching
        print(f"\nScore {grade.score:.1f}/10 ({grade.verdict}; {grade.origin}). "
              f"Covered {len(grade.covered)} of {len(grade.points)} key points.", file=stdout)
        for point in grade.missed[:3]:
            print(f"  missed: {point.point}", file=stdout)
        print(f"Coach: {coaching.feedback}\n{coaching.follow_up}", file=stdout)
        session = outcome.session
    summary = summarize(session, corpus)
    print("\n" + summary.markdown, file=stdout)
    if args.export:
        args.export.write_text(summary.markdown, encoding="utf-8")
        print(f"Summary written to {args.export}", file=stdout)
    return 0


def run_progress(engine, args, stdin: TextIO, stdout: TextIO) -> int:
    store = open_store(engine.settings, engine.settings.user)
    if args.reset:
        print(f"Delete every attempt in {store.where}? Type 'yes' to confirm: ", end="", file=stdout, flush=True)
        store.reset(confirm=stdin.readline().strip().lower() == "yes")
        print("Progress reset.", file=stdout)
        return 0
    if args.import_:
        import_progress(store, args.import_)
        print(f"Progress replaced with {args.import_}.", file=stdout)
    if args.export:
        print(f"Progress copied to {export_progress(store, args.export)}.", file=stdout)
    mastery = store.mastery_by_part()
    print(f"Progress: {store.where}" + (f" (user {store.user})" if store.user else ""), file=stdout)
    if not mastery:
        print("No graded attempts yet: run 'assistant interview'.", file=stdout)
        return 0
    for part, score in mastery.items():
        print(f"  {part}: {score:.1f}/10  {'#' * round(score * 2)}", file=stdout)
    due = store.due()
    print(f"Due for review: {', '.join(due) if due else 'nothing right now'}", file=stdout)
    return 0
