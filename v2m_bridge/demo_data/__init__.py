"""The demo clip shipped with the package (``v2m-bridge demo``): 12 s, three shots, CC0 1.0.

Licence and attribution are in ``LICENSE.md`` beside the clip; both are package data, so they
are in the wheel as well as in a source checkout.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEMO_CLIP = DEMO_DIR / "demo_montage_cc0.mp4"
DEMO_LICENSE = DEMO_DIR / "LICENSE.md"
DEMO_DURATION_S = 12.0
DEMO_CUTS_S = (3.0, 9.0)
