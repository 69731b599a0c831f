"""The engine: corpus, embedder, index and retriever, loaded once and lazily, shared by CLI and UI."""

from __future__ import annotations

import sys
import threading
from functools import cached_property
from typing import Callable

from assistant.config import Settings
from assistant.corpus import Corpus, load_corpus
from assistant.models.embedders import Embedder, make_embedder
from assistant.retrieval.expansion import ExpansionStore
from assistant.retrieval.index import SearchIndex, open_index
from assistant.retrieval.retriever import RetrievalConfig, Retriever, SearchResult, prepare_query


class Engine:
    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
        retrieval: RetrievalConfig = RetrievalConfig(),
    ) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        self._log = log
        self._retrieval = retrieval
        self._lock = threading.Lock()

    @cached_property
    def corpus(self) -> Corpus:
        return load_corpus(self.settings.corpus_dir)

    @cached_property
    def embedder(self) -> Embedder:
        """The retrieval embedder (an injected one serves grading too)."""
        return self._embedder or make_embedder(self.settings.embedder, self.settings.cache_dir, self._log)

    @cached_property
    def grading_embedder(self) -> Embedder:
        """The embedder that grades answers and checks generated sentences against their sources."""
        if self._embedder is not None or self.settings.grader_embedder == self.settings.embedder:
            return self.embedder
        return make_embedder(self.settings.grader_embedder, self.settings.cache_dir, self._log)

    def index_dir(self, key: str | None = None):
        return self.settings.index_dir / (key or self.settings.embedder)

    @cached_property
    def expansions(self) -> ExpansionStore:
        """The searches written for each record (shipped for the bank, cached for a user's own)."""
        return ExpansionStore(self.settings.cache_dir / "expansions.json")

    @cached_property
    def index(self) -> SearchIndex:
        with self._lock:
            expansions = self.expansions.for_records(self.corpus.records)
            missing = len(self.corpus.records) - len(expansions)
            index = open_index(
                self.corpus.records, self.corpus.content_hash, self.embedder, self.index_dir(), self._log, expansions
            )
            if missing:
                self._log(
                    f"{missing} of {len(self.corpus)} questions have no written searches yet; "
                    "'assistant index build --expand' has the language model write them (better recall for your own wording)."
                )
            return index

    @cached_property
    def grading_index(self) -> SearchIndex:
        """The index in the grading embedder's space (the grader compares answers to every record)."""
        if self.grading_embedder is self.embedder:
            return self.index
        with self._lock:
            directory = self.index_dir(self.settings.grader_embedder)
            return open_index(self.corpus.records, self.corpus.content_hash, self.grading_embedder, directory, self._log)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.corpus.records, self.index, self.embedder, self._retrieval)

    @cached_property
    def grader(self):
        from assistant.grading import Grader

        return Grader(self.grading_embedder, self.corpus, self.grading_index.record_vectors)

    @cached_property
    def generator(self):
        """The language model that writes (None with the extractive backend); it loads on first use."""
        from assistant.models.generation import make_generator

        return make_generator(self.settings.backend, self.settings.cache_dir, self.settings.llm)

    @cached_property
    def judge(self):
        """The language model read as a classifier (None without a model); it loads on first use."""
        from assistant.judge import make_judge

        return make_judge(self.settings.backend, self.settings.cache_dir, self.settings.llm, self.generator)

    @cached_property
    def judged_grader(self):
        """The grader with the judge's correctness (None without a model)."""
        from assistant.grading.judged import JudgedGrader

        return JudgedGrader(self.grader, self.judge, self._log) if self.judge else None

    def best_grader(self, fast: bool = False):
        """The judged grader when a model is there and wanted, else the quick one."""
        judged = None if fast else self.judged_grader
        return judged if judged is not None and judged.available else self.grader

    @cached_property
    def transcriber(self):
        """Speech to text on this machine (faster-whisper); loads on first use."""
        from assistant.speech.whisper import FasterWhisperTranscriber

        return FasterWhisperTranscriber(self.settings.cache_dir)

    def listen(self, audio, question_id: str | None = None):
        """A spoken answer's transcript (primed with its question and the bank's vocabulary) and
        delivery figures (key terms: those of the bank question, if any)."""
        from assistant.speech import bank_vocabulary, delivery_for, key_terms, priming_prompt

        record = self.corpus.get(question_id) if question_id else None
        transcript = self.transcriber.transcribe(audio, priming_prompt(self.corpus, record.question if record else ""))
        terms = key_terms(record, bank_vocabulary(self.corpus)) if record else []
        return transcript, delivery_for(transcript, terms)

    @cached_property
    def chat(self):
        from assistant.coach.ask import Chat

        return Chat(self, self.generator, self._log, self.judge)

    def search(self, text: str, k: int = 5) -> SearchResult:
        query, notices = prepare_query(text, self.settings.max_query_chars)
        return self.retriever.search(query, k=k, notices=notices)
