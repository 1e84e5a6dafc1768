"""A run whose run directory fills up: a clear message naming the path; earlier models and the store stay readable.

The run directory is on a small tmpfs of its own. Where this process may not mount one, the
test runs again in a user and mount namespace of its own (``unshare --user --map-root-user
--mount``, unprivileged), where it may; it is skipped, with the reason, only where neither is
allowed. (The rule itself is tested on real full-disk errors without a mount:
tests/pipelines/app/test_cli.py.) A first run pushes a model; then the file system is filled up
to its last 64 KB and a second run, with nothing cached, has to write.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT, run_tke
from tfx_keras_estimator.pipelines.app.report import all_runs

pytestmark = pytest.mark.e2e


# Set in the test's second try, inside a namespace of its own; TKE_TEST_FULL_DISK_NAMESPACE=1
# takes that way even where a plain mount is allowed (how the way was checked as root).
IN_NAMESPACE = 'TKE_TEST_FULL_DISK_IN_NAMESPACE'
FORCE_NAMESPACE = 'TKE_TEST_FULL_DISK_NAMESPACE'


def _rerun_in_a_namespace_of_its_own(nodeid: str, why: str) -> None:
    probe = subprocess.run(['unshare', '--user', '--map-root-user', '--mount', 'true'], capture_output=True,
                           text=True) if shutil.which('unshare') else None
    if probe is None or probe.returncode != 0:
        reason = probe.stderr.strip() if probe is not None else 'no unshare'
        pytest.skip(f'cannot mount a tmpfs here ({why}) nor in a user namespace ({reason}): no small disk to fill')
    env = {**os.environ, IN_NAMESPACE: '1'}
    env.pop(FORCE_NAMESPACE, None)
    child = subprocess.run(['unshare', '--user', '--map-root-user', '--mount', sys.executable, '-m', 'pytest', '-q',
                            '-p', 'no:cacheprovider', '-p', 'no:randomly', f'{REPO_ROOT}/{nodeid}'],
                           cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert child.returncode == 0 and '1 passed' in child.stdout, child.stdout[-5000:] + child.stderr[-3000:]


@pytest.fixture()
def small_disk(tmp_path, request):
    mount = tmp_path / 'disk'
    mount.mkdir()
    if os.environ.get(FORCE_NAMESPACE) and not os.environ.get(IN_NAMESPACE):
        proc = subprocess.CompletedProcess([], 1, '', f'{FORCE_NAMESPACE} is set')
    else:
        proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', str(mount)], capture_output=True,
                              text=True)
    if proc.returncode != 0:
        if os.environ.get(IN_NAMESPACE):
            pytest.fail(f'cannot mount a tmpfs even in a namespace of its own: {proc.stderr.strip()}')
        _rerun_in_a_namespace_of_its_own(request.node.nodeid, proc.stderr.strip() or str(proc.returncode))
        yield None  # the test ran, and passed, in the namespace
        return
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
    if small_disk is None:
        return  # run, and passed, in a namespace of its own (see small_disk)
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
