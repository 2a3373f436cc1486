"""The sequence spaces: sample / mutate / build / forward on tiny inputs, and the audio front end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasforge.errors import InvalidConfigError
from nasforge.spaces import get_space
from nasforge.spaces.audio_frontend import AudioFrontEnd, dct_matrix, mel_filterbank
from nasforge.spaces.sequence import audio_default, text_cnn_default

torch.set_num_threads(1)


def test_text_space_sample_mutate_build_forward() -> None:
    space = get_space("text_cnn")
    rng = np.random.default_rng(0)
    ids = torch.randint(2, 50, (3, 12))
    ids[0, 5:] = 0  # padding
    ids[1, :] = 0  # an empty text
    seen_ops = set()
    for i in range(12):
        arch = space.sample(rng) if i else text_cnn_default(space)
        child = space.mutate(arch, rng)
        assert child != arch and space.validate(child) == child
        seen_ops |= {arch[f"block.{j}.op"] for j in range(arch["block.depth"])}
        net = space.build(arch, num_classes=4, input_shape=(12,), vocab_size=50).eval()
        out = net(ids)
        assert out.shape == (3, 4) and torch.isfinite(out).all()
        assert torch.allclose(net(ids.float()), out)  # ids may come as floats (the estimator's tensors)
    assert len(seen_ops) >= 3


def test_text_padding_does_not_change_the_prediction_of_pooling_over_tokens() -> None:
    space = get_space("text_cnn")
    arch = space.validate({**text_cnn_default(space), "pool": "mean", "block.0.op": "conv", "block.0.kernel": 3})
    net = space.build(arch, num_classes=2, input_shape=(20,), vocab_size=30).eval()
    short = torch.tensor([[5, 6, 7, 0, 0, 0, 0, 0]])
    longer = torch.tensor([[5, 6, 7] + [0] * 17])
    # the last token's window sees padding either way; more padding must not change the pooled result
    assert torch.allclose(net(short), net(longer), atol=1e-5)


def test_text_build_needs_vocab_and_length() -> None:
    space = get_space("text_cnn")
    arch = text_cnn_default(space)
    with pytest.raises(InvalidConfigError, match="vocab_size"):
        space.build(arch, num_classes=2, input_shape=(8,))
    with pytest.raises(InvalidConfigError, match="input_shape"):
        space.build(arch, num_classes=2, vocab_size=10, input_shape=(1, 8, 8))


def test_audio_space_sample_mutate_build_forward() -> None:
    space = get_space("audio")
    rng = np.random.default_rng(1)
    wave = torch.randn(2, 4000) * 0.1
    kinds = set()
    for i in range(10):
        arch = space.sample(rng) if i else audio_default(space)
        assert space.mutate(arch, rng) != arch
        kinds.add((arch["frontend"], arch["conv"]))
        net = space.build(arch, num_classes=10, input_shape=(4000,), sample_rate=8000).eval()
        out = net(wave)
        assert out.shape == (2, 10) and torch.isfinite(out).all()
    assert len(kinds) >= 3
    with pytest.raises(InvalidConfigError, match="sample_rate"):
        space.build(audio_default(space), num_classes=2, input_shape=(100,), sample_rate=12)


def test_front_end_matches_a_direct_computation() -> None:
    fb = mel_filterbank(8000, 256, 40)
    assert fb.shape == (40, 129) and float(fb.max()) <= 1.0 and (fb.sum(1) > 0).all()
    d = dct_matrix(40, 40)
    assert torch.allclose(d @ d.T, torch.eye(40), atol=1e-5)  # orthonormal
    fe = AudioFrontEnd(8000, "logmel", 40)
    t = torch.arange(8000) / 8000
    tone = torch.sin(2 * torch.pi * 1000 * t)[None] * ((t > 0.25) & (t < 0.75))  # silence, tone, silence
    feats = fe(tone)
    assert feats.shape == (1, 40, 101)
    centres = fb.argmax(1).float() * 8000 / 256
    loudest = int(feats[0, :, 50].argmax())
    assert abs(float(centres[loudest]) - 1000) < 100  # the band around 1 kHz lights up
    noise = torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(fe(3 * noise), fe(noise), atol=1e-3)  # loudness does not matter
    mfcc = AudioFrontEnd(8000, "mfcc", 40)(tone)
    assert mfcc.shape == (1, 20, 101)
    fe16 = AudioFrontEnd(16000, "logmel", 40)
    assert (fe16.n_fft, fe16.hop) == (512, 160)


@pytest.mark.parametrize("block_op", ["conv", "transformer", "gru", "lstm"])
def test_text_networks_export_to_onnx_with_padding(block_op: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nasforge.export import write_graph

    space = get_space("text_cnn")
    arch = space.validate({**text_cnn_default(space), "embed": 64, "block.0.op": block_op, "block.0.width": 64,
                           "block.0.skip": "residual", "pool": "attention"})
    net = space.build(arch, num_classes=3, input_shape=(10,), vocab_size=40).eval()
    ids = torch.randint(2, 40, (3, 10))
    ids[1, 4:] = 0
    assert write_graph(net, ids, tmp_path / "t.onnx", "onnx") < 1e-4


def test_audio_networks_export_to_onnx(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nasforge.export import write_graph

    space = get_space("audio")
    arch = space.validate({**audio_default(space), "frontend": "mfcc", "conv": "1d", "pool": "max"})
    net = space.build(arch, num_classes=4, input_shape=(2000,), sample_rate=8000).eval()
    wave = 0.1 * torch.randn(2, 2000, generator=torch.Generator().manual_seed(0))
    assert write_graph(net, wave, tmp_path / "a.onnx", "onnx") < 1e-3
