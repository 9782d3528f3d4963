"""Shared fixtures: seed isolation, one torch thread, device and precision params."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolate_rng():
    """Seed torch's global RNG for the test and restore it afterwards."""
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    yield
    torch.random.set_rng_state(state)


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def device(request):
    """Run on CPU, and on CUDA when present."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA not available")
    return request.param


@pytest.fixture(params=["single", "double"])
def precision(request):
    """Sionna precision."""
    return request.param
