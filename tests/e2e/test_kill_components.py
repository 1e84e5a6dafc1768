"""SIGKILL the whole run while Transform runs, then while the Evaluator runs; each time the next run
completes. Then ``tke gc`` on the same run directory (sharing its runs keeps the suite short).

On the wine recipe folder (the smallest pipeline). After each kill and re-run: exactly one
new pushed version, earlier ones untouched, the metadata store readable, and the killed
execution never reused: it stays unfinished in MLMD and the re-run executes that component
anew (a component that finished before the kill, like the Trainer, is rightly taken from the
cache).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from tests.conftest import REPO_ROOT, run_tke
from tfx_keras_estimator.pipelines.app.report import latest_run

pytestmark = pytest.mark.e2e


def _versions(run_dir: Path) -> List[str]:
    return sorted(p.name for p in (run_dir / 'serving').iterdir() if p.name.isdigit())


def _executions(run_dir: Path, node: str) -> List[metadata_store_pb2.Execution]:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(run_dir / 'metadata.sqlite')
    store = metadata_store.MetadataStore(config)
    context = store.get_context_by_type_and_name('node', f'tke-wine.{node}')
    return sorted(store.get_executions_by_context(context.id), key=lambda e: e.id)


def _kill_during(work: Path, node: str, args: List[str]) -> None:
    """Starts ``tke run`` and SIGKILLs its whole process group once ``node`` is running."""
    proc = subprocess.Popen([str(Path(sys.executable).with_name('tke')), *args], cwd=work, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 300
    try:
        for line in proc.stdout:
            if line.split()[:2] == [node, 'running...']:
                time.sleep(0.5)  # inside the component's executor
                break
            assert time.monotonic() < deadline, f'{node} did not start'
        else:
            pytest.fail(f'the run ended before {node} ran')
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize('node, changes', [('Transform', ['--no-cache']), ('Evaluator', ['--train-steps', '130'])])
def test_killed_while_a_component_runs_the_next_run_completes(wine_work, node, changes):
    work, run_dir = wine_work
    args = ['run', '--recipe', './wine_recipe', '--output', str(run_dir), *changes]
    before = _versions(run_dir)
    _kill_during(work, node, args)
    killed = _executions(run_dir, node)[-1]
    assert killed.last_known_state == metadata_store_pb2.Execution.RUNNING, 'killed mid-execution'
    assert _versions(run_dir) == before

    again = run_tke(*args, cwd=work)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert f'{node:<32} done' in again.stdout, 'the killed component runs anew, not from a cache'
    executions = _executions(run_dir, node)
    assert executions[-1].id > killed.id and executions[-1].last_known_state == metadata_store_pb2.Execution.COMPLETE
    assert _executions(run_dir, node)[[e.id for e in executions].index(killed.id)].last_known_state == \
        metadata_store_pb2.Execution.RUNNING, 'the killed execution is never marked as if it had succeeded'
    after = _versions(run_dir)
    assert after[:len(before)] == before and len(after) == len(before) + 1, (before, after)
    report = latest_run(str(run_dir / 'metadata.sqlite'), 'tke-wine')
    assert report.pushed and Path(report.pushed_model).name == after[-1]


@pytest.fixture(scope='module')
def wine_work(tmp_path_factory):
    work = tmp_path_factory.mktemp('kill')
    shutil.copytree(REPO_ROOT / 'examples' / 'wine_recipe', work / 'wine_recipe')
    shutil.copytree(REPO_ROOT / 'examples' / 'data', work / 'data')
    run_dir = work / 'run'
    first = run_tke('run', '--recipe', './wine_recipe', '--output', str(run_dir), cwd=work)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    assert len(_versions(run_dir)) == 1
    return work, run_dir


# --- Retention, on the same run directory (after the kill tests: five runs, two killed, three pushed) ---

def _models(run_dir: Path) -> List[metadata_store_pb2.Artifact]:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(run_dir / 'metadata.sqlite')
    store = metadata_store.MetadataStore(config)
    return sorted(store.get_artifacts_by_type('Model'), key=lambda a: a.id)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob('*') if f.is_file())


def _pipeline_runs(run_dir: Path) -> int:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(run_dir / 'metadata.sqlite')
    return len(metadata_store.MetadataStore(config).get_contexts_by_type('pipeline_run'))


def test_gc_keeps_what_is_needed_and_the_next_run_caches_and_compares_with_the_right_baseline(wine_work):
    work, run_dir = wine_work
    # Three pushed models, whether or not the kill tests above ran first (alone: pushes of its own).
    while len(_versions(run_dir)) < 3:
        steps = str(300 + 10 * len(_versions(run_dir)))
        more = run_tke('run', '--recipe', './wine_recipe', '--output', str(run_dir), '--train-steps', steps, cwd=work)
        assert more.returncode == 0 and 'pushed model: none' not in more.stdout, more.stdout + more.stderr[-2000:]
    pushed_before = _versions(run_dir)
    assert len(pushed_before) == 3
    # Two more runs whose models fail the gate (1 and 2 training steps): never pushed.
    for steps in ('1', '2'):
        result = run_tke('run', '--recipe', './wine_recipe', '--output', str(run_dir), '--train-steps', steps,
                         cwd=work)
        assert result.returncode == 0 and 'pushed model: none' in result.stdout, result.stdout + result.stderr[-2000:]
    one, two = _models(run_dir)[-2:]

    runs = _pipeline_runs(run_dir)  # 7 after the kill tests: the first, two killed, their two re-runs, these two
    dry = run_tke('gc', str(run_dir), '--keep', '1', '--dry-run', cwd=work)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert f'run: {runs} run(s), keeping the last 1; would remove' in dry.stdout and 'Model ' in dry.stdout
    before = _size(run_dir / 'pipeline')
    gc = run_tke('gc', str(run_dir), '--keep', '1', cwd=work)
    assert gc.returncode == 0 and 'keeping the last 1; removed ' in gc.stdout, gc.stdout + gc.stderr[-3000:]
    assert _size(run_dir / 'pipeline') < before

    state = {m.id: (m.state, Path(m.uri).exists()) for m in _models(run_dir)}
    live, deleted = (metadata_store_pb2.Artifact.LIVE, True), (metadata_store_pb2.Artifact.DELETED, False)
    assert state[one.id] == deleted, 'a removed run\'s unpushed model: files gone, marked DELETED'
    assert state[two.id] == live, 'the kept run\'s model'
    pushed_ids = [m.id for m in _models(run_dir) if m.id not in (one.id, two.id)]
    assert all(state[i] == live for i in pushed_ids[-3:]), 'the models still in serving/'
    assert _versions(run_dir) == pushed_before

    # The next run: data and transform still from the cache; the baseline is the latest blessed model.
    latest_blessed = pushed_ids[-1]
    result = run_tke('run', '--recipe', './wine_recipe', '--output', str(run_dir), '--train-steps', '170',
                     '--keep-runs', '2', cwd=work)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    for component in ('CsvExampleGen', 'StatisticsGen', 'Transform'):
        assert f'{component:<32} cached' in result.stdout, result.stdout
    assert 'keeping the last 2; removed ' in result.stdout
    latest = _executions(run_dir, 'Evaluator')[-1]
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(run_dir / 'metadata.sqlite')
    events = metadata_store.MetadataStore(config).get_events_by_execution_ids([latest.id])
    baseline = [ev.artifact_id for ev in events
                if ev.type == metadata_store_pb2.Event.INPUT and ev.path.steps[0].key == 'baseline_model']
    assert baseline == [latest_blessed]
