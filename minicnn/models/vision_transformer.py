"""Vision Transformer with torchvision's module names (``torchvision.models.vision_transformer``).

The image is cut into p x p patches by ``conv_proj`` (a Conv2d with kernel = stride = p), one token of
``hidden_dim`` features per patch; a learned ``class_token`` goes first, the encoder adds
``encoder.pos_embedding`` and runs ``encoder.layers.encoder_layer_i`` (LayerNorm -> MultiheadAttention
-> residual, LayerNorm -> MLP with GELU -> residual) and ``encoder.ln``; the class token's output row
goes through ``heads.head``. Keys read ``encoder.layers.encoder_layer_0.self_attention.in_proj_weight``,
``encoder.layers.encoder_layer_0.mlp.3.bias``, ``heads.head.weight``, as torchvision's, so one of its
state_dict files of the same configuration loads. Weights start as torchvision's: ``conv_proj``
N(0, 1/fan_in), position embedding N(0, 0.02^2), class token and head zero, MLP weights
Xavier-uniform with N(0, 1e-6^2) biases, attention as ``nn.MultiheadAttention``'s. ``dropout`` is
torchvision's (after the position embedding, the attention and in the MLP, 0 by default); its
``attention_dropout`` (inside the attention, 0 by default) has no counterpart here.

Standard form (:data:`STANDARD`): patch 32, 6 layers of width 1024 with 16 heads and an MLP of 2048:
the seed's 53.59M parameters, which is the configuration of lucidrains' ``vit-pytorch`` README (q/k/v
projection without bias, 53.59M at 224 with 10 classes); torchvision's layout has the attention's
in_proj bias, 3 x 1024 more per layer: 53.61M. (ViT-B/16, 85.8M, is not the seed's model.)

Small inputs (:func:`~minicnn.models.blocks.is_small`, :data:`SMALL`): patch 4 (28x28 -> 7x7 = 49
tokens, 32x32 -> 8x8 = 64, plus the class token), the same depth and MLP ratio at an eighth of the width
(128 features, 4 heads of 32).

The position embedding has one row per patch of the size the model is built for, so a model takes
images of that size only (as torchvision's).
"""
from __future__ import annotations

from typing import Any

from .. import backend, nn
from .. import functional as F
from ..checks import pair
from .blocks import is_small, normal_
from .tokens import ResidualBranches, Select, Transpose, patch_projection

__all__ = ["MLPBlock", "EncoderBlock", "Encoder", "VisionTransformer", "vit", "STANDARD", "SMALL"]

#: the standard form's configuration (3x224x224: 49 patches)
STANDARD = dict(patch_size=32, num_layers=6, num_heads=16, hidden_dim=1024, mlp_dim=2048)
#: the small-input form's configuration
SMALL = dict(patch_size=4, num_layers=6, num_heads=4, hidden_dim=128, mlp_dim=256)


class MLPBlock(nn.Sequential):
    """Linear(D, mlp_dim), GELU, Dropout, Linear(mlp_dim, D), Dropout: keys ``0.*`` and ``3.*``."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float = 0.0) -> None:
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, in_dim),
                         nn.Dropout(dropout))
        for linear in (self[0], self[3]):
            nn.init.xavier_uniform_(linear.weight)
            normal_(linear.bias, std=1e-6)


class EncoderBlock(ResidualBranches):
    """x + dropout(self_attention(ln_1(x))), then + mlp(ln_2(.)): pre-norm self-attention and MLP."""

    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def branches(self) -> list[list[nn.Module]]:
        return [[self.ln_1, self.self_attention, self.dropout], [self.ln_2, self.mlp]]


class Encoder(nn.Module):
    """ln(layers(dropout(x + pos_embedding))): the position embedding (1, L, D) is one learned row per
    token, added to every image's sequence, so its gradient is dy summed over the batch."""

    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.pos_embedding = normal_(nn.Parameter(backend.xp().zeros((1, seq_length, hidden_dim), "float32")),
                                     std=0.02)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential()
        for i in range(num_layers):
            setattr(self.layers, f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, x: Any) -> Any:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding.data)))

    def backward(self, dy: Any) -> Any:
        dx = self.dropout.backward(self.layers.backward(self.ln.backward(dy)))
        self._accumulate(self.pos_embedding, dx.sum(axis=0, keepdims=True))
        return dx


class VisionTransformer(nn.Module):
    """torchvision's VisionTransformer for ``image_size`` (a side, or (H, W)) images of ``in_channels``.

    Forward: patches -> tokens (N, L, D) -> [class token, tokens] (N, L + 1, D) -> encoder -> row 0 ->
    ``heads``. Backward walks it back; the class token is one row shared by every image, so its
    gradient is the encoder's input gradient at row 0 summed over the batch.
    """

    def __init__(self, image_size: int | tuple[int, int], patch_size: int, num_layers: int, num_heads: int,
                 hidden_dim: int, mlp_dim: int, dropout: float = 0.0, num_classes: int = 1000,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.image_size = pair(image_size, "image_size")
        self.hidden_dim = hidden_dim
        self.conv_proj = patch_projection(in_channels, hidden_dim, patch_size)
        self.class_token = nn.Parameter(backend.xp().zeros((1, 1, hidden_dim), "float32"))
        seq_length = (self.image_size[0] // patch_size) * (self.image_size[1] // patch_size) + 1
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout)
        self.heads = nn.Sequential()
        self.heads.head = nn.Linear(hidden_dim, num_classes)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)
        self.flatten, self.transpose, self.class_row = nn.Flatten(2), Transpose(1, 2), Select(1, 0)

    def input_layer(self) -> nn.Module:
        return self.conv_proj

    def forward(self, x: Any) -> Any:
        if tuple(x.shape[2:]) != self.image_size:
            raise ValueError(f"VisionTransformer: built for {self.image_size[0]}x{self.image_size[1]} images (its "
                             f"position embedding has a row per patch), got input shape {tuple(x.shape)}")
        tokens = self.transpose(self.flatten(self.conv_proj(x)))                # (N, L, D): a row per patch
        class_tokens = backend.xp().broadcast_to(self.class_token.data, (len(x), 1, self.hidden_dim))
        seq, cat_cache = F.cat_forward([class_tokens, tokens], dim=1)
        self._save(cat_cache)
        return self.heads(self.class_row(self.encoder(seq)))

    def backward(self, dy: Any) -> Any:
        d_seq = self.encoder.backward(self.class_row.backward(self.heads.backward(dy)))
        d_class, d_tokens = F.cat_backward(d_seq, self._take())
        self._accumulate(self.class_token, d_class.sum(axis=0, keepdims=True))
        return self.conv_proj.backward(self.flatten.backward(self.transpose.backward(d_tokens)))


def vit(input_shape: tuple[int, int, int], num_classes: int) -> VisionTransformer:
    """ViT: :data:`STANDARD` (53.61M parameters for 3x224x224 and 10 classes) or, for small inputs,
    :data:`SMALL`; see the module docstring."""
    config = SMALL if is_small(input_shape) else STANDARD
    return VisionTransformer(input_shape[1:], num_classes=num_classes, in_channels=input_shape[0], **config)
