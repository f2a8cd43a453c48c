"""``audience import`` shows what it understood; ``audience imports list|show|undo``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from audience.cli import app
from tests.conftest import write

runner = CliRunner()

ORDERS = (
    "Num;Réf client;Date de commande;Produit;Qté;Montant TTC;Montant HT\n"
    "A1;C1;14/03/2025 13:45;Pomme;2;3,00;2,50\n"
    "A1;C1;14/03/2025 13:45;Poire;1;2,00;1,67\n"
    "A2;C2;15/03/2025 10:00;Pomme;1;1,50;1,25\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_prints_the_mapping_before_the_counts_and_refuses_to_guess(
    tmp_path: Path,
) -> None:
    ws = str(tmp_path / "ws")
    assert run("init", ws)[0] == 0
    orders = str(write(tmp_path / "commandes.csv", ORDERS))
    code, _, err = run("import", "orders", orders, "-w", ws)
    assert code == 2
    assert "no order id column recognised" in err and "--one-order-per-line" in err
    code, out, err = run("import", "orders", orders, "-w", ws, "--one-order-per-line")
    assert code == 0, err
    understood = out.index("customer_id  ← Réf client")
    assert understood < out.index("order_id     ← (none: each line is an order")
    assert "ignored: Num, Montant HT" in out
    assert understood < out.index("rows read 3")
    assert "imports undo 1" in out
    # The right reading afterwards is refused, naming the import; --replace takes its place.
    code, _, err = run("import", "orders", orders, "-w", ws, "--map", "order_id=Num")
    assert code == 2 and "import 1" in err and "--replace" in err
    code, out, err = run(
        "import", "orders", orders, "-w", ws, "--map", "order_id=Num", "--replace", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["batch_no"] == 2 and len(report["replaced"]) == 1
    assert report["mapping"]["order_id"] == "Num" and report["ignored"] == ["Montant HT"]


def test_imports_list_show_and_undo(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert run("init", ws)[0] == 0
    first = write(tmp_path / "a.csv", "id_client;email;fidelite\nC1;a@x.fr;or\nC2;b@x.fr;argent\n")
    second = write(tmp_path / "b.csv", "id_client;email;fidelite\nC1;a@x.fr;argent\n")
    for path in (first, second):
        assert run("import", "customers", str(path), "-w", ws)[0] == 0

    code, out, _ = run("imports", "list", "-w", ws, "--json")
    listed = json.loads(out)
    assert code == 0
    assert [(b["batch_no"], b["source"], b["rows_read"], b["status"]) for b in listed] == [
        (1, "a", 2, "loaded"),
        (2, "b", 1, "loaded"),
    ]
    code, out, _ = run("imports", "list", "-w", ws)
    assert code == 0 and "a.csv" in out and "loaded" in out

    code, out, _ = run("imports", "show", "1", "-w", ws)
    assert code == 0
    assert "customer_id ← id_client" in out and "kept as traits: fidelite" in out
    assert "import 2 loaded 0 of its rows again and updated 1" in out
    code, out, _ = run("imports", "show", listed[1]["import_id"], "-w", ws, "--json")
    assert json.loads(out)["rows_held"]["customers"] == 1

    code, _, err = run("imports", "undo", "1", "-w", ws)
    assert code == 2 and "imports undo 2" in err
    code, out, _ = run("imports", "undo", "2", "-w", ws)
    assert code == 0 and "removed customers 1" in out and "restored" in out
    code, out, _ = run("imports", "undo", "1", "-w", ws, "--json")
    assert code == 0 and json.loads(out)["removed"]["customers"] == 2
    code, _, err = run("imports", "show", "7", "-w", ws)
    assert code == 2 and "no import '7'" in err
