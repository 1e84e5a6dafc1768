"""Old top-level names of this package still resolve, with one warning naming the new one; a
project's own ``components`` package keeps its paths. Run where a user runs: a folder outside
the checkout (inside it, the checkout's folders would import under the old names)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import json, warnings
    from tfx_keras_estimator.components.recipes.folder import load_recipe_folder
    from tfx_keras_estimator.components.trainer.model import import_by_path
    from tfx_keras_estimator.components.trainer.renamed import current_name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        build = import_by_path('components.recipes.generic.model.build')
        again = import_by_path('components.recipes.generic.model.build')
        runner = current_name('kubeflow_runners.compile.main')
        recipe = load_recipe_folder(__import__('pathlib').Path('old_recipe'))
        theirs = import_by_path('components.my_model.build')
    print(json.dumps({
        'build': f'{build.__module__}.{build.__name__}', 'same': build is again, 'runner': runner,
        'preprocessing_fn': recipe.preprocessing_fn, 'model_builder': recipe.model_builder,
        'theirs': f'{theirs.__module__}.{theirs.__name__}',
        'warnings': [str(w.message) for w in caught if issubclass(w.category, FutureWarning)]}))
''')

RECIPE = '''
task = "regression"
label_key = "y"
preprocessing_fn = "components.recipes.generic.preprocessing.preprocessing_fn"
model_builder = "components.recipes.generic.model.build"
[gate]
metric = "rmse"
higher_is_better = false
bound = 10.0
'''


def test_old_names_resolve_with_one_warning_and_a_project_keeps_its_own(tmp_path):
    (tmp_path / 'old_recipe').mkdir()
    (tmp_path / 'old_recipe' / 'recipe.toml').write_text(RECIPE)
    # The user's own components package: no trainer or recipes in it, a model builder of theirs.
    (tmp_path / 'components').mkdir()
    (tmp_path / 'components' / '__init__.py').write_text('')
    (tmp_path / 'components' / 'my_model.py').write_text('def build():\n    return None\n')
    done = subprocess.run([sys.executable, '-c', SCRIPT], cwd=tmp_path, capture_output=True, text=True, check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got['build'] == 'tfx_keras_estimator.components.recipes.generic.model.build' and got['same']
    assert got['runner'] == 'tfx_keras_estimator.kubeflow.compile.main'
    assert got['preprocessing_fn'] == 'tfx_keras_estimator.components.recipes.generic.preprocessing.preprocessing_fn'
    assert got['model_builder'] == 'tfx_keras_estimator.components.recipes.generic.model.build'
    assert got['theirs'] == 'components.my_model.build'
    # One warning per old path (the model builder's is named twice), naming the new one and when old names go.
    assert len(got['warnings']) == 3, got['warnings']
    assert ("'components.recipes.generic.model.build' is an old name of this package; use "
            "'tfx_keras_estimator.components.recipes.generic.model.build' (old names stop resolving in "
            "tfx-keras-estimator 0.3.0)") in got['warnings']
