# The two commands of the README: `make book` and `make test`.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PROFILE ?= ci
DEVICE  ?= auto
DATA_ROOT ?=
SEED    ?= 0

# Offline by default: timm must not spend a minute retrying the hub. Set HF_HUB_OFFLINE=0 on a
# machine with the hub to use its weights (the `full` profile's CLIP ViT).
export HF_HUB_OFFLINE ?= 1
export PYTHONHASHSEED := 0

.PHONY: install data book test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

data: install
	$(PY) -m geosurvey.cli data --profile $(PROFILE) $(if $(DATA_ROOT),--data-root $(DATA_ROOT))

# Progress bars are off while executing chapters: they would be stored in the rendered pages.
book: data
	TQDM_DISABLE=1 $(PY) -m geosurvey.cli book --profile $(PROFILE) --device $(DEVICE) --seed $(SEED) \
		$(if $(DATA_ROOT),--data-root $(DATA_ROOT))

# nbval re-executes every chapter; its results go to build/test-results so they never overwrite
# the results/ that `make book` rendered (checkpoints are shared: their keys are complete).
test: install
	TQDM_DISABLE=1 GEOSURVEY_RESULTS=$(CURDIR)/build/test-results $(PY) -m pytest -q -p no:cacheprovider --nbval-lax tests book

bench: install
	$(PY) -m geosurvey.cli bench -o bench/bench.json

clean:
	rm -rf _build build results bench
