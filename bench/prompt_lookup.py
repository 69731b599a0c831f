"""Prompt-lookup speculative decoding for the writer, against plain greedy decoding (#18).

    .venv/bin/python bench/prompt_lookup.py [N]     # the Ask prompts of the first N benchmark questions (default 3)

The writer copies its references (a third of its sentences restate one), so drafting the next
tokens from the prompt (llama-cpp-python's LlamaPromptLookupDecoding) looked like a way to cut the
generating. Measured in session 15 by this script on the first 3 questions' real Ask prompts (110
tokens at most, no prefix cache, 21.3 tokens/s on the fixed prompts): plain greedy p50 10.65 s for
the whole text, drafts of 10 tokens 17.18 s, drafts of 4 13.73 s; the drafts need logits for every
prompt token, which slows the prompt read (first piece p50 6.23 s plain, 8.12 s and 8.20 s), checking a draft on 2
cores costs nearly what generating it does, and the text changed (2 and 1 of 3 identical). On 12
prompts, drafts of 10 crashed in llama-cpp-python 0.3.36 (`Llama.eval`: "could not broadcast input
array" into the scores buffer). So the writer decodes plainly.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(n: int) -> None:
    from llama_cpp import Llama
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from assistant.coach.answer import answer_hits
    from assistant.coach.ask import ANSWER_TOKENS, MAX_REFERENCES, ask_messages
    from assistant.config import Settings
    from assistant.engine import Engine
    from assistant.models.weights import gguf_path, language_model
    from bench.generation import benchmark_questions

    engine = Engine(log=lambda m: None)
    prompts = []
    for query in benchmark_questions(n):
        result = engine.chat.retrieve(query.text)
        prompts.append(ask_messages(result.query, [engine.corpus.get(h.id) for h in answer_hits(result, MAX_REFERENCES)]))
    path = str(gguf_path(language_model("qwen-1.5b"), Settings().cache_dir))
    plain = None
    for name, draft in [("plain", None), ("drafts of 10", LlamaPromptLookupDecoding(num_pred_tokens=10)),
                        ("drafts of 4", LlamaPromptLookupDecoding(num_pred_tokens=4))]:
        llm = Llama(model_path=path, n_ctx=4096, n_threads=2, verbose=False, draft_model=draft)
        rows = []
        for messages in prompts:
            llm.reset()
            started, first, text = time.perf_counter(), None, ""
            for chunk in llm.create_chat_completion(messages=messages, stream=True, max_tokens=ANSWER_TOKENS, temperature=0.0):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    first = first or time.perf_counter() - started
                    text += piece
            rows.append((first, time.perf_counter() - started, text))
        plain = plain or rows
        same = sum(a[2] == b[2] for a, b in zip(plain, rows))
        print(f"{name}: first piece p50 {statistics.median(r[0] for r in rows):.2f} s, whole text p50 "
              f"{statistics.median(r[1] for r in rows):.2f} s, texts identical to plain {same}/{len(rows)}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
