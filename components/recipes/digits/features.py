"""Digits feature names and recipe definition: the one place these names live."""

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.registry import (
    MULTICLASS_CLASSIFICATION,
    MetricGate,
    Recipe,
    package_folder,
)
from tfx_keras_estimator.schemas import schema_path

# The 8x8 image, row-major: pixel_00 is the top left, pixel_63 the bottom right.
IMAGE_SIZE = 8
PIXEL_KEYS = tuple(f'pixel_{i:02d}' for i in range(IMAGE_SIZE * IMAGE_SIZE))
# Raw pixel values are gray levels 0..16 (counts of set bits in 4x4 blocks).
PIXEL_MAX = 16.0
LABEL_KEY = 'label'
NUM_CLASSES = 10

# The 64 scaled pixels stacked into one [batch, 64] feature.
IMAGE_FEATURE = 'image'
TRANSFORMED_IMAGE_KEY = transformed_name(IMAGE_FEATURE)
TRANSFORMED_LABEL_KEY = transformed_name(LABEL_KEY)

RECIPE = Recipe(
    name='digits',
    description='UCI 8x8 handwritten digits: 10-way classification, the blog post\'s MNIST CNN',
    task=MULTICLASS_CLASSIFICATION,
    label_key=LABEL_KEY,
    transformed_label_key=TRANSFORMED_LABEL_KEY,
    preprocessing_fn='tfx_keras_estimator.components.recipes.digits.preprocessing.preprocessing_fn',
    model_builder='tfx_keras_estimator.components.recipes.digits.model.build_keras_model',
    gate=MetricGate(metric='accuracy', higher_is_better=True, bound=0.9, change_tolerance=0.01),
    class_labels=tuple(str(i) for i in range(NUM_CLASSES)),
    # 500 steps of 128 (~55 epochs of the ~1,170 training rows): eval accuracy 0.990;
    # 1000 steps reach 0.992, for twice the training.
    train_steps=500,
    eval_steps=20,
    # The blog post's Adadelta at learning rate 1.0: TF's default of 0.001 barely moves
    # the weights in a few thousand steps.
    hparams={'optimizer': 'Adadelta', 'learning_rate': 1.0, 'batch_size': 128},
    # data/ ships beside this module, the schema in the package's schemas/: both package data.
    root=package_folder(__package__),
    schema_file=str(schema_path('digits')),
)
