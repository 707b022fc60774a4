.PHONY: setup demo test bench lint typecheck

setup:  ## install and start everything the platform needs (idempotent)
	bash scripts/setup.sh

demo:   ## set up, seed the demo course, run the web site and a worker (Ctrl-C stops all)
	bash scripts/demo.sh

test:   ## set up, then run the whole test suite
	bash scripts/test.sh

bench:  ## sandbox benchmark
	bash scripts/setup.sh && .venv/bin/python -m bench.sandbox

lint:  ## ruff, the project's own rules, the import layers (.importlinter) and the type checker
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/python scripts/lint_rules.py \
		&& .venv/bin/lint-imports --no-cache && bash scripts/typecheck.sh

typecheck:  ## mypy on the modules listed in scripts/typecheck.sh
	bash scripts/typecheck.sh
