# The two commands of the README. Each installs what it needs first, so that a
# fresh machine needs nothing else.
PYTHON ?= python3
FASHION_DIR := /usr/share/datasets/fashion-mnist

.PHONY: install test lint demo converged converged-report

OUT ?= runs/demo

# The torch/torchvision pair that lies on these machines' disk (a CUDA build that runs on the
# CPU and uses a GPU where there is one). PyPI's torchvision does not import beside the CPU-only
# torch 2.13.0 wheel. Pinned in the same pip call as the package, so no resolver swaps torch.
TORCH_PINS := torch==2.14.1 torchvision==0.29.1

install:
	$(PYTHON) -m pip install -q $(TORCH_PINS) -e '.[dev]'
	@if [ ! -d $(FASHION_DIR) ]; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null; \
	fi

# One pytest worker per core, each test file on one worker (the files' module fixtures, such as
# the torchrun launches, then run once); tests/conftest.py gives each worker its share of the
# cores' threads.
test: install
	$(PYTHON) -m ruff check src tests $(wildcard benchmarks)
	$(PYTHON) -m ruff format --check src tests $(wildcard benchmarks)
	$(PYTHON) -m pytest -q -n auto --dist loadfile

lint:
	$(PYTHON) -m ruff check src tests $(wildcard benchmarks)
	$(PYTHON) -m ruff format --check src tests $(wildcard benchmarks)

# The main job on offline data: LRLC next to a convolution on Fashion-MNIST, a few minutes.
demo: install
	$(PYTHON) -m lrlc.cli reproduce --preset demo --out $(OUT)

# The converged reproduction (issue 17): about 16 hours on 2 cores, in the background and
# resumable (rerun to go on); see docs/results/converged/README.md.
converged: install
	scripts/converged.sh start

converged-report: install
	scripts/converged.sh report
