from __future__ import annotations

import json

import pytest

from tfx_keras_estimator.components.trainer.config import CANNED_MODE, CUSTOM_CONFIG_KEY, KERAS_FILE_MODE, TrainerConfig
from tfx_keras_estimator.components.trainer.task import BINARY_CLASSIFICATION, MULTICLASS_CLASSIFICATION, TaskSpec

TASK = TaskSpec(label_key='churned', transformed_label_key='churned_xf', task=BINARY_CLASSIFICATION,
                class_labels=('no', 'yes'))


def test_round_trip_through_json():
    config = TrainerConfig(task=TASK, model_builder='my.models.build', hparams={'learning_rate': 0.1}, name='churn',
                           eval_features=('region',))
    custom_config = json.loads(json.dumps(config.to_custom_config()))
    assert TrainerConfig.from_custom_config(custom_config) == config


def test_the_trainer_owns_its_task_spec_no_recipe_needed():
    config = TrainerConfig.from_custom_config({CUSTOM_CONFIG_KEY: {
        'task': {'label_key': 'y', 'transformed_label_key': 'y_xf', 'task': 'regression'},
        'model_builder': 'my.models.build'}})
    assert config.task == TaskSpec('y', 'y_xf', 'regression')
    assert config.task.prediction_key == 'prediction' and config.task.num_classes is None


def test_other_keys_of_custom_config_are_left_alone():
    custom = {**TrainerConfig(task=TASK, model_builder='m.b').to_custom_config(), 'ai_platform_training_args': {}}
    assert TrainerConfig.from_custom_config(custom).task == TASK


@pytest.mark.parametrize('custom', [None, {}, {CUSTOM_CONFIG_KEY: {}}, {'task': {}}, {CUSTOM_CONFIG_KEY: {'task': 1}}])
def test_missing_task_is_a_clear_error(custom):
    with pytest.raises(ValueError, match='task'):
        TrainerConfig.from_custom_config(custom)


def test_unknown_keys_are_named():
    ours = TrainerConfig(task=TASK, model_builder='m.b').to_custom_config()[CUSTOM_CONFIG_KEY]
    with pytest.raises(ValueError, match='learning_rat'):
        TrainerConfig.from_custom_config({CUSTOM_CONFIG_KEY: {**ours, 'learning_rat': 1}})
    with pytest.raises(ValueError, match=r"unknown task spec keys \['labels'\]"):
        TrainerConfig.from_custom_config({CUSTOM_CONFIG_KEY: {**ours, 'task': {**ours['task'], 'labels': []}}})


def test_a_keras_model_needs_a_builder_except_to_convert_a_file_or_train_a_canned_one():
    with pytest.raises(ValueError, match='needs a model_builder'):
        TrainerConfig(task=TASK)
    assert TrainerConfig(task=TASK, mode=CANNED_MODE).model_builder is None
    assert TrainerConfig(task=TASK, mode=KERAS_FILE_MODE, keras_model_path='/m.h5').model_builder is None


@pytest.mark.parametrize('kw, message', [
    (dict(task='ranking'), "task 'ranking' is not one of"),
    (dict(canned_estimator='forest'), "canned_estimator 'forest'"),
    (dict(label_key=''), 'needs a label_key'),
    (dict(class_labels=('a', 'b', 'c')), 'a binary task has two class labels'),
])
def test_bad_task_specs_are_clear_errors(kw, message):
    base = dict(label_key='y', transformed_label_key='y_xf', task=BINARY_CLASSIFICATION)
    with pytest.raises(ValueError, match=message):
        TaskSpec(**{**base, **kw})


def test_class_count():
    assert TaskSpec('y', 'y_xf', MULTICLASS_CLASSIFICATION, class_labels=('a', 'b', 'c')).num_classes == 3
    assert TASK.num_classes == 2


def test_eval_features_are_names_not_a_string():
    with pytest.raises(ValueError, match="a list of feature names, got the string 'region'"):
        TrainerConfig(task=TASK, model_builder='m.b', eval_features='region')


def test_candidates_round_trip_and_their_rules():
    config = TrainerConfig(task=TASK, model_builder='m.b', candidates=({}, {'hidden_units': []}))
    custom_config = json.loads(json.dumps(config.to_custom_config()))
    assert TrainerConfig.from_custom_config(custom_config) == config
    with pytest.raises(ValueError, match='one candidate leaves nothing to choose'):
        TrainerConfig(task=TASK, model_builder='m.b', candidates=({},))
    with pytest.raises(ValueError, match='dicts of hparams'):
        TrainerConfig(task=TASK, model_builder='m.b', candidates=({}, 'linear'))
    with pytest.raises(ValueError, match="mode 'canned' builds no model"):
        TrainerConfig(task=TASK, mode=CANNED_MODE, candidates=({}, {'hidden_units': []}))
