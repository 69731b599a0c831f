"""The engine: corpus, embedders, index, graders, the language model's owner and the coach, each
built once and lazily, shared by the CLI and the app. Components get what they use from here; none
reaches back into the engine."""

from __future__ import annotations

import sys
import threading
from functools import cached_property
from typing import Callable

from assistant.config import Settings
from assistant.errors import InvalidInputError
from assistant.corpus import Corpus, load_corpus
from assistant.models.embedders import Embedder, make_embedder
from assistant.models.language import LanguageModel, language_model
from assistant.retrieval.expansion import ExpansionStore
from assistant.retrieval.index import SearchIndex, open_index
from assistant.retrieval.retriever import RetrievalConfig, Retriever, SearchResult, prepare_query


CHECKERS = ("judge", "verifier", "cascade")  # who checks each sentence of an Ask answer (Settings.checker)
RERANKERS = ("learned", "cross-encoder", "off")  # what reorders the fusion's first candidates (Settings.reranker)


class Engine:
    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
        retrieval: RetrievalConfig = RetrievalConfig(),
        model: LanguageModel | None = None,
        verifier=None,
        reranker=None,
    ) -> None:
        self.settings = settings or Settings()
        self._embedder, self._model, self._verifier, self._reranker = embedder, model, verifier, reranker
        self._log = log
        self.retrieval_config = retrieval
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
    def ranking(self):
        """The learnt ranking (the default; rerank/learned.py), or None: switched off, or fitted for
        another embedder than this search's."""
        if self.settings.reranker != "learned":
            return None
        from assistant.rerank.learned import learned_ranking

        ranking = learned_ranking(self.settings.cache_dir)
        if (ranking.embedder, ranking.view) != (self.embedder.name, self.view_embedder.name):
            self._log(f"The learnt ranking was fitted for {ranking.embedder}, not {self.embedder.name}; searching with the "
                      "fusion alone ('assistant train ranking' fits one for this embedder).")
            return None
        return ranking

    @cached_property
    def view_embedder(self) -> Embedder:
        """The tuned embedder; a fake one when the search's is a fake (tests)."""
        key = self.settings.embedder if self.settings.embedder.startswith("fake") else "tuned"
        return self._embedder or make_embedder(key, self.settings.cache_dir, self._log)

    @cached_property
    def view(self) -> Retriever:
        """The tuned embedder's own search over the same records: the learnt ranking's second view."""
        embedder = self.view_embedder
        with self._lock:
            expansions = self.expansions.for_records(self.corpus.records)
            index = open_index(self.corpus.records, self.corpus.content_hash, embedder, self.index_dir("tuned"), self._log, expansions)
        return Retriever(self.corpus.records, index, embedder, self.retrieval_config)

    @cached_property
    def reranker(self):
        """The cross-encoder trained into the cache folder when it is chosen, else None."""
        if self.settings.reranker not in RERANKERS:
            raise InvalidInputError(f"Unknown reranker {self.settings.reranker!r}; choose {', '.join(RERANKERS)}.")
        if self._reranker is not None or self.settings.reranker != "cross-encoder":
            return self._reranker
        from assistant.rerank.reranker import trained_reranker

        reranker = trained_reranker(self.settings.cache_dir)
        if reranker is None:
            self._log("No reranker has been trained here ('assistant train reranker' makes one); searching without it.")
        return reranker

    @cached_property
    def retriever(self) -> Retriever:
        reranker, ranking = self.reranker, self.ranking  # reranker first: it checks the setting
        return Retriever(self.corpus.records, self.index, self.embedder, self.retrieval_config, reranker, ranking,
                         self.view if ranking is not None else None)

    @cached_property
    def grader(self):
        from assistant.grading import Grader

        return Grader(self.grading_embedder, self.corpus, self.grading_index.record_vectors)

    @cached_property
    def model(self) -> LanguageModel:
        """The one owner of whether the language model (writer and judge) is usable; built on first use."""
        return self._model or language_model(self.settings, self._log)

    @cached_property
    def judged_grader(self):
        """The grader with the judge's correctness (it grades quick while the judge is unavailable)."""
        from assistant.grading.judged import JudgedGrader

        return JudgedGrader(self.grader, self.model)

    def best_grader(self, fast: bool = False):
        """The judged grader when the judge is usable and wanted, else the quick one."""
        return self.grader if fast or not self.judged_grader.available else self.judged_grader

    @property
    def ready(self) -> bool:
        """Is the index loaded (the app loads it before serving)?"""
        return "retriever" in self.__dict__

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
    def verifier(self):
        """The trained verifier (the user's own retrained one, else the shipped one); loads on first use."""
        if self._verifier is not None:
            return self._verifier
        from assistant.verify.verifier import trained_verifier

        return trained_verifier(self.settings.cache_dir)

    def check(self, record_id: str, statement: str):
        """Is the statement supported, contradicted or not addressed by the record's key points?"""
        from assistant.errors import InvalidInputError
        from assistant.verify.data import points_of
        from assistant.verify.verifier import check

        record = self.corpus.get(record_id)
        statement = " ".join((statement or "").split())
        if not statement:
            raise InvalidInputError("Give a statement to check, e.g. assistant check p3-q26 \"dropout is off at inference\".")
        if len(statement) > self.settings.limits.query_chars:
            raise InvalidInputError(f"The statement has {len(statement):,} characters; check one claim at a time "
                                    f"(up to {self.settings.limits.query_chars:,}).")
        return check(self.verifier, record.question, points_of(record), statement)

    @cached_property
    def chat(self):
        from assistant.coach.ask import Chat

        checker = self.settings.checker  # judge (default), verifier, or cascade (the verifier, then the judge where it is unsure)
        if checker not in CHECKERS:
            from assistant.errors import InvalidInputError

            raise InvalidInputError(f"ASSISTANT_CHECKER is {checker!r}; choose one of {', '.join(CHECKERS)}.")
        verifier = self.verifier if checker in ("verifier", "cascade") else None
        return Chat(self.search, self.corpus, self.grading_embedder, self.model, verifier, cascade=checker == "cascade")

    @cached_property
    def coach(self):
        from assistant.coach.coaching import Coach

        return Coach(self.model, self.search)

    @cached_property
    def answer_step(self):
        """Grade, save, coach, next question: the one step every front end calls."""
        from assistant.coach.step import AnswerStep

        return AnswerStep(self.grader, self.judged_grader, self.coach, self.corpus)

    def search(self, text: str, k: int = 5) -> SearchResult:
        query, notices = prepare_query(text, self.settings.limits.query_chars)
        return self.retriever.search(query, k=k, notices=notices)
