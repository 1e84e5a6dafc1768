"""The Evaluator's baseline: the latest blessed model other than the candidate."""

from __future__ import annotations

from tfx.types import standard_artifacts

from tfx_keras_estimator.components.baseline import pick_baseline


def _model(model_id):
    model = standard_artifacts.Model()
    model.id = model_id
    return model


def _blessing(model_id, blessed=1):
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property('current_model_id', model_id)
    blessing.set_int_custom_property('blessed', blessed)
    return blessing


def test_first_run_has_no_baseline():
    candidate = _model(1)
    assert pick_baseline([candidate], [], [candidate]) == {'model': [], 'model_blessing': [], 'candidate': [candidate]}


def test_the_candidate_is_never_its_own_baseline():
    models = [_model(1)]
    assert pick_baseline(models, [_blessing(1)], [models[0]])['model'] == []


def test_latest_blessed_other_model():
    models = [_model(1), _model(2), _model(3), _model(4)]
    blessings = [_blessing(1), _blessing(2), _blessing(3, blessed=0), _blessing(4)]
    result = pick_baseline(models, blessings, [models[3]])
    assert [m.id for m in result['model']] == [2]
    assert result['model_blessing'][0].get_int_custom_property('current_model_id') == 2
