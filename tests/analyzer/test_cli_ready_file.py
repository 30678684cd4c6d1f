"""The `--ready-file` that tests and supervisors poll is published atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agentmortem.cli import write_ready_file


def test_ready_file_is_replaced_not_rewritten_in_place(tmp_path: Path) -> None:
    # A poller that opened the old file keeps seeing whole content: the new one is a new inode.
    ready = tmp_path / "ready.json"
    ready.write_text("{}")
    witness = tmp_path / "witness"
    os.link(ready, witness)  # same inode as the old ready file
    write_ready_file(str(ready), {"http_port": 4318, "grpc_port": 4317})
    assert json.loads(ready.read_text()) == {"http_port": 4318, "grpc_port": 4317}
    assert witness.read_text() == "{}"  # an in-place write would have changed this inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ready.json", "witness"]  # nothing left aside
