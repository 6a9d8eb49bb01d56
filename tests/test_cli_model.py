"""The model commands of the CLI, run as a user would (a subprocess per call)."""

import subprocess
import sys

import pytest


def v2m(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "v2m_bridge", *args], capture_output=True,
                          text=True, timeout=120)


def test_help_lists_commands():
    result = v2m("--help")
    assert result.returncode == 0
    for command in ("inspect", "chords"):
        assert command in result.stdout


def test_inspect_official_fixture(official_fixtures):
    result = v2m("inspect", str(official_fixtures / "amt_tiny_public.pt"))
    assert result.returncode == 0, result.stderr
    assert "AMT checkpoint" in result.stdout
    assert "num_heads: 4" in result.stdout and "d_model: 64" in result.stdout
    reg = v2m("inspect", str(official_fixtures / "regression_tiny_public.pt"))
    assert "bi-GRU regression" in reg.stdout


def test_chords_in_a_key_with_primer(official_fixtures):
    result = v2m("chords", "--seconds", "8", "--checkpoint",
                 str(official_fixtures / "amt_tiny_public.pt"), "--key", "Bb major",
                 "--primer", "Bb Gm", "--seed", "3", "--emotion", "0:sad,4:exciting")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 8
    assert [line.split("\t")[1] for line in lines[:2]] == ["Bb", "Gm"]
    again = v2m("chords", "--seconds", "8", "--checkpoint",
                str(official_fixtures / "amt_tiny_public.pt"), "--key", "Bb major",
                "--primer", "Bb Gm", "--seed", "3", "--emotion", "0:sad,4:exciting")
    assert again.stdout == result.stdout


@pytest.mark.parametrize("args, message", [
    (["--key", "H major"], "unknown key"),
    (["--primer", "C Qm"], "unknown chord"),
    (["--emotion", "angry"], "unknown emotion"),
    (["--temperature", "0"], "temperature"),
    (["--seconds", "-2"], ">= 0"),
])
def test_chords_bad_input(official_fixtures, args, message):
    base = ["chords", "--checkpoint", str(official_fixtures / "amt_tiny_public.pt")]
    if "--seconds" not in args:
        base += ["--seconds", "4"]
    result = v2m(*base, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "weights.pickle"
    bad.write_bytes(b"\x00" * 100)
    result = v2m("inspect", str(bad))
    assert result.returncode == 1
    assert "not a readable PyTorch checkpoint" in result.stderr
