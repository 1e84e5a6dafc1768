"""Text feature names and recipe definition: the one place these names live."""

from tfx_keras_estimator.components.recipes.common import transformed_name
from tfx_keras_estimator.components.recipes.registry import (
    MULTICLASS_CLASSIFICATION,
    MetricGate,
    Recipe,
    package_folder,
)
from tfx_keras_estimator.schemas import schema_path

# The free text the model reads: short and long description joined.
DESCRIPTION_KEY = 'description'
# The package name: in the data and the schema, never a model input. It gives the
# answer away (``libghc-*`` is haskell, ``golang-*`` is golang, ``r-cran-*`` is gnu-r).
PACKAGE_KEY = 'package'
LABEL_KEY = 'section'

# The 20 sections, sorted: the label's index is its position here, and the
# classification signature returns these names in this order.
CLASS_LABELS = (
    'admin', 'devel', 'doc', 'games', 'gnu-r', 'golang', 'haskell', 'java', 'javascript', 'libdevel',
    'libs', 'net', 'perl', 'python', 'ruby', 'rust', 'science', 'text', 'utils', 'x11',
)
NUM_CLASSES = len(CLASS_LABELS)

# The 10,000 words that tell the most about the section (mutual information with
# the label over the training split, TFT's labelled vocabulary) make the
# vocabulary; other words share one out-of-vocabulary id (the vocabulary's size),
# which the model skips (the Keras post's Tokenizer(num_words=...)).
VOCAB_SIZE = 10000
OOV_BUCKETS = 1
VOCAB_FILENAME = 'description_vocab'
# Only words in at least this many training descriptions are scored. Rarer words
# (63% + 14% of the distinct training words) are too rare to learn from, and on
# the shipped data none can rank: a word of 2 descriptions scores at most
# 2 * log2(n / n_section) (8.7) against 21.5 for the 10,000th word.
# Leaving them out before the scoring pass, which TFT runs in Python per word,
# nearly halves Transform's time (docs/performance.md) and leaves the vocabulary
# byte for byte as it was.
MIN_DOCUMENT_FREQUENCY = 3
CANDIDATES_VOCAB_FILENAME = 'description_candidates'
# Words of the short description (the text before the first ". ") enter the bag a
# second time with this prefix. Words hold no '_', so the prefix cannot clash.
SHORT_PREFIX = 's_'
# The synopsis' adjacent word pairs ("development files", "python 3"), and its
# first and last words ("documentation for ...", "... (shared library)"), as
# words of their own.
SHORT_PAIR_PREFIX = 's2_'
PAIR_SEPARATOR = '_'
FIRST_PREFIX = 'f_'
LAST_PREFIX = 'l_'
# The synopsis' trailing qualifier, after " - " or in a closing parenthesis
# ("... - development files", "... (Python 3)"), as words of their own.
VARIANT_PREFIX = 'v_'

# The bag of words leaves Transform sparse, as a variable-length list of the
# distinct word ids of a description (binary bag: each id weighs 1; the OOV id
# once per distinct word outside the vocabulary). A dense
# 10,000-float vector per example would make the transformed data ~40 KB a row.
WORD_IDS_FEATURE = 'description_word_ids'
TRANSFORMED_WORD_IDS_KEY = transformed_name(WORD_IDS_FEATURE)
TRANSFORMED_LABEL_KEY = transformed_name(LABEL_KEY)

RECIPE = Recipe(
    name='text',
    description='Debian package descriptions: section (20 classes), bag of words, Dense(512) model',
    task=MULTICLASS_CLASSIFICATION,
    label_key=LABEL_KEY,
    transformed_label_key=TRANSFORMED_LABEL_KEY,
    preprocessing_fn='tfx_keras_estimator.components.recipes.text.preprocessing.preprocessing_fn',
    model_builder='tfx_keras_estimator.components.recipes.text.model.build_keras_model',
    gate=MetricGate(metric='accuracy', higher_is_better=True, bound=0.8, change_tolerance=0.01),
    class_labels=CLASS_LABELS,
    # The post's 80/20 split (train_size = int(len(data) * .8)): 4 of 5 hash buckets train.
    split_buckets=(4, 1),
    # 800 steps of 64: about three epochs of the ~16,000 training rows.
    train_steps=800,
    eval_steps=20,
    # The post's Adam (at half Keras' default learning rate, for the longer run) and Dropout(0.5);
    # a fifth of a bag's words dropped in training (SparseDropout).
    hparams={'optimizer': 'Adam', 'learning_rate': 0.0005, 'batch_size': 64, 'dropout': 0.5,
             'input_dropout': 0.2},
    # data/ ships beside this module, the schema in the package's schemas/: both package data.
    root=package_folder(__package__),
    schema_file=str(schema_path('text')),
)
