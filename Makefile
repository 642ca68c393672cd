# One entry point. Quick start (README): `make run` then `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ccnce-installed
DATA   ?= data/synthetic

.PHONY: setup run data reproduce audit train sweep baselines regime study study-replay study-arms study-cost bench book test clean-venv

# A virtual environment at .venv with torch 2.13.0 first (a local CPU wheel: any other torch pulls GBs of
# CUDA), then the project and its pinned dependencies. Re-runs only when pyproject.toml changes.
setup: $(STAMP)
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The embedded default: the synthetic PATS-layout dataset, generated once and reused.
data: setup
	$(BIN)/ccnce synth --out $(DATA) --reuse
	$(BIN)/ccnce inspect $(DATA)

# The main job on the embedded default: re-train the committed run lec_cosmic / CC-NCE / seed 0 (cpu
# profile, about two minutes on 2 cores) for real into a scratch folder, say whether it reproduces the
# committed metrics (results/ is never written), then build the book either way.
REPRODUCE ?= results/synthetic/lec_cosmic/ccnce/seed0
run: data reproduce book

reproduce: data
	$(BIN)/ccnce reproduce $(REPRODUCE) --scratch artifacts/reproduce \
		|| echo "make run: the re-trained run did NOT reproduce the committed one (table above); building the book anyway"

# Which committed runs the current code would no longer produce (exit status 1 when any is stale).
audit: setup
	$(BIN)/ccnce audit results

# One run through the training notebook into results/ (skipped when complete).
train: data
	$(BIN)/ccnce sweep --speakers lec_cosmic --variants ccnce --seeds 0 --profile cpu

# The default sweep of the book: the paper's five speakers x four variants x five seeds (resumable).
sweep: data
	$(BIN)/ccnce sweep --profile cpu --seeds 0,1,2,3,4

# The trivial baselines beside every table (mean pose, random real window, nearest text/audio neighbour).
baselines: data
	$(BIN)/ccnce baselines --seeds 0,1,2,3,4

# The training-regime diagnosis of the Analysis page: the backbone with one factor of the cpu profile changed,
# and the probes it is set beside (true test motion shrunk, delayed or blended; seconds per speaker).
regime: data
	mkdir -p results/studies/probes
	for s in maher bee lec_cosmic oliver colbert; do \
		$(BIN)/ccnce study probes --speaker $$s --data-root $(DATA) --json --quiet > results/studies/probes/$$s.json || exit 1; done
	$(BIN)/ccnce sweep --speakers lec_cosmic,maher --variants none --seeds 0 --profile cpu \
		--set adv_weight_start=1.0 --set adv_weight_end=2.0 --results-dir results/studies/regime/paper_weight
	$(BIN)/ccnce sweep --speakers lec_cosmic,maher --variants none --seeds 0 --profile cpu \
		--set adv_weight_start=0.0 --set adv_weight_end=0.0 --results-dir results/studies/regime/no_adversarial

# The CC-NCE study (issue 11): the clustering replay of every speaker, then each arm against `none` and the
# paper's `ccnce` on the same seeds, with per-term gradient norms logged (not run by `make sweep`).
# STUDY_BEST: the best non-oracle replay setting, chosen from `ccnce study clustering` (training windows only):
# the largest room Eq. 7 has to teach, loss_collapse − loss_floor, averaged over the five speakers
# (cosine Sim with threshold μ̂ + 3σ̂: 1.14 nats, against 0.09 for the paper's setting).
STUDY_SPEAKERS ?= lec_cosmic,maher
STUDY_SEEDS    ?= 0,1,2,3,4
STUDY_JOBS     ?=
STUDY_BEST     ?= --set similarity=cosine --set threshold_k=3.0
STUDY_DIR      := results/studies/ccnce
# STUDY_BALANCED: Eq. 7's weight that brings its gradient on the shared parameters down to the
# reconstruction's, 1/28.2 (28.2 = the median ratio of the two in the oracle arm's training logs, after warm-up).
STUDY_BALANCED ?= --set contrastive_weight=0.035
# STUDY_MID: a weight between the two, their geometric mean √(1 × 0.035) ≈ 0.19, fixed before training it:
# does some weight ground z (the oracle's gain) without costing the motion (the balanced oracle's)?
STUDY_MID      ?= --set contrastive_weight=0.19
# The paper arm re-trains the default sweep's CC-NCE (seed 0) only to log the gradient norms: logging them
# leaves the weights unchanged (tests/test_study.py), so on the same machine its metrics are the default sweep's.
STUDY_SWEEP     = $(BIN)/ccnce sweep --speakers $(STUDY_SPEAKERS) --seeds $(STUDY_SEEDS) --profile cpu --set grad_norm_every=10 $(STUDY_JOBS)
study: study-replay study-arms
study-replay: data
	mkdir -p $(STUDY_DIR)/replay
	for s in maher bee lec_cosmic oliver colbert; do \
		$(BIN)/ccnce study clustering --speaker $$s --data-root $(DATA) --json --quiet > $(STUDY_DIR)/replay/$$s.json || exit 1; done
study-arms: data
	$(STUDY_SWEEP) --variants ccnce --set clusters=oracle --results-dir $(STUDY_DIR)/oracle
	$(STUDY_SWEEP) --variants ccnce --set clusters=kmeans --set kmeans_k=9 --results-dir $(STUDY_DIR)/kmeans
	$(STUDY_SWEEP) --variants ccnce $(STUDY_BEST) --results-dir $(STUDY_DIR)/best_replay
	$(STUDY_SWEEP) --variants ccnce --set ccnce_head=window --results-dir $(STUDY_DIR)/decoupled_head
	$(STUDY_SWEEP) --variants ccnce --set threshold=original --set loss_form=original --set bank_encoding=full \
		--results-dir $(STUDY_DIR)/original
	$(STUDY_SWEEP) --variants ccnce --set clusters=oracle $(STUDY_BALANCED) --results-dir $(STUDY_DIR)/oracle_balanced
	$(STUDY_SWEEP) --variants ccnce --set clusters=oracle $(STUDY_MID) --results-dir $(STUDY_DIR)/oracle_mid
	$(STUDY_SWEEP) --variants ccnce --seeds 0 --results-dir $(STUDY_DIR)/paper

# A cheaper CC-NCE (issue 12, the Performance page): the setting `ccnce bench step` measured under the step
# target of 1.10× the backbone's (keys stored as each batch's own z, no F_m forward; 2 sampled negatives per
# other cluster), trained on the study's speakers and seeds with the default sweep's settings otherwise, and
# compared with the default sweep's CC-NCE on dev data (report.cheaper_ccnce_table); then the memory bank
# alone, to tell which of the two changes costs what. Not run by `make sweep`.
STUDY_CHEAP ?= --set bank_encoding=memory --set bank_sample_negatives=2
COST_SWEEP   = $(BIN)/ccnce sweep --speakers $(STUDY_SPEAKERS) --seeds $(STUDY_SEEDS) --profile cpu $(STUDY_JOBS) --variants ccnce
study-cost: data
	$(COST_SWEEP) $(STUDY_CHEAP) --results-dir results/studies/cost/memory_neg2
	$(COST_SWEEP) --set bank_encoding=memory --results-dir results/studies/cost/memory

# Benchmarks for the book's Performance page (scale: DDP 1 vs 2 processes, and the sweep launchers' smoke
# runs on the synthetic dataset). The provenance (git state) is taken before the benchmarks overwrite
# their files, so a run from a clean checkout is recorded as clean.
bench: data
	mkdir -p results/bench
	$(BIN)/python -c "import json; from ccnce import provenance as p; \
	print(json.dumps({**p.collect('cpu', 'benchmark fixtures', '-'), 'started': p.now()}, indent=2))" \
	> results/bench/.provenance.json
	for b in cache clustering step bank_encoding scale; do $(BIN)/ccnce bench $$b --json > results/bench/$$b.json || exit 1; done
	mv results/bench/.provenance.json results/bench/provenance.json

# The report: the Jupyter Book, built offline from results/ with every report notebook executed and
# warnings as errors (--all: the pages must show results/ as it is now, not a cached build).
book: setup
	CCNCE_SYNTH_DIR=$(abspath $(DATA)) $(BIN)/jupyter-book build . -W -n --keep-going --all
	@echo "book: open $(CURDIR)/_build/html/index.html"

# The full test suite (what CI runs).
test: setup
	$(BIN)/python -m pytest --nbval-lax tests notebooks book

clean-venv:
	rm -rf $(VENV)
