"""MLP-Mixer and ResMLP with timm's module names (``timm.models.mlp_mixer``, where both live).

Both cut the image into p x p patches with ``stem.proj`` (a Conv2d with kernel = stride = p), run
``blocks`` over the tokens (N, L, D), normalise (``norm``), average over the tokens and classify
(``head``). Each block has two residual branches (:class:`~.tokens.ResidualBranches`):

* token mixing: the tokens transposed to (N, D, L), so that a Linear over the last axis mixes the L
  tokens of every feature, and transposed back;
* channel mixing: an MLP over the D features of every token.

:class:`MixerBlock` (MLP-Mixer): LayerNorm ``norm1`` -> ``mlp_tokens`` (an MLP over the tokens) ->
residual, LayerNorm ``norm2`` -> ``mlp_channels`` -> residual. :class:`ResBlock` (ResMLP): an
:class:`Affine` (per-feature scale ``alpha`` and shift ``beta``) instead of each LayerNorm, one Linear
``linear_tokens`` for the token mixing, and layer scales ``ls1``, ``ls2`` on the two branches. Keys
read ``stem.proj.weight``, ``blocks.0.mlp_tokens.fc1.weight``, ``blocks.0.ls1``,
``blocks.0.norm1.alpha``, ``head.bias``, as timm's. Weights start as timm's: Linear layers
Xavier-uniform with zero biases (N(0, 1e-6^2) inside the MLPs), ``head`` zero, ``stem.proj`` N(0,
1/fan_in).

Standard forms (3x224x224, patch 16: 196 tokens):

* MLP-Mixer (:data:`MIXER`): Mixer-S/16's width (512 features, token MLP 256, channel MLP 2048) at 6
  blocks instead of 8: 13.62M parameters, the seed's 13.63M (Mixer-S/16 itself is 18.02M with 10
  classes);
* ResMLP (:data:`RESMLP`): ResMLP-S12 (12 blocks of 384 features, MLP ratio 4, layer scale 0.1):
  14.97M, the seed's.

Small inputs (:func:`~minicnn.models.blocks.is_small`, :data:`SMALL_MIXER`, :data:`SMALL_RESMLP`):
patch 4 (28x28 -> 49 tokens, 32x32 -> 64), the same depth at a quarter of the width (MLP-Mixer 128
features, token MLP 64, channel MLP 512; ResMLP 96 features, MLP 384).

The token-mixing layers have one input per patch of the size the model is built for, so a model
takes images of that size only.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .. import backend, nn
from .. import functional as F
from .blocks import Chain, is_small, normal_
from .tokens import Mean, ResidualBranches, Transpose, patch_projection

__all__ = ["Mlp", "PatchEmbed", "MixerBlock", "Affine", "ResBlock", "MlpMixer", "mlp_mixer", "resmlp", "MIXER",
           "RESMLP", "SMALL_MIXER", "SMALL_RESMLP"]

#: MLP-Mixer's standard form: Mixer-S/16 at 6 blocks
MIXER = dict(patch_size=16, num_blocks=6, embed_dim=512)
#: ResMLP's standard form: ResMLP-S12
RESMLP = dict(patch_size=16, num_blocks=12, embed_dim=384)
#: the small-input forms
SMALL_MIXER = dict(patch_size=4, num_blocks=6, embed_dim=128)
SMALL_RESMLP = dict(patch_size=4, num_blocks=12, embed_dim=96)


class Mlp(Chain):
    """timm's Mlp: fc1 (in -> hidden), GELU, dropout, fc2 (hidden -> in), dropout; over the last axis."""

    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop2 = nn.Dropout(drop)


class PatchEmbed(Chain):
    """timm's PatchEmbed: ``proj`` (one token per patch), then (N, D, h, w) -> (N, h w, D)."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = patch_projection(in_chans, embed_dim, patch_size)
        self.flatten = nn.Flatten(2)
        self.transpose = Transpose(1, 2)


class MixerBlock(ResidualBranches):
    """x + transpose(mlp_tokens(transpose(norm1(x)))), then + mlp_channels(norm2(.)); the two MLPs are
    ``mlp_ratio`` times ``dim`` wide."""

    def __init__(self, dim: int, seq_len: int, mlp_ratio: tuple[float, float] = (0.5, 4.0),
                 drop: float = 0.0) -> None:
        super().__init__()
        tokens_dim, channels_dim = (int(r * dim) for r in mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens = Mlp(seq_len, tokens_dim, drop)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = Mlp(dim, channels_dim, drop)
        self.transpose = Transpose(1, 2)

    def branches(self) -> list[list[nn.Module]]:
        return [[self.norm1, self.transpose, self.mlp_tokens, self.transpose], [self.norm2, self.mlp_channels]]


class Affine(nn.Module):
    """ResMLP's normalisation: y = alpha * x + beta per feature (the last axis), alpha and beta of shape
    (1, 1, dim), starting at ones and zeros.

    Backward: dx = alpha * dy; alpha and beta are shared by every row, so dalpha sums dy * x and dbeta
    sums dy over the rows.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        xp = backend.xp()
        self.alpha = nn.Parameter(xp.ones((1, 1, dim), "float32"))
        self.beta = nn.Parameter(xp.zeros((1, 1, dim), "float32"))

    def forward(self, x: Any) -> Any:
        y, cache = F.mul_forward(x, self.alpha.data)
        self._save(cache)
        return y + self.beta.data

    def backward(self, dy: Any) -> Any:
        dx, dalpha = F.mul_backward(dy, self._take())
        self._accumulate(self.alpha, dalpha)
        self._accumulate(self.beta, dy.sum(axis=tuple(range(dy.ndim - 1))).reshape(self.beta.shape))
        return dx


class ResBlock(ResidualBranches):
    """x + ls1 * transpose(linear_tokens(transpose(norm1(x)))), then + ls2 * mlp_channels(norm2(.)),
    with :class:`Affine` norms and layer scales starting at ``init_values``."""

    def __init__(self, dim: int, seq_len: int, mlp_ratio: float = 4.0, init_values: float = 1e-4,
                 drop: float = 0.0) -> None:
        super().__init__()
        self.norm1 = Affine(dim)
        self.linear_tokens = nn.Linear(seq_len, seq_len)
        self.norm2 = Affine(dim)
        self.mlp_channels = Mlp(dim, int(dim * mlp_ratio), drop)
        self.ls1 = nn.Parameter(backend.xp().full(dim, init_values, "float32"))
        self.ls2 = nn.Parameter(backend.xp().full(dim, init_values, "float32"))
        self.transpose = Transpose(1, 2)

    def branches(self) -> list[list[nn.Module]]:
        return [[self.norm1, self.transpose, self.linear_tokens, self.transpose], [self.norm2, self.mlp_channels]]

    def layer_scales(self) -> list[nn.Parameter | None]:
        return [self.ls1, self.ls2]


class MlpMixer(Chain):
    """timm's MlpMixer for ``img_size`` (a side, or (H, W)) images: stem, ``num_blocks`` blocks of
    ``block_layer(embed_dim, tokens)``, ``norm_layer(embed_dim)``, the mean over the tokens, head."""

    def __init__(self, num_classes: int = 1000, img_size: int | tuple[int, int] = 224, in_chans: int = 3,
                 patch_size: int = 16, num_blocks: int = 8, embed_dim: int = 512,
                 block_layer: Callable[[int, int], nn.Module] = MixerBlock,
                 norm_layer: Callable[[int], nn.Module] = partial(nn.LayerNorm, eps=1e-6)) -> None:
        super().__init__()
        h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
        tokens = (h // patch_size) * (w // patch_size)
        self.stem = PatchEmbed(patch_size, in_chans, embed_dim)
        self.blocks = nn.Sequential(*(block_layer(embed_dim, tokens) for _ in range(num_blocks)))
        self.norm = norm_layer(embed_dim)
        self.pool = Mean(1)
        self.head = nn.Linear(embed_dim, num_classes)
        for name, m in self.named_modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                normal_(m.bias, std=1e-6 if "mlp" in name else 0.0)
        nn.init.zeros_(self.head.weight)


def mlp_mixer(input_shape: tuple[int, int, int], num_classes: int) -> MlpMixer:
    """MLP-Mixer: :data:`MIXER` (13.62M parameters for 3x224x224 and 10 classes) or, for small inputs,
    :data:`SMALL_MIXER`; see the module docstring."""
    config = SMALL_MIXER if is_small(input_shape) else MIXER
    return MlpMixer(num_classes, input_shape[1:], input_shape[0], **config)


def resmlp(input_shape: tuple[int, int, int], num_classes: int) -> MlpMixer:
    """ResMLP-S12: :data:`RESMLP` (14.97M parameters for 3x224x224 and 10 classes) or, for small inputs,
    :data:`SMALL_RESMLP`; see the module docstring."""
    config = SMALL_RESMLP if is_small(input_shape) else RESMLP
    return MlpMixer(num_classes, input_shape[1:], input_shape[0], block_layer=partial(ResBlock, init_values=0.1),
                    norm_layer=Affine, **config)
