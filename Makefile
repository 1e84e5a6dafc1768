# Quick start:  make run   (sets everything up, runs the housing pipeline)
#               make test  (sets everything up, runs the test suites of both stacks)
# STACK=modern: the same on the modern stack (TFX >= 1.16, native Keras, .venv-modern);
# STACK=legacy with make test: the legacy suite only. make run's default stack is the legacy one.
VENV ?= .venv
MODERN_VENV ?= .venv-modern
STACK ?=
# The Kubeflow / Vertex AI compile environment (kfp 1.8 conflicts with the main stack).
KFP_VENV ?= .venv-kfp
export TKE_KFP_VENV := $(abspath $(KFP_VENV))
PY := $(VENV)/bin/python
RECIPE ?= housing
ARGS ?=
PYTEST_ARGS ?=
export PYTHON

.PHONY: run test test-legacy test-modern venv-modern lock-modern-1.21 test-fast lint bench bench-quality bench-init bench-example-gen bench-example-gen-rss bench-scale bench-scale-out bench-stacks lock clean venv kfp-venv lock-kfp image

$(VENV)/.installed: requirements.lock pyproject.toml setup.py scripts/bootstrap.sh scripts/find_python.sh
	bash scripts/bootstrap.sh $(VENV)

venv: $(VENV)/.installed

$(KFP_VENV)/.installed: requirements-kfp.lock pyproject.toml setup.py scripts/bootstrap.sh scripts/find_python.sh
	bash scripts/bootstrap.sh $(KFP_VENV) requirements-kfp.lock

kfp-venv: $(KFP_VENV)/.installed

# The modern stack: the newest TFX this machine can install (scripts/modern_lock.sh says which).
$(MODERN_VENV)/.installed: requirements-modern-1.16.lock requirements-modern-1.21.lock pyproject.toml setup.py \
		scripts/bootstrap.sh scripts/find_python.sh scripts/modern_lock.sh
	bash scripts/bootstrap.sh $(MODERN_VENV) $$(bash scripts/modern_lock.sh)

venv-modern: $(MODERN_VENV)/.installed

ifeq ($(STACK),modern)
run: venv-modern
	$(MODERN_VENV)/bin/tke run --recipe $(RECIPE) $(ARGS)
else
run: venv
	$(VENV)/bin/tke run --recipe $(RECIPE) $(ARGS)
endif

# The modern stack's suite: what runs on both stacks (tests marked both_stacks, in the files below)
# and what only the modern one has; its migration check also runs the legacy environment.
MODERN_TESTS ?= tests/components/trainer/test_stack.py tests/components/trainer/test_native.py \
	tests/components/trainer/test_native_cluster.py tests/components/test_fast_statistics_gen.py \
	tests/components/test_fast_transform.py tests/components/test_tfx_internals.py \
	tests/components/trainer/test_keras_file.py tests/components/recipes tests/pipelines/app/test_local_runner.py \
	tests/pipelines/app/test_migrate.py \
	tests/e2e/test_modern_stack.py

ifeq ($(STACK),modern)
test: test-modern
else ifeq ($(STACK),legacy)
test: test-legacy
else
test: test-legacy test-modern
endif

test-legacy: venv kfp-venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-modern: venv venv-modern
	$(MODERN_VENV)/bin/python -m pytest -m both_stacks $(MODERN_TESTS) $(PYTEST_ARGS)

test-fast: venv kfp-venv
	$(PY) -m pytest -m 'not e2e' $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) bench/taxi_vs_tfx.py

# The taxi pipeline at 1x, 10x, 100x the data: component times beside single-pass limits, peak RSS.
bench-scale: venv
	$(PY) bench/scale.py --copies 1,10,100 --json bench/scale.json

# CSV -> tf.Examples: TFX's CsvExampleGen executor vs ours vs the pyarrow + tfx_bsl floor.
bench-example-gen: venv
	$(PY) bench/example_gen.py --copies 10 --limit

# The fast ExampleGen's peak memory at 100x and 1,000x the taxi data (bounded: shards written one at a time).
bench-example-gen-rss: venv
	$(PY) bench/example_gen.py --peak-rss 100,1000 --json bench/example_gen_rss.json

# Per-core rates of TFX's Beam executors and the Trainer, for docs/scale-out.md.
bench-scale-out: venv
	$(PY) bench/scale_out.py --copies 10 --json bench/scale_out.json

# Every recipe at its real steps, beside its canned Estimator baseline.
bench-quality: venv
	$(PY) bench/quality.py --json bench/quality.json

# tke init + tke run on public tables beside scikit-learn (a bench-only dependency, installed here).
bench-init: venv
	$(PY) -m pip install -q scikit-learn==1.5.2
	$(PY) bench/init_quality.py --json bench/init_quality.json

# Both stacks side by side in one run: every recipe, the init tables and the taxi pipeline at 100x
# (modern / legacy beside the 2% goal). The modern lock has scikit-learn already (a TFX dependency).
bench-stacks: venv venv-modern
	$(PY) -m pip install -q scikit-learn==1.5.2
	$(PY) bench/stacks.py --json bench/stacks.json

# Re-resolve the pinned stack (needs uv; bootstrap puts one in .tools/uv).
lock:
	$(or $(shell command -v uv),.tools/uv/bin/uv) pip compile requirements.in --universal \
	  --python-version 3.10 -o requirements.lock

# The modern stack's pins where glibc < 2.39 (TFX 1.16, Python 3.10) and where glibc >= 2.39 (TFX 1.21).
lock-modern-1.21:
	$(or $(shell command -v uv),.tools/uv/bin/uv) pip compile requirements-modern-1.21.in --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_39 -o requirements-modern-1.21.lock

lock-modern:
	$(or $(shell command -v uv),.tools/uv/bin/uv) pip compile requirements-modern-1.16.in --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_36 -o requirements-modern-1.16.lock

# The compile environment's pins: Python 3.10 on Linux (kfp 1.8 has no universal resolve).
lock-kfp:
	$(or $(shell command -v uv),.tools/uv/bin/uv) pip compile requirements-kfp.in --python-version 3.10 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements-kfp.lock

# The pipeline image for Kubeflow / Vertex AI (needs docker): make image IMAGE=REGISTRY/tke:TAG [PUSH=1]
image:
	@test -n "$(IMAGE)" || { echo 'make image: set IMAGE=REGISTRY/NAME:TAG' >&2; exit 2; }
	docker build -t $(IMAGE) .
	$(if $(PUSH),docker push $(IMAGE))

clean:
	rm -rf $(VENV) $(KFP_VENV) .tools runs .pytest_cache
