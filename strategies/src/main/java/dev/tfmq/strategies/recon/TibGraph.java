package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.unet.ResnetBlock2D;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Temporal Information Block as one reconstruction unit (TIAR, spec §2.1–2.2): sinusoidal projection →
 * linear_1 → SiLU → linear_2 → SiLU → every time_emb_proj, output = all temporal features side by side
 * [B, Σ d_i]. With the generic loss (sum over features, mean over the batch) this is exactly
 * L_TIAR = Σ_i mean_N ‖g_i(h(t)) − ĝ_i(ĥ(t))‖².
 */
final class TibGraph extends BlockGraph {
    private final DataType type;
    private final WeightSlot w1, w2;
    private final INDArray b1, b2;
    private final List<WeightSlot> proj = new ArrayList<>();
    private final List<INDArray> projBias = new ArrayList<>();
    private final int[] dims;
    private INDArray x0, h, a, e, s;

    TibGraph(UNet2DModel model, Map<String, WeightSlot> slots, DataType type) {
        this.type = type;
        Linear l1 = (Linear) model.module("time_embedding.linear_1");
        Linear l2 = (Linear) model.module("time_embedding.linear_2");
        w1 = slots.getOrDefault(l1.path(), WeightSlot.fixed(l1.weight(), type));
        w2 = slots.getOrDefault(l2.path(), WeightSlot.fixed(l2.weight(), type));
        b1 = l1.bias().castTo(type);
        b2 = l2.bias().castTo(type);
        List<ResnetBlock2D> rs = model.resnets();
        dims = new int[rs.size()];
        for (int i = 0; i < rs.size(); i++) {
            Linear p = rs.get(i).timeEmbProj();
            proj.add(slots.getOrDefault(p.path(), WeightSlot.fixed(p.weight(), type)));
            projBias.add(p.bias().castTo(type));
            dims[i] = (int) p.outFeatures();
        }
    }

    /** inputs: {sinusoidal projections [B, C0]}. */
    @Override
    INDArray forward(INDArray[] in) {
        x0 = in[0];
        h = Kernels.linearRows(x0, w1.weight(type), b1);
        a = Kernels.silu(h);
        e = Kernels.linearRows(a, w2.weight(type), b2);
        s = Kernels.silu(e);
        int total = 0;
        for (int d : dims) total += d;
        INDArray out = Nd4j.create(type, x0.size(0), total);
        int off = 0;
        for (int i = 0; i < dims.length; i++) {
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(off, off + dims[i]))
                    .assign(Kernels.linearRows(s, proj.get(i).weight(type), projBias.get(i)));
            off += dims[i];
        }
        return out;
    }

    @Override
    void backward(INDArray dOut) {
        INDArray ds = Nd4j.zeros(type, s.shape());
        int off = 0;
        for (int i = 0; i < dims.length; i++) {
            INDArray d = dOut.get(NDArrayIndex.all(), NDArrayIndex.interval(off, off + dims[i])).dup('c');
            INDArray[] g = Kernels.linearRowsBackward(s, proj.get(i).current(), projBias.get(i), d);
            proj.get(i).backward(g[1]);
            ds.addi(g[0]);
            off += dims[i];
        }
        INDArray de = Kernels.siluBackward(e, ds);
        INDArray[] g2 = Kernels.linearRowsBackward(a, w2.current(), b2, de);
        w2.backward(g2[1]);
        if (w1.learner() != null) {
            INDArray dh = Kernels.siluBackward(h, g2[0]);
            w1.backward(Kernels.linearRowsBackward(x0, w1.current(), b1, dh)[1]);
        }
    }

    @Override
    List<AdaRoundQuantizer> learnables() {
        List<AdaRoundQuantizer> l = new ArrayList<>();
        if (w1.learner() != null) l.add(w1.learner());
        if (w2.learner() != null) l.add(w2.learner());
        for (WeightSlot p : proj) if (p.learner() != null) l.add(p.learner());
        return l;
    }
}
