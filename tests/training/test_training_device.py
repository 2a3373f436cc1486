"""Devices: selection, clear errors, worker-to-GPU assignment, Ray GPU requests. Runs on a CPU machine."""

from __future__ import annotations

import pytest
import torch
from training_helpers import visible_gpus_after

from nasforge.errors import InvalidConfigError
from nasforge.executors import ProcessExecutor, ray_resources
from nasforge.training import Recipe, resolve_device
from nasforge.training import device as device_mod

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (none on this machine)")


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_mod, "cuda_count", lambda: 0)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: False)
    assert str(resolve_device("auto")) == "cpu"
    monkeypatch.setattr(device_mod, "_mps_available", lambda: True)
    assert str(resolve_device("auto")) == "mps"
    monkeypatch.setattr(device_mod, "cuda_count", lambda: 2)
    assert str(resolve_device("auto")) == "cuda:0"
    assert str(resolve_device("cuda:1")) == "cuda:1"
    with pytest.raises(InvalidConfigError, match=r"sees 2 CUDA GPU\(s\)"):
        resolve_device("cuda:2")


def test_absent_or_misspelt_devices_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_mod, "cuda_count", lambda: 0)
    monkeypatch.setattr(device_mod, "_mps_available", lambda: False)
    for name in ("cuda", "cuda:0", "mps"):
        with pytest.raises(InvalidConfigError, match="was asked for"):
            resolve_device(name)
    with pytest.raises(InvalidConfigError, match="auto, cpu, cuda, cuda:N or mps"):
        Recipe(device="gpu")


def test_gpu_env_is_round_robin_and_respects_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert [device_mod.gpu_env_for_worker(i, 2) for i in range(3)] == [
        {"CUDA_VISIBLE_DEVICES": "0"}, {"CUDA_VISIBLE_DEVICES": "1"}, {"CUDA_VISIBLE_DEVICES": "0"}]
    assert device_mod.gpu_env_for_worker(0, 0) == {}
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert [device_mod.gpu_env_for_worker(i)["CUDA_VISIBLE_DEVICES"] for i in range(2)] == ["3", "5"]


def test_two_process_workers_on_a_simulated_two_gpu_machine_see_different_gpus(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(device_mod, "cuda_count", lambda: 2)  # what torch would say on a 2-GPU machine
    with ProcessExecutor(2, threads=1) as ex:
        # each task holds its worker long enough that both workers get one
        seen = sorted(f.result() for f in [ex.submit(visible_gpus_after, 0.5) for _ in range(2)])
    assert seen == ["0", "1"]


def test_process_workers_on_a_cpu_machine_keep_their_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(device_mod, "cuda_count", lambda: 0)
    with ProcessExecutor(1, threads=1) as ex:
        assert ex.submit(visible_gpus_after, 0.0).result() is None


def test_ray_trials_request_gpus_only_when_asked() -> None:
    assert ray_resources(1, 0.0) == {"num_cpus": 1, "max_retries": 0}
    assert ray_resources(2, 0.5) == {"num_cpus": 2, "max_retries": 0, "num_gpus": 0.5}


@needs_cuda
def test_training_on_cuda_records_the_device() -> None:  # pragma: no cover - needs a GPU
    from nasforge.training import train

    x, y = torch.randn(64, 1, 8, 8), torch.randint(0, 2, (64,))
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(144, 2))
    result = train(net, (x, y), Recipe(epochs=1, batch_size=16, device="cuda", precision="16-mixed"), val=(x, y))
    assert result.device == "cuda:0" and result.precision == "16-mixed"
    assert next(net.parameters()).is_cuda
