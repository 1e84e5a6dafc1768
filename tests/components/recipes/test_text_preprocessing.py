"""text preprocessing_fn: golden output on shipped rows, plus independent checks.

The bag of words is checked against a plain-Python tokenizer through the
vocabulary Transform wrote, and ``package`` is shown never to be read.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import csv_rows
from tests.tft_helpers import analyze_and_transform, check_golden
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.text import features as F
from tfx_keras_estimator.components.recipes.text.preprocessing import (
    description_words,
    label_index,
    preprocessing_fn,
    qualifier_words,
)
from tfx_keras_estimator.pipelines.data import load_schema

# Analyzed rows: enough for a vocabulary of a few hundred words in 3 or more descriptions
# (on 5 rows it would hold 9); the golden file keeps the first 5 rows' output.
N_ROWS = 40
N_GOLDEN = 5


@pytest.fixture(scope='module')
def transformed(text_csv):
    rows = csv_rows(text_csv, N_ROWS)
    return rows, analyze_and_transform(preprocessing_fn, rows, load_schema(get_recipe('text').schema_path))


@pytest.mark.both_stacks  # the same outputs from TFT 1.15 and TFT 1.16
def test_matches_golden(transformed):
    check_golden('text_preprocessing', transformed[1][:N_GOLDEN])


def test_only_the_word_ids_and_the_label_come_out(transformed):
    for o in transformed[1]:
        assert sorted(o) == sorted([F.TRANSFORMED_WORD_IDS_KEY, F.TRANSFORMED_LABEL_KEY])


def test_label_is_the_index_in_the_sorted_sections(transformed):
    rows, out = transformed
    assert list(F.CLASS_LABELS) == sorted(F.CLASS_LABELS) and len(F.CLASS_LABELS) == 20
    assert [o[F.TRANSFORMED_LABEL_KEY] for o in out] == [F.CLASS_LABELS.index(r['section']) for r in rows]


def test_every_section_has_its_index_and_an_unknown_one_is_minus_one():
    sections = tf.constant([*F.CLASS_LABELS, 'oldlibs', ''])
    assert label_index(sections).numpy().tolist() == [*range(20), -1, -1]


def test_words_are_lower_cased_plus_synopsis_words_pairs_ends_qualifier_and_cased_words():
    words = description_words(tf.constant(['Éclair for GNU R. Go, go-GO x_1.', 'plain. words', '', 'Solo',
                                           'Tool - Go 1']))
    assert [[w.decode() for w in row] for row in words.to_list()] == [
        ['éclair', 'for', 'gnu', 'r', 'go', 'go', 'go', 'x', '1',
         's_éclair', 's_for', 's_gnu', 's_r',
         's2_éclair_for', 's2_for_gnu', 's2_gnu_r',
         'f_éclair', 'l_r',
         'Éclair', 'GNU', 'R', 'Go', 'GO'],
        ['plain', 'words', 's_plain', 'f_plain', 'l_plain'],
        [],
        ['solo', 's_solo', 'f_solo', 'l_solo', 'Solo'],
        ['tool', 'go', '1', 's_tool', 's_go', 's_1', 's2_tool_go', 's2_go_1', 'f_tool', 'l_1',
         'v_go', 'v_1', 'Tool', 'Go'],
    ]


def _python_qualifier(description: str) -> list:
    """The synopsis' trailing qualifier's words, written independently with Python's re (leftmost match)."""
    match = re.search(r'(?:\s[-–]\s|\()([^()]*)\)?\s*$', description.split('. ', 1)[0])
    return [w.lower() for w in re.findall(r'[^\W_]+', match.group(1))] if match else []


@pytest.mark.parametrize('description, qualifier', [
    ('Robot OS resource_retriever library - Python 3. This package is part of ROS.', ['python', '3']),
    ('X11 client (development files)', ['development', 'files']),
    ('cross-platform library – documentation', ['documentation']),
    # The first separator after which nothing but a final parenthesis follows.
    ('tool - front end - GTK', ['front', 'end', 'gtk']),
    ('foo – bar - baz (qux)', ['qux']),
    # A parenthesis inside the synopsis is not a qualifier; nor is a hyphen inside a word.
    ('version of Tic Tac Toe (3x3 Grid) for the console. It uses (a) - b', []),
    ('command-line tools', []),
    ('', []),
])
def test_qualifier_is_the_synopsis_trailing_part(description, qualifier):
    assert _python_qualifier(description) == qualifier
    assert [w.decode() for w in qualifier_words(tf.constant([description])).to_list()[0]] == qualifier


def test_qualifier_agrees_with_python_on_every_shipped_description(text_csv):
    descriptions = [r['description'] for r in csv_rows(text_csv, 20000)]
    got = [[w.decode() for w in row] for row in qualifier_words(tf.constant(descriptions)).to_list()]
    expected = [_python_qualifier(d) for d in descriptions]
    assert got == expected
    # About a quarter of Debian synopses carry one.
    assert 0.15 < sum(1 for q in expected if q) / len(expected) < 0.4


def _python_words(description: str) -> set:
    """The same tokenization, written independently with Python's re."""
    words = re.findall(r'[^\W_]+', description)
    short = [w.lower() for w in re.findall(r'[^\W_]+', description.split('. ', 1)[0])]
    ends = {F.FIRST_PREFIX + short[0], F.LAST_PREFIX + short[-1]} if short else set()
    return ({w.lower() for w in words} | {F.SHORT_PREFIX + w for w in short}
            | {f'{F.SHORT_PAIR_PREFIX}{a}{F.PAIR_SEPARATOR}{b}' for a, b in zip(short, short[1:], strict=False)}
            | ends | {F.VARIANT_PREFIX + w for w in _python_qualifier(description)}
            | {w for w in words if w != w.lower()})


def _mutual_information(rows) -> dict:
    """TFT's per-word score, written out: sum over sections y of n_xy * log2(n_xy * n / (n_x * n_y))."""
    n = len(rows)
    per_section = Counter(r['section'] for r in rows)
    cooccurrences = defaultdict(Counter)
    for r in rows:
        for w in _python_words(r['description']):
            cooccurrences[w][r['section']] += 1
    scores = {}
    for w, by_section in cooccurrences.items():
        n_x = sum(by_section.values())
        scores[w] = sum(c * math.log2(c * n / (n_x * per_section[y])) for y, c in by_section.items())
    return scores


def test_the_vocabulary_ranks_words_by_mutual_information_with_the_section(text_tft, text_csv):
    vocabulary = [w.decode() for w in text_tft.vocabulary_by_name(F.VOCAB_FILENAME)]
    rows = csv_rows(text_csv, 200)  # the rows text_tft analyzed
    scores = _mutual_information(rows)
    # 200 rows hold fewer than 10,000 words: every word of 3 or more descriptions is in (rarer
    # ones are not scored), in order of information.
    frequency = Counter(w for r in rows for w in _python_words(r['description']))
    assert set(vocabulary) == {w for w, n in frequency.items() if n >= F.MIN_DOCUMENT_FREQUENCY}
    assert len(vocabulary) < len(frequency) / 2
    in_order = [scores[w] for w in vocabulary]
    # (TFT sums float means per word: scores agree to ~1e-4.)
    assert all(a >= b - 1e-3 for a, b in zip(in_order, in_order[1:], strict=False))
    # Not the frequency order: "the", in most descriptions of every section, tells little.
    assert frequency.most_common(1)[0][0] == 'the'
    assert vocabulary.index('the') > len(vocabulary) / 2


def test_the_bag_is_each_vocabulary_word_of_the_description_once(text_tft, text_csv):
    vocabulary = [w.decode() for w in text_tft.vocabulary_by_name(F.VOCAB_FILENAME)]
    assert 0 < len(vocabulary) <= F.VOCAB_SIZE
    assert any(w.startswith(F.SHORT_PREFIX) for w in vocabulary) and any(w != w.lower() for w in vocabulary)
    # Rows the vocabulary was not built from (text_tft analyzed the first 200): some words are new.
    rows = csv_rows(text_csv, 208)[200:]
    # description is optional in the schema (a served row may lack it): a sparse input.
    raw = {'description': tf.sparse.from_dense(tf.constant([[r['description']] for r in rows])),
           'section': tf.constant([[r['section']] for r in rows])}
    ids = text_tft.transform_raw_features(raw)[F.TRANSFORMED_WORD_IDS_KEY]
    per_row = tf.RaggedTensor.from_sparse(ids).to_list()
    oov = len(vocabulary)
    for r, row_ids in zip(rows, per_row, strict=True):
        known = [i for i in row_ids if i != oov]
        assert len(known) == len(set(known)), 'a word id repeats within one description'
        expected = _python_words(r['description'])
        assert {vocabulary[i] for i in known} == expected & set(vocabulary)
        # The OOV id once per distinct word outside the vocabulary.
        assert row_ids.count(oov) == len(expected - set(vocabulary))
    assert any(oov in row_ids for row_ids in per_row)


def test_the_word_ids_carry_the_vocabulary_range(text_tft):
    # The pre-made baseline sizes its identity column from it.
    size = len(text_tft.vocabulary_by_name(F.VOCAB_FILENAME))
    assert text_tft.num_buckets_for_transformed_feature(F.TRANSFORMED_WORD_IDS_KEY) == size + F.OOV_BUCKETS


def test_package_is_never_read():
    # Building the graph without `package` would raise a KeyError if the function read it.
    with tf.Graph().as_default():
        outputs = preprocessing_fn({
            'description': tf.compat.v1.placeholder(tf.string, [None, 1]),
            'section': tf.compat.v1.placeholder(tf.string, [None, 1]),
        })
    assert set(outputs) == {F.TRANSFORMED_WORD_IDS_KEY, F.TRANSFORMED_LABEL_KEY}
    assert not any('package' in key for key in outputs)


def test_word_ids_are_sparse_not_a_dense_10k_vector(transformed):
    lengths = [len(o[F.TRANSFORMED_WORD_IDS_KEY]) for o in transformed[1]]
    assert all(0 < n < 1000 for n in lengths)
    assert np.all([isinstance(i, int) for o in transformed[1] for i in o[F.TRANSFORMED_WORD_IDS_KEY]])
