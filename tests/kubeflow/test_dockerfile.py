"""The pipeline image's Dockerfile, checked without docker (not available here)."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys
from importlib.metadata import requires
from pathlib import Path
from typing import List, Tuple

from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT
from tfx_keras_estimator.kubeflow.compile import IMAGE_PROJECT_ROOT, IMAGE_SITE, IMAGE_WHEEL_DIR, image_wheel
from tfx_keras_estimator.kubeflow.image_check import FIXED_PATHS, MODULES, import_dotted, problems

DOCKERFILE = REPO_ROOT / 'Dockerfile'
BEAM_BOOT = '/opt/apache/beam/boot'
# The apache-beam of each base image (tensorflow/tfx:<TFX version>), which no file here records:
# TFX's image build (tfx/tools/docker/build_docker_image.sh at v1.15.1) installs TFX with the
# newest apache-beam its range allows and copies the boot of that same Beam version from
# apache/beam_python3.10_sdk. TFX 1.15.1 was tagged 2024-05-13, when 2.56.0 (2024-05-01,
# until 2.57.0 on 2024-06-26) was the newest. The Dockerfile's build checks it for real.
BASE_IMAGE_BEAM = {'1.15.1': '2.56.0'}


def instructions() -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r'\\\n', ' ', DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith('#')]


def lock_pin(name: str) -> str:
    (version,) = re.findall(rf'^{name}==(\S+)', (REPO_ROOT / 'requirements.lock').read_text(), re.M)
    return version


def dockerignore_allows(path: str) -> bool:
    """Docker's rule: the last matching pattern wins ('!' re-includes)."""
    allowed = True
    for raw in (REPO_ROOT / '.dockerignore').read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith('#'):
            continue
        negate = pattern.startswith('!')
        pattern = pattern.lstrip('!').rstrip('/')
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path.split('/')[0], pattern):
            allowed = negate
    return allowed


def test_from_the_tfx_image_of_the_pinned_tfx():
    (base,) = [args for op, args in instructions() if op == 'FROM']
    assert base == f'tensorflow/tfx:{lock_pin("tfx")}'


def test_workdir_is_where_the_compiled_spec_looks():
    assert ('WORKDIR', IMAGE_PROJECT_ROOT) in instructions()


def test_every_copy_source_exists_and_is_in_the_build_context():
    copies = [shlex.split(args) for op, args in instructions() if op == 'COPY']
    sources = [src for *srcs, _ in copies for src in srcs]
    assert {'requirements.lock', 'components/', 'pipelines/', 'kubeflow/'} <= set(sources)
    for src in sources:
        assert (REPO_ROOT / src).exists(), src
        assert dockerignore_allows(src.rstrip('/')), f'.dockerignore excludes {src}'
    for private in ('.venv', '.venv-kfp', '.git', 'runs', 'tests', '.tools'):
        assert not dockerignore_allows(private), private


def test_installs_the_lock_then_the_wheel_non_editable_and_checks_the_image():
    runs = ' && '.join(args for op, args in instructions() if op == 'RUN')
    assert 'pip install --no-cache-dir --no-deps -r requirements.lock' in runs
    assert ' -e ' not in runs, 'the image installs the wheel, not an editable checkout'
    assert f'pip wheel --no-cache-dir --no-deps --no-build-isolation -w {IMAGE_WHEEL_DIR} .' in runs
    install = f'pip install --no-cache-dir --no-deps --target {IMAGE_SITE} {IMAGE_WHEEL_DIR}/*.whl'
    assert install in runs
    check = 'tfx_keras_estimator.kubeflow.image_check'
    assert runs.index('-r requirements.lock') < runs.index(install) < runs.index(check)
    assert 'sys.version_info[:2] == (3, 10)' in runs
    assert ('ENV', f'PYTHONPATH={IMAGE_SITE}') in instructions()
    # The checkout's copies go, so that the working folder cannot shadow the installed wheel.
    assert 'rm -rf build components pipelines kubeflow' in runs
    assert image_wheel().startswith(f'{IMAGE_WHEEL_DIR}/tfx_keras_estimator-') and image_wheel().endswith('.whl')


def test_the_dotted_paths_the_image_check_imports_exist_here():
    for path in FIXED_PATHS:
        assert import_dotted(path) is not None
    # Here (not in the image) only the locations differ; every built-in recipe's code imports.
    # (The kfp entrypoint modules are in the image and the compile environment, not in this one.)
    assert [line for line in problems(in_image=False) if not line.startswith(MODULES)] == []


def test_the_image_check_names_a_recipe_that_does_not_import(tmp_path):
    (tmp_path / 'broken_recipe').mkdir()
    found = problems([str(tmp_path / 'broken_recipe')], in_image=False)
    assert any('has no recipe.toml' in line for line in found), found


def test_package_list_ships_the_runners():
    assert "FOLDERS = ('components', 'pipelines', 'kubeflow', 'schemas')" in (REPO_ROOT / 'setup.py').read_text()
    assert Path(REPO_ROOT / 'kubeflow' / '__init__.py').exists()


def test_the_beam_boot_stays_the_entrypoint():
    """Dataflow's custom-container contract: the container starts the Beam SDK harness's boot."""
    entrypoints = [args for op, args in instructions() if op == 'ENTRYPOINT']
    # None: the base image's, which is the boot; else the last one, in exec form (a shell form
    # would run it under /bin/sh -c, which drops the arguments Dataflow passes it).
    assert not entrypoints or json.loads(entrypoints[-1]) == [BEAM_BOOT], entrypoints


def _beam_check() -> Tuple[int, str]:
    """The RUN that compares the base image's apache-beam with the lock's, and its Python code."""
    runs = [args for op, args in instructions() if op == 'RUN']
    (index,) = [i for i, args in enumerate(runs) if 'apache_beam' in args and BEAM_BOOT in args]
    words = shlex.split(runs[index])
    assert words[:3] == ['test', '-x', BEAM_BOOT] and words[3:6] == ['&&', 'python', '-c'], words
    install = [i for i, args in enumerate(runs) if '-r requirements.lock' in args]
    assert install and index < install[0], 'the check must see the base image\'s Beam, before the lock replaces it'
    return index, words[6]


def test_the_lock_pins_the_beam_of_the_base_image():
    tfx, beam = lock_pin('tfx'), lock_pin('apache-beam')
    assert beam == BASE_IMAGE_BEAM[tfx]
    # TFX's own dependency metadata allows it (a range: the image's version is not in it).
    (beam_requirement,) = [Requirement(r) for r in requires('tfx') if Requirement(r).name == 'apache-beam']
    assert beam_requirement.specifier.contains(beam), beam_requirement


def test_the_image_build_checks_its_beam_against_the_lock(tmp_path):
    _, code = _beam_check()
    lock = (REPO_ROOT / 'requirements.lock').read_text()
    # Run here, where apache-beam is the lock's: it passes; against another pin it fails the build.
    (tmp_path / 'requirements.lock').write_text(lock)
    assert subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True).returncode == 0
    (tmp_path / 'requirements.lock').write_text(lock.replace('\napache-beam==', '\napache-beam==0.0.'))
    failed = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True)
    assert failed.returncode != 0
    assert f'the base image has apache-beam {lock_pin("apache-beam")}, the lock pins 0.0.' in failed.stderr
