"""First run anywhere: the README's first command works from a copy of the repository with no
``shared/`` beside it, the wheel carries the demo clip and the starter model, and the tests that
need ``shared/`` skip with one clear reason when it is absent.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from shared_data import REPO, SHARED, skip_reason

README = REPO / "README.md"
DEMO_CLIP = Path("v2m_bridge") / "demo_data" / "demo_montage_cc0.mp4"
STARTER = Path("v2m_bridge") / "models_data" / "starter_amt.pt"
CLIP_SECONDS = 12.0
WHEEL_LIMIT_BYTES = 10_000_000


def setup_commands() -> list[str]:
    """The command lines of the README's set-up block (the first ```bash block after the
    "## Set up" heading)."""
    text = README.read_text()
    section = text[text.index("\n## Set up"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README: no ```bash block under '## Set up'"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def readme_demo_command() -> list[str]:
    """The ``v2m-bridge ...`` part of the README's first command, as an argument list."""
    parts = [shlex.split(part) for part in setup_commands()[0].split("&&")]
    demo = [part for part in parts if part and part[0] == "v2m-bridge"]
    assert len(demo) == 1, f"README's first command runs no v2m-bridge command: {parts}"
    return demo[0]


def copy_repository(dest: Path) -> Path:
    """The files of this checkout that git tracks or would track (``git ls-files``; untracked
    files that are not ignored count too, so an uncommitted new module is tested as well)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout and git, to list the tracked files")
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                              "--exclude-standard"], cwd=REPO, capture_output=True,
                             check=True, timeout=60).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source, target = REPO / name, dest / name
        if not os.path.lexists(source):  # deleted in the working tree, not yet committed
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return dest


@pytest.fixture(scope="module")
def bare_copy(tmp_path_factory) -> Path:
    """A copy of the repository in a folder with no ``shared/`` beside it."""
    copy = copy_repository(tmp_path_factory.mktemp("first-run") / "v2m-bridge")
    assert not (copy.parent / SHARED.name).exists()
    return copy


def run_in(copy: Path, command: list[str], cache: Path,
           timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``command`` in ``copy`` in the installed environment, importing the copy's package."""
    if command[0] == "v2m-bridge":  # the console script of this environment, else -m
        script = Path(sys.executable).with_name("v2m-bridge")
        command = ([str(script)] if script.is_file() else [sys.executable, "-m", "v2m_bridge"]) \
            + command[1:]
    env = {**os.environ, "PYTHONPATH": str(copy), "V2M_CACHE_DIR": str(cache),
           "MPLBACKEND": "Agg"}
    return subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_readme_set_up_is_install_and_demo_then_the_tests():
    commands = setup_commands()
    assert commands[0] == 'pip install -e ".[dev]" && v2m-bridge demo'
    assert commands[1] == "python -m pytest -q"
    assert "../shared" not in commands[0]


def test_readme_first_command_scores_the_demo_clip_in_a_bare_copy(bare_copy, tmp_path):
    import mido

    command = readme_demo_command()
    result = run_in(bare_copy, command, tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    # the copy's code and clip ran, not the checkout's
    assert str(bare_copy / "v2m_bridge" / "demo_data") in result.stdout
    assert "cuts: 2 detected" in result.stdout
    assert "v2m-bridge render VIDEO" in result.stdout

    out = bare_copy / "v2m-demo"
    midi = mido.MidiFile(out / "demo.mid")
    assert midi.length == pytest.approx(CLIP_SECONDS, abs=0.05)
    assert [track.name for track in midi.tracks][1:4] == ["V2M Chords", "V2M Figuration",
                                                          "V2M Bass"]
    markers = [message.text for track in midi.tracks for message in track
               if message.type == "marker"]
    assert len(markers) >= 2, markers
    assert (out / "demo.png").stat().st_size > 10_000
    has_audio = shutil.which("fluidsynth") is not None and "no audio:" not in result.stdout
    if has_audio:
        assert (out / "demo.wav").stat().st_size > 100_000
    else:
        assert not (out / "demo.wav").exists()
        assert sum(line.startswith("no audio:") for line in result.stdout.splitlines()) == 1


def test_wheel_holds_the_demo_clip_and_the_starter_model(bare_copy, tmp_path):
    dist = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(dist)],
        cwd=bare_copy, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = dist.glob("v2m_bridge-*.whl")
    assert wheel.stat().st_size < WHEEL_LIMIT_BYTES
    with zipfile.ZipFile(wheel) as archive:
        sizes = {info.filename: info.file_size for info in archive.infolist()}
    for path in (DEMO_CLIP, STARTER):
        assert sizes.get(path.as_posix()) == (bare_copy / path).stat().st_size, path
    for name in ("LICENSE.md", "CC0-1.0.txt"):
        assert f"v2m_bridge/demo_data/{name}" in sizes
    assert "v2m_bridge/cli/demo.py" in sizes
    # the packaged corpora index (issue 25: `match` with only the wheel) and its notices
    assert sizes.get("v2m_bridge/library_data/corpora_index.npz", 0) > 1_000_000
    assert "v2m_bridge/library_data/NOTICE.md" in sizes


def test_only_shared_data_knows_where_shared_is():
    """Every test reaches ``../shared`` through ``tests/shared_data.py``, so every one of them
    skips with the same reason when it is absent."""
    offenders = []
    for path in sorted((REPO / "tests").glob("*.py")):
        if path.name == "shared_data.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value == SHARED.name:
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, "build shared/ paths with shared_data.SHARED: " + ", ".join(offenders)


def test_tests_that_need_shared_skip_with_the_reason_in_a_bare_copy(bare_copy, tmp_path):
    targets = ["tests/test_render.py", "tests/test_video_export.py",
               "tests/test_music_voicing.py::test_pitch_classes_fix_the_official_hdim7_dim7_and_sus_bugs",
               "tests/test_cli_model.py::test_inspect_official_fixture"]
    result = run_in(bare_copy, [sys.executable, "-m", "pytest", "-q", "-rs",
                                "-p", "no:cacheprovider", *targets], tmp_path / "cache")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert re.search(r"\b\d+ skipped", output) and " passed" not in output, output
    skipped = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    assert skipped
    missing = bare_copy.parent / SHARED.name
    for line in skipped:
        assert "shared data not found at " + str(missing) in line, line
        assert "(clone the repo next to shared/)" in line
    assert skip_reason(missing).startswith("shared data not found at")
