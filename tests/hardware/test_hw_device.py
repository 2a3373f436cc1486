"""Latency on a device: the device in the table's fingerprint, clear errors, CUDA timing (GPU only)."""

from __future__ import annotations

import pytest
import torch

from nasforge.errors import InvalidConfigError
from nasforge.hardware.lut import LatencyLUT, device_fingerprint
from nasforge.hardware.metrics import measure_latency

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


def test_fingerprint_names_the_device_and_latency_runs_on_the_cpu(tmp_path) -> None:
    assert device_fingerprint("cpu")["device"] == "cpu"
    lut = LatencyLUT(cache_dir=tmp_path, repeats=3, min_repeat_s=0.0005, device="cpu")
    assert lut.device["device"] == "cpu" and lut.predict(torch.nn.Linear(8, 4), (8,)) > 0
    net = torch.nn.Linear(8, 2)
    assert measure_latency(net, (8,), repeats=3, min_repeat_s=0.001, device="cpu").median_ms > 0
    assert next(net.parameters()).device.type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_latency_on_an_absent_gpu_is_a_config_error(tmp_path) -> None:
    with pytest.raises(InvalidConfigError, match="no CUDA GPU"):
        measure_latency(torch.nn.Linear(8, 2), (8,), device="cuda")
    with pytest.raises(InvalidConfigError, match="no CUDA GPU"):
        LatencyLUT(cache_dir=tmp_path, device="cuda")


@needs_cuda
def test_cuda_latency_is_synchronised_and_has_its_own_table(tmp_path) -> None:  # pragma: no cover - needs a GPU
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3), torch.nn.ReLU(), torch.nn.Conv2d(64, 64, 3))
    stats = measure_latency(net, (3, 64, 64), batch_size=32, repeats=3, device="cuda")
    assert stats.median_ms > 0 and next(net.parameters()).device.type == "cpu"  # moved back
    gpu, cpu = LatencyLUT(cache_dir=tmp_path, device="cuda"), LatencyLUT(cache_dir=tmp_path, device="cpu")
    assert gpu.path != cpu.path and "gpu" in gpu.device
