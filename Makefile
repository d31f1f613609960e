# kefu: `make run` starts the bot on embedded defaults, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck check bench eval browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,fast]' || \
	  { echo "note: jieba_fast did not build; using pure-Python jieba (slower)"; \
	    $(BIN)/python -m pip install --quiet -e '.[dev]'; }
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kefu serve

test: $(STAMP) browser
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot intents scripts_zh handoff config tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

check: lint test

eval: $(STAMP)
	$(BIN)/kefu eval ../shared/data/intents_dev.tsv --errors

bench: $(STAMP)
	$(BIN)/python bench/chat.py
	$(BIN)/python bench/classify.py

# Browser tests drive Debian's chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
	  echo "warning: could not install chromium; browser tests will fail"; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
