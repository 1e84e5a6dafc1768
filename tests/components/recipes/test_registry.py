"""Recipes by name, by dotted path and by folder; their files through the package; their checks."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tfx_keras_estimator.components.recipes.lookup import BUILT_IN, get_recipe, load_recipe
from tfx_keras_estimator.components.recipes.registry import (
    Recipe,
    RecipeNotFound,
    check_recipe,
    package_folder,
)
from tfx_keras_estimator.components.trainer.config import CANNED_MODE, KERAS_FILE_MODE

WINE_RECIPE = REPO_ROOT / 'examples' / 'wine_recipe'


@pytest.fixture()
def importable(tmp_path, monkeypatch):
    """A folder on sys.path (as the current folder is for tke); modules imported from it are forgotten after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.mark.parametrize('name', BUILT_IN)
def test_built_in_recipes_find_their_files_through_their_package(name):
    recipe = get_recipe(name)
    assert recipe.root == package_folder(f'tfx_keras_estimator.components.recipes.{name}')
    assert recipe.schema_path.is_file() and recipe.data_dir.is_dir() and any(recipe.data_dir.iterdir())
    check_recipe(recipe)


def test_the_trainer_config_carries_the_task_spec_and_merged_hparams():
    housing = get_recipe('housing')
    config = housing.trainer_config(hparams={'learning_rate': 0.5})
    assert config.task.label_key == 'medv' and config.task.transformed_label_key == 'medv_xf'
    assert config.model_builder == housing.model_builder and config.name == 'housing'
    assert config.hparams == {**housing.hparams, 'learning_rate': 0.5}
    assert config.task.weight_labels == housing.weight_labels
    # Another builder has its own layout: the recipe's weight labels do not describe it.
    other = housing.trainer_config(model_builder='my.models.build')
    assert other.model_builder == 'my.models.build' and other.task.weight_labels is None
    assert housing.trainer_config(mode=CANNED_MODE).model_builder is None
    assert housing.trainer_config(mode=KERAS_FILE_MODE, keras_model_path='/m.h5').model_builder is None


def _write_package(root: Path, attr_value: str = 'WINE') -> None:
    package = root / 'my_pkg'
    package.mkdir()
    (package / '__init__.py').write_text('')
    for name in ('preprocessing.py', 'model.py', 'schema.pbtxt'):
        shutil.copy(WINE_RECIPE / name, package / name)
    shutil.copytree(REPO_ROOT / 'examples' / 'data' / 'wine', package / 'data')
    (package / 'recipes.py').write_text(f'''
from tfx_keras_estimator.components.recipes import MULTICLASS_CLASSIFICATION, MetricGate, Recipe

{attr_value} = Recipe(
    name='wine-pkg', description='wine, from a package', task=MULTICLASS_CLASSIFICATION,
    label_key='cultivar', transformed_label_key='cultivar_xf',
    preprocessing_fn='my_pkg.preprocessing.preprocessing_fn', model_builder='my_pkg.model.build',
    gate=MetricGate('accuracy', True, 0.8), class_labels=('barbera', 'barolo', 'grignolino'))
NOT_A_RECIPE = 42
''')


@pytest.mark.parametrize('ref', ['my_pkg.recipes:WINE', 'my_pkg.recipes.WINE'])
def test_a_recipe_object_by_dotted_path_resolves_its_files_next_to_its_module(importable, ref):
    _write_package(importable)
    recipe = load_recipe(ref)
    assert recipe.name == 'wine-pkg'
    assert recipe.root == importable / 'my_pkg'
    assert recipe.schema_path == importable / 'my_pkg' / 'schema.pbtxt'
    check_recipe(recipe)


def test_a_recipe_folder(tmp_path):
    folder = tmp_path / 'wine_folder'
    shutil.copytree(WINE_RECIPE, folder)
    (folder / 'recipe.toml').write_text((folder / 'recipe.toml').read_text().replace(
        'data = "../data/wine"', 'data = "rows"').replace('train_steps = 300', 'train_steps = 300\ntrain_epochs = 2.5'))
    shutil.copytree(REPO_ROOT / 'examples' / 'data' / 'wine', folder / 'rows')
    try:
        recipe = load_recipe(str(folder))
        assert recipe.name == 'wine' and recipe.root == folder and recipe.data_dir == folder / 'rows'
        assert recipe.train_steps == 300 and recipe.train_epochs == 2.5
        # The folder's own modules, under the folder's name.
        assert recipe.preprocessing_fn == 'wine_folder.preprocessing.preprocessing_fn'
        assert recipe.model_builder == 'wine_folder.model.build'
        assert recipe.transformed_label_key == 'cultivar_xf'
        assert recipe.class_labels == ('barbera', 'barolo', 'grignolino')
        assert recipe.gate.metric == 'accuracy' and recipe.gate.change_tolerance == 0.05
        check_recipe(recipe)
    finally:
        for name in [m for m in sys.modules if m.split('.')[0] == 'wine_folder']:
            del sys.modules[name]
        sys.path.remove(str(tmp_path))


def test_the_shipped_example_folder_loads():
    recipe = load_recipe(str(WINE_RECIPE))
    assert recipe.data_dir.resolve() == (REPO_ROOT / 'examples' / 'data' / 'wine').resolve()
    check_recipe(recipe)


@pytest.mark.parametrize('ref, message', [
    ('nope', "unknown recipe 'nope': not a built-in recipe"),
    ('no_such_pkg_xyz.recipes:X', "cannot import module 'no_such_pkg_xyz.recipes'.*looked in the current folder"),
    ('my_pkg.recipes:MISSING', r"module 'my_pkg.recipes' \(.*recipes.py\) has no attribute 'MISSING'"),
    ('my_pkg.recipes:NOT_A_RECIPE',
     'my_pkg.recipes.NOT_A_RECIPE is a int, not a tfx_keras_estimator.components.recipes.Recipe'),
    ('./no/such/folder', r'recipe folder .*no/such/folder does not exist'),
])
def test_what_was_looked_for_and_where(importable, ref, message):
    _write_package(importable)
    with pytest.raises(RecipeNotFound, match=message):
        load_recipe(ref)


def test_a_folder_without_its_file_or_with_bad_keys(tmp_path):
    empty = tmp_path / 'empty_recipe'
    empty.mkdir()
    with pytest.raises(RecipeNotFound, match=r'empty_recipe has no recipe.toml'):
        load_recipe(str(empty))
    bad = tmp_path / 'bad_recipe'
    bad.mkdir()
    (bad / 'recipe.toml').write_text('task = "regression"\nlabel = "y"\n')
    with pytest.raises(RecipeNotFound, match=r"recipe.toml: unknown key\(s\) \['label'\]"):
        load_recipe(str(bad))
    (bad / 'recipe.toml').write_text('task = "regression"\nlabel_key = "y"\n')
    with pytest.raises(RecipeNotFound, match=r"missing key\(s\) \['preprocessing_fn', 'model_builder', 'gate'\]"):
        load_recipe(str(bad))
    (bad / 'recipe.toml').write_text('task = "regression"\nlabel_key = = "y"\n')
    with pytest.raises(RecipeNotFound, match='recipe.toml: '):
        load_recipe(str(bad))
    named = tmp_path / 'not-an-identifier'
    shutil.copytree(WINE_RECIPE, named)
    with pytest.raises(RecipeNotFound, match="'not-an-identifier' is not a Python identifier"):
        load_recipe(str(named))


def _broken(tmp_path: Path, name: str, edit) -> Recipe:
    folder = tmp_path / name
    shutil.copytree(WINE_RECIPE, folder)
    (folder / 'recipe.toml').write_text((folder / 'recipe.toml').read_text().replace(
        'data = "../data/wine"', f'data = "{REPO_ROOT / "examples" / "data" / "wine"}"'))
    edit(folder)
    return load_recipe(str(folder))


def test_check_names_the_recipe_the_path_and_the_problem(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    recipe = _broken(tmp_path, 'no_label', lambda f: (f / 'schema.pbtxt').write_text(
        (f / 'schema.pbtxt').read_text().replace('"cultivar"', '"variety"')))
    with pytest.raises(ValueError, match=r"recipe 'wine': the schema .*no_label/schema.pbtxt has no feature "
                                         r"'cultivar' \(the label_key\)"):
        check_recipe(recipe)
    recipe = _broken(tmp_path, 'bad_import', lambda f: (f / 'model.py').write_text('import no_such_module_xyz\n'))
    with pytest.raises(ValueError, match=r"recipe 'wine': its model_builder 'bad_import.model.build' does not import: "
                                         r"module 'bad_import.model' of .* imports 'no_such_module_xyz'"):
        check_recipe(recipe)
    recipe = _broken(tmp_path, 'no_builder', lambda f: (f / 'model.py').write_text('build = 3\n'))
    with pytest.raises(ValueError, match="its model_builder 'no_builder.model.build' is a int, not a function"):
        check_recipe(recipe)
    recipe = _broken(tmp_path, 'no_schema', lambda f: (f / 'schema.pbtxt').unlink())
    with pytest.raises(ValueError, match=r"recipe 'wine': schema file .*no_schema/schema.pbtxt does not exist"):
        check_recipe(recipe)


def test_candidates_in_a_folder_are_tables_of_hparams(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))

    def candidates(text: str):
        return lambda f: (f / 'recipe.toml').write_text((f / 'recipe.toml').read_text() + text)

    recipe = _broken(tmp_path, 'two_models', candidates('\n[[candidates]]\n[[candidates]]\nhidden_units = []\n'))
    assert recipe.candidates == ({}, {'hidden_units': []})
    with pytest.raises(RecipeNotFound, match=r"one_model/recipe.toml: recipe 'wine': candidates are two or more "
                                             r"tables of hparams"):
        _broken(tmp_path, 'one_model', candidates('\n[[candidates]]\nhidden_units = []\n'))
