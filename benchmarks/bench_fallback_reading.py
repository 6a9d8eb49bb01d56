"""The fallback picture reading and the picture-driven velocity range, per video (issue 12).

Run from the repository root (beside ``shared/``)::

    python benchmarks/bench_fallback_reading.py

For each shared video, and for the synthetic fast-cut action clip that
``tests/test_fallback_reading.py`` writes: the three largest mean emotion probabilities of the
fallback reading (``extract_features``, no CLIP weights, no cache), exciting + tense, and the range
of the heuristic dynamics' per-second velocity (official velocity curve over the heuristic
loudness, before accents and the pad's scaling). It uses whichever ``v2m_bridge`` is importable, so
an older checkout on ``PYTHONPATH`` gives the "before" figures.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

VIDEOS = ("friday.mp4", "flower.mp4", "montage_cc0_4shots.mp4", "bbb_0_30.webm", "crystal.mp4")


def main() -> int:
    from test_fallback_reading import write_action_clip

    import v2m_bridge
    from v2m_bridge.features import EMOTION_LABELS
    from v2m_bridge.music.dynamics import heuristic_dynamics, velocity_from_loudness
    from v2m_bridge.video.analyze import extract_features

    video_dir = next((base / "data" / "videos" for base in
                      (ROOT.parent / "shared", ROOT / "shared", Path("/work/shared"))
                      if (base / "data" / "videos").is_dir()), None)
    if video_dir is None:
        sys.exit("shared/data/videos not found beside the repository")
    print(f"v2m_bridge from {Path(v2m_bridge.__file__).parent}")
    paths = {name: video_dir / name for name in VIDEOS}
    with tempfile.TemporaryDirectory() as tmp:
        paths["synthetic fast-cut action clip"] = Path(tmp) / "action.mp4"
        write_action_clip(paths["synthetic fast-cut action clip"])
        for name, path in paths.items():
            features = extract_features(path)
            mass = dict(zip(EMOTION_LABELS, features.emotion.mean(axis=0), strict=True))
            top = sorted(mass.items(), key=lambda item: -item[1])[:3]
            dynamics = heuristic_dynamics(features.motion, features.scene_offset,
                                          features.emotion)
            velocity = velocity_from_loudness(dynamics.loudness)
            print(f"{name}: " + ", ".join(f"{k} {m:.2f}" for k, m in top)
                  + f"; exciting+tense {mass['exciting'] + mass['tense']:.2f}; velocity "
                  f"{velocity.min()}..{velocity.max()} ({velocity.max() - velocity.min()} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
