"""SIGKILL the whole run while Transform runs, then while the Evaluator runs; each time the next run completes.

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

from pipelines.report import latest_run
from tests.conftest import REPO_ROOT, run_tke

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
