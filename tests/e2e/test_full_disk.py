"""A run whose run directory fills up: a clear message naming the path; earlier models and the store stay readable.

The run directory is on a small tmpfs of its own (mounted here; the test is skipped, with the
reason, where mounting is not allowed). A first run pushes a model; then the file system is
filled up to its last 64 KB and a second run, with nothing cached, has to write.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT, run_tke
from tfx_keras_estimator.pipelines.app.report import all_runs

pytestmark = pytest.mark.e2e


@pytest.fixture()
def small_disk(tmp_path):
    mount = tmp_path / 'disk'
    mount.mkdir()
    proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', str(mount)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode}): no small disk to fill')
    try:
        yield mount
    finally:
        subprocess.run(['umount', '-l', str(mount)], check=False)


def _fill(mount: Path, leave: int) -> Path:
    ballast = mount / 'ballast'
    free = shutil.disk_usage(mount).free
    with ballast.open('wb') as f:
        remaining = free - leave
        chunk = b'\0' * (1 << 20)
        while remaining > 0:
            f.write(chunk[:min(len(chunk), remaining)])
            remaining -= len(chunk)
    return ballast


def test_a_full_run_directory_fails_clearly_and_keeps_what_was_there(tmp_path, small_disk):
    shutil.copytree(REPO_ROOT / 'examples' / 'wine_recipe', tmp_path / 'wine_recipe')
    shutil.copytree(REPO_ROOT / 'examples' / 'data', tmp_path / 'data')
    run_dir = small_disk / 'run'
    first = run_tke('run', '--recipe', './wine_recipe', '--output', str(run_dir), '--train-steps', '100',
                    cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    (pushed,) = list((run_dir / 'serving').iterdir())

    ballast = _fill(small_disk, leave=64 * 1024)
    second = run_tke('run', '--recipe', './wine_recipe', '--output', str(run_dir), '--train-steps', '120',
                     '--no-cache', cwd=tmp_path)
    assert second.returncode == 1, second.stdout + second.stderr[-3000:]
    assert f'the file system of the run directory {run_dir} is full' in second.stderr, second.stderr[-3000:]
    assert 'Free some space (tke gc' in second.stderr
    assert 'Traceback' not in second.stderr

    ballast.unlink()
    # Readable as they were: the pushed model serves, the store answers.
    assert [p.name for p in (run_dir / 'serving').iterdir() if p.name.isdigit()] == [pushed.name]
    assert 'serving_default' in tf.saved_model.load(str(pushed)).signatures
    runs = all_runs(str(run_dir / 'metadata.sqlite'), 'tke-wine')
    assert runs[0].pushed and len(runs) >= 1
