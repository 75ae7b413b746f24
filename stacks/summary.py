"""Print what `make synth` produced: stacks, resources per stack, cdk-nag result.

Usage: ``python -m stacks.summary [cdk.out]``. Synth only writes templates when every cdk-nag
finding is fixed or acknowledged, so reaching this step means the packs passed; the
acknowledgments are counted from the cloud assembly metadata for review.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from stacks.nag import RULE_PACKS

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


def summarize(out_dir: Path) -> str:
    manifest = json.loads((out_dir / "manifest.json").read_text())
    lines = []
    total_acks = 0
    for name, artifact in sorted(manifest["artifacts"].items()):
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        template = json.loads((out_dir / artifact["properties"]["templateFile"]).read_text())
        types = Counter(r["Type"] for r in template.get("Resources", {}).values())
        acks = sum(
            len(entry["data"])
            for entries in _metadata(out_dir, artifact).values()
            for entry in entries
            if entry["type"] == ACKNOWLEDGED
        )
        total_acks += acks
        top = ", ".join(f"{t.split('::', 1)[-1]} {n}" for t, n in types.most_common(4))
        lines.append(f"  {name:<34} {sum(types.values()):>4} resources  ({top})")
    header = f"Synthesized {len(lines)} stacks into {out_dir}/:"
    nag = (
        f"cdk-nag ({', '.join(RULE_PACKS)}): 0 unacknowledged findings, "
        f"{total_acks} reasoned acknowledgments (see docs/security.md)"
    )
    return "\n".join([header, *lines, nag])


def _metadata(out_dir: Path, artifact: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Construct metadata sits in the manifest or, in newer CDK, in a file of its own."""
    metadata: dict[str, list[dict[str, Any]]] = dict(artifact.get("metadata", {}))
    extra = artifact.get("additionalMetadataFile")
    if extra:
        metadata.update(json.loads((out_dir / extra).read_text()))
    return metadata


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
