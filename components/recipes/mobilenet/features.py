"""MobileNet feature names and recipe definition: the one place these names live."""

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.registry import (
    MULTICLASS_CLASSIFICATION,
    MetricGate,
    Recipe,
    package_folder,
)
from tfx_keras_estimator.schemas import schema_path

# Raw features: encoded PNG bytes (any size, gray or RGB) and the digit.
IMAGE_KEY = 'image'
LABEL_KEY = 'label'
NUM_CLASSES = 10

# What the model sees: IMAGE_SIZE x IMAGE_SIZE x CHANNELS floats in [-1, 1], the
# range MobileNetV2 was trained on (tf.keras.applications.mobilenet_v2.preprocess_input).
# 32 is the smallest input MobileNetV2 accepts; its stride of 32 leaves a 1x1 map.
IMAGE_SIZE = 32
CHANNELS = 3

TRANSFORMED_IMAGE_KEY = transformed_name(IMAGE_KEY)
TRANSFORMED_LABEL_KEY = transformed_name(LABEL_KEY)

# The shipped data (scripts/make_mobilenet_data.py): the digits recipe's data rendered as PNGs.
DATA_FILE = 'digits.tfrecord'

RECIPE = Recipe(
    name='mobilenet',
    description='transfer learning: MobileNetV2 (alpha 0.35) base -> pooling -> softmax head, on PNG digits',
    task=MULTICLASS_CLASSIFICATION,
    label_key=LABEL_KEY,
    transformed_label_key=TRANSFORMED_LABEL_KEY,
    preprocessing_fn='tfx_keras_estimator.components.recipes.mobilenet.preprocessing.preprocessing_fn',
    model_builder='tfx_keras_estimator.components.recipes.mobilenet.model.build_keras_model',
    gate=MetricGate(metric='accuracy', higher_is_better=True, bound=0.85, change_tolerance=0.02),
    class_labels=tuple(str(i) for i in range(NUM_CLASSES)),
    train_steps=500,
    eval_steps=10,
    hparams={
        'optimizer': 'Adam', 'learning_rate': 0.005, 'batch_size': 64,
        # Width multiplier of the base; a weights file must be for the same alpha.
        'alpha': 0.35,
        # Local .h5 of the base's weights (include_top=False), e.g. Keras's
        # mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5. None: random.
        'base_weights': None,
        # Train the base too. None: only when it starts from random weights (a frozen
        # random base cannot learn); with a weights file the base is frozen, as in the guide.
        'fine_tune': None,
    },
    data_format='tfrecord',
    # data/ ships beside this module, the schema in the package's schemas/: both package data.
    root=package_folder(__package__),
    schema_file=str(schema_path('mobilenet')),
)
