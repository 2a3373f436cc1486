"""Zero-cost proxies: scores of an *untrained* network that rank architectures without training.

- ``synflow`` (Tanaka et al. 2020; as a NAS proxy, Abdelfattah et al. 2021): the network with
  absolute weights in double precision, fed an all-ones input; the score is
  ``sum |theta * d(sum out)/d theta|``. Data-free.
- ``snip`` (Lee et al. 2019): ``sum |theta * dL/dtheta|`` of the cross-entropy on one minibatch.
- ``jacob_cov`` (Mellor et al. 2021, NASWOT v1): how decorrelated the input Jacobians of a
  minibatch are: ``-sum(log(l + k) + 1/(l + k))`` over eigenvalues ``l`` of their correlation.
- ``naswot`` (Mellor et al. 2021, v2): ``log|K|`` of the Hamming-similarity kernel of the binary
  ReLU activation codes of a minibatch.

Every function takes a fresh ``torch.nn.Module`` and leaves the caller's global random state
alone (weights are initialized by the caller, under a seed).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nasforge.registry import Registry

__all__ = ["PROXIES", "jacob_cov", "naswot", "snip", "synflow"]

PROXIES: Registry[Callable[..., float]] = Registry("zero-cost proxy")


def _weights(net):  # type: ignore[no-untyped-def]
    import torch

    return [m.weight for m in net.modules()
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.weight is not None]


@PROXIES.register("synflow", "data-free synaptic flow of |weights| on an all-ones input")
def synflow(net, x, y) -> float:  # type: ignore[no-untyped-def]
    """Synaptic flow; ``x`` only gives the input shape (one sample of ones is used)."""
    import torch

    net = net.double().eval()  # eval: batch norm uses its (initial) running statistics
    with torch.no_grad():
        signs = [p.sign() for p in net.parameters()]
        for p in net.parameters():
            p.abs_()
    net.zero_grad()
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64)
    net(ones).sum().backward()
    score = sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(net) if w.grad is not None)
    with torch.no_grad():
        for p, s in zip(net.parameters(), signs):
            p.mul_(s)
    net.float()
    return score


@PROXIES.register("snip", "connection sensitivity |w * dL/dw| on one minibatch")
def snip(net, x, y) -> float:  # type: ignore[no-untyped-def]
    import torch

    net.train()
    net.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    return sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(net) if w.grad is not None)


@PROXIES.register("jacob_cov", "decorrelation of input Jacobians over a minibatch (NASWOT v1)")
def jacob_cov(net, x, y) -> float:  # type: ignore[no-untyped-def]
    import torch

    net.train()
    net.zero_grad()
    xg = x.clone().requires_grad_(True)
    out = net(xg)
    out.backward(torch.ones_like(out))
    if xg.grad is None:  # the output does not depend on the input (no input-output path)
        jac = np.zeros((len(x), int(np.prod(x.shape[1:]))))
    else:
        jac = xg.grad.reshape(len(x), -1).double().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(jac), nan=0.0)
    eig = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(eig + k) + 1.0 / (eig + k)))


@PROXIES.register("naswot", "log-determinant of the ReLU activation-code kernel (NASWOT)")
def naswot(net, x, y) -> float:  # type: ignore[no-untyped-def]
    import torch

    n = len(x)
    kernel = torch.zeros((n, n), dtype=torch.float64)

    def hook(_module, _inp, out) -> None:  # type: ignore[no-untyped-def]
        codes = (out.detach().reshape(n, -1) > 0).float()
        # agreements = both active + both inactive = F - Hamming distance
        both = codes @ codes.T
        active = codes.sum(dim=1)
        kernel.add_((codes.shape[1] - active[:, None] - active[None, :] + 2 * both).double())

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.ReLU)]
    try:
        net.train()
        with torch.no_grad():
            net(x)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = np.linalg.slogdet(kernel.numpy())
    return float(logdet) if sign > 0 else float("-inf")
