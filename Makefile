# The two commands of the README: `make book` and `make test`.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= ci
DEVICE  ?= auto
DATA_ROOT ?=
EVAL_ROOT ?=
SEED    ?= 0
# photo folders: ONLY_PRESENT=1 uses only the rows whose image is there; the share of bad images allowed
ONLY_PRESENT ?=
BAD_IMAGE_TOLERANCE ?=
# upper bounds on the split sizes, overriding the profile's (e.g. N_TRAIN=2000)
N_TRAIN ?=
N_VAL   ?=
N_TEST  ?=
RUN_COMMON = --profile $(PROFILE) --device $(DEVICE) $(if $(DATA_ROOT),--data-root $(DATA_ROOT)) \
	$(if $(EVAL_ROOT),--eval-root $(EVAL_ROOT)) $(if $(N_TRAIN),--n-train $(N_TRAIN)) $(if $(N_VAL),--n-val $(N_VAL)) \
	$(if $(N_TEST),--n-test $(N_TEST)) $(if $(ONLY_PRESENT),--only-present) \
	$(if $(BAD_IMAGE_TOLERANCE),--bad-image-tolerance $(BAD_IMAGE_TOLERANCE))
RUN_ARGS = $(RUN_COMMON) --seed $(SEED)
# The ci book on its own GeoTiles executes seeds 1 and 2 too, so that its verdict tables show
# every claim at three seeds (OTHER_SEEDS= renders seed $(SEED) alone).
OTHER_SEEDS ?= $(if $(filter ci,$(PROFILE)),$(if $(DATA_ROOT),,1 2))

# Offline by default: timm must not spend a minute retrying the hub. Set HF_HUB_OFFLINE=0 on a
# machine with the hub to use its weights (the `full` profile's CLIP ViT).
export HF_HUB_OFFLINE ?= 1
export PYTHONHASHSEED := 0

.PHONY: install data book check-book test bench bench-gpu profile lab clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

data: install
	$(PY) -m geosurvey.cli data $(RUN_ARGS)

# Progress bars are off while executing chapters: they would be stored in the rendered pages.
# Seeds 1 and 2 (OTHER_SEEDS) are executed first; seed $(SEED) is rendered and pools them.
book: data
	TQDM_DISABLE=1 $(PY) -m tools.book $(RUN_ARGS) $(if $(strip $(OTHER_SEEDS)),--other-seeds $(OTHER_SEEDS))
	$(MAKE) check-book

# Every rendered page in headless Chromium at 1280 px, offline: equations typeset, images loaded,
# tables, code and figures inside the content column, numbers formatted, no stderr, glue and
# citations resolved; screenshots in build/screens. Says so and passes where no Chromium is installed.
check-book: install
	$(PY) -m tools.checkbook --html _build/html --screens build/screens

# nbval re-executes every chapter; its results go to build/test-results so they never overwrite
# the results/ that `make book` rendered (checkpoints are shared: their keys are complete).
test: install
	TQDM_DISABLE=1 GEOSURVEY_RESULTS=$(CURDIR)/build/test-results $(PY) -m pytest -q -p no:cacheprovider --nbval-lax tests book

# JupyterLab on the book, with the project's environment registered as the kernel "geosurvey";
# jupyterlab-myst (requirements.txt) renders the chapters' MyST markdown: roles, directives, math.
# A chapter's first code cell (tagged `parameters`) holds profile, device, seed, data_root and a dict
# of further options: edit it there, or pass them to papermill (`geosurvey run` does).
lab: install
	$(PY) -m ipykernel install --user --name geosurvey --display-name "Python (geosurvey)"
	$(VENV)/bin/jupyter lab book

bench: install
	$(PY) -m tools.bench -o bench/bench.json
	$(MAKE) profile

# Where each chapter's time goes, cold (empty caches, as on a fresh clone) and warm, and the
# time to render the book -> bench/profile.json (about twice the book's own time).
profile: install
	TQDM_DISABLE=1 $(PY) -m tools.profile --profile $(PROFILE) --seed $(SEED) -o bench/profile.json

# On a CUDA machine: matmul peak, the full profile's training step and memory, DataLoader photos/s.
bench-gpu: install
	$(PY) -m tools.bench --gpu

clean:
	rm -rf _build build results bench
