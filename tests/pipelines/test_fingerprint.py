"""Code fingerprints: the same code gives the same key, changed code another one."""

from __future__ import annotations

import shutil
import sys

import pytest

import tfx_keras_estimator.pipelines.fingerprint as fp
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.pipelines.fingerprint import (
    module_folder,
    source_fingerprint,
    trainer_fingerprint,
    transform_fingerprint,
)


@pytest.fixture()
def user_module(tmp_path, monkeypatch):
    package = tmp_path / 'my_models'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'dnn.py').write_text('def build(tft_output, hparams):\n    return None\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    sys.modules.pop('my_models.dnn', None)
    sys.modules.pop('my_models', None)


def _trainer(recipe_name: str, model_builder=None):
    return get_recipe(recipe_name).trainer_config(model_builder=model_builder)


def test_stable_for_unchanged_code():
    housing = get_recipe('housing')
    assert transform_fingerprint(housing.preprocessing_fn) == transform_fingerprint(housing.preprocessing_fn)
    assert trainer_fingerprint(_trainer('housing')) == trainer_fingerprint(_trainer('housing'))


def test_recipes_have_their_own_fingerprints():
    housing, taxi = get_recipe('housing'), get_recipe('taxi')
    assert transform_fingerprint(housing.preprocessing_fn) != transform_fingerprint(taxi.preprocessing_fn)
    assert trainer_fingerprint(_trainer('housing')) != trainer_fingerprint(_trainer('taxi'))


def test_editing_a_user_builder_changes_the_trainer_fingerprint(user_module):
    assert module_folder('my_models.dnn.build') == user_module
    assert module_folder('my_models.dnn:build') == user_module
    before = trainer_fingerprint(_trainer('housing', 'my_models.dnn.build'))
    assert before != trainer_fingerprint(_trainer('housing'))
    (user_module / 'dnn.py').write_text('def build(tft_output, hparams):\n    return 1\n')
    assert trainer_fingerprint(_trainer('housing', 'my_models.dnn.build')) != before


def test_source_fingerprint_covers_file_contents(tmp_path):
    (tmp_path / 'a.py').write_text('x = 1\n')
    first = source_fingerprint([(tmp_path, False)])
    (tmp_path / 'notes.txt').write_text('not code')
    assert source_fingerprint([(tmp_path, False)]) == first
    (tmp_path / 'a.py').write_text('x = 2\n')
    assert source_fingerprint([(tmp_path, False)]) != first


def test_unlocatable_module_is_a_clear_error():
    with pytest.raises(ValueError, match='cannot locate the source'):
        module_folder('no_such_package_xyz.build')


def test_editing_a_preprocessing_fn_changes_the_transform_fingerprint_only(user_module):
    (user_module / 'prep.py').write_text('def preprocessing_fn(inputs):\n    return inputs\n')
    prep = 'my_models.prep.preprocessing_fn'
    before_transform, before_trainer = transform_fingerprint(prep), trainer_fingerprint(_trainer('housing'))
    (user_module / 'prep.py').write_text('def preprocessing_fn(inputs):\n    return dict(inputs)\n')
    assert transform_fingerprint(prep) != before_transform
    assert trainer_fingerprint(_trainer('housing')) == before_trainer


def test_trainer_code_is_part_of_the_trainer_fingerprint(monkeypatch, tmp_path):
    # A copy of components/ whose trainer code differs by one line.
    fake = tmp_path / 'components'
    shutil.copytree(fp.COMPONENTS_DIR, fake, ignore=shutil.ignore_patterns('__pycache__'))
    housing = get_recipe('housing')
    monkeypatch.setattr(fp, 'COMPONENTS_DIR', fake)
    before = fp.trainer_fingerprint(_trainer('housing'))
    transform_before = fp.transform_fingerprint(housing.preprocessing_fn)
    with (fake / 'trainer' / 'adapter.py').open('a') as f:
        f.write('\n# changed\n')
    assert fp.trainer_fingerprint(_trainer('housing')) != before
    assert fp.transform_fingerprint(housing.preprocessing_fn) == transform_before


def test_a_checkout_and_an_installed_copy_of_the_same_code_give_the_same_key(monkeypatch, tmp_path):
    """Files are named relative to where the package is installed, not by absolute path."""
    before = fp.trainer_fingerprint(_trainer('housing'))
    fake = tmp_path / 'site-packages' / 'components'
    shutil.copytree(fp.COMPONENTS_DIR, fake, ignore=shutil.ignore_patterns('__pycache__'))
    monkeypatch.setattr(fp, 'COMPONENTS_DIR', fake)
    monkeypatch.setattr(fp, 'module_folder', lambda path: fake / 'recipes' / 'housing')
    assert fp.trainer_fingerprint(_trainer('housing')) == before
