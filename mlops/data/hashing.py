"""Seeded 64-bit hashes of row identities, vectorised with numpy, identical on every machine.

A value's hash depends only on the seed and the value, never on the file, shard, chunk or
machine that holds the row. Integers hash as integers whatever column type carries them: the
text ``"123"`` in a CSV and the integer 123 in a Parquet file hash alike, so type inference
differences between parts cannot move a row. Other values hash by their UTF-8 text (after a
cast to text for floats, decimals, timestamps, booleans). The mixer is SplitMix64's finaliser.
"""

from __future__ import annotations

import hashlib
import re
from fractions import Fraction

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
from numpy.typing import NDArray

ALGORITHM = "splitmix64-v1"

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MIX1 = 0xBF58476D1CE4E5B9
_MIX2 = 0x94D049BB133111EB
_STRING_TAG = 0x5354524E47000000  # "STRNG"
_NULL_TAG = 0x4E554C4C00000000  # "NULL"
_POSITION_TAG = 0x504F534E00000000  # "POSN"
_POW10 = np.array([10**power for power in range(20)], dtype=np.uint64)
_MAX_DIGITS = 19  # int64 has at most 19 digits (range-checked)
_MATRIX_BYTES = 1 << 23
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_SAMPLE = 64  # bound on the padded byte matrix of one string batch

U64 = NDArray[np.uint64]


def _mix_int(value: int) -> int:
    value &= _MASK
    value = ((value ^ (value >> 30)) * _MIX1) & _MASK
    value = ((value ^ (value >> 27)) * _MIX2) & _MASK
    return value ^ (value >> 31)


def salt(seed: int, purpose: str = "") -> int:
    """The 64-bit salt of a seed (and a purpose, so different uses are independent)."""
    digest = hashlib.blake2b(purpose.encode(), digest_size=8).digest()
    return _mix_int(seed * _GOLDEN + int.from_bytes(digest, "little"))


def _mix(values: U64) -> U64:
    """SplitMix64 finaliser, in place."""
    with np.errstate(over="ignore"):
        values ^= values >> np.uint64(30)
        values *= np.uint64(_MIX1)
        values ^= values >> np.uint64(27)
        values *= np.uint64(_MIX2)
        values ^= values >> np.uint64(31)
    return values


def hash_ints(values: NDArray[np.int64], salt_value: int) -> U64:
    """Hash of each int64: the SplitMix64 output at position ``value`` of stream ``salt``."""
    hashed = values.astype(np.uint64)
    with np.errstate(over="ignore"):
        hashed *= np.uint64(_GOLDEN)
        hashed += np.uint64(salt_value)
    return _mix(hashed)


def hash_positions(name: str, start: int, count: int, salt_value: int) -> U64:
    """Hash of rows ``start .. start+count-1`` of the file called ``name``."""
    file_salt = _mix_int(salt_value ^ _POSITION_TAG ^ salt(0, name))
    return hash_ints(np.arange(start, start + count, dtype=np.int64), file_salt)


def hash_values(values: pa.Array | pa.ChunkedArray, salt_value: int) -> U64:
    """Hash of each value of an Arrow column (see the module doc for what counts as equal)."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return hash_values(values.chunk(0), salt_value)
        parts = [hash_values(chunk, salt_value) for chunk in values.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    kind = values.type
    if pa.types.is_integer(kind) and not pa.types.is_uint64(kind):
        as_int64 = values if pa.types.is_int64(kind) else values.cast(pa.int64())
        hashed = hash_ints(_ints(as_int64), salt_value)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        hashed = _hash_strings(values, salt_value)
    elif pa.types.is_null(kind):
        hashed = np.zeros(len(values), dtype=np.uint64)
    else:
        return hash_values(pc.cast(values, pa.large_string()), salt_value)
    if values.null_count:
        nulls = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        hashed[nulls] = np.uint64(_mix_int(salt_value ^ _NULL_TAG))
    return hashed


def _ints(values: pa.Array) -> NDArray[np.int64]:
    if values.null_count:
        values = values.fill_null(0)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)


def _hash_strings(values: pa.Array, salt_value: int) -> U64:
    # Fast path: a column of canonical integers ("0", "-12", no sign or leading zeros) hashes
    # like the integers themselves.
    as_ints = None
    if all(_INTEGER_TEXT.fullmatch(text or "") for text in values[:_SAMPLE].to_pylist()):
        try:
            as_ints = _ints(pc.cast(values, pa.int64()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            as_ints = None
    offsets, data = _string_buffers(values)
    lengths = np.diff(offsets)
    if as_ints is not None and np.array_equal(_decimal_lengths(as_ints), lengths):
        return hash_ints(as_ints, salt_value)
    result = np.empty(len(values), dtype=np.uint64)
    widest = int(lengths.max()) if len(lengths) else 0
    batch = max(1, _MATRIX_BYTES // max(8, widest + 8))
    for start in range(0, len(values), batch):
        stop = min(len(values), start + batch)
        result[start:stop] = _hash_string_batch(
            offsets[start:stop], lengths[start:stop], data, salt_value
        )
    return result


def _string_buffers(values: pa.Array) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    width = np.int64 if pa.types.is_large_string(values.type) else np.int32
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=width)[
        values.offset : values.offset + len(values) + 1
    ]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return offsets.astype(np.int64), data


def _decimal_lengths(values: NDArray[np.int64]) -> NDArray[np.int64]:
    """Length of each integer's canonical decimal text."""
    magnitude = values.astype(np.uint64)
    negative = values < 0
    magnitude[negative] = ~magnitude[negative] + np.uint64(1)
    digits = np.maximum(np.searchsorted(_POW10, magnitude, side="right"), 1)
    return (digits + negative).astype(np.int64)


def _hash_string_batch(
    offsets: NDArray[np.int64], lengths: NDArray[np.int64], data: NDArray[np.uint8], salt_value: int
) -> U64:
    count = len(lengths)
    widest = int(lengths.max()) if count else 0
    width = max(8, -(-widest // 8) * 8)
    matrix = np.zeros((count, width), dtype=np.uint8)
    shortest = int(lengths.min()) if count else 0
    for column in range(widest):
        if column < shortest:
            matrix[:, column] = data[offsets + column]
        else:
            present = lengths > column
            matrix[present, column] = data[offsets[present] + column]
    with np.errstate(over="ignore"):
        words = matrix.view(np.dtype("<u8")).astype(np.uint64)
        hashed = lengths.astype(np.uint64) * np.uint64(_GOLDEN) + np.uint64(
            _mix_int(salt_value ^ _STRING_TAG)
        )
        _mix(hashed)
        # One round per 8-byte word of the string itself, so padding never changes a hash.
        word_counts = (lengths + 7) // 8
        for column in range(words.shape[1]):
            mixed = _mix(hashed ^ words[:, column])
            if column < (shortest + 7) // 8:
                hashed = mixed
            else:
                hashed = np.where(word_counts > column, mixed, hashed)
    # Canonical integers among the strings hash as integers.
    lead = matrix[:, 0]
    candidates = np.flatnonzero(
        ((lead >= ord("0")) & (lead <= ord("9")) | (lead == ord("-")))
        & (lengths <= _MAX_DIGITS + 1)
    )
    if len(candidates):
        sub = matrix[candidates]
        sub_lengths = lengths[candidates]
        negative = sub[:, 0] == ord("-")
        digits = sub_lengths - negative
        positions = np.arange(width)
        inside = (positions >= negative[:, None]) & (positions < sub_lengths[:, None])
        is_digit = (sub >= ord("0")) & (sub <= ord("9"))
        first = sub[np.arange(len(candidates)), negative.astype(np.intp)]
        canonical = (
            np.all(is_digit | ~inside, axis=1)
            & (digits >= 1)
            & (digits <= _MAX_DIGITS)
            & ((first != ord("0")) | ((digits == 1) & ~negative))
        )
        rows = np.flatnonzero(canonical)
        if len(rows):
            magnitude = np.zeros(len(rows), dtype=np.uint64)
            numbers = sub[rows].astype(np.uint64) - np.uint64(ord("0"))
            numbers_inside = inside[rows]
            with np.errstate(over="ignore"):
                for column in range(min(widest, _MAX_DIGITS + 1)):
                    take = numbers_inside[:, column]
                    magnitude[take] = magnitude[take] * np.uint64(10) + numbers[take, column]
            minus = negative[rows]
            fits = magnitude <= np.where(minus, np.uint64(1 << 63), np.uint64((1 << 63) - 1))
            signed = np.where(minus, ~magnitude + np.uint64(1), magnitude).view(np.int64)
            hashed[candidates[rows[fits]]] = hash_ints(signed[fits], salt_value)
    return hashed


def thresholds(fractions: tuple[Fraction, ...]) -> list[int]:
    """Hash cut points: a row whose hash is below the first goes to split 0, and so on."""
    cuts: list[int] = []
    total = Fraction(0)
    for fraction in fractions[:-1]:
        total += fraction
        cuts.append(min(_MASK, int(total * (1 << 64))))
    return cuts


def split_by_hash(hashed: U64, cuts: list[int]) -> NDArray[np.uint8]:
    """Split code of each hash: the number of cut points at or below it."""
    codes = np.zeros(len(hashed), dtype=np.uint8)
    for cut in cuts:
        codes += hashed >= np.uint64(cut)
    return codes
