"""What a partition should do: method, ratios, seed and columns, validated once for every door."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, cast

from mlops.data.schema import ID_COLUMN, METHODS, split_names
from mlops.errors import InputError

Method = Literal["random", "ordered", "key", "stratified"]

_MAX_SEED = 2**63 - 1
_RATIO_TOLERANCE = Fraction(1, 10**6)


def parse_ratios(text: str) -> tuple[float, ...]:
    """``"0.7,0.15,0.15"`` -> ``(0.7, 0.15, 0.15)``; a one-line error for anything else."""
    try:
        ratios = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(
            f"ratios {text!r} are not numbers: give 2 or 3 comma-separated ratios such as "
            "0.7,0.15,0.15"
        ) from None
    return ratios


def parse_columns(text: str | None) -> tuple[str, ...]:
    """``"a,b"`` -> ``("a", "b")``; empty names are dropped."""
    if not text:
        return ()
    return tuple(name.strip() for name in text.split(",") if name.strip())


@dataclass(frozen=True)
class PartitionSpec:
    """A validated request to split rows into 2 or 3 named splits.

    ``random``: each row goes to a split chosen by a seeded hash of its identity (the ``row_key``
    column, ``transaction_id`` when present, else the row's file name and position); sizes are
    approximate (binomial). ``key``: the hash of the ``key`` column's value picks the split, so
    no key value is in two splits; sizes follow the number of rows per key. ``stratified``: per
    class of ``target``, rows ranked by their identity hash are cut at exact counts.
    ``ordered``: rows sorted by ``order_by`` (ties in input order) are cut at exact counts,
    earliest rows in the first split.
    """

    method: Method
    ratios: tuple[float, ...]
    seed: int = 0
    target: str | None = None
    key: str | None = None
    order_by: str | None = None
    row_key: str | None = None
    drop_columns: tuple[str, ...] = ()
    oversample: float | None = None
    fractions: tuple[Fraction, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown method {self.method!r}: use one of {', '.join(METHODS)}")
        object.__setattr__(self, "ratios", tuple(float(ratio) for ratio in self.ratios))
        object.__setattr__(self, "drop_columns", tuple(self.drop_columns))
        object.__setattr__(self, "fractions", _check_ratios(self.ratios))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InputError(f"seed must be an integer, got {self.seed!r}")
        if not 0 <= self.seed <= _MAX_SEED:
            raise InputError(f"seed {self.seed} is out of range: use 0 to {_MAX_SEED}")
        required = {"key": "key", "ordered": "order_by", "stratified": "target"}.get(self.method)
        if required is not None and not getattr(self, required):
            flag = "--" + required.replace("_", "-")
            raise InputError(f"method {self.method} needs a column: pass {flag} COLUMN")
        if self.oversample is not None:
            if not self.target:
                raise InputError("oversampling needs the class column: pass --target COLUMN")
            if not 0 < self.oversample <= 1:
                raise InputError(
                    f"oversample ratio {self.oversample} is out of range: give the wanted "
                    "minority/majority ratio in the train split, above 0 and at most 1"
                )

    @property
    def split_names(self) -> tuple[str, ...]:
        return split_names(len(self.ratios))

    @property
    def exact(self) -> bool:
        """Whether split sizes are exact (stratified, ordered) or approximate (random, key)."""
        return self.method in ("stratified", "ordered")

    @property
    def global_pass(self) -> bool:
        """Whether assignment needs a first pass over every row (needs the whole input)."""
        return self.method in ("stratified", "ordered")

    def identity_column(self, columns: tuple[str, ...] | list[str]) -> str | None:
        """Column whose value is a row's identity for hashing, or None for file + position."""
        if self.method == "key":
            return self.key
        if self.row_key is not None:
            return self.row_key or None  # "" asks for file name and position
        return ID_COLUMN if ID_COLUMN in columns else None

    def to_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "ratios": list(self.ratios),
            "split_names": list(self.split_names),
            "seed": self.seed,
            "target": self.target,
            "key": self.key,
            "order_by": self.order_by,
            "row_key": self.row_key,
            "drop_columns": list(self.drop_columns),
            "oversample": self.oversample,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> PartitionSpec:
        ratios = cast(list[float], data["ratios"])
        return cls(
            method=cast(Method, data["method"]),
            ratios=tuple(ratios),
            seed=cast(int, data["seed"]),
            target=cast("str | None", data.get("target")),
            key=cast("str | None", data.get("key")),
            order_by=cast("str | None", data.get("order_by")),
            row_key=cast("str | None", data.get("row_key")),
            drop_columns=tuple(cast(list[str], data.get("drop_columns") or [])),
            oversample=cast("float | None", data.get("oversample")),
        )


def _check_ratios(ratios: tuple[float, ...]) -> tuple[Fraction, ...]:
    shown = ",".join(f"{ratio:g}" for ratio in ratios)
    if len(ratios) not in (2, 3):
        raise InputError(
            f"ratios {shown}: give 2 or 3 ratios (train,test or train,validation,test)"
        )
    if any(not 0 < ratio < 1 for ratio in ratios):
        raise InputError(f"ratios {shown}: each ratio must be above 0 and below 1")
    fractions = tuple(Fraction(repr(ratio)) for ratio in ratios)
    total = sum(fractions, Fraction(0))
    if abs(total - 1) > _RATIO_TOLERANCE:
        raise InputError(f"ratios {shown} sum to {float(total):g}, not 1")
    return tuple(fraction / total for fraction in fractions)


def allocate(rows: int, fractions: tuple[Fraction, ...]) -> list[int]:
    """Exact split sizes of ``rows``: largest remainders, ties to the earlier split."""
    exact = [fraction * rows for fraction in fractions]
    counts = [int(value) for value in exact]
    remainders = sorted(
        range(len(exact)), key=lambda index: (-(exact[index] - counts[index]), index)
    )
    for index in remainders[: rows - sum(counts)]:
        counts[index] += 1
    return counts


def minimum_rows(fractions: tuple[Fraction, ...]) -> int:
    """Fewest rows for which :func:`allocate` gives every split at least one row."""
    rows = len(fractions)
    while min(allocate(rows, fractions)) < 1:
        rows += 1
    return rows
