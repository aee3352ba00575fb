# On a fresh machine: `make demo` tries hdbot in the browser (no Telegram needed), `make run`
# runs it, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock fonts browser postgres demo run test lint locales locales-update clean

# Every dependency comes from requirements.lock, pinned with its hashes: a fresh machine gets
# exactly the versions that were tested. `make lock` remakes it from pyproject.toml.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

lock: install
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra test --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

# Pictures (before/after, charts, the countdown card) draw Chinese: make sure a CJK font is
# there, installing Debian's fonts-wqy-microhei when we may (root with apt-get).
fonts: install
	@if $(BIN)/python -c "import sys; from bot.views.pictures.fonts import cjk_font_path; sys.exit(0 if cjk_font_path() else 1)" 2>/dev/null; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing a CJK font (fonts-wqy-microhei)"; \
		( apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 || \
		  ( apt-get update -q >/dev/null 2>&1 && apt-get install -y -q fonts-wqy-microhei >/dev/null 2>&1 ) ) || \
		echo "warning: could not install fonts-wqy-microhei; Chinese in pictures will not render"; \
	else \
		echo "warning: no CJK font found; install fonts-wqy-microhei (or fonts-noto-cjk)"; \
	fi

# Compile the gettext catalogues (.po → .mo).
locales: install
	$(BIN)/pybabel compile --domain hdbot --directory locales --statistics

# Extract messages from the code and merge them into both catalogues.
locales-update: install
	$(BIN)/python locales/sync.py

run: locales fonts
	$(BIN)/hdbot db upgrade
	$(BIN)/hdbot run

# A local sandbox: the example campaign, a stand-in Telegram and WeCom, the real bot, and a chat
# page at http://127.0.0.1:$(DEMO_PORT) (`make demo DEMO_PORT=9000` for another port).
DEMO_PORT ?= 8080
demo: locales fonts
	$(BIN)/hdbot demo --port $(DEMO_PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite runs twice, with the machine's clock moved to two awkward moments: the last half
# hour of the test campaign's closing day, and six weeks after it. Tests read time only from
# hdbot's own clock (tests/timeline.py), so neither may change a single result. The slow
# reliability and load tests (fuzzing, crashes, fan-outs, floods; marked `slow`) run at the
# first only.
FIRST_DATE ?= 2026-12-31T23:30:00+08:00
SECOND_DATE ?= 2027-02-15T10:00:00+08:00

# PostgreSQL for the [postgresql] tests: started, or installed as root on Debian; if none can be
# had, one line says so and those tests are skipped.
postgres:
	@bash tests/postgres.sh

# Debian's chromium and chromedriver for the demo page's browser test (tests/test_demo_page.py):
# installed as root with apt-get when missing; where they cannot be had, that test is skipped.
browser:
	@bash tests/browser.sh

test: locales fonts lint postgres browser
	@echo "== pytest with the machine's clock at $(FIRST_DATE) (every test)"
	@$(BIN)/pytest -p no:cacheprovider -q --machine-date "$(FIRST_DATE)"
	@echo "== pytest with the machine's clock at $(SECOND_DATE) (all but the slow reliability and load tests)"
	@$(BIN)/pytest -p no:cacheprovider -q --machine-date "$(SECOND_DATE)" -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
