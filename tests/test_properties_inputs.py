"""Properties: any file is pairs or a DataError, left unchanged; truncate gives unit vectors or a documented error."""

import csv
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sitges_retriever import truncate
from sitges_retriever.corpus import load_procedures
from sitges_retriever.data import COLUMNS, read_pairs
from sitges_retriever.errors import DataError, DimensionError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from([*COLUMNS, "x"]), children, max_size=3)
    ),
    max_leaves=12,
)
ROWS = st.lists(st.dictionaries(st.sampled_from([*COLUMNS, "text", "x"]), JSON_VALUES, max_size=3), max_size=4)


def _read_or_refuse(suffix: str, data: bytes, reader=read_pairs) -> None:
    """Write `data` as a file with `suffix`, read it: pairs or a DataError, and the file is left as it was."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"pairs{suffix}"
        path.write_bytes(data)
        try:
            result = reader(path)
        except DataError as error:
            assert str(error) and "\n" not in str(error)
        else:
            assert len(result) > 0
            if reader is read_pairs:
                assert all(isinstance(text, str) and text.strip() for pair in result for text in pair)
        assert path.read_bytes() == data


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
@SETTINGS
@given(data=st.binary(max_size=400))
def test_any_bytes_are_pairs_or_a_data_error(suffix, data):
    _read_or_refuse(suffix, data)


@SETTINGS
@given(rows=ROWS, as_lines=st.booleans(), bom=st.booleans())
def test_any_json_structure_is_pairs_or_a_data_error(rows, as_lines, bom):
    text = "".join(json.dumps(row) + "\n" for row in rows) if as_lines else json.dumps(rows)
    _read_or_refuse(".jsonl" if as_lines else ".json", (b"\xef\xbb\xbf" if bom else b"") + text.encode())


@SETTINGS
@given(cells=st.lists(st.lists(st.text(max_size=15), min_size=0, max_size=4), max_size=5), header=st.booleans())
def test_any_csv_table_is_pairs_or_a_data_error(cells, header):
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(COLUMNS)
    writer.writerows(cells)
    _read_or_refuse(".csv", out.getvalue().encode())


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv"])
@SETTINGS
@given(data=st.binary(max_size=300))
def test_any_search_corpus_file_is_procedures_or_a_data_error(suffix, data):
    _read_or_refuse(suffix, data, reader=load_procedures)


DIMS = st.one_of(st.sampled_from([384, 256, 128, 64]), st.integers(-10, 1000), st.floats(), st.none(), st.booleans())
ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.float16, np.int64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=400),
    elements={"allow_nan": False, "allow_infinity": False, "min_value": -1e3, "max_value": 1e3},
)


@SETTINGS
@given(embeddings=ARRAYS, dim=DIMS, as_torch=st.booleans())
def test_truncate_cuts_to_unit_vectors_or_raises_a_documented_error(embeddings, dim, as_torch):
    before = embeddings.copy()
    value = torch.from_numpy(embeddings.astype(np.float32)) if as_torch else embeddings
    try:
        cut = truncate(value, dim)
    except (DimensionError, TypeError) as error:
        assert str(error)
        return
    finally:
        np.testing.assert_array_equal(embeddings, before)  # the input is never modified
    assert type(cut) is type(value)
    cut = cut.numpy() if as_torch else cut
    assert cut.shape == (*embeddings.shape[:-1], dim)
    norms = np.linalg.norm(cut.astype(np.float64), axis=-1)
    nonzero = np.linalg.norm(embeddings[..., :dim].astype(np.float64), axis=-1) > 1e-2
    np.testing.assert_allclose(norms[nonzero], 1.0, rtol=1e-2)
