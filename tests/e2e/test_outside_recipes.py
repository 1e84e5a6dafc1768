"""``tke run --recipe DIR`` on a recipe folder outside the package, run from a folder of the user's.

(A recipe by dotted path, and the installed wheel, are in tests/test_packaging.py; a builder that
returns no Keras model, in tests/components/trainer/test_adapter.py.)
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO_ROOT, run_tke

pytestmark = pytest.mark.e2e


def _recipe_folder(tmp_path, name: str):
    folder = tmp_path / name
    shutil.copytree(REPO_ROOT / 'examples' / 'wine_recipe', folder)
    shutil.copytree(REPO_ROOT / 'examples' / 'data', tmp_path / 'data')
    return folder


RUN_ARGS = ('run', '--recipe', './wine_recipe', '--train-steps', '150')


@pytest.fixture(scope='module')
def wine_run(tmp_path_factory):
    """The recipe folder copied to a folder of the user's, and run from there."""
    work = tmp_path_factory.mktemp('outside')
    _recipe_folder(work, 'wine_recipe')
    return work, run_tke(*RUN_ARGS, cwd=work)


def test_a_recipe_folder_trains_blesses_pushes_and_serves(wine_run):
    tmp_path, result = wine_run
    run_dir = tmp_path / 'runs' / 'wine'
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert 'Recipe wine: UCI wine' in result.stdout
    assert f'data: {tmp_path}/data/wine (1 file(s), 178 rows)' in result.stdout
    assert 'BLESSED' in result.stdout
    (pushed,) = list((run_dir / 'serving').iterdir())
    model = tf.saved_model.load(str(pushed))
    example = tf.train.Example()
    for key, value in {'alcohol': 13.2, 'malic_acid': 1.78, 'ash': 2.14, 'alcalinity_of_ash': 11.2,
                       'total_phenols': 2.65, 'flavanoids': 2.76, 'nonflavanoid_phenols': 0.26,
                       'proanthocyanins': 1.28, 'color_intensity': 4.38, 'hue': 1.05, 'od280_od315': 3.4}.items():
        example.features.feature[key].float_list.value.append(value)
    example.features.feature['magnesium'].int64_list.value.append(100)
    example.features.feature['proline'].int64_list.value.append(1050)
    out = model.signatures['classification'](inputs=tf.constant([example.SerializeToString()]))
    classes = out['classes'].numpy().astype(str)[0]
    assert classes[np.argmax(out['scores'].numpy()[0])] == 'barolo'  # row 2 of the table: a Barolo


def test_an_interrupted_push_is_set_aside_by_the_next_run(wine_run):
    tmp_path, first = wine_run
    assert first.returncode == 0, first.stdout + first.stderr[-3000:]
    serving = tmp_path / 'runs' / 'wine' / 'serving'
    (pushed,) = list(serving.iterdir())
    # As a Pusher killed mid-copy leaves it: a newer version folder without saved_model.pb.
    planted = serving / str(int(pushed.name) + 1)
    shutil.copytree(pushed / 'variables', planted / 'variables')
    again = run_tke(*RUN_ARGS, cwd=tmp_path)  # nothing changed: served from the cache
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    line = f'set aside {planted} (no saved_model.pb: an interrupted push)'
    assert line in again.stdout and line in (tmp_path / 'runs' / 'wine' / 'tke.log').read_text()
    assert [p.name for p in serving.iterdir()] == [pushed.name]
    assert (tmp_path / 'runs' / 'wine' / 'serving-incomplete' / planted.name / 'variables').is_dir()
