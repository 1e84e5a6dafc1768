"""scripts/find_python.sh: finds a Python 3.10, or says what to install."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

SCRIPT = str(REPO_ROOT / 'scripts' / 'find_python.sh')


def _run(env):
    return subprocess.run(['/bin/bash', SCRIPT], capture_output=True, text=True, env=env, timeout=60)


def test_python_named_by_the_user_is_used(tmp_path):
    result = _run({'HOME': str(tmp_path), 'PATH': '/usr/bin:/bin', 'PYTHON': sys.executable})
    assert result.returncode == 0
    assert result.stdout.strip() == sys.executable


def test_missing_python_310_is_explained(tmp_path):
    # No pyenv under HOME, nothing but the system's (non-3.10, or no) Python on PATH.
    result = _run({'HOME': str(tmp_path), 'PATH': str(tmp_path)})
    assert result.returncode == 1
    assert 'Python 3.10 was not found' in result.stderr
    assert 'uv python install 3.10' in result.stderr and 'PYTHON=/path/to/python3.10' in result.stderr


def test_a_wrong_python_named_by_the_user_is_reported(tmp_path):
    result = _run({'HOME': str(tmp_path), 'PATH': str(tmp_path), 'PYTHON': '/nonexistent/python'})
    assert result.returncode == 1
    assert 'PYTHON=/nonexistent/python is not a working Python 3.10' in result.stderr
