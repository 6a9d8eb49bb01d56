"""Choosing the torch device: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from v2m_bridge.errors import V2MError


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """The requested device, checked; or the best one available when ``preferred`` is None."""
    if isinstance(preferred, torch.device):
        preferred = str(preferred)
    if preferred in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preferred)
    except RuntimeError as err:
        raise V2MError(f"unknown device {preferred!r}; use auto, cpu, cuda, cuda:N or mps") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise V2MError("device 'cuda' requested but no CUDA GPU is available; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise V2MError("device 'mps' requested but MPS is not available; use --device cpu")
    return device
