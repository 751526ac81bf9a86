"""FashionFeatureNet: the small Fashion-MNIST CNN whose features tfmq's metrics use.

Exported form (what the Java side implements from config.json + safetensors):
  x in [0,1], [B,1,28,28] -> (x - mean) / std
  stage s = sequence of 3x3 conv (stride 1, pad 1, with bias) + ReLU
  2x2 max-pool (stride 2) between consecutive stages
  global average pool of the last stage -> pooled [B, 256]
  fc: Linear(256, 10) -> logits
  spatial tap: output (after ReLU, before the pool) of the last conv of stage
  `spatial_tap.stage`, first `spatial_tap.channels` channels, flattened (C,H,W).
During training each conv is followed by BatchNorm (folded away at export) and
dropout precedes fc.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

STAGES = [[32, 32], [64, 64], [128, 256]]
MEAN, STD = 0.2860, 0.3530
TAP_STAGE, TAP_CHANNELS = 1, 8


def make_config(test_accuracy=None):
    return {
        "_class_name": "FashionFeatureNet",
        "version": 1,
        "in_channels": 1,
        "image_size": 28,
        "normalize": {"mean": MEAN, "std": STD},
        "stages": STAGES,
        "pooled_dim": STAGES[-1][-1],
        "spatial_tap": {"stage": TAP_STAGE, "channels": TAP_CHANNELS},
        "num_classes": 10,
        "test_accuracy": test_accuracy,
    }


class TrainNet(nn.Module):
    """Training form: conv (no bias) + BatchNorm + ReLU; dropout before fc."""

    def __init__(self, stages=STAGES, num_classes=10, dropout=0.3):
        super().__init__()
        self.stages = nn.ModuleList()
        cin = 1
        for st in stages:
            layers = nn.ModuleList()
            for cout in st:
                layers.append(nn.ModuleDict({"conv": nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                                             "bn": nn.BatchNorm2d(cout)}))
                cin = cout
            self.stages.append(layers)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = (x - MEAN) / STD
        for s, layers in enumerate(self.stages):
            if s > 0:
                x = F.max_pool2d(x, 2)
            for l in layers:
                x = F.relu(l["bn"](l["conv"](x)))
        return self.fc(self.drop(x.mean(dim=(2, 3))))

    @torch.no_grad()
    def folded_state_dict(self):
        """BatchNorm (eval statistics) folded into conv weight/bias; float32 tensors."""
        sd = {}
        for s, layers in enumerate(self.stages):
            for i, l in enumerate(layers):
                conv, bn = l["conv"], l["bn"]
                scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
                w = conv.weight.double() * scale[:, None, None, None]
                b = bn.bias.double() - bn.running_mean.double() * scale
                sd["stages.%d.%d.weight" % (s, i)] = w.float().cpu().contiguous()
                sd["stages.%d.%d.bias" % (s, i)] = b.float().cpu().contiguous()
        sd["fc.weight"] = self.fc.weight.detach().float().cpu().contiguous()
        sd["fc.bias"] = self.fc.bias.detach().float().cpu().contiguous()
        return sd


class FoldedNet(nn.Module):
    """Exported form: conv+bias+ReLU only. forward returns (pooled, spatial, logits)."""

    def __init__(self, config):
        super().__init__()
        self.cfg = config
        self.stages = nn.ModuleList()
        cin = config["in_channels"]
        for st in config["stages"]:
            layers = nn.ModuleList()
            for cout in st:
                layers.append(nn.Conv2d(cin, cout, 3, padding=1, bias=True))
                cin = cout
            self.stages.append(layers)
        self.fc = nn.Linear(cin, config["num_classes"])

    def forward(self, x):
        n = self.cfg["normalize"]
        tap = self.cfg["spatial_tap"]
        x = (x - n["mean"]) / n["std"]
        spatial = None
        for s, layers in enumerate(self.stages):
            if s > 0:
                x = F.max_pool2d(x, 2)
            for conv in layers:
                x = F.relu(conv(x))
            if s == tap["stage"]:
                spatial = x[:, :tap["channels"]].reshape(x.shape[0], -1)
        pooled = x.mean(dim=(2, 3))
        return pooled, spatial, self.fc(pooled)
