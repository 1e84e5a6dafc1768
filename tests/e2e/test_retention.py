"""``tke gc`` / ``tke run --keep-runs``: old runs' artifacts go, what is still needed stays, MLMD stays consistent.

Four runs of the wine recipe folder with changed train steps (1 and 2 steps: models that
fail the gate and are not pushed), then gc to the last two, then a sixth run: its
ExampleGen, StatisticsGen and Transform still come from the cache, and its Evaluator
compares with the latest blessed model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tests.conftest import REPO_ROOT, run_tke

pytestmark = pytest.mark.e2e

STEPS = (150, 1, 2, 160)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file())


def _store(run_dir: Path) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(run_dir / 'metadata.sqlite')
    return metadata_store.MetadataStore(config)


def _trainer_models(store) -> list:
    """The Model artifacts, in the order of the runs that trained them."""
    model_type = store.get_artifact_type('Model')
    return sorted(store.get_artifacts_by_type(model_type.name), key=lambda a: a.id)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp('retention')
    shutil.copytree(REPO_ROOT / 'examples' / 'wine_recipe', work / 'wine_recipe')
    shutil.copytree(REPO_ROOT / 'examples' / 'data', work / 'data')
    outputs = []
    for steps in STEPS:
        result = run_tke('run', '--recipe', './wine_recipe', '--train-steps', str(steps), cwd=work)
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        outputs.append(result.stdout)
    return work, work / 'runs' / 'wine', outputs


def test_the_runs_bless_and_push_only_the_good_models(runs):
    _, run_dir, outputs = runs
    assert ['pushed model: none' not in out for out in outputs] == [True, False, False, True]
    assert len(list((run_dir / 'serving').iterdir())) == 2


def test_dry_run_lists_and_removes_nothing(runs):
    work, run_dir, _ = runs
    before = _size(run_dir)
    result = run_tke('gc', str(run_dir), '--keep', '2', '--dry-run', cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'runs/wine: 4 run(s), keeping the last 2; would remove' in result.stdout
    assert 'Model ' in result.stdout and _size(run_dir) == before


def test_gc_then_the_next_run_caches_and_compares_with_the_right_baseline(runs):
    work, run_dir, _ = runs
    store = _store(run_dir)
    models = _trainer_models(store)
    assert len(models) == 4
    pipeline_before = _size(run_dir / 'pipeline')
    result = run_tke('gc', str(run_dir), '--keep', '2', cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'keeping the last 2; removed ' in result.stdout
    store = _store(run_dir)
    models = {m.id: m for m in store.get_artifacts_by_id([m.id for m in models])}
    state = {m.id: (m.state, Path(m.uri).exists()) for m in models.values()}
    first, one, two, last = sorted(models)
    live, deleted = (metadata_store_pb2.Artifact.LIVE, True), (metadata_store_pb2.Artifact.DELETED, False)
    # Pushed and still in serving/: kept. Not pushed, of removed runs: gone, and marked so.
    assert state[first] == live and state[last] == live
    assert state[one] == deleted, 'run 2: removed'
    assert state[two] == live, 'run 3 is kept'
    assert _size(run_dir / 'pipeline') < pipeline_before
    # The next run: data and transform from the cache; the Evaluator's baseline is the latest blessed.
    result = run_tke('run', '--recipe', './wine_recipe', '--train-steps', '170', '--keep-runs', '2', cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    for component in ('CsvExampleGen', 'StatisticsGen', 'Transform'):
        assert f'{component:<32} cached' in result.stdout, result.stdout
    assert 'keeping the last 2; removed ' in result.stdout
    store = _store(run_dir)
    context = store.get_context_by_type_and_name('node', 'tke-wine.Evaluator')
    latest = max(store.get_executions_by_context(context.id), key=lambda e: e.id)
    baseline = [ev.artifact_id for ev in store.get_events_by_execution_ids([latest.id])
                if ev.type == metadata_store_pb2.Event.INPUT and ev.path.steps[0].key == 'baseline_model']
    assert baseline == [last]
