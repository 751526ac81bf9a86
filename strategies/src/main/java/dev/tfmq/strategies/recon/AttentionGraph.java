package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.GroupNorm;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.unet.AttentionBlock;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The spatial attention block as a reconstruction graph (group norm, q/k/v, softmax attention, out, residual). */
final class AttentionGraph extends BlockGraph {
    private final DataType type;
    private final INDArray gamma, beta, bq, bk, bv, bo;
    private final int groups, heads, headDim;
    private final double eps, rescale;
    private final boolean norm;
    private final WeightSlot wq, wk, wv, wo;
    private INDArray n, q, k, v, o, p;
    private final Kernels.NormCache[] cache = new Kernels.NormCache[1];

    AttentionGraph(UNet2DModel model, AttentionBlock a, Map<String, WeightSlot> slots, DataType type) {
        this.type = type;
        norm = a.hasGroupNorm();
        if (norm) {
            GroupNorm g = (GroupNorm) model.module(a.path() + ".group_norm");
            gamma = g.parameters().get(g.path() + ".weight").castTo(type).dup('c');
            beta = g.parameters().get(g.path() + ".bias").castTo(type).dup('c');
            groups = g.groups();
            eps = g.eps();
        } else {
            gamma = null;
            beta = null;
            groups = 0;
            eps = 0;
        }
        heads = a.heads();
        headDim = a.headDim();
        wq = slot(slots, a.toQ());
        wk = slot(slots, a.toK());
        wv = slot(slots, a.toV());
        wo = slot(slots, a.toOut());
        bq = a.toQ().bias().castTo(type);
        bk = a.toK().bias().castTo(type);
        bv = a.toV().bias().castTo(type);
        bo = a.toOut().bias().castTo(type);
        rescale = a.path().startsWith("mid_block.") ? model.config().midBlockScaleFactor() : 1.0;
    }

    private WeightSlot slot(Map<String, WeightSlot> slots, Linear l) {
        WeightSlot s = slots.get(l.path());
        return s != null ? s : WeightSlot.fixed(l.weight(), type);
    }

    @Override
    INDArray forward(INDArray[] in) {
        INDArray x = in[0];
        long b = x.size(0), c = x.size(1), t = x.size(2) * x.size(3);
        INDArray x3 = x.reshape('c', b, c, t);
        n = norm ? Kernels.groupNorm(x3, gamma, beta, groups, eps, cache) : x3.dup('c');
        q = Kernels.linearChannels(n, wq.weight(type), bq);
        k = Kernels.linearChannels(n, wk.weight(type), bk);
        v = Kernels.linearChannels(n, wv.weight(type), bv);
        INDArray[] probs = new INDArray[1];
        o = Kernels.attention(heads(q), heads(k), heads(v), 1.0 / Math.sqrt(headDim), probs).reshape('c', b, c, t);
        p = probs[0];
        INDArray y = Kernels.linearChannels(o, wo.weight(type), bo).addi(x3);
        if (rescale != 1.0) y.divi(rescale);
        return y.reshape('c', x.shape());
    }

    private INDArray heads(INDArray a) { return a.reshape('c', a.size(0) * heads, headDim, a.size(2)); }

    @Override
    void backward(INDArray dOut) {
        long b = o.size(0), c = o.size(1), t = o.size(2);
        INDArray d = dOut.reshape('c', b, c, t);
        if (rescale != 1.0) d = d.div(rescale);
        INDArray[] go = Kernels.linearChannelsBackward(o, wo.current(), bo, d);
        wo.backward(go[1]);
        if (wq.learner() == null && wk.learner() == null && wv.learner() == null) return;
        INDArray[] ga = Kernels.attentionBackward(heads(q), heads(k), heads(v), p, 1.0 / Math.sqrt(headDim),
                heads(go[0].dup('c')));
        wq.backward(Kernels.linearChannelsBackward(n, wq.current(), bq, ga[0].reshape('c', b, c, t))[1]);
        wk.backward(Kernels.linearChannelsBackward(n, wk.current(), bk, ga[1].reshape('c', b, c, t))[1]);
        wv.backward(Kernels.linearChannelsBackward(n, wv.current(), bv, ga[2].reshape('c', b, c, t))[1]);
    }

    @Override
    List<AdaRoundQuantizer> learnables() {
        List<AdaRoundQuantizer> l = new ArrayList<>();
        for (WeightSlot s : new WeightSlot[] {wq, wk, wv, wo}) if (s.learner() != null) l.add(s.learner());
        return l;
    }
}
