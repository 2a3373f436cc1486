"""Channels-last training: same training, faster layout, network handed back in the default layout."""

from __future__ import annotations

import torch
from torch import nn

from nasforge.training import Recipe, train


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 4 * 4, 3))


def test_channels_last_trains_the_same_network_and_returns_default_layout() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(96, 2, 8, 8, generator=gen)
    y = torch.randint(0, 3, (96,), generator=gen)
    nets, layouts = {}, {}
    for cl in (False, True):
        net = _net()
        seen: list[bool] = []
        net[0].register_forward_pre_hook(
            lambda _m, inp, seen=seen: seen.append(inp[0].is_contiguous(memory_format=torch.channels_last)))
        stats = train(net, (x, y), Recipe(epochs=3, batch_size=32, augment="shift", channels_last=cl, device="cpu"), seed=2)
        assert stats.steps == 9
        nets[cl], layouts[cl] = net, set(seen)
    # the batches really went through the convolution channels-last, and only when asked
    assert layouts == {False: {False}, True: {True}}
    conv = nets[True][0].weight
    # handed back in the default layout: export and later training see an ordinary network
    assert conv.is_contiguous() and not conv.is_contiguous(memory_format=torch.channels_last)
    # the same batches, augmentation and updates: the weights agree up to floating-point rounding
    for a, b in zip(nets[False].state_dict().values(), nets[True].state_dict().values()):
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-3, atol=1e-4)
    assert all(p.is_contiguous() for p in nets[True].parameters())


def test_channels_last_is_ignored_for_tabular_inputs() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    x, y = torch.randn(40, 5), torch.randint(0, 2, (40,))
    stats = train(net, (x, y), Recipe(epochs=2, batch_size=10, channels_last=True, device="cpu"))
    assert stats.steps == 8
