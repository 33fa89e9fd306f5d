"""torch.nn twins of the zoo's token networks, for the parity tests in test_zoo.py (merged into
torch_zoo's ``TWINS`` and ``NARROW``).

ViT as torchvision's ``vision_transformer`` module writes it, MLP-Mixer and ResMLP as timm's
``mlp_mixer`` (neither package can be installed here), with the same attribute names and the same
configuration arguments as the minicnn classes, so ``twin.state_dict()`` has the same keys and shapes.
"""
from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn

from minicnn.models import blocks, mixer, vision_transformer

# ---- ViT, as torchvision.models.vision_transformer --------------------------------------------------------


class MLPBlock(nn.Sequential):
    def __init__(self, in_dim, mlp_dim, dropout=0.0):
        super().__init__(nn.Linear(in_dim, mlp_dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp_dim, in_dim),
                         nn.Dropout(dropout))


class EncoderBlock(nn.Module):
    def __init__(self, num_heads, hidden_dim, mlp_dim, dropout=0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.dropout(self.self_attention(y, y, y, need_weights=False)[0])
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    def __init__(self, seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout=0.0):
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim).normal_(std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.Sequential(OrderedDict((f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim,
                                                                                     dropout))
                                                for i in range(num_layers)))
        self.ln = nn.LayerNorm(hidden_dim, eps=1e-6)

    def forward(self, x):
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    def __init__(self, image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, dropout=0.0,
                 num_classes=1000, in_channels=3):
        super().__init__()
        h, w = (image_size, image_size) if isinstance(image_size, int) else image_size
        self.conv_proj = nn.Conv2d(in_channels, hidden_dim, patch_size, patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = Encoder((h // patch_size) * (w // patch_size) + 1, num_layers, num_heads, hidden_dim,
                               mlp_dim, dropout)
        self.heads = nn.Sequential(OrderedDict(head=nn.Linear(hidden_dim, num_classes)))

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(len(x), -1, -1), x], dim=1)
        return self.heads(self.encoder(x)[:, 0])


# ---- MLP-Mixer and ResMLP, as timm.models.mlp_mixer ------------------------------------------------------


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features, drop=0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x):
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class MixerBlock(nn.Module):
    def __init__(self, dim, seq_len, mlp_ratio=(0.5, 4.0), drop=0.0):
        super().__init__()
        tokens_dim, channels_dim = (int(r * dim) for r in mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_tokens = Mlp(seq_len, tokens_dim, drop)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = Mlp(dim, channels_dim, drop)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.mlp_channels(self.norm2(x))


class Affine(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones((1, 1, dim)))
        self.beta = nn.Parameter(torch.zeros((1, 1, dim)))

    def forward(self, x):
        return torch.addcmul(self.beta, self.alpha, x)


class ResBlock(nn.Module):
    def __init__(self, dim, seq_len, mlp_ratio=4.0, init_values=1e-4, drop=0.0):
        super().__init__()
        self.norm1 = Affine(dim)
        self.linear_tokens = nn.Linear(seq_len, seq_len)
        self.norm2 = Affine(dim)
        self.mlp_channels = Mlp(dim, int(dim * mlp_ratio), drop)
        self.ls1 = nn.Parameter(init_values * torch.ones(dim))
        self.ls2 = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        x = x + self.ls1 * self.linear_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.ls2 * self.mlp_channels(self.norm2(x))


class MlpMixer(nn.Module):
    def __init__(self, num_classes=1000, img_size=224, in_chans=3, patch_size=16, num_blocks=8, embed_dim=512,
                 block_layer=MixerBlock, norm_layer=partial(nn.LayerNorm, eps=1e-6)):
        super().__init__()
        h, w = (img_size, img_size) if isinstance(img_size, int) else img_size
        self.stem = PatchEmbed(patch_size, in_chans, embed_dim)
        self.blocks = nn.Sequential(*(block_layer(embed_dim, (h // patch_size) * (w // patch_size))
                                      for _ in range(num_blocks)))
        self.norm = norm_layer(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.stem(x))).mean(dim=1))


# ---- the twins of the zoo builders ------------------------------------------------------------------------


def _vit(shape, k):
    config = vision_transformer.SMALL if blocks.is_small(shape) else vision_transformer.STANDARD
    return VisionTransformer(shape[1:], num_classes=k, in_channels=shape[0], **config)


def _mixer(shape, k):
    config = mixer.SMALL_MIXER if blocks.is_small(shape) else mixer.MIXER
    return MlpMixer(k, shape[1:], shape[0], **config)


def _resmlp(shape, k):
    config = mixer.SMALL_RESMLP if blocks.is_small(shape) else mixer.RESMLP
    return MlpMixer(k, shape[1:], shape[0], block_layer=partial(ResBlock, init_values=0.1), norm_layer=Affine,
                    **config)


TWINS = {"vit": _vit, "mlp_mixer": _mixer, "resmlp": _resmlp}

#: narrow configurations for 3x24x24 (patch 4: 36 tokens), two blocks of 16 features; the ResMLP layer scale
#: starts at 0.5 so that the token branch's gradients are not all tiny
NARROW = {
    "vit": (lambda: vision_transformer.VisionTransformer(24, 4, 2, 2, 16, 32, num_classes=10),
            lambda: VisionTransformer(24, 4, 2, 2, 16, 32, num_classes=10)),
    "mlp_mixer": (lambda: mixer.MlpMixer(10, 24, 3, 4, 2, 16), lambda: MlpMixer(10, 24, 3, 4, 2, 16)),
    "resmlp": (lambda: mixer.MlpMixer(10, 24, 3, 4, 2, 16, partial(mixer.ResBlock, init_values=0.5), mixer.Affine),
               lambda: MlpMixer(10, 24, 3, 4, 2, 16, partial(ResBlock, init_values=0.5), Affine)),
}
