"""Checkpoint loading: shape inference, project format, and refusals that name the problem."""

import json

import pytest
import torch

from v2m_bridge.errors import CheckpointError
from v2m_bridge.model import AMT, AMTConfig, load_amt, load_regression, save_amt
from v2m_bridge.model.config import infer_amt_config

SMALL = AMTConfig(n_layers=3, num_heads=2, d_model=32, dim_feedforward=48,
                  max_sequence_chord=40, max_sequence_video=300)


def test_state_dict_keys_are_the_official_ones(official_fixtures):
    manifest = json.loads((official_fixtures / "amt_manifest.json").read_text())
    model_shapes = {k: list(v.shape) for k, v in AMT(AMTConfig()).state_dict().items()}
    assert model_shapes == manifest["state_dict"]
    n_params = sum(p.numel() for p in AMT(AMTConfig()).parameters())
    assert n_params == manifest["num_parameters"]


def test_config_inferred_for_any_size_and_short_rpr_table(tmp_path):
    model = AMT(SMALL)
    torch.save(model.state_dict(), tmp_path / "bare.pt")  # like an official file: no config
    loaded = load_amt(tmp_path / "bare.pt")
    assert loaded.config == SMALL
    assert loaded.transformer.decoder.layers[0].self_attn.Er.shape == (40, 16)
    assert infer_amt_config(model.state_dict()).num_heads == 2


def test_project_checkpoint_round_trip_with_metadata(tmp_path):
    torch.manual_seed(0)
    model = AMT(SMALL).eval()
    save_amt(model, tmp_path / "m.pt", metadata={"trained_on": "unit test"})
    loaded = load_amt(tmp_path / "m.pt")
    assert loaded.metadata["trained_on"] == "unit test"
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(),
                            strict=True):
        assert torch.equal(a, b), name
    save_amt(model, tmp_path / "half.pt", dtype=torch.float16)
    assert (tmp_path / "half.pt").stat().st_size < 0.6 * (tmp_path / "m.pt").stat().st_size
    assert load_amt(tmp_path / "half.pt").Wout.weight.dtype == torch.float32


def test_missing_and_unexpected_keys_are_named(tmp_path):
    state = AMT(SMALL).state_dict()
    del state["Wout.bias"]
    state["extra.weight"] = torch.zeros(2)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"missing 1 .*Wout\.bias.*unexpected 1.*extra"):
        load_amt(tmp_path / "bad.pt")


def test_wrong_shape_is_named(tmp_path):
    state = AMT(SMALL).state_dict()
    state["Wout.weight"] = torch.zeros(10, 32)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"wrong shapes.*Wout\.weight"):
        load_amt(tmp_path / "bad.pt")


def test_explicit_config_that_does_not_fit(tmp_path):
    torch.save(AMT(SMALL).state_dict(), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_amt(tmp_path / "m.pt", config=AMTConfig(n_layers=3, num_heads=2, d_model=64,
                                                     dim_feedforward=48))


class Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_pickle_that_needs_code_execution_is_refused(tmp_path, capsys):
    torch.save({"state": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="code execution"):
        load_amt(tmp_path / "evil.pt")
    assert "code ran" not in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04garbage"])
def test_corrupt_files(tmp_path, content):
    (tmp_path / "c.pt").write_bytes(content)
    with pytest.raises(CheckpointError, match=r"not a readable PyTorch checkpoint|refused"):
        load_amt(tmp_path / "c.pt")


def test_truncated_checkpoint(tmp_path):
    torch.save(AMT(SMALL).state_dict(), tmp_path / "m.pt")
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_amt(tmp_path / "t.pt")


def test_not_a_state_dict(tmp_path):
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="expected a state_dict"):
        load_amt(tmp_path / "list.pt")
    torch.save({"a": 1}, tmp_path / "dict.pt")
    with pytest.raises(CheckpointError, match="not tensors"):
        load_amt(tmp_path / "dict.pt")


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_amt(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="directory"):
        load_amt(tmp_path)


def test_amt_checkpoint_is_not_a_regression_checkpoint(tmp_path, official_fixtures):
    with pytest.raises(CheckpointError, match="bigru"):
        load_regression(official_fixtures / "amt_tiny_public.pt")
    save_amt(AMT(SMALL), tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="expected 'v2m-bridge/regression'"):
        load_regression(tmp_path / "m.pt")

