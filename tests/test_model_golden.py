"""The AMT and bi-GRU reproduce the official model's outputs (fixtures made with official code)."""

import numpy as np
import torch

from v2m_bridge.model import load_amt, load_regression


def _tensors(npz_path):
    data = np.load(npz_path)
    return {name: torch.from_numpy(data[name]) for name in data.files}


def test_amt_logits_match_official(official_fixtures):
    amt = load_amt(official_fixtures / "amt_tiny_public.pt")
    t = _tensors(official_fixtures / "amt_tiny_public.npz")
    assert not amt.training
    with torch.no_grad():
        memory = amt.encode(t["semantic"], t["scene_offset"], t["motion"], t["emotion"])
        logits = amt(t["x_root"], t["x_attr"], t["key"], t["semantic"], t["scene_offset"],
                     t["motion"], t["emotion"])
    torch.testing.assert_close(memory, t["dbg_memory"].transpose(0, 1), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits, t["logits"], atol=1e-5, rtol=1e-5)


def test_amt_accepts_unpadded_video(official_fixtures):
    # The fixture has 25 real seconds then zero padding; passing only the 25 seconds must give
    # the same logits because the model pads to 300 itself, as the official loader does.
    amt = load_amt(official_fixtures / "amt_tiny_public.pt")
    t = _tensors(official_fixtures / "amt_tiny_public.npz")
    with torch.no_grad():
        logits = amt(t["x_root"], t["x_attr"], t["key"], t["semantic"][:, :25],
                     t["scene_offset"][:, :25], t["motion"][:, :25], t["emotion"][:, :25])
    torch.testing.assert_close(logits, t["logits"], atol=1e-5, rtol=1e-5)


def test_chord_id_values_do_not_matter_but_roots_do(official_fixtures):
    amt = load_amt(official_fixtures / "amt_tiny_public.pt")
    t = _tensors(official_fixtures / "amt_tiny_public.npz")
    video = (t["semantic"], t["scene_offset"], t["motion"], t["emotion"])
    with torch.no_grad():
        changed = t["x_root"].clone()
        changed[0, 5] = (changed[0, 5] % 12) + 1
        logits = amt(changed, t["x_attr"], t["key"], *video)
    # causal: positions before 5 unchanged, position 5 onwards changed
    torch.testing.assert_close(logits[:, :5], t["logits"][:, :5], atol=1e-5, rtol=1e-5)
    assert (logits[:, 5:] - t["logits"][:, 5:]).abs().max() > 1e-4


def test_regression_matches_official(official_fixtures):
    reg = load_regression(official_fixtures / "regression_tiny_public.pt")
    t = _tensors(official_fixtures / "regression_tiny_public.npz")
    with torch.no_grad():
        out = reg(t["semantic"], t["scene_offset"], t["motion"], t["emotion"])
    assert out.shape == (1, 300, 2)
    torch.testing.assert_close(out, t["output"], atol=1e-5, rtol=1e-5)
