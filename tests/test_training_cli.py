"""``v2m-bridge train ...`` and ``v2m-bridge evaluate`` from the command line."""

from __future__ import annotations

from pathlib import Path

from training_helpers import write_tiny_layout

from v2m_bridge.cli import main
from v2m_bridge.model import load_amt
from v2m_bridge.model.loading import load_chord_model, starter_amt_path


def test_import_train_export_and_evaluate(tmp_path: Path, capsys) -> None:
    pop = tmp_path / "pop" / "POP909" / "001"
    pop.mkdir(parents=True)
    (pop / "chord_audio.txt").write_text("0.0\t4.0\tD:maj\n4.0\t8.0\tB:min\n")
    (pop / "key_audio.txt").write_text("0.0\t8.0\tD:maj\n")
    (pop / "beat_audio.txt").write_text("0.0\t1.0\n0.5\t2.0\n")
    assert main(["train", "import-corpora", "--pop909", str(tmp_path / "pop"),
                 "--out", str(tmp_path / "corpus")]) == 0
    assert "wrote 1 songs" in capsys.readouterr().out

    data = tmp_path / "data"
    write_tiny_layout(data, n_songs=4, seconds=20)
    export = tmp_path / "small.pt"
    assert main(["train", "amt", "--data", str(data), "--out", str(tmp_path / "run"),
                 "--layers", "1", "--heads", "2", "--d-model", "16", "--feedforward", "32",
                 "--max-seq", "16", "--window", "16", "--epochs", "1", "--batch-size", "4",
                 "--device", "cpu", "--no-progress", "--export", str(export)]) == 0
    assert load_amt(export).config.d_model == 16
    assert main(["evaluate", "--data", str(data), "--checkpoint", str(export), "--songs", "1",
                 "--seconds", "10", "--json", str(tmp_path / "r.json")]) == 0
    assert "Hits@1" in capsys.readouterr().out and (tmp_path / "r.json").is_file()


def test_bad_input_exits_with_a_message(tmp_path: Path, capsys) -> None:
    assert main(["train", "amt", "--data", str(tmp_path / "missing"), "--out",
                 str(tmp_path / "run"), "--device", "cpu"]) == 1
    assert "data folder not found" in capsys.readouterr().err
    assert main(["train", "amt", "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                 "--loss-lambda", "2"]) == 1
    assert "--loss-lambda must be within 0..1" in capsys.readouterr().err
    assert main(["train", "import-corpora", "--out", str(tmp_path / "o")]) == 1
    assert "at least one corpus" in capsys.readouterr().err
    assert main(["evaluate", "--data", str(tmp_path)]) == 1
    assert "MuVi-Sync layout" in capsys.readouterr().err


def test_the_starter_model_is_found_without_a_path() -> None:
    path = starter_amt_path()
    assert path.stat().st_size < 20_000_000
    model = load_chord_model(None).amt
    assert model.metadata["starter"] and not model.training
