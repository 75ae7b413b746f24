"""Partition spec validation, exact allocation and the seeded identity hash."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops.data import FEATURE_COLUMNS, TRANSACTION_COLUMNS, PartitionSpec
from mlops.data.hashing import (
    hash_ints,
    hash_positions,
    hash_values,
    salt,
    split_by_hash,
    thresholds,
)
from mlops.data.spec import allocate, minimum_rows, parse_ratios
from mlops.errors import InputError
from tests.data.conftest import PROPERTY

RATIOS = st.sampled_from([(0.7, 0.15, 0.15), (0.8, 0.2), (0.5, 0.25, 0.25), (0.6, 0.3, 0.1)])


def test_feature_columns_are_the_endpoint_payload_order() -> None:
    # The endpoint payload 2,TX,947.08,1695574580,TX,16 is these columns, in this order.
    assert FEATURE_COLUMNS == (
        "customer_id",
        "state",
        "amount",
        "transaction_time",
        "transaction_state",
        "time_of_day",
    )
    assert TRANSACTION_COLUMNS[0] == "transaction_id" and TRANSACTION_COLUMNS[-1] == "is_fraud"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "random", "ratios": (0.7, 0.2, 0.2)}, "sum to 1.1, not 1"),
        ({"method": "random", "ratios": (1.0,)}, "give 2 or 3 ratios"),
        ({"method": "random", "ratios": (0.25,) * 4}, "give 2 or 3 ratios"),
        ({"method": "random", "ratios": (1.2, -0.2)}, "above 0 and below 1"),
        ({"method": "stratified", "ratios": (0.8, 0.2)}, "pass --target"),
        ({"method": "key", "ratios": (0.8, 0.2)}, "pass --key"),
        ({"method": "ordered", "ratios": (0.8, 0.2)}, "pass --order-by"),
        ({"method": "shuffle", "ratios": (0.8, 0.2)}, "unknown method"),
        ({"method": "random", "ratios": (0.8, 0.2), "seed": -1}, "out of range"),
        ({"method": "random", "ratios": (0.8, 0.2), "oversample": 0.5}, "--target"),
        (
            {"method": "random", "ratios": (0.8, 0.2), "target": "y", "oversample": 2.0},
            "out of range",
        ),
    ],
)
def test_bad_specs_are_one_line_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        PartitionSpec(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)


def test_ratios_text_must_be_numbers() -> None:
    assert parse_ratios("0.7,0.15,0.15") == (0.7, 0.15, 0.15)
    with pytest.raises(InputError, match="not numbers"):
        parse_ratios("0.7,abc")


def test_ratios_within_a_millionth_of_one_are_normalised() -> None:
    spec = PartitionSpec(method="random", ratios=(0.3333333, 0.3333333, 0.3333333))
    assert sum(spec.fractions) == 1


@PROPERTY
@given(rows=st.integers(0, 10**7), ratios=RATIOS)
def test_allocation_is_exact_and_as_close_as_possible(rows: int, ratios: tuple[float, ...]) -> None:
    fractions = PartitionSpec(method="random", ratios=ratios).fractions
    sizes = allocate(rows, fractions)
    assert sum(sizes) == rows
    assert all(
        abs(size - fraction * rows) < 1 for size, fraction in zip(sizes, fractions, strict=True)
    )


def test_minimum_rows_is_the_fewest_that_feed_every_split() -> None:
    fractions = PartitionSpec(method="random", ratios=(0.7, 0.15, 0.15)).fractions
    needed = minimum_rows(fractions)
    assert min(allocate(needed, fractions)) == 1
    assert min(allocate(needed - 1, fractions)) == 0


@PROPERTY
@given(values=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50), seed=st.integers(0, 2**40))
def test_integers_hash_alike_as_numbers_and_as_text(values: list[int], seed: int) -> None:
    key = salt(seed)
    as_numbers = hash_values(pa.array(values, pa.int64()), key)
    as_text = hash_values(pa.array([str(value) for value in values]), key)
    mixed = hash_values(pa.array([str(value) for value in values] + ["x"]), key)
    assert np.array_equal(as_numbers, as_text)
    assert np.array_equal(as_numbers, mixed[: len(values)])


@PROPERTY
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=30), seed=st.integers(0, 2**40))
def test_a_value_hashes_alike_whatever_else_is_in_its_batch(texts: list[str], seed: int) -> None:
    key = salt(seed)
    together = hash_values(pa.array(texts), key)
    alone = np.concatenate([hash_values(pa.array([text]), key) for text in texts])
    large = hash_values(pa.array(texts, pa.large_string()), key)
    encoded = hash_values(pa.array(texts).dictionary_encode(), key)
    chunked = hash_values(pa.chunked_array([texts[:1], texts[1:]], pa.string()), key)
    for other in (alone, large, encoded, chunked):
        assert np.array_equal(together, other)


def test_non_canonical_integer_text_is_text() -> None:
    key = salt(1)
    numbers = hash_values(pa.array([123, 0, 5]), key)
    texts = hash_values(pa.array(["0123", "-0", "+5"]), key)
    assert not np.any(numbers == texts)
    # Beyond int64, digits are text: hashing must not wrap around.
    wrapped = hash_values(pa.array([str(2**64 + 5), "5"]), key)
    assert wrapped[0] != wrapped[1]
    assert len(set(hash_values(pa.array(["a", "a\x00", "", "b"]), key).tolist())) == 4


def test_hash_values_are_pinned() -> None:
    # Splits must not move between versions or machines: these values are part of the contract
    # (report "algorithm": splitmix64-v1).
    key = salt(42, "split")
    assert hash_ints(np.array([1, 2, 3], dtype=np.int64), key).tolist() == PINNED_INTS
    assert hash_values(pa.array(["TX", "customer-7"]), key).tolist() == PINNED_TEXT
    assert hash_positions("part-00000.csv", 0, 2, key).tolist() == PINNED_POSITIONS


PINNED_INTS = [6658869933889685454, 7116470835456049039, 406446985548065883]
PINNED_TEXT = [2771088204838047161, 4777749792849562762]
PINNED_POSITIONS = [17979782315086345821, 9211575970740447469]


def _splitmix64(value: int) -> int:
    """Reference SplitMix64 output at position ``value`` of a stream (pure Python)."""
    mask = (1 << 64) - 1
    state = (value * 0x9E3779B97F4A7C15) & mask
    state = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & mask
    state = ((state ^ (state >> 27)) * 0x94D049BB133111EB) & mask
    return state ^ (state >> 31)


@PROPERTY
@given(values=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20))
def test_integer_hash_is_splitmix64(values: list[int]) -> None:
    key = salt(7)
    golden_inverse = pow(0x9E3779B97F4A7C15, -1, 1 << 64)
    # hash(v) = splitmix64 output at (v + salt * golden^-1): a salted SplitMix64 stream.
    expected = [_splitmix64((value + key * golden_inverse) % (1 << 64)) for value in values]
    assert hash_ints(np.array(values, dtype=np.int64), key).tolist() == expected


@settings(deadline=None, max_examples=10)
@given(seed=st.integers(0, 2**62), ratios=RATIOS)
def test_hash_split_proportions_follow_the_ratios(seed: int, ratios: tuple[float, ...]) -> None:
    spec = PartitionSpec(method="random", ratios=ratios, seed=seed)
    rows = 50_000
    codes = split_by_hash(
        hash_ints(np.arange(rows, dtype=np.int64), salt(seed)), thresholds(spec.fractions)
    )
    counts = np.bincount(codes, minlength=len(ratios))
    for count, fraction in zip(counts, spec.fractions, strict=True):
        expected = float(fraction) * rows
        assert abs(count - expected) < 6 * (expected * (1 - float(fraction))) ** 0.5


def test_thresholds_cut_the_hash_space_at_the_cumulative_ratios() -> None:
    cuts = thresholds((Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)))
    assert cuts == [1 << 63, 3 << 62]
    codes = split_by_hash(
        np.array([0, (1 << 63) - 1, 1 << 63, 3 << 62, (1 << 64) - 1], dtype=np.uint64), cuts
    )
    assert codes.tolist() == [0, 0, 1, 2, 2]
