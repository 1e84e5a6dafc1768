"""TFT preprocessing for text: description -> bag of words (sparse word ids), section -> class index.

Tokenizing in the transform graph means the served model takes the raw
description string, split exactly as in training. A description's bag holds
these words, each counted once:

- every word, lower-cased (the Keras post's Tokenizer);
- the words of the short description (the text before the first ". "),
  lower-cased and prefixed ``s_``: Debian's one-line synopsis ("Haskell
  library for ...", "documentation for ...") says more about the section than
  the long text does;
- the synopsis' adjacent word pairs (``s2_development_files``) and its first
  and last words (``f_documentation``, ``l_library``): where the synopsis puts
  a word matters ("... - Python 3 module", "... (shared library)");
- the words of the synopsis' trailing qualifier, after " - " or in a final
  parenthesis (``v_development``, ``v_files`` in "... - development files",
  ``v_python`` in "... (Python 3)"): Debian names the flavour of a package there;
- words that are not all lower case, as written ("GNU", "R", "Go", "X11"),
  which tell the language "Go" from the verb "go".

The vocabulary is the 10,000 of these words that carry the most mutual
information with the section over the training split (TFT's labelled
vocabulary), not the 10,000 most frequent: frequent words such as "the" or
"package" say nothing about the section. Only words in 3 or more training
descriptions are scored (``features.MIN_DOCUMENT_FREQUENCY`` says why), which
keeps Transform's scoring pass to a quarter of the words. Other words share one
out-of-vocabulary id (10,000 on the shipped data), which the model leaves out,
as the post's ``Tokenizer(num_words=...)`` does. README ("Free text") gives
what each choice measured.

The bag leaves Transform sparse, as a variable-length list of word ids; the
model scatters it into its 10,000-slot input, so no example carries a dense
10k vector on disk.
"""

from __future__ import annotations

from typing import Dict

import tensorflow as tf
import tensorflow_transform as tft

from tfx_keras_estimator.components.recipes.text import features as F
from tfx_keras_estimator.components.recipes.tft_utils import counted_per_batch, to_dense_scalar

# Anything that is not a letter or a digit separates words (RE2 Unicode classes).
_NON_WORD = r'[^\p{L}\p{N}]+'
# The short description ends at the first ". " ((?s): also across newlines).
_AFTER_SHORT = r'(?s)\. .*'
# A synopsis with a trailing qualifier: the first " - " (or en dash) or "(" after which
# no parenthesis opens or closes except a final ")"; group 1 is the qualifier.
_QUALIFIED = r'(?s)^.*?(?:\s[-\x{2013}]\s|\()([^()]*)\)?\s*$'


def split_words(text: tf.Tensor) -> tf.RaggedTensor:
    """``[batch]`` strings -> ``[batch, (words)]`` words as written, in order, repeats kept."""
    return tf.strings.split(tf.strings.strip(tf.strings.regex_replace(text, _NON_WORD, ' ')))


def _prefixed(prefix: str, words: tf.RaggedTensor) -> tf.RaggedTensor:
    return tf.ragged.map_flat_values(lambda w: tf.strings.join([prefix, w]), words)


def _lower(words: tf.RaggedTensor) -> tf.RaggedTensor:
    return tf.ragged.map_flat_values(tf.strings.lower, words, encoding='utf-8')


def synopsis(text: tf.Tensor) -> tf.Tensor:
    """``[batch]`` descriptions -> ``[batch]`` short descriptions (the text before the first ". ")."""
    return tf.strings.regex_replace(text, _AFTER_SHORT, '')


def _qualifier_words_of_synopsis(short: tf.Tensor) -> tf.RaggedTensor:
    qualifier = tf.where(tf.strings.regex_full_match(short, _QUALIFIED),
                         tf.strings.regex_replace(short, _QUALIFIED, r'\1'), '')
    return _lower(split_words(qualifier))


def qualifier_words(text: tf.Tensor) -> tf.RaggedTensor:
    """``[batch]`` descriptions -> ``[batch, (words)]``: the synopsis' trailing qualifier's words, lower-cased.

    "Robot OS library - Python 3" -> python, 3; "X11 client (development files)"
    -> development, files; no qualifier -> no words.
    """
    return _qualifier_words_of_synopsis(synopsis(text))


def description_words(text: tf.Tensor) -> tf.RaggedTensor:
    """``[batch]`` descriptions -> ``[batch, (words)]``: every kind of word of the bag (module docstring)."""
    words = split_words(text)
    lowered = _lower(words)
    # The synopsis is cut once (a regex over the whole text) for its words and its qualifier.
    short_text = synopsis(text)
    short = _lower(split_words(short_text))
    # Ragged slices: a one-word synopsis has no pair, an empty one no first or last word.
    pairs = tf.ragged.map_flat_values(
        lambda a, b: tf.strings.join([F.SHORT_PAIR_PREFIX, a, F.PAIR_SEPARATOR, b]), short[:, :-1], short[:, 1:])
    cased = tf.ragged.boolean_mask(words, tf.not_equal(words, lowered))
    qualifier = _qualifier_words_of_synopsis(short_text)
    return tf.concat([lowered, _prefixed(F.SHORT_PREFIX, short), pairs, _prefixed(F.FIRST_PREFIX, short[:, :1]),
                      _prefixed(F.LAST_PREFIX, short[:, -1:]), _prefixed(F.VARIANT_PREFIX, qualifier), cased], axis=1)


def label_index(section: tf.Tensor) -> tf.Tensor:
    """Section name -> its index in ``F.CLASS_LABELS``; -1 for a section not in the list.

    A fixed list, not a vocabulary computed from the data: the index order must
    match the class names of the classification signature whatever the data
    holds. An unknown section (-1) makes the training loss fail loudly rather than
    being learned as some other class; ExampleValidator flags it before that.
    Twenty string comparisons a row: no lookup table to initialize in the graph.
    """
    matches = tf.equal(tf.expand_dims(section, 1), tf.constant(F.CLASS_LABELS))
    index = tf.argmax(tf.cast(matches, tf.int64), axis=1)
    return tf.where(tf.reduce_any(matches, axis=1), index, tf.constant(-1, tf.int64))


def preprocessing_fn(inputs: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    # Only the description and the label are read: ``package`` never reaches the model.
    words = description_words(to_dense_scalar(inputs[F.DESCRIPTION_KEY])).to_sparse()
    label = label_index(to_dense_scalar(inputs[F.LABEL_KEY]))
    # Set semantics: each distinct word once per description (binary bag of words; the
    # labelled vocabulary also requires a set per row).
    bag = tft.bag_of_words(words, ngram_range=(1, 1), separator=' ')
    # Words in fewer than 3 training descriptions are not scored (features.MIN_DOCUMENT_FREQUENCY
    # says why): a cheap frequency pass drops them before the mutual-information pass.
    candidates_file = tft.vocabulary(bag, frequency_threshold=F.MIN_DOCUMENT_FREQUENCY,
                                     vocab_filename=F.CANDIDATES_VOCAB_FILENAME, name='candidate_words',
                                     weights=counted_per_batch(bag))
    candidates = tf.sparse.retain(bag, tft.apply_vocabulary(bag, candidates_file, default_value=-1).values >= 0)
    # With labels, top_k ranks words by their mutual information with the section (TFT
    # computes it over the analyzed split: training data only); ties by the word. Plain
    # mutual information, as compute_and_apply_vocabulary gives by default (tft.vocabulary's
    # default would zero sections within 2 of the expected count: a different vocabulary).
    vocabulary_file = tft.vocabulary(candidates, top_k=F.VOCAB_SIZE, labels=label, min_diff_from_avg=0.0,
                                     vocab_filename=F.VOCAB_FILENAME, name='informative_words')
    ids = tft.apply_vocabulary(bag, vocabulary_file, num_oov_buckets=F.OOV_BUCKETS)
    return {
        # Words outside the vocabulary stay in, as the OOV id (the model skips it): a new
        # tensor without them would lose the id range TFT records in the schema, which
        # the pre-made baseline reads to size its identity column.
        F.TRANSFORMED_WORD_IDS_KEY: ids,
        F.TRANSFORMED_LABEL_KEY: label,
    }
