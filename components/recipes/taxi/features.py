"""Taxi feature names and recipe definition: the one place these names live."""

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.registry import BINARY_CLASSIFICATION, MetricGate, Recipe, package_folder
from tfx_keras_estimator.schemas import schema_path

# Raw columns the label is derived from: big tipper = tips > 0.2 * fare.
TIPS_KEY = 'tips'
FARE_KEY = 'fare'
BIG_TIP_FRACTION = 0.2
LABEL_NAME = 'big_tipper'

# Standardized numeric features (the deep part).
NUMERIC_FEATURE_KEYS = ('trip_miles', 'fare', 'trip_seconds')
# Coordinates, bucketized into quantiles.
BUCKET_FEATURE_KEYS = ('pickup_latitude', 'pickup_longitude', 'dropoff_latitude', 'dropoff_longitude')
BUCKET_COUNT = 10
# Strings (and large integer codes) through a vocabulary with OOV buckets.
VOCAB_FEATURE_KEYS = ('payment_type', 'company', 'pickup_census_tract', 'dropoff_census_tract')
VOCAB_SIZE = 1000
OOV_BUCKETS = 10
# Small integer codes used as ids directly: key -> number of ids (0 = missing).
IDENTITY_FEATURE_SIZES = {
    'trip_start_hour': 24,
    'trip_start_day': 8,
    'trip_start_month': 13,
    'pickup_community_area': 78,
    'dropoff_community_area': 78,
}

TRANSFORMED_LABEL_KEY = transformed_name(LABEL_NAME)

RECIPE = Recipe(
    name='taxi',
    description='Chicago taxi: big tipper (tips > 20% of fare) classification, wide & deep model',
    task=BINARY_CLASSIFICATION,
    label_key=TIPS_KEY,
    transformed_label_key=TRANSFORMED_LABEL_KEY,
    preprocessing_fn='tfx_keras_estimator.components.recipes.taxi.preprocessing.preprocessing_fn',
    model_builder='tfx_keras_estimator.components.recipes.taxi.model.build_keras_model',
    gate=MetricGate(metric='auc', higher_is_better=True, bound=0.7, change_tolerance=0.01),
    class_labels=('0', '1'),
    # 500 steps of 256 (~13 epochs of the 10k training rows) reach the plateau; more
    # steps only make the predictions more extreme (see README, Benchmarks). A bigger
    # table gets at least one pass over all of its rows.
    train_steps=500,
    train_epochs=1.0,
    eval_steps=20,
    hparams={'optimizer': 'Adam', 'learning_rate': 0.003, 'batch_size': 256,
             'deep_units': [32], 'l2': 1e-4},
    slice_features=('trip_start_hour',),
    # data/ ships beside this module, the schema in the package's schemas/: both package data.
    root=package_folder(__package__),
    schema_file=str(schema_path('taxi')),
)
