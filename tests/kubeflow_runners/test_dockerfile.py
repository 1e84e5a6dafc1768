"""The pipeline image's Dockerfile, checked without docker (not available here)."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path
from typing import List, Tuple

from kubeflow_runners.compile import IMAGE_PROJECT_ROOT, IMAGE_SITE, IMAGE_WHEEL_DIR, image_wheel
from kubeflow_runners.image_check import FIXED_PATHS, MODULES, import_dotted, problems
from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / 'Dockerfile'


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
    assert {'requirements.lock', 'components/', 'pipelines/', 'kubeflow_runners/'} <= set(sources)
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
    assert runs.index('-r requirements.lock') < runs.index(install) < runs.index('kubeflow_runners.image_check')
    assert 'sys.version_info[:2] == (3, 10)' in runs
    assert ('ENV', f'PYTHONPATH={IMAGE_SITE}') in instructions()
    # The checkout's copies go, so that the working folder cannot shadow the installed wheel.
    assert 'rm -rf build components pipelines kubeflow_runners' in runs
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
    assert '"kubeflow_runners*"' in (REPO_ROOT / 'pyproject.toml').read_text()
    assert Path(REPO_ROOT / 'kubeflow_runners' / '__init__.py').exists()
