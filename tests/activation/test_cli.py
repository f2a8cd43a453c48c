"""The commands, end to end on a workspace whose audience.yaml holds an activation section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from audience.cli import activation
from tests.conftest import SECRET, Receiver

runner = CliRunner()
app = typer.Typer()
activation.register(app)


def invoke(root: Path, *args: str) -> tuple[int, Any, str]:
    result = runner.invoke(app, [*args, "--workspace", str(root)])
    out = result.stdout
    if "--json" in args and result.exit_code == 0:
        return result.exit_code, json.loads(out), result.stderr
    return result.exit_code, out, result.stderr


def configure(root: Path, receiver_url: str) -> None:
    text = (root / "audience.yaml").read_text(encoding="utf-8")
    (root / "audience.yaml").write_text(
        text
        + f"""
activation:
  segments:
    - name: vip
      when: {{field: monetary, gte: 2500}}
    - name: lapsing
      when: {{all: [{{field: frequency, gte: 2}}, {{field: last_order_at, within_last: 365d}},
                   {{not: {{field: last_order_at, within_last: 60d}}}}]}}
  groups:
    - {{name: lifecycle, segments: [vip, lapsing]}}
  destinations:
    - {{name: hook, type: webhook, purpose: email, url: "{receiver_url}", secret: {SECRET},
       allow_networks: [loopback], backoff_seconds: 0.01, max_attempts: 2}}
    - {{name: hubspot, type: hubspot, purpose: email}}
  workflows:
    - {{segment: vip, destination: hook, channel: email, template: vip}}
    - {{segment: lapsing, destination: hubspot}}
""",
        encoding="utf-8",
    )


def test_evaluate_activate_members_why_overlap(ws_root: Path, receiver: Receiver) -> None:
    configure(ws_root, receiver.url)
    code, dry, err = invoke(
        ws_root, "activate", "--dry-run", "--now", "2026-11-25T12:00:00", "--json"
    )
    assert code == 0, err
    assert dry["dry_run"] is True and receiver.requests == []
    assert not (ws_root / "exports").exists()
    hook = next(w for w in dry["workflows"] if w["destination"] == "hook")
    vip_size = dry["evaluation"]["segments"]["rule:vip"]["size"]
    assert (
        hook["queued"] == vip_size and hook["held"] + sum(hook["suppressed"].values()) == vip_size
    )

    code, done, err = invoke(ws_root, "activate", "--now", "2026-11-25T12:00:00", "--json")
    assert code == 0, err
    hook = next(w for w in done["workflows"] if w["destination"] == "hook")
    assert hook["delivered"] == len(receiver.requests) == dry["workflows"][0]["held"]
    export = next(w for w in done["workflows"] if w["destination"] == "hubspot")
    assert Path(export["path"]).is_file()

    code, result, _ = invoke(ws_root, "members", "vip", "--as-of", "2026-11-25T13:00:00", "--json")
    assert code == 0 and result["count"] == vip_size
    code, before, _ = invoke(ws_root, "members", "rule:vip", "--as-of", "2026-11-24", "--json")
    assert code == 0 and before["count"] == 0

    person = result["members"][0]["customer_id"]
    code, explained, _ = invoke(ws_root, "why", person, "--json")
    assert code == 0
    (segment,) = explained["segments"]
    assert segment["segment_id"] == "rule:vip" and segment["conditions"][0]["matched"] is True

    code, matrix, _ = invoke(ws_root, "overlap", "--json")
    names = [s["name"] for s in matrix["segments"]]
    assert code == 0 and set(names) <= {"vip", "lapsing"}
    if len(names) == 2:
        assert matrix["matrix"][0][1] == 0  # an exclusive group: no one in both

    code, text, _ = invoke(ws_root, "evaluate", "--now", "2026-11-26T12:00:00")
    assert code == 0 and "rule:vip" in text


def test_consent_and_deliveries_commands(ws_root: Path, receiver: Receiver) -> None:
    configure(ws_root, receiver.url)
    code, change, _ = invoke(ws_root, "consent", "set", "C0000001", "sms", "withdrawn", "--json")
    assert code == 0 and change["status"] == "withdrawn"
    code, shown, _ = invoke(ws_root, "consent", "show", "C0000001", "--json")
    assert shown["current"]["sms"] == "withdrawn"
    assert [c["status"] for c in shown["history"] if c["purpose"] == "sms"][-1] == "withdrawn"
    code, _, err = invoke(ws_root, "consent", "set", "C0000001", "fax", "granted")
    assert code == 2 and "unknown consent purpose 'fax'" in err
    code, _, err = invoke(ws_root, "consent", "set", "NOBODY", "sms", "granted")
    assert code == 2 and "unknown customer" in err

    receiver.default = 500
    assert invoke(ws_root, "activate", "vip", "--now", "2026-11-25T12:00:00", "--json")[0] == 0
    code, listed, _ = invoke(ws_root, "deliveries", "list", "--status", "dead", "--json")
    dead = listed["counts"]["hook"]["dead"]
    assert code == 0 and dead > 0 and listed["counts"]["hook"]["open_dead_letters"] == dead
    receiver.default = 200
    code, replay, _ = invoke(ws_root, "deliveries", "retry", "--json")
    assert code == 0 and replay["hook"]["delivered"] == dead
    code, listed, _ = invoke(ws_root, "deliveries", "list", "--json")
    assert (
        "dead" not in listed["counts"]["hook"]
        and "open_dead_letters" not in listed["counts"]["hook"]
    )


def test_load_errors_exit_2_with_one_line(ws_root: Path) -> None:
    text = (ws_root / "audience.yaml").read_text(encoding="utf-8")
    (ws_root / "audience.yaml").write_text(
        text + "activation:\n  segments:\n    - {name: a, when: {field: recency_days, gt: abc}}\n",
        encoding="utf-8",
    )
    code, _, err = invoke(ws_root, "evaluate")
    assert code == 2
    assert "expected a number for field 'recency_days'" in err and "line" in err
    assert len(err.strip().splitlines()) <= 3
