"""mobilenet preprocessing_fn: PNG bytes decoded, resized and scaled in the graph (golden + independent checks)."""

from __future__ import annotations

import tempfile
from typing import Dict, List

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata

from tests.conftest import csv_rows, tfrecord_examples
from tests.tft_helpers import check_golden
from tfx_keras_estimator.components.recipes import get_recipe
from tfx_keras_estimator.components.recipes.mobilenet import features as F
from tfx_keras_estimator.components.recipes.mobilenet.preprocessing import preprocessing_fn
from tfx_keras_estimator.pipelines.data import load_schema

N_SHIPPED = 2
SIZE = F.IMAGE_SIZE


def _gray_blocks() -> np.ndarray:
    """A 64x64 gray image of constant 2x2 blocks: halving it bilinearly gives the block values exactly."""
    blocks = (np.arange(SIZE * SIZE, dtype=np.int64).reshape(SIZE, SIZE) * 7 % 256).astype(np.uint8)
    return np.kron(blocks, np.ones((2, 2), dtype=np.uint8))


def _instances(records: List[bytes]) -> List[Dict[str, list]]:
    out = []
    for record in records:
        example = tf.train.Example.FromString(record)
        out.append({F.IMAGE_KEY: list(example.features.feature[F.IMAGE_KEY].bytes_list.value),
                    F.LABEL_KEY: list(example.features.feature[F.LABEL_KEY].int64_list.value)})
    # A client's image of another size, in gray (one channel): resized, repeated over RGB.
    out.append({F.IMAGE_KEY: [tf.io.encode_png(_gray_blocks()[:, :, None]).numpy()], F.LABEL_KEY: [7]})
    return out


@pytest.fixture(scope='module')
def transformed(mobilenet_tfrecord):
    instances = _instances(tfrecord_examples(mobilenet_tfrecord, N_SHIPPED))
    metadata = dataset_metadata.DatasetMetadata(load_schema(get_recipe('mobilenet').schema_path))
    with tempfile.TemporaryDirectory() as tmp, tft_beam.Context(temp_dir=tmp):
        (out, _), _ = (instances, metadata) | tft_beam.AnalyzeAndTransformDataset(
            preprocessing_fn, output_record_batches=False)
    return instances, [{k: np.asarray(v) for k, v in o.items()} for o in out]


@pytest.mark.both_stacks  # the same outputs from TFT 1.15 and TFT 1.16
def test_matches_golden(transformed):
    _, out = transformed
    check_golden('mobilenet_preprocessing', [
        {k: np.round(v.astype(np.float64), 5).tolist() for k, v in sorted(o.items())} for o in out])


def test_only_the_image_and_the_label_come_out(transformed):
    for o in transformed[1]:
        assert sorted(o) == sorted([F.TRANSFORMED_IMAGE_KEY, F.TRANSFORMED_LABEL_KEY])
        assert o[F.TRANSFORMED_IMAGE_KEY].shape == (SIZE * SIZE * 3,)
        assert o[F.TRANSFORMED_IMAGE_KEY].dtype == np.float32


def test_shipped_pngs_decode_to_the_csv_digits_scaled_to_minus_one_one(transformed, digits_csv):
    _, out = transformed
    for row, o in zip(csv_rows(digits_csv, N_SHIPPED), out[:N_SHIPPED], strict=True):
        levels = np.array([[int(row[f'pixel_{r * 8 + c:02d}']) for c in range(8)] for r in range(8)])
        gray = np.kron(np.round(levels * 255 / 16), np.ones((4, 4)))
        expected = np.repeat(gray[:, :, None], 3, axis=2) / 127.5 - 1.0
        image = o[F.TRANSFORMED_IMAGE_KEY].reshape(SIZE, SIZE, 3)
        np.testing.assert_allclose(image, expected, atol=1e-5)
        assert image.min() >= -1.0 and image.max() <= 1.0


def test_another_size_in_gray_is_resized_and_repeated_over_rgb(transformed):
    image = transformed[1][N_SHIPPED][F.TRANSFORMED_IMAGE_KEY].reshape(SIZE, SIZE, 3)
    blocks = _gray_blocks()[::2, ::2].astype(np.float64)
    for channel in range(3):
        np.testing.assert_allclose(image[:, :, channel], blocks / 127.5 - 1.0, atol=1e-5)


def test_label_passes_through_as_an_integer(transformed):
    instances, out = transformed
    assert [int(o[F.TRANSFORMED_LABEL_KEY]) for o in out] == [i[F.LABEL_KEY][0] for i in instances]
    assert all(o[F.TRANSFORMED_LABEL_KEY].dtype == np.int64 for o in out)
