"""Fast test-set scoring: one normalized tensor on the device, big batches."""

from __future__ import annotations

import contextlib
import copy
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from airmodel.allocator import keep_freed_memory as _keep_freed_memory
from airmodel.data.info import DatasetInfo
from airmodel.data.transforms import to_tensor
from airmodel.evaluation.fused import bf16_native_cpu, fuse

__all__ = [
    "Scorer",
    "apply_view",
    "bf16_is_fast",
    "default_device",
    "PRECISIONS",
    "sample_indices",
    "view_names",
]

#: Test-time augmentation views in the order ``k`` takes them: identity, the
#: horizontal flip (only for datasets trained with flips), shifts by the
#: training crop's padding ``p`` in x and y, flipped shifts, diagonal shifts.
_VIEW_ORDER = (
    "id", "flip", "x+", "x-", "y+", "y-", "flip,x+", "flip,x-",
    "x+,y+", "x-,y-", "x+,y-", "x-,y+",
)  # fmt: skip


def view_names(k: int, flip: bool) -> tuple[str, ...]:
    """The first ``k`` views of ``_VIEW_ORDER`` (flipped ones only if ``flip``)."""
    names = [v for v in _VIEW_ORDER if flip or "flip" not in v]
    if not 1 <= k <= len(names):
        raise ValueError(f"`views` must be in [1, {len(names)}]; got {k}.")
    return tuple(names[:k])


def apply_view(
    x: torch.Tensor, name: str, pad: int, fill: torch.Tensor
) -> torch.Tensor:
    """One view of a normalized batch: flip and/or shift by ``pad`` pixels.

    :input x: [B, C, H, W], float. Normalized images.
    :input fill: [C] the normalized value of a zero pixel (what the training
        crop pads with).
    :output y: [B, C, H, W], channels_last.
    """
    out = x
    for part in name.split(","):
        if part == "flip":
            out = out.flip(3)
        elif part != "id":
            dim = 3 if part[0] == "x" else 2
            step = pad if part[1] == "+" else -pad
            shifted = fill.view(1, -1, 1, 1).expand_as(out).clone()
            n = out.shape[dim] - abs(step)
            src = out.narrow(dim, max(-step, 0), n)
            shifted.narrow(dim, max(step, 0), n).copy_(src)
            out = shifted
    return out.contiguous(memory_format=torch.channels_last)


#: Scoring precisions a :class:`Scorer` runs (``auto`` resolves to one of
#: them before scoring: :func:`airmodel.evaluation.precision.choose_precision`).
PRECISIONS = ("fp32", "bf16")


def default_device() -> torch.device:
    """``cuda`` if available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def bf16_is_fast(device: str | torch.device) -> bool:
    """Whether bfloat16 autocast is native (fast) on ``device``.

    On CPUs without AVX512-BF16/AMX (e.g. AVX2-only), bf16 convolutions are
    emulated and measured 8-12x slower than fp32 here (scoring 32 vs 251 img/s, training 24 vs 279 img/s), so this returns False there.
    """
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if dev.type == "cpu":
        return bf16_native_cpu()
    return False


def sample_indices(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` distinct indices in ``range(n)`` drawn from a generator seeded by ``seed``.

    Use it to pick the kappa validation images from the train split.
    """
    if not 0 <= k <= n:
        raise ValueError(f"`k` must be in [0, {n}]; got {k}.")
    from airmodel.seed import make_generator

    g = make_generator(seed, purpose="subset")
    return torch.randperm(n, generator=g)[:k]


def _is_tokens(x: np.ndarray | torch.Tensor) -> bool:
    """Whether ``x`` is a batch of token ids [N, L] int64 (a text dataset)."""
    return x.ndim == 2 and str(x.dtype).removeprefix("torch.") == "int64"


class Scorer:
    """Classification accuracy of many models on one fixed image set.

    The images are decoded, normalized and stored once on ``device`` as a
    channels_last float tensor; each call runs the model under
    ``torch.inference_mode()`` in batches of ``batch_size`` with one host sync
    at the end. No augmentation, no data loader. On the CPU it calls
    :func:`~airmodel.allocator.keep_freed_memory` (process-wide) and, for
    airmodel ResNets in fp32, scores a :func:`~airmodel.evaluation.fused.fuse`
    copy (batch-norm folded, oneDNN fused ops; logits within a few 1e-6 of eager).

    :param images: [N, H, W, C] uint8 (numpy or tensor), or token ids
        [N, L] int64 of a text dataset (used as they are; scored shortest first in
        batches cut to their longest sentence, so the model must mask padding, id 0).
    :param labels: [N] integer labels.
    :param info: :class:`~airmodel.data.DatasetInfo` (normalization constants).
    :param device: Default :func:`default_device`.
    :param batch_size: Images per forward pass.
    :param bf16: Old spelling of ``precision="bf16"`` (True) / ``"fp32"``.
    :param precision: ``"fp32"`` (default; exact) or ``"bf16"``. On the CPU,
        bf16 scores a bfloat16 copy of the model made once per scored state
        dict: airmodel ResNets as a :func:`~airmodel.evaluation.fused.fuse`
        copy (batch-norm folded in fp32, weights cast once, oneDNN bf16 ops)
        where bf16 is native, other models as a cached bf16 copy whose
        weights are refreshed per call; each image batch is cast once. On a
        GPU, bf16 autocast with TF32 matmuls. bf16 is only fast where
        :func:`bf16_is_fast` says so.
    :param model: Optional model that :meth:`accuracy_of` loads state dicts into.
    :param fused: Use the fused copy where it applies (CPU, fp32, airmodel
        ResNet). ``False`` runs the model eagerly as it is.
    :param metric: Optional task score ``metric(model, (x, y)) -> float`` per
        batch (mean over images); :meth:`accuracy` then returns it instead of
        classification accuracy (results keep the column name ``accuracy``;
        ``fit`` selection still minimizes the cross-entropy of :meth:`loss_of`).
    :param keep_freed_memory: on the CPU, ask glibc's malloc to keep freed
        memory (process-wide, see :mod:`airmodel.allocator`; opt-in, config
        key ``evaluation.keep_freed_memory``). Default False.
    :param cells_per_pass: models a grid selection scores per forward pass
        (:meth:`accuracies_of`). ``None``: 1 on the CPU, where the fused
        one-by-one path is faster (benchmarks/selection_batched.py), 16 on a GPU.

    .. rubric:: Examples

    >>> scorer = Scorer(x_test, y_test, info)       # doctest: +SKIP
    >>> scorer(model)                               # doctest: +SKIP
    0.9132
    >>> scorer.accuracy_of(w_hat, model)            # doctest: +SKIP
    """

    def __init__(
        self,
        images: np.ndarray | torch.Tensor,
        labels: np.ndarray | torch.Tensor | Sequence[int],
        info: DatasetInfo,
        device: str | torch.device | None = None,
        batch_size: int = 128,
        bf16: bool | None = None,
        model: nn.Module | None = None,
        fused: bool = True,
        metric: Callable[[nn.Module, tuple[torch.Tensor, torch.Tensor]], float]
        | None = None,
        keep_freed_memory: bool = False,
        cells_per_pass: int | None = None,
        precision: str | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int):
            raise TypeError(f"`batch_size` must be an int; got {batch_size!r}.")
        if batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1; got {batch_size}.")
        self.device = torch.device(device) if device is not None else default_device()
        if keep_freed_memory and self.device.type == "cpu":
            _keep_freed_memory()  # no page faults per batch (benchmarks/allocator.py)
        self.metric = metric
        self.info = info
        self.batch_size = batch_size
        if precision is None:
            precision = "bf16" if bf16 else "fp32"
        elif bf16 and precision != "bf16":
            raise ValueError(f"`bf16=True` contradicts `precision={precision!r}`.")
        self.precision = precision
        self.fused = bool(fused)
        if cells_per_pass is not None and (
            isinstance(cells_per_pass, bool) or cells_per_pass < 1
        ):
            raise ValueError(f"`cells_per_pass` must be >= 1; got {cells_per_pass!r}.")
        self._cells_auto = cells_per_pass is None
        self.cells_per_pass = int(cells_per_pass or self._auto_cells_per_pass())
        if _is_tokens(images):  # token ids [N, L] int64: kept as they are
            self.x = torch.as_tensor(np.asarray(images)).to(self.device)
        else:
            self.x = to_tensor(images, info, self.device, channels_last=True)
        self.y = torch.as_tensor(np.asarray(labels), dtype=torch.int64).to(self.device)
        if self.y.shape != (self.x.shape[0],):
            raise ValueError(
                f"`labels` must have shape [{self.x.shape[0]}]; got {tuple(self.y.shape)}."
            )
        self.model = None if model is None else self._prepare(model)
        self.views: tuple[str, ...] = ("id",)

    def with_views(self, k: int) -> Scorer:
        """A scorer that averages the softmax over ``k`` test-time views.

        Views: :func:`view_names` (shifts by the training crop's padding; the
        flip only where training flips). Costs ``k`` x the forward passes.
        """
        from airmodel.data.transforms import default_augmentation

        pad, flip = default_augmentation(self.info)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.views = view_names(k, flip)
        return new

    def _forward(self, net: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Logits of one batch, or the log of the mean softmax over the views."""
        if len(self.views) == 1:
            return net(x)
        from airmodel.data.transforms import default_augmentation

        pad, _ = default_augmentation(self.info)
        mean = torch.tensor(self.info.mean, dtype=x.dtype, device=x.device)
        fill = -mean / torch.tensor(self.info.std, dtype=x.dtype, device=x.device)
        probs = sum(
            net(apply_view(x, v, pad, fill)).float().softmax(1) for v in self.views
        )
        return (probs / len(self.views)).log()

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def _batches(
        self,
    ) -> Iterator[tuple[torch.Tensor | slice, torch.Tensor, torch.Tensor]]:
        """``(index, x, y)`` per batch of ``batch_size``, in order.

        Token ids are taken shortest sentence first and each batch is cut
        after its last non-padding column (id 0), which leaves the logits of a
        model that masks padding unchanged (airmodel's transformer does) and
        makes SST-2 scoring about 4x faster; ``index`` then holds the
        batch's positions in the scorer's order.
        """
        n = len(self)
        if not _is_tokens(self.x):
            for i in range(0, n, self.batch_size):
                sl = slice(i, i + self.batch_size)
                yield sl, self.x[sl], self.y[sl]
            return
        lengths = (self.x != 0).sum(1)
        order = torch.argsort(lengths, stable=True)
        for i in range(0, n, self.batch_size):
            idx = order[i : i + self.batch_size]
            width = max(1, int(lengths[idx].max()))
            yield idx, self.x[idx, :width], self.y[idx]

    def subset(self, indices: torch.Tensor | Sequence[int]) -> Scorer:
        """A scorer on ``images[indices]`` that shares this one's settings and model."""
        idx = torch.as_tensor(indices, dtype=torch.int64, device=self.device)
        new = object.__new__(Scorer)
        new.__dict__.update(self.__dict__)
        new.x = self.x[idx]
        if new.x.dim() == 4:
            new.x = new.x.contiguous(memory_format=torch.channels_last)
        new.y = self.y[idx]
        return new

    def _auto_cells_per_pass(self) -> int:
        return 16 if self.device.type == "cuda" else 1

    def to(self, device: str | torch.device) -> Scorer:
        """A copy of this scorer (same class and settings) with its tensors on ``device``."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.device = torch.device(device)
        for k, v in self.__dict__.items():
            if isinstance(v, torch.Tensor):  # images, labels, an unlabelled pool
                setattr(new, k, v.to(new.device))
        if self.model is not None:
            new.model = new._prepare(copy.deepcopy(self.model))
        if self._cells_auto:
            new.cells_per_pass = new._auto_cells_per_pass()
        return new

    def _prepare(self, model: nn.Module) -> nn.Module:
        return model.to(self.device, memory_format=torch.channels_last)

    @property
    def precision(self) -> str:
        """``"fp32"`` or ``"bf16"``: what this scorer scores at."""
        return self._precision

    @precision.setter
    def precision(self, value: str) -> None:
        if value not in PRECISIONS:
            raise ValueError(
                f"`precision` must be one of {PRECISIONS}; got {value!r} (resolve "
                "'auto' with airmodel.evaluation.precision.choose_precision first)."
            )
        self._precision = value

    @property
    def bf16(self) -> bool:
        """Whether this scorer runs in bfloat16 (old spelling of ``precision``)."""
        return self._precision == "bf16"

    @bf16.setter
    def bf16(self, value: bool) -> None:
        self.precision = "bf16" if value else "fp32"

    def _cast_copy(self) -> bool:
        """bf16 on the CPU: score a bf16 copy of the model (weights cast once)."""
        return self.bf16 and self.device.type == "cpu"

    def _inference_net(self, model: nn.Module) -> nn.Module:
        """``model`` itself, its fused copy, or its bfloat16 copy (see ``precision``)."""
        if self._cast_copy():
            net = fuse(model, torch.bfloat16) if self.fused else None
            return _bf16_copy(model) if net is None else net
        if self.fused and self.device.type == "cpu" and not self.bf16:
            net = fuse(model)
            return model if net is None else net
        return model

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        """A batch as the inference net takes it (cast once for a bf16 copy)."""
        if self._cast_copy() and x.is_floating_point():
            return x.to(torch.bfloat16)
        return x

    def autocast(self) -> contextlib.AbstractContextManager:
        """The context eager forward passes at this precision run in.

        fp32: nothing (exact). bf16: ``torch.autocast`` bfloat16, on a GPU
        with TF32 matmuls and convolutions for what stays fp32.
        """
        if not self.bf16:
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        if self.device.type == "cuda":
            stack.enter_context(_tf32())
        stack.enter_context(torch.autocast(self.device.type, dtype=torch.bfloat16))
        return stack

    def _autocast(self) -> contextlib.AbstractContextManager:
        """:meth:`autocast` where the net is eager; nothing for a bf16 copy."""
        if self._cast_copy():
            return contextlib.nullcontext()
        return self.autocast()

    def predict(self, model: nn.Module) -> torch.Tensor:
        """Predicted labels, [N] int64 on the device."""
        model = self._prepare(model)
        was_training = model.training
        model.eval()
        out = self.y.new_zeros(len(self))
        try:
            net = self._inference_net(model)
            with torch.inference_mode(), self._autocast():
                for idx, x, _ in self._batches():
                    out[idx] = self._forward(net, self._input(x)).argmax(1)
        finally:
            model.train(was_training)
        return out

    def accuracy(self, model: nn.Module) -> float:
        """Fraction of correctly classified images, in [0, 1] (or the ``metric``)."""
        if len(self) == 0:
            return float("nan")
        if self.metric is not None:
            return self._metric(model)
        correct = (self.predict(model) == self.y).sum(dtype=torch.float64)
        return float(correct.item()) / len(self)

    def _metric(self, model: nn.Module) -> float:
        """Image-weighted mean of ``metric(model, (x, y))`` over the batches."""
        model = self._prepare(model)
        was_training = model.training
        model.eval()
        total = 0.0
        try:
            with torch.inference_mode(), self.autocast():
                for _, x, y in self._batches():
                    total += float(self.metric(model, (x, y))) * len(y)
        finally:
            model.train(was_training)
        return total / len(self)

    def accuracy_of(
        self, state_dict: Mapping[str, torch.Tensor], model: nn.Module | None = None
    ) -> float:
        """Load ``state_dict`` into ``model`` (or the scorer's own) and score it."""
        return self.accuracy(self._load(state_dict, model))

    def accuracies_of(
        self,
        state_dicts: Sequence[Mapping[str, torch.Tensor]],
        model: nn.Module | None = None,
    ) -> list[float]:
        """Accuracies of several state dicts of one architecture, in one pass each batch.

        The state dicts are stacked and the model runs once per image batch
        under ``torch.func.vmap`` of ``torch.func.functional_call`` (eval
        mode, eager ops: no fused copy), so k models cost one k-wide forward
        pass. Predictions equal :meth:`accuracy_of`'s up to float rounding
        of the logits (tests/unit/test_batched_selection.py).

        :param state_dicts: k state dicts with the keys of ``model``'s.
        :output accuracies: k floats in [0, 1].
        """
        if not state_dicts:
            return []
        target = self._load(state_dicts[0], model)  # checks the keys
        if len(self) == 0:
            return [float("nan")] * len(state_dicts)
        stacked = {
            k: torch.stack([sd[k] for sd in state_dicts]).to(self.device)
            for k in state_dicts[0]
        }

        def logits(p: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
            return torch.func.functional_call(target, p, (x,))

        many = torch.func.vmap(logits, in_dims=(0, None))  # -> [k, B, classes]
        was_training = target.training
        target.eval()
        correct = torch.zeros(len(state_dicts), dtype=torch.int64, device=self.device)
        try:
            with torch.no_grad(), self.autocast(), warnings.catch_warnings():
                # adaptive_avg_pool2d on channels_last has no batching rule; vmap
                # loops over the k models for that one cheap op.
                warnings.filterwarnings("ignore", "There is a performance drop")
                for _, x, y in self._batches():
                    correct += (many(stacked, x).argmax(-1) == y).sum(1)
        finally:
            target.train(was_training)
        return [int(c) / len(self) for c in correct.tolist()]

    def loss_of(
        self, state_dict: Mapping[str, torch.Tensor], model: nn.Module | None = None
    ) -> float:
        """Mean cross-entropy of ``state_dict`` loaded into ``model`` (eval mode).

        A smooth selection signal (accuracy on kappa images is a step function).
        """
        target = self._load(state_dict, model)
        was_training = target.training
        target.eval()
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        try:
            net = self._inference_net(target)
            with torch.inference_mode(), self._autocast():
                for _, x, y in self._batches():
                    logits = net(self._input(x)).float()
                    total += nn.functional.cross_entropy(logits, y, reduction="sum")
        finally:
            target.train(was_training)
        return float(total.item()) / max(len(self), 1)

    def loss_grad_of(
        self,
        state_dict: Mapping[str, torch.Tensor],
        keys: list[str],
        model: nn.Module | None = None,
    ) -> tuple[float, dict[str, torch.Tensor]]:
        """Mean cross-entropy and its gradient with respect to the entries ``keys``.

        The model runs in eval mode (batch-norm uses the running statistics in
        ``state_dict``, held fixed) through ``torch.func.functional_call``.

        :output loss: float.
        :output grads: ``{key: tensor}`` shaped like ``state_dict[key]``, on the device.
        """
        target = self._load(state_dict, model)
        was_training = target.training
        target.eval()
        params = {
            k: state_dict[k].detach().to(self.device).requires_grad_(True) for k in keys
        }
        grads = {k: torch.zeros_like(p) for k, p in params.items()}
        total = 0.0
        try:
            with self.autocast():
                for _, x, y in self._batches():
                    logits = torch.func.functional_call(target, params, (x,)).float()
                    loss = nn.functional.cross_entropy(
                        logits, y, reduction="sum"
                    ) / max(len(self), 1)
                    parts = torch.autograd.grad(loss, list(params.values()))
                    for k, g in zip(params, parts, strict=True):
                        grads[k] += g
                    total += float(loss.detach())
        finally:
            target.train(was_training)
        return total, grads

    def _load(
        self, state_dict: Mapping[str, torch.Tensor], model: nn.Module | None
    ) -> nn.Module:
        target = model if model is not None else self.model
        if target is None:
            raise ValueError(
                "scoring a state dict needs a model to load it into: pass "
                "`model=` here or to Scorer(...)."
            )
        target = self._prepare(target)
        target.load_state_dict(state_dict, strict=True)
        return target

    def __call__(
        self,
        model_or_state_dict: nn.Module | Mapping[str, torch.Tensor],
        model: nn.Module | None = None,
    ) -> float:
        """``scorer(model)`` or ``scorer(state_dict, model)`` -> accuracy."""
        if isinstance(model_or_state_dict, nn.Module):
            return self.accuracy(model_or_state_dict)
        return self.accuracy_of(model_or_state_dict, model)


@contextlib.contextmanager
def _tf32() -> Iterator[None]:
    """TF32 matmuls and cuDNN convolutions inside the block (GPU, bf16 only)."""
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


#: model -> its bfloat16 copy (same module tree), reused across scored state dicts.
_BF16_COPIES: weakref.WeakKeyDictionary[nn.Module, nn.Module] = (
    weakref.WeakKeyDictionary()
)


def _bf16_copy(model: nn.Module) -> nn.Module:
    """An eval-mode bfloat16 copy of ``model`` holding its current weights.

    Made once per model (deep copy) and refreshed per call with one cast
    copy of every floating parameter and buffer, so a scored state dict costs
    one pass over the weights, not a deep copy.
    """
    net = _BF16_COPIES.get(model)
    if net is None:
        net = copy.deepcopy(model).to(torch.bfloat16).eval()
        _BF16_COPIES[model] = net
        return net
    with torch.no_grad():
        src = dict(model.named_parameters()) | dict(model.named_buffers())
        dst = dict(net.named_parameters()) | dict(net.named_buffers())
        if src.keys() != dst.keys():  # the model's structure changed: start over
            del _BF16_COPIES[model]
            return _bf16_copy(model)
        for k, t in src.items():
            dst[k].copy_(t)
    return net
