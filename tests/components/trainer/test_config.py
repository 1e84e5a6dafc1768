from __future__ import annotations

import json

import pytest

from components.trainer.config import CUSTOM_CONFIG_KEY, TrainerConfig


def test_round_trip_through_json():
    config = TrainerConfig(recipe='taxi', model_builder='my.models.build', hparams={'learning_rate': 0.1})
    custom_config = json.loads(json.dumps(config.to_custom_config()))
    assert TrainerConfig.from_custom_config(custom_config) == config


def test_other_keys_of_custom_config_are_left_alone():
    custom = {**TrainerConfig(recipe='housing').to_custom_config(), 'ai_platform_training_args': {}}
    assert TrainerConfig.from_custom_config(custom).recipe == 'housing'


@pytest.mark.parametrize('custom', [None, {}, {CUSTOM_CONFIG_KEY: {}}, {'recipe': 'housing'}])
def test_missing_recipe_is_a_clear_error(custom):
    with pytest.raises(ValueError, match='recipe'):
        TrainerConfig.from_custom_config(custom)


def test_unknown_keys_are_named():
    with pytest.raises(ValueError, match='learning_rat'):
        TrainerConfig.from_custom_config({CUSTOM_CONFIG_KEY: {'recipe': 'housing', 'learning_rat': 1}})
