"""The package as a user gets it: the built wheel, installed non-editable, run from a folder of its own.

The wheel is built from a clean copy of what the Dockerfile copies, installed with
``pip install --no-deps --target`` into a folder that goes first on PYTHONPATH (so it shadows
this checkout's editable install; the locked dependencies are the venv's), and ``tke`` runs
from a folder outside the checkout: a built-in recipe with the README's own model builder
from the current folder, and an outside recipe named by a dotted path.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import REPO_ROOT, CliRun

pytestmark = pytest.mark.e2e



def _setup_folders() -> tuple:
    """setup.py's FOLDERS: the folders that install as the package (one list, setup.py's)."""
    for node in ast.parse((REPO_ROOT / 'setup.py').read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == 'FOLDERS' for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError('setup.py has no FOLDERS')


SOURCES = ('pyproject.toml', 'setup.py', 'README.md', *_setup_folders())
WINE = REPO_ROOT / 'examples' / 'wine_recipe'


def readme_block(marker: str) -> str:
    """The docs' fenced code block whose first line is ``marker`` (docs/recipes.md's model builder)."""
    for block in re.findall(r'```\w*\n(.*?)```', (REPO_ROOT / 'docs' / 'recipes.md').read_text(), re.S):
        if block.startswith(marker):
            return block
    raise AssertionError(f'no code block of docs/recipes.md starts with {marker!r}')


@pytest.fixture(scope='module')
def installed(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp('wheel')
    src = work / 'src'
    src.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (REPO_ROOT / name).is_dir() else shutil.copy
        copy(REPO_ROOT / name, src / name, **({'ignore': shutil.ignore_patterns('__pycache__')}
                                              if (REPO_ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation', '-w',
                    str(work / 'dist'), str(src)], check=True, capture_output=True, timeout=300)
    (wheel,) = (work / 'dist').glob('tfx_keras_estimator-*.whl')
    site = work / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    user = work / 'user'  # a folder of the user's, outside the checkout, with packages of its own named as ours were
    user.mkdir()
    for name in ('components', 'pipelines'):
        (user / name).mkdir()
        (user / name / '__init__.py').write_text('')
        (user / name / 'mine.py').write_text(f'WHO = "users-{name}"\n')
    env = {**os.environ, 'PYTHONPATH': str(site), 'PYTHONUNBUFFERED': '1'}
    return {'wheel': wheel, 'site': site, 'user': user, 'env': env}


def _tke(installed: dict, *args: str) -> CliRun:
    proc = subprocess.run([sys.executable, '-m', 'tfx_keras_estimator.pipelines.app.cli', *args], capture_output=True,
                          text=True, timeout=900, cwd=installed['user'], env=installed['env'])
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def test_the_wheel_ships_one_package_with_the_recipes_files_and_no_tests(installed):
    names = zipfile.ZipFile(installed['wheel']).namelist()
    tops = {name.split('/')[0] for name in names if not name.split('/')[0].endswith('.dist-info')}
    assert tops == {'tfx_keras_estimator'}, tops
    assert {'tfx_keras_estimator/components/__init__.py', 'tfx_keras_estimator/pipelines/__init__.py',
            'tfx_keras_estimator/kubeflow/__init__.py', 'tfx_keras_estimator/schemas/__init__.py'} <= set(names)
    for recipe in ('housing', 'taxi', 'digits', 'text', 'mobilenet'):
        assert f'tfx_keras_estimator/schemas/{recipe}.pbtxt' in names
        assert any(n.startswith(f'tfx_keras_estimator/components/recipes/{recipe}/data/') for n in names), recipe
    assert not any(n.startswith(('tests/', 'examples/', 'tfx_keras_estimator/tests/')) for n in names)


def test_the_installed_copy_is_the_one_imported_beside_the_users_own_packages(installed):
    """From a project folder holding its own components/ and pipelines/ packages (what Kubeflow and
    TFX projects call theirs): a script imports both, each its own."""
    script = ('import components.mine, pipelines.mine, tfx_keras_estimator.components.trainer as t, '
              'tfx_keras_estimator.pipelines.app.cli as c\n'
              'print(components.mine.WHO, pipelines.mine.WHO, t.__file__, c.__file__)')
    proc = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, cwd=installed['user'],
                          env=installed['env'], check=True)
    theirs_c, theirs_p, ours_t, ours_c = proc.stdout.split()
    assert (theirs_c, theirs_p) == ('users-components', 'users-pipelines')
    assert ours_t.startswith(str(installed['site'])) and ours_c.startswith(str(installed['site']))


def test_a_built_in_recipe_with_the_readmes_model_builder_from_the_current_folder(installed):
    module = installed['user'] / 'my_models'
    module.mkdir()
    (module / 'housing_dnn.py').write_text(readme_block('# my_models/housing_dnn.py'))
    result = _tke(installed, 'recipes')
    assert result.returncode == 0 and 'housing' in result.stdout
    result = _tke(installed, 'run', '--recipe', 'housing', '--model-builder', 'my_models.housing_dnn.build',
                  '--hparam', 'optimizer="Adam"', '--hparam', 'learning_rate=0.01', '--train-steps', '150',
                  '--eval-steps', '3')
    run_dir = installed['user'] / 'runs' / 'housing'  # the default run directory: under the current folder
    log = (run_dir / 'tke.log').read_text()[-3000:] if (run_dir / 'tke.log').exists() else ''
    assert result.returncode == 0, f'{result.stdout}\n{result.stderr[-3000:]}\n{log}'
    assert f'data: {installed["site"]}/tfx_keras_estimator/components/recipes/housing/data' in result.stdout
    assert 'pushed model: ' in result.stdout
    assert list((run_dir / 'serving').iterdir())
    # No checkout, no setup.py: Beam gets no --setup_file, so TFX builds its own dependency package.
    assert 'Attempting to infer TFX Python dependency for beam' in (run_dir / 'tke.log').read_text()


def test_an_outside_recipe_by_dotted_path(installed):
    package = installed['user'] / 'my_pkg'
    package.mkdir()
    (package / '__init__.py').write_text('')
    for name in ('preprocessing.py', 'model.py', 'schema.pbtxt'):
        shutil.copy(WINE / name, package / name)
    shutil.copytree(REPO_ROOT / 'examples' / 'data' / 'wine', package / 'data')
    (package / 'recipes.py').write_text('''
from tfx_keras_estimator.components.recipes import MULTICLASS_CLASSIFICATION, MetricGate, Recipe

WINE = Recipe(
    name='wine', description='wine cultivars, a recipe of my own', task=MULTICLASS_CLASSIFICATION,
    label_key='cultivar', transformed_label_key='cultivar_xf',
    preprocessing_fn='my_pkg.preprocessing.preprocessing_fn', model_builder='my_pkg.model.build',
    gate=MetricGate('accuracy', True, 0.7), class_labels=('barbera', 'barolo', 'grignolino'),
    train_steps=200, eval_steps=3, hparams={'learning_rate': 0.01, 'batch_size': 32})
''')
    result = _tke(installed, 'run', '--recipe', 'my_pkg.recipes:WINE', '--output', 'wine-run')
    assert result.returncode == 0, f'{result.stdout}\n{result.stderr[-3000:]}'
    assert 'Recipe wine: wine cultivars, a recipe of my own' in result.stdout
    assert f'data: {package}/data (1 file(s), 178 rows)' in result.stdout
    assert 'BLESSED' in result.stdout and 'pushed model: ' in result.stdout
