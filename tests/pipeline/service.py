"""SageMaker's API as botocore's service model describes it: requests and responses validated,
and step property paths (``Steps.X.<path>``) checked against the Describe output shape.

SageMaker's docs: "The properties attribute of a Pipelines step matches the object returned
by a Describe call for the corresponding SageMaker job type" (Pipelines steps, "Step
properties"). A path is ``Member``, ``[index]`` or ``['key']`` segments: ``['key']`` on a map
is its key, on a list it picks the member whose ``...Name`` field is ``key`` (how the SDK
reads ``ProcessingOutputConfig.Outputs['splits']``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

_MODEL = botocore.session.get_session().get_service_model("sagemaker")
_SEGMENT = re.compile(r"\.?([A-Za-z0-9_]+)|\[(\d+)\]|\['([^']*)'\]")


class InvalidRequest(AssertionError):
    """A request or response that botocore's model rejects: the service would too."""


class UnknownProperty(AssertionError):
    """A property path that the step's Describe output (or its documented extras) lacks."""


def _shape(operation: str, *, output: bool) -> Shape:
    model = _MODEL.operation_model(operation)
    shape = model.output_shape if output else model.input_shape
    if shape is None:
        raise InvalidRequest(f"{operation} has no {'output' if output else 'input'} shape")
    return shape


def validate_request(operation: str, params: Mapping[str, Any]) -> None:
    shape = _shape(operation, output=False)
    report = ParamValidator().validate(dict(params), shape)
    if report.has_errors():
        raise InvalidRequest(f"{operation}: {report.generate_report()}")


def validate_response(operation: str, response: Mapping[str, Any]) -> None:
    shape = _shape(operation, output=True)
    report = ParamValidator().validate(dict(response), shape)
    if report.has_errors():
        raise InvalidRequest(f"{operation} response: {report.generate_report()}")


@dataclass(frozen=True)
class Segment:
    member: str | None = None
    index: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        if self.member is not None:
            return f".{self.member}"
        if self.index is not None:
            return f"[{self.index}]"
        return f"['{self.key}']"


def parse_path(path: str) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if not match or match.end() == position:
            raise UnknownProperty(f"cannot parse property path {path!r} at {path[position:]!r}")
        member, index, key = match.groups()
        if member is not None:
            segments.append(Segment(member=member))
        elif index is not None:
            segments.append(Segment(index=int(index)))
        else:
            segments.append(Segment(key=key))
        position = match.end()
    return segments


def check_path(operation: str, segments: list[Segment], *, where: str) -> None:
    """Raise UnknownProperty unless ``segments`` walk ``operation``'s output shape."""
    shape = _shape(operation, output=True)
    walked = ""
    for segment in segments:
        if isinstance(shape, StructureShape) and segment.member is not None:
            if segment.member not in shape.members:
                raise UnknownProperty(
                    f"{where}: {operation} output has no {walked + str(segment)!r}; "
                    f"{shape.name} members: {', '.join(shape.members)}"
                )
            shape = shape.members[segment.member]
        elif isinstance(shape, ListShape) and (segment.index is not None or segment.key):
            shape = shape.member
        elif isinstance(shape, MapShape) and segment.key is not None:
            shape = shape.value
        else:
            raise UnknownProperty(
                f"{where}: {walked + str(segment)!r} does not apply to {shape.name} "
                f"({shape.type_name}) of {operation}"
            )
        walked += str(segment)


def read_path(value: Any, segments: list[Segment], *, where: str) -> Any:
    """The value at ``segments`` of a Describe response; UnknownProperty when absent."""
    walked = ""
    for segment in segments:
        walked += str(segment)
        if segment.member is not None and isinstance(value, Mapping):
            found = value.get(segment.member)
        elif segment.index is not None and isinstance(value, list):
            found = value[segment.index] if segment.index < len(value) else None
        elif segment.key is not None and isinstance(value, Mapping):
            found = value.get(segment.key)
        elif segment.key is not None and isinstance(value, list):
            found = next((item for item in value if segment.key in _names_of(item)), None)
        else:
            found = None
        if found is None:
            raise UnknownProperty(f"{where}: the response has no value at {walked!r}")
        value = found
    return value


def _names_of(item: Any) -> set[str]:
    if not isinstance(item, Mapping):
        return set()
    return {str(v) for k, v in item.items() if k.endswith("Name") and isinstance(v, str)}
