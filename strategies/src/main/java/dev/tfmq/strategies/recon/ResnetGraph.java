package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.GroupNorm;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * ResnetBlock2D as a reconstruction graph: norm1 → SiLU → conv1 → + temporal feature → norm2 → SiLU → conv2,
 * plus the (FP) shortcut, divided by the output scale. With {@code resnet_time_scale_shift: scale_shift} the
 * temporal feature [B, 2C] is (scale, shift) and conditions after norm2 instead: norm2(h)·(1 + scale) + shift. The temporal feature is either a cached input (the emb layer
 * is frozen: TIAR/Freeze) or computed here from cached SiLU(temb) by a learned time_emb_proj (Q-Diffusion, where
 * the emb layer is reconstructed inside its block).
 */
final class ResnetGraph extends BlockGraph {
    private final DataType type;
    private final INDArray g1, be1, g2, be2, b1, b2, bp, bs;
    private final int groups1, groups2;
    private final double eps1, eps2, outputScale;
    private final WeightSlot w1, w2, wp, ws;
    private final boolean learnedEmb;
    private final boolean scaleShift;
    private INDArray x, a1, h1n, tembAct, n2pre, n2, scale1;
    /** Learnable activation steps at conv1's and conv2's inputs (Q-Diffusion's activation reconstruction), or null. */
    private StepSizeQuantizer q1, q2;
    private final ChannelsLast.Norm[] c1 = new ChannelsLast.Norm[1], c2 = new ChannelsLast.Norm[1];

    ResnetGraph(UNet2DModel model, String path, Map<String, WeightSlot> slots, boolean learnedEmb, DataType type) {
        this.scaleShift = model.config().resnetTimeScaleShift().equals("scale_shift");
        this.type = type;
        GroupNorm n1 = (GroupNorm) model.module(path + ".norm1");
        GroupNorm n2 = (GroupNorm) model.module(path + ".norm2");
        g1 = p(n1, path + ".norm1.weight");
        be1 = p(n1, path + ".norm1.bias");
        g2 = p(n2, path + ".norm2.weight");
        be2 = p(n2, path + ".norm2.bias");
        groups1 = n1.groups();
        groups2 = n2.groups();
        eps1 = n1.eps();
        eps2 = n2.eps();
        Conv2d conv1 = (Conv2d) model.module(path + ".conv1");
        Conv2d conv2 = (Conv2d) model.module(path + ".conv2");
        Linear proj = (Linear) model.module(path + ".time_emb_proj");
        b1 = conv1.bias().castTo(type);
        b2 = conv2.bias().castTo(type);
        bp = proj.bias().castTo(type);
        w1 = slot(slots, conv1.path(), conv1.weight());
        w2 = slot(slots, conv2.path(), conv2.weight());
        wp = slot(slots, proj.path(), proj.weight());
        this.learnedEmb = learnedEmb;
        boolean hasShortcut = model.modules().containsKey(path + ".conv_shortcut");
        if (hasShortcut) {
            Conv2d sc = (Conv2d) model.module(path + ".conv_shortcut");
            ws = slot(slots, sc.path(), sc.weight());
            bs = sc.bias().castTo(type);
        } else {
            ws = null;
            bs = null;
        }
        outputScale = path.startsWith("mid_block.") ? model.config().midBlockScaleFactor() : 1.0;
    }

    /** Quantizes conv1's / conv2's inputs with learnable steps (either may be null). */
    void setActivationSteps(StepSizeQuantizer conv1In, StepSizeQuantizer conv2In) {
        q1 = conv1In;
        q2 = conv2In;
    }

    List<StepSizeQuantizer> activationSteps() {
        List<StepSizeQuantizer> l = new ArrayList<>();
        if (q1 != null) l.add(q1);
        if (q2 != null) l.add(q2);
        return l;
    }

    private INDArray p(GroupNorm n, String key) { return n.parameters().get(key).castTo(type).dup('c'); }

    private WeightSlot slot(Map<String, WeightSlot> slots, String path, INDArray current) {
        WeightSlot s = slots.get(path);
        return s != null ? s : WeightSlot.fixed(current, type);
    }

    /**
     * inputs: {x [B, Cin, H, W], temporal [B, C] ([B, 2C] for scale-shift; frozen emb) or SiLU(temb) [B, 4·C0]
     * (learned emb)}. The block runs channels-last inside (see {@link ChannelsLast}); its input, output and output
     * gradient are converted at the boundary.
     */
    @Override
    INDArray forward(INDArray[] in) {
        x = ChannelsLast.fromChannelFirst(in[0]);
        INDArray t1 = ChannelsLast.groupNorm(x, g1, be1, groups1, eps1, c1);
        a1 = Kernels.silu(t1);
        if (q1 != null) a1 = q1.forward(a1);
        INDArray h1 = ChannelsLast.conv2d(a1, w1.weight(type), b1, 1, 1);
        INDArray emb;
        if (learnedEmb) {
            tembAct = in[1];
            emb = Kernels.linearRows(tembAct, wp.weight(type), bp);
        } else {
            emb = in[1];
        }
        long c = h1.size(3);
        if (!scaleShift) {
            ChannelsLast.perImageChannel(h1, emb, false);
            n2pre = ChannelsLast.groupNorm(h1, g2, be2, groups2, eps2, c2);
        } else {
            n2 = ChannelsLast.groupNorm(h1, g2, be2, groups2, eps2, c2);
            scale1 = emb.get(NDArrayIndex.all(), NDArrayIndex.interval(0, c)).add(1.0);
            n2pre = n2.dup('c');
            ChannelsLast.perImageChannel(n2pre, scale1, true);
            ChannelsLast.perImageChannel(n2pre, emb.get(NDArrayIndex.all(), NDArrayIndex.interval(c, 2 * c)), false);
        }
        h1n = Kernels.silu(n2pre);
        if (q2 != null) h1n = q2.forward(h1n);
        INDArray out = ChannelsLast.conv2d(h1n, w2.weight(type), b2, 1, 1);
        out.addi(ws != null ? ChannelsLast.conv2d(x, ws.weight(type), bs, 1, 0) : x);
        if (outputScale != 1.0) out.divi(outputScale);
        return ChannelsLast.toChannelFirst(out);
    }

    @Override
    void backward(INDArray dOut) {
        INDArray d = ChannelsLast.fromChannelFirst(dOut);
        if (outputScale != 1.0) d.divi(outputScale);
        if (ws != null && ws.learner() != null) ws.backward(ChannelsLast.conv2dBackward(x, ws.current(), bs, 1, 0, d, false)[1]);
        boolean upstream = w1.learner() != null || (learnedEmb && wp.learner() != null) || q1 != null;
        INDArray[] g2b = ChannelsLast.conv2dBackward(h1n, w2.current(), b2, 1, 1, d, upstream || q2 != null);
        w2.backward(g2b[1]);
        if (!upstream) {
            if (q2 != null) q2.backward(g2b[0]);
            return;
        }
        INDArray dh1n = q2 != null ? q2.backward(g2b[0]) : g2b[0];
        INDArray dn2 = Kernels.siluBackward(n2pre, dh1n);
        INDArray demb = null;
        if (scaleShift) {
            // m = n2·(1 + scale) + shift: dn2 = dm·(1 + scale), dscale = Σ_hw dm·n2, dshift = Σ_hw dm
            INDArray dm = dn2;
            if (learnedEmb && wp.learner() != null) {
                demb = org.nd4j.linalg.factory.Nd4j.concat(1, ChannelsLast.spatialSum(dm.mul(n2)), ChannelsLast.spatialSum(dm));
            }
            dn2 = dm.dup('c');
            ChannelsLast.perImageChannel(dn2, scale1, true);
        }
        INDArray dh1 = ChannelsLast.groupNormBackward(c2[0], g2, dn2);
        if (learnedEmb && wp.learner() != null) {
            if (demb == null) demb = ChannelsLast.spatialSum(dh1);
            wp.backward(Kernels.linearRowsBackward(tembAct, wp.current(), bp, demb)[1]);
        }
        if (w1.learner() != null || q1 != null) {
            INDArray[] g1b = ChannelsLast.conv2dBackward(a1, w1.current(), b1, 1, 1, dh1, q1 != null);
            w1.backward(g1b[1]);
            if (q1 != null) q1.backward(g1b[0]);
        }
    }

    @Override
    List<AdaRoundQuantizer> learnables() {
        List<AdaRoundQuantizer> l = new ArrayList<>();
        for (WeightSlot s : new WeightSlot[] {w1, learnedEmb ? wp : null, w2, ws}) {
            if (s != null && s.learner() != null) l.add(s.learner());
        }
        return l;
    }
}
