"""The second-order DARTS gradient (finite-difference Hessian-vector product) against exact autograd."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from nasforge.oneshot.darts import darts_unrolled_arch_grads
from nasforge.oneshot.supernet import build_supernet
from nasforge.spaces import get_space


def _exact(model: nn.Module, weights: dict[str, torch.Tensor], alpha_names: list[str], batch_t: tuple, batch_v: tuple,
           xi: float, wd: float) -> list[torch.Tensor]:
    """d/d alpha of L_val(w - xi * (grad_w L_train(w, alpha) + wd w), alpha), through create_graph."""
    params = {k: v.detach().clone().requires_grad_(True) for k, v in weights.items()}
    wnames = [k for k in params if k not in alpha_names]

    def loss(p: dict[str, torch.Tensor], b: tuple) -> torch.Tensor:
        return F.cross_entropy(functional_call(model, p, (b[0],)), b[1])

    g = torch.autograd.grad(loss(params, batch_t), [params[k] for k in wnames], create_graph=True)
    unrolled = dict(params)
    for k, gk in zip(wnames, g):
        unrolled[k] = params[k] - xi * (gk + wd * params[k])
    return list(torch.autograd.grad(loss(unrolled, batch_v), [params[k] for k in alpha_names]))


class TinyMixed(nn.Module):
    """Two edges of three smooth candidate ops each, softmax-mixed: smooth, so FD error is tiny."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))
        self.head = nn.Linear(4, 3)
        self.alpha = nn.Parameter(torch.randn(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for e in range(2):
            w = self.alpha[e].softmax(-1)
            x = sum(w[o] * torch.tanh(op(x)) for o, op in enumerate(self.ops))
        return self.head(x)


def test_second_order_matches_exact_on_smooth_model() -> None:
    torch.manual_seed(0)
    model = TinyMixed().double()
    bt = (torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,)))
    bv = (torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,)))
    xi, wd = 0.5, 1e-3
    weights = [p for n, p in model.named_parameters() if n != "alpha"]
    fd = darts_unrolled_arch_grads(weights, [model.alpha], lambda: F.cross_entropy(model(bt[0]), bt[1]),
                                   lambda: F.cross_entropy(model(bv[0]), bv[1]), xi=xi, weight_decay=wd, r=1e-4)
    exact = _exact(model, dict(model.named_parameters()), ["alpha"], bt, bv, xi, wd)
    assert torch.allclose(fd[0], exact[0], rtol=1e-4, atol=1e-7)
    # and the second-order term matters here: the first-order gradient differs
    first = torch.autograd.grad(F.cross_entropy(model(bv[0]), bv[1]), [model.alpha])[0]
    assert not torch.allclose(first, exact[0], rtol=1e-3)
    # weights were restored
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    darts_unrolled_arch_grads(weights, [model.alpha], lambda: F.cross_entropy(model(bt[0]), bt[1]),
                              lambda: F.cross_entropy(model(bv[0]), bv[1]), xi=xi)
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())


def test_second_order_matches_exact_on_tiny_nb201_supernet() -> None:
    torch.manual_seed(1)
    net = build_supernet(get_space("nb201"), channels=2, cells=1, num_classes=3, in_channels=1).double()
    net.use_softmax()
    net.train()
    bt = (torch.randn(6, 1, 6, 6, dtype=torch.float64), torch.randint(0, 3, (6,)))
    bv = (torch.randn(6, 1, 6, 6, dtype=torch.float64), torch.randint(0, 3, (6,)))
    xi = 0.1
    fd = darts_unrolled_arch_grads(net.weights(), net.arch_parameters(), lambda: F.cross_entropy(net(bt[0]), bt[1]),
                                   lambda: F.cross_entropy(net(bv[0]), bv[1]), xi=xi, r=1e-5)
    # BN buffers are not parameters; functional_call only needs the parameters
    params = dict(net.named_parameters())
    exact = _exact(net, params, ["alphas.normal"], bt, bv, xi, 0.0)
    cos = F.cosine_similarity(fd[0].flatten(), exact[0].flatten(), dim=0)
    assert float(cos) > 0.9999
    assert torch.allclose(fd[0], exact[0], rtol=1e-3, atol=1e-6)
