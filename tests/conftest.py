"""Shared fixtures. The housing pipeline runs once per test session (real TFX,
Beam, TFMA and MLMD on SQLite); tests that need a Transform output or a pushed
model reuse that run instead of starting their own."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List
from unittest import mock

import pytest

from tfx_keras_estimator.components.recipes import get_recipe

# Few steps: enough to check the wiring and to pass the housing gate (rmse <= 8).
E2E_TRAIN_STEPS = 400
E2E_EVAL_STEPS = 5


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str


REPO_ROOT = Path(__file__).resolve().parents[1]


def first_loss(stdout: str, steps: int) -> float:
    """The loss `tke run` printed at step 1 of ``steps`` (its progress lines)."""
    (loss,) = re.findall(rf'training: step 1/{steps} \(\d+%\), loss ([\d.]+)', stdout)
    return float(loss)


def run_tke(*args: str, timeout: int = 900, importable_tests: bool = False,
            extra_pythonpath: str | None = None, cwd: Path | None = None) -> CliRun:
    """Runs the installed ``tke`` console script as a user would.

    ``importable_tests`` / ``extra_pythonpath`` put the repository / a folder on
    PYTHONPATH, as a user does for a model builder module that is not installed.
    """
    tke = Path(sys.executable).with_name('tke')
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    paths = [extra_pythonpath, str(REPO_ROOT) if importable_tests else None, env.get('PYTHONPATH')]
    if any(paths[:2]):
        env['PYTHONPATH'] = os.pathsep.join(p for p in paths if p)
    proc = subprocess.run([str(tke), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class PipelineRun:
    run_dir: Path
    first: CliRun
    second: CliRun
    # report.html after the two runs (other tests add runs to the directory later).
    report_page: str = ''


@pytest.fixture(scope='session')
def housing_run(tmp_path_factory) -> PipelineRun:
    """The housing pipeline, run twice through ``tke run`` into one run directory."""
    run_dir = tmp_path_factory.mktemp('housing-run')
    args = ['run', '--recipe', 'housing', '--output', str(run_dir),
            '--train-steps', str(E2E_TRAIN_STEPS), '--eval-steps', str(E2E_EVAL_STEPS)]
    first = run_tke(*args)
    if first.returncode != 0:
        log = (run_dir / 'tke.log').read_text()[-5000:] if (run_dir / 'tke.log').exists() else ''
        pytest.fail(f'housing pipeline failed:\n{first.stdout}\n{first.stderr}\n--- log tail ---\n{log}')
    second = run_tke(*args)
    page = run_dir / 'report.html'
    return PipelineRun(run_dir, first, second, page.read_text() if page.exists() else '')


def csv_rows(path: Path, limit: int) -> List[Dict[str, str]]:
    with path.open(newline='') as f:
        return [row for _, row in zip(range(limit), csv.DictReader(f), strict=False)]


@pytest.fixture(scope='session')
def housing_csv() -> Path:
    return get_recipe('housing').data_dir / 'boston_housing.csv'


@pytest.fixture(scope='session')
def taxi_csv() -> Path:
    return get_recipe('taxi').data_dir / 'chicago_taxi.csv'


@pytest.fixture(scope='session')
def digits_csv() -> Path:
    return get_recipe('digits').data_dir / 'digits.csv'


@pytest.fixture(scope='session')
def text_csv() -> Path:
    return get_recipe('text').data_dir / 'debian_packages.csv'


@pytest.fixture(scope='session')
def mobilenet_tfrecord() -> Path:
    """The digits as PNGs in tf.Examples (scripts/make_mobilenet_data.py), in digits.csv's row order."""
    return get_recipe('mobilenet').data_dir / 'digits.tfrecord'


def tfrecord_examples(path: Path, limit: int) -> List[bytes]:
    """The first ``limit`` serialized records of a TFRecord file."""
    import tensorflow as tf

    return [record.numpy() for record in tf.data.TFRecordDataset(str(path)).take(limit)]


def free_ports(count: int) -> List[int]:
    """Ports the OS handed out and that are free again (held together, so all distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(('127.0.0.1', 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@contextlib.contextmanager
def calls_of(owner: Any, name: str) -> Iterator[List[tuple]]:
    """The calls of ``owner.name`` inside the block (their positional arguments); the real one runs."""
    made: List[tuple] = []
    original = getattr(owner, name)

    def spy(*args, **kwargs):
        made.append(args)
        return original(*args, **kwargs)

    with mock.patch.object(owner, name, spy):
        yield made
