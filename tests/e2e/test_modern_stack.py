"""The modern stack end to end (make test-modern): ``tke migrate-check`` trains housing and taxi on
both stacks (the legacy one in its own environment, as a subprocess), the modern models are
blessed and pushed with the legacy serving contract (compared from the saved protos), and
``saved_model_cli run`` answers a raw row through every signature of both exports; a run
directory of the legacy stack and a legacy-only option are refused; ``tke init`` + ``tke run``; a warm
start from the last model, ``tke tensorboard`` and ``tke gc`` on a modern run directory."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, first_loss, run_tke
from tfx_keras_estimator.components.trainer import stack
from tfx_keras_estimator.pipelines.app import migrate
from tfx_keras_estimator.pipelines.app.migrate import REPORT_JSON, VENV_NAMES

if stack.current() != stack.MODERN:
    pytest.skip("the modern stack's end-to-end tests (make test-modern)", allow_module_level=True)

pytestmark = [pytest.mark.e2e, pytest.mark.both_stacks]
LEGACY_BIN = Path(sys.prefix).parent / VENV_NAMES[stack.LEGACY] / 'bin'


def _migrate_check(recipe: str, out: Path, *args: str) -> dict:
    result = run_tke('migrate-check', '--recipe', recipe, '--output', str(out), *args, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert 'verdict: SAFE TO SWITCH' in result.stdout, result.stdout
    return json.loads((out / REPORT_JSON).read_text())


@pytest.fixture(scope='module')
def housing(tmp_path_factory):
    out = tmp_path_factory.mktemp('migrate-housing')
    return out, _migrate_check('housing', out, '--train-steps', '300')


@pytest.fixture(scope='module')
def taxi(tmp_path_factory):
    out = tmp_path_factory.mktemp('migrate-taxi')
    return out, _migrate_check('taxi', out, '--train-steps', '200', '--eval-steps', '5')


@pytest.mark.parametrize('which', ['housing', 'taxi'])
def test_the_modern_model_is_blessed_pushed_and_keeps_the_legacy_contract(which, request):
    out, report = request.getfixturevalue(which)
    legacy, modern = report[stack.LEGACY], report[stack.MODERN]
    assert legacy['stack'].startswith('legacy stack (TFX 1.15') and modern['stack'].startswith('modern stack')
    assert modern['blessed'] is True and Path(modern['pushed_model'], 'saved_model.pb').is_file()
    assert report['contract_differences'] == []
    # Compared from both saved protos here too: every legacy signature as it was.
    for key, signature in legacy['contract'].items():
        assert modern['contract'][key] == signature, key
    assert set(legacy['contract']) == ({'serving_default', 'regression'} if which == 'housing'
                                       else {'serving_default', 'classification'})
    assert report['agreement']['rows'] > 100
    if which == 'taxi':
        assert report['agreement']['same_class_share'] > 0.8
    # The gate metric and the other eval metrics side by side.
    assert {'example_count', modern['gated_metric']} <= set(modern['metrics']) & set(legacy['metrics'])
    assert (out / 'migrate-check.txt').read_text().count('\n') > 6


def _raw_row_json(model: str) -> str:
    """The shipped data's first row, typed as the model's description says a request carries it."""
    kinds = json.loads(Path(model, 'assets.extra', 'tke_model.json').read_text())['features']
    with open(REPO_ROOT / 'components' / 'recipes' / 'housing' / 'data' / 'boston_housing.csv') as f:
        header, row = f.readline().strip().split(','), f.readline().strip().split(',')
    cast = {'int64_list': int, 'float_list': float}
    features = {name: [cast[kinds[name]['type']](float(value))] for name, value in zip(header, row, strict=True)
                if name in kinds}
    return json.dumps([features])


@pytest.mark.parametrize('side', [stack.LEGACY, stack.MODERN])
def test_saved_model_cli_answers_a_raw_row_through_every_signature(housing, side):
    _, report = housing
    model = report[side]['pushed_model']
    cli = (LEGACY_BIN if side == stack.LEGACY else Path(sys.executable).parent) / 'saved_model_cli'
    for key, signature in report[side]['contract'].items():
        if key == 'transform_features':
            continue
        (input_name,) = signature['inputs']
        proc = subprocess.run([str(cli), 'run', '--dir', model, '--tag_set', 'serve', '--signature_def', key,
                               '--input_examples', f'{input_name}={_raw_row_json(model)}'], capture_output=True,
                              text=True, timeout=300, env=migrate.environment())
        assert proc.returncode == 0, proc.stderr[-3000:]
        for output in signature['outputs']:
            assert f"Result for output key {output}:" in proc.stdout, proc.stdout


def test_a_legacy_run_directory_is_refused_and_left_as_it_was(housing):
    out, _ = housing
    legacy_dir = out / stack.LEGACY
    store = legacy_dir / 'metadata.sqlite'
    before = store.stat().st_mtime_ns, store.stat().st_size
    for args in (['runs', str(legacy_dir)], ['run', '--recipe', 'housing', '--output', str(legacy_dir)]):
        result = run_tke(*args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f'run directory {legacy_dir} belongs to the legacy stack' in result.stderr
        assert 'make venv (TFX 1.15' in result.stderr
    assert (store.stat().st_mtime_ns, store.stat().st_size) == before


def test_a_legacy_only_option_is_refused_naming_the_legacy_stack(tmp_path):
    result = run_tke('run', '--recipe', 'housing', '--output', str(tmp_path / 'run'), '--canned-baseline')
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the canned baseline (the recipe's pre-made Estimator) needs the legacy stack" in result.stderr
    assert 'Use the legacy environment: make venv' in result.stderr
    assert not (tmp_path / 'run').exists()


def test_init_then_run_on_the_modern_stack(tmp_path):
    data = tmp_path / 'wine.csv'
    shutil.copy(REPO_ROOT / 'examples' / 'data' / 'wine' / 'wine.csv', data)
    init = run_tke('init', '--data', str(data), '--label', 'cultivar', '--output', str(tmp_path / 'wine'))
    assert init.returncode == 0, init.stdout + init.stderr
    result = run_tke('run', '--recipe', str(tmp_path / 'wine'), '--output', str(tmp_path / 'run'),
                     '--train-steps', '150')
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert 'model: candidate' in result.stdout  # the Tuner chose among the init recipe's candidates
    assert 'gate: accuracy' in result.stdout and 'eval metrics' in result.stdout


def test_vertex_compiles_on_the_modern_stack_and_kubeflow_v1_is_refused(tmp_path):
    common = ['--recipe', 'housing', '--pipeline-root', 'gs://bucket/tke', '--image', 'europe-docker.pkg.dev/p/r/tke:1']
    result = run_tke('compile', '--engine', 'vertex', *common, '--output', str(tmp_path / 'housing.json'))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    spec = (tmp_path / 'housing.json').read_text()
    # The modern pipeline: the native trainer's run_fn, TFMA on the serving model's signature.
    assert 'tfx_keras_estimator.components.trainer.run_fn' in spec
    assert 'transform_features' in spec and 'serving_default' in spec
    refused = run_tke('compile', '--engine', 'kubeflow', *common, '--output', str(tmp_path / 'v1.yaml'))
    assert refused.returncode == 2 and 'needs the legacy stack (TFX >= 1.16 has no KubeflowDagRunner)' in \
        refused.stderr, refused.stderr
    assert not (tmp_path / 'v1.yaml').exists()


def test_tke_predict_answers_the_same_rows_from_both_stacks_models(housing, tmp_path):
    """A client of `tke predict` sees the same columns from the legacy and the modern model."""
    _, report = housing
    rows = tmp_path / 'rows.csv'
    lines = (REPO_ROOT / 'components' / 'recipes' / 'housing' / 'data' / 'boston_housing.csv').read_text()
    rows.write_text('\n'.join(lines.splitlines()[:6]) + '\n')  # the header and five rows, label included
    answers = {}
    for side, bin_dir in ((stack.LEGACY, LEGACY_BIN), (stack.MODERN, Path(sys.executable).parent)):
        proc = subprocess.run([str(bin_dir / 'tke'), 'predict', '--model', report[side]['pushed_model'], '--csv',
                               str(rows)], capture_output=True, text=True, timeout=300, env=migrate.environment())
        assert proc.returncode == 0, proc.stderr[-3000:]
        answers[side] = proc.stdout.splitlines()
    legacy, modern = answers[stack.LEGACY], answers[stack.MODERN]
    assert legacy[0] == modern[0] and len(legacy) == len(modern) == 6, (legacy, modern)



@pytest.fixture(scope='module')
def two_modern_runs(tmp_path_factory):
    """A cold run of housing on the modern stack, then a warm start from its model in the same directory."""
    run_dir = tmp_path_factory.mktemp('modern-warm')
    common = ['run', '--recipe', 'housing', '--output', str(run_dir), '--eval-steps', '3']
    cold = run_tke(*common, '--train-steps', '60')
    assert cold.returncode == 0, cold.stdout + cold.stderr[-3000:]
    warm = run_tke(*common, '--train-steps', '61', '--warm-start')
    assert warm.returncode == 0, warm.stdout + warm.stderr[-3000:]
    return run_dir, cold, warm


def test_a_warm_start_on_the_modern_stack_trains_on_from_the_last_model(two_modern_runs):
    run_dir, cold, warm = two_modern_runs
    log = (run_dir / 'tke.log').read_text()
    assert re.search(r'warm start: [1-9]\d* variables from \S+/Trainer/model/\d+/', log), log[-3000:]
    # It starts where the last model ended, not from scratch: its first loss is far lower.
    assert first_loss(warm.stdout, 61) < 0.5 * first_loss(cold.stdout, 60), (cold.stdout, warm.stdout)


def test_tke_tensorboard_serves_both_modern_trainings_then_gc_keeps_the_last(two_modern_runs):
    """In one test: gc removes what TensorBoard shows first."""
    run_dir = two_modern_runs[0]
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([str(Path(sys.executable).with_name('tke')), 'tensorboard', str(run_dir), '--port',
                                str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        runs, deadline = [], time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None and not runs:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/data/runs', timeout=5) as response:
                    runs = json.loads(response.read())
            except OSError:
                time.sleep(1)
        assert process.poll() is None, process.communicate()
        # Keras' TensorBoard callback: a train and a validation folder under each ModelRun's keras/.
        assert {'run1-Trainer/keras/train', 'run1-Trainer/keras/validation', 'run2-Trainer/keras/train'} <= set(runs)
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/data/plugin/scalars/tags', timeout=10) as response:
            tags = json.loads(response.read())
        assert 'epoch_loss' in tags['run2-Trainer/keras/validation'], tags
    finally:
        process.terminate()
        process.communicate(timeout=30)
    model_runs = list((run_dir / 'pipeline' / 'Trainer' / 'model_run').iterdir())
    served = sorted((run_dir / 'serving').iterdir())
    assert len(model_runs) == len(served) == 2, (model_runs, served)
    gc = run_tke('gc', str(run_dir), '--keep', '1')
    assert gc.returncode == 0 and '2 run(s), keeping the last 1; removed ' in gc.stdout, gc.stdout + gc.stderr[-3000:]
    # Both models are in serving/ (and the first is the second's warm-start base): their trainings stay.
    assert all(p.exists() for p in model_runs + served)
