"""Plain-PyTorch re-implementation of the subset of diffusers' UNet2DModel used by tfmq.

Built from a diffusers UNet2DModel config.json dict; state_dict() keys match
diffusers' parameter names exactly, so weights load both ways without renaming.

Supported config subset:
  down blocks: DownBlock2D, AttnDownBlock2D
  up blocks:   UpBlock2D, AttnUpBlock2D
  mid block:   UNetMidBlock2D with attention (add_attention true/false)
  time_embedding_type "positional", resnet_time_scale_shift "default" or "scale_shift",
  act_fn "silu", downsample_type/upsample_type "conv", class_embed_type null.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SUPPORTED_DOWN = ("DownBlock2D", "AttnDownBlock2D")
SUPPORTED_UP = ("UpBlock2D", "AttnUpBlock2D")

# Fields of a complete diffusers 0.25.1 UNet2DModel config (defaults as in diffusers).
CONFIG_DEFAULTS = {
    "_class_name": "UNet2DModel",
    "_diffusers_version": "0.25.1",
    "act_fn": "silu",
    "add_attention": True,
    "attention_head_dim": 8,
    "attn_norm_num_groups": None,
    "block_out_channels": [224, 448, 672, 896],
    "center_input_sample": False,
    "class_embed_type": None,
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"],
    "downsample_padding": 1,
    "downsample_type": "conv",
    "dropout": 0.0,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 3,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "num_class_embeds": None,
    "num_train_timesteps": None,
    "out_channels": 3,
    "resnet_time_scale_shift": "default",
    "sample_size": None,
    "time_embedding_type": "positional",
    "up_block_types": ["AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"],
    "upsample_type": "conv",
}


def full_config(cfg):
    """Fills a partial config with diffusers' defaults, keys sorted as diffusers writes them."""
    out = dict(CONFIG_DEFAULTS)
    out.update(cfg)
    return {k: out[k] for k in sorted(out)}


def timestep_projection(timesteps, dim, flip_sin_to_cos=True, freq_shift=0.0, max_period=10000.0):
    """Sinusoidal projection as in diffusers.get_timestep_embedding (scale 1)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device)
    exponent = exponent / (half - freq_shift)
    freqs = torch.exp(exponent)
    args = timesteps[:, None].float() * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


class TimestepEmbedding(nn.Module):
    def __init__(self, in_dim, dim):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, dim)
        self.linear_2 = nn.Linear(dim, dim)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, in_ch, out_ch, temb_ch, groups, eps, dropout=0.0, output_scale_factor=1.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch, eps=eps, affine=True)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.scale_shift = False
        self.time_emb_proj = nn.Linear(temb_ch, out_ch)
        self.norm2 = nn.GroupNorm(groups, out_ch, eps=eps, affine=True)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None
        self.output_scale_factor = output_scale_factor

    def use_scale_shift(self):
        """diffusers' resnet_time_scale_shift "scale_shift": time_emb_proj gives (scale, shift) after norm2."""
        self.scale_shift = True
        self.time_emb_proj = nn.Linear(self.time_emb_proj.in_features, 2 * self.time_emb_proj.out_features)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        t = self.time_emb_proj(F.silu(temb))[:, :, None, None]
        if self.scale_shift:
            scale, shift = torch.chunk(t, 2, dim=1)
            h = self.norm2(h) * (1 + scale) + shift
        else:
            h = self.norm2(h + t)
        h = self.conv2(self.dropout(F.silu(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        out = x + h
        if self.output_scale_factor != 1.0:
            out = out / self.output_scale_factor
        return out


class Attention(nn.Module):
    """Spatial self-attention (diffusers Attention with group_norm, residual connection)."""

    def __init__(self, ch, head_dim, groups, eps, rescale_output_factor=1.0):
        super().__init__()
        self.heads = ch // head_dim
        self.head_dim = head_dim
        self.group_norm = nn.GroupNorm(groups, ch, eps=eps, affine=True) if groups is not None else None
        self.to_q = nn.Linear(ch, ch)
        self.to_k = nn.Linear(ch, ch)
        self.to_v = nn.Linear(ch, ch)
        self.to_out = nn.ModuleList([nn.Linear(ch, ch), nn.Dropout(0.0)])
        self.rescale_output_factor = rescale_output_factor

    def forward(self, x):
        b, c, h, w = x.shape
        res = x
        y = self.group_norm(x) if self.group_norm is not None else x
        y = y.reshape(b, c, h * w).transpose(1, 2)  # [B, L, C]
        q = self.to_q(y).reshape(b, h * w, self.heads, self.head_dim).transpose(1, 2)
        k = self.to_k(y).reshape(b, h * w, self.heads, self.head_dim).transpose(1, 2)
        v = self.to_v(y).reshape(b, h * w, self.heads, self.head_dim).transpose(1, 2)
        probs_hook = getattr(self, "probs_hook", None)
        if probs_hook is None and hasattr(F, "scaled_dot_product_attention"):
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            att = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim)), dim=-1)
            if probs_hook is not None:
                # e.g. fake quantization of the probabilities (tools/quant_eval_torch.py)
                att = probs_hook(att)
            o = att @ v
        o = o.transpose(1, 2).reshape(b, h * w, c)
        o = self.to_out[1](self.to_out[0](o))
        o = o.transpose(1, 2).reshape(b, c, h, w)
        out = o + res
        if self.rescale_output_factor != 1.0:
            out = out / self.rescale_output_factor
        return out


class Downsample2D(nn.Module):
    def __init__(self, ch, padding):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=padding)

    def forward(self, x):
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    def __init__(self, in_ch, out_ch, temb_ch, layers, groups, eps, attn, head_dim, add_down, pad, dropout):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock2D(in_ch if i == 0 else out_ch, out_ch, temb_ch, groups, eps, dropout)
            for i in range(layers)])
        if attn:
            self.attentions = nn.ModuleList([Attention(out_ch, head_dim, groups, eps) for _ in range(layers)])
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(out_ch, pad)]) if add_down else None

    def forward(self, x, temb):
        states = []
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x)
            states.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            states.append(x)
        return x, states


class UpBlock(nn.Module):
    def __init__(self, in_ch, prev_ch, out_ch, temb_ch, layers, groups, eps, attn, head_dim, add_up, dropout):
        super().__init__()
        res = []
        for i in range(layers):
            skip = in_ch if i == layers - 1 else out_ch
            rin = prev_ch if i == 0 else out_ch
            res.append(ResnetBlock2D(rin + skip, out_ch, temb_ch, groups, eps, dropout))
        self.resnets = nn.ModuleList(res)
        if attn:
            self.attentions = nn.ModuleList([Attention(out_ch, head_dim, groups, eps) for _ in range(layers)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(out_ch)]) if add_up else None

    def forward(self, x, skips, temb):
        for i, r in enumerate(self.resnets):
            x = torch.cat([x, skips.pop()], dim=1)
            x = r(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class MidBlock(nn.Module):
    def __init__(self, ch, temb_ch, groups, attn_groups, eps, head_dim, add_attention, scale, dropout):
        super().__init__()
        self.resnets = nn.ModuleList([
            ResnetBlock2D(ch, ch, temb_ch, groups, eps, dropout, output_scale_factor=scale) for _ in range(2)])
        if add_attention:
            self.attentions = nn.ModuleList([Attention(ch, head_dim, attn_groups, eps, rescale_output_factor=scale)])
        else:
            self.attentions = None

    def forward(self, x, temb):
        x = self.resnets[0](x, temb)
        if self.attentions is not None:
            x = self.attentions[0](x)
        return self.resnets[1](x, temb)


class UNet2DModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        cfg = full_config(config)
        self.config = cfg
        self._check(cfg)
        boc = list(cfg["block_out_channels"])
        groups, eps = cfg["norm_num_groups"], cfg["norm_eps"]
        layers = cfg["layers_per_block"]
        head_dim = cfg["attention_head_dim"]
        dropout = cfg["dropout"]
        temb_ch = boc[0] * 4

        self.conv_in = nn.Conv2d(cfg["in_channels"], boc[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(boc[0], temb_ch)

        self.down_blocks = nn.ModuleList()
        out_ch = boc[0]
        for i, typ in enumerate(cfg["down_block_types"]):
            in_ch, out_ch = out_ch, boc[i]
            final = i == len(boc) - 1
            self.down_blocks.append(DownBlock(
                in_ch, out_ch, temb_ch, layers, groups, eps, typ == "AttnDownBlock2D",
                head_dim if head_dim is not None else out_ch, not final, cfg["downsample_padding"], dropout))

        scale_shift = cfg["resnet_time_scale_shift"] == "scale_shift"
        attn_groups = cfg["attn_norm_num_groups"]
        if attn_groups is None and not scale_shift:
            attn_groups = groups
        self.mid_block = MidBlock(boc[-1], temb_ch, groups, attn_groups, eps,
                                  head_dim if head_dim is not None else boc[-1],
                                  cfg["add_attention"], cfg["mid_block_scale_factor"], dropout)

        self.up_blocks = nn.ModuleList()
        rev = list(reversed(boc))
        out_ch = rev[0]
        for i, typ in enumerate(cfg["up_block_types"]):
            prev_ch, out_ch = out_ch, rev[i]
            in_ch = rev[min(i + 1, len(boc) - 1)]
            final = i == len(boc) - 1
            self.up_blocks.append(UpBlock(
                in_ch, prev_ch, out_ch, temb_ch, layers + 1, groups, eps, typ == "AttnUpBlock2D",
                head_dim if head_dim is not None else out_ch, not final, dropout))

        self.conv_norm_out = nn.GroupNorm(groups, boc[0], eps=eps)
        self.conv_out = nn.Conv2d(boc[0], cfg["out_channels"], 3, padding=1)
        if scale_shift:
            for m in self.modules():
                if isinstance(m, ResnetBlock2D):
                    m.use_scale_shift()

    @staticmethod
    def _check(cfg):
        def need(cond, what):
            if not cond:
                raise ValueError("unsupported UNet2DModel config: " + what)
        need(cfg["_class_name"] == "UNet2DModel", "_class_name")
        need(all(t in SUPPORTED_DOWN for t in cfg["down_block_types"]), "down_block_types")
        need(all(t in SUPPORTED_UP for t in cfg["up_block_types"]), "up_block_types")
        n = len(cfg["block_out_channels"])
        need(len(cfg["down_block_types"]) == n and len(cfg["up_block_types"]) == n, "block counts")
        need(cfg["time_embedding_type"] == "positional", "time_embedding_type")
        need(cfg["resnet_time_scale_shift"] in ("default", "scale_shift"), "resnet_time_scale_shift")
        need(cfg["act_fn"] == "silu", "act_fn")
        need(cfg["class_embed_type"] is None and cfg["num_class_embeds"] is None, "class embedding")
        need(cfg["downsample_type"] == "conv" and cfg["upsample_type"] == "conv", "resample type")

    def forward(self, sample, timestep):
        cfg = self.config
        if not torch.is_tensor(timestep):
            timestep = torch.tensor([timestep], dtype=torch.long, device=sample.device)
        elif timestep.dim() == 0:
            timestep = timestep[None].to(sample.device)
        timestep = timestep * torch.ones(sample.shape[0], dtype=timestep.dtype, device=sample.device)
        t_proj = timestep_projection(timestep, cfg["block_out_channels"][0],
                                     cfg["flip_sin_to_cos"], cfg["freq_shift"]).to(sample.dtype)
        temb = self.time_embedding(t_proj)

        if cfg["center_input_sample"]:
            sample = 2 * sample - 1.0
        x = self.conv_in(sample)
        skips = [x]
        for blk in self.down_blocks:
            x, states = blk(x, temb)
            skips.extend(states)
        x = self.mid_block(x, temb)
        for blk in self.up_blocks:
            x = blk(x, skips, temb)
        x = self.conv_out(F.silu(self.conv_norm_out(x)))
        return x


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_flops(model, shape=(1, 1, 28, 28)):
    """FLOPs of one forward on `shape` (multiply-add = 2 FLOPs), per image.

    Counts convolutions, linear layers and the two attention matmuls; norms,
    activations and additions are ignored (they are a small fraction).
    """
    total = [0]
    hooks = []

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += 2 * k * out.numel()

    def lin_hook(m, inp, out):
        total[0] += 2 * m.in_features * out.numel()

    def attn_hook(m, inp, out):
        b, c, h, w = inp[0].shape
        L = h * w
        total[0] += 2 * 2 * b * L * L * c  # QK^T and AV

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attn_hook))
    p = next(model.parameters())
    with torch.no_grad():
        model(torch.zeros(shape, dtype=p.dtype, device=p.device),
              torch.zeros(shape[0], dtype=torch.long, device=p.device))
    for h in hooks:
        h.remove()
    return total[0] // shape[0]


if __name__ == "__main__":
    import json
    import sys
    with open(sys.argv[1]) as f:
        m = UNet2DModel(json.load(f))
    print("params", count_params(m), "flops/image", count_flops(m, (1, m.config["in_channels"],
                                                                      m.config["sample_size"] or 28,
                                                                      m.config["sample_size"] or 28)))
