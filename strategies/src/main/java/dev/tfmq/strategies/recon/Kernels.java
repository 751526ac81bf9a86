package dev.tfmq.strategies.recon;

import dev.tfmq.model.nn.Ops;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import dev.tfmq.strategies.quant.FloatAccess;

/**
 * Forward and backward kernels of the UNet's building blocks for reconstruction, on float32 or float64 arrays
 * (float64 for the finite-difference checks). Each backward takes the forward's inputs (and cached intermediates)
 * and the output gradient and returns the input and parameter gradients. Conventions follow PyTorch/diffusers:
 * conv weights [O, I, kh, kw], linear weights [O, I], NCHW feature maps, channel-first attention tokens.
 */
public final class Kernels {
    private Kernels() {}

    // ---- convolution -------------------------------------------------------------------------------------

    public static INDArray conv2d(INDArray x, INDArray w, INDArray b, int stride, int pad) {
        long oh = (x.size(2) + 2L * pad - w.size(2)) / stride + 1;
        long ow = (x.size(3) + 2L * pad - w.size(3)) / stride + 1;
        INDArray out = Nd4j.createUninitialized(x.dataType(), x.size(0), w.size(0), oh, ow);
        Ops.conv2d(x, w, b, stride, pad, out);
        return out;
    }

    /** {dx, dw, db} of a convolution (ND4J's conv2d_bp; db null when b is null). */
    public static INDArray[] conv2dBackward(INDArray x, INDArray w, INDArray b, int stride, int pad, INDArray dy) {
        // conv2d_bp writes every element of its outputs
        INDArray dx = Nd4j.createUninitialized(x.dataType(), x.shape());
        INDArray dw = Nd4j.createUninitialized(w.dataType(), w.shape());
        INDArray db = b == null ? null : Nd4j.createUninitialized(b.dataType(), b.shape());
        int kh = (int) w.size(2);
        int kw = (int) w.size(3);
        DynamicCustomOp.DynamicCustomOpsBuilder op = DynamicCustomOp.builder("conv2d_bp")
                .addIntegerArguments(kh, kw, stride, stride, pad, pad, 1, 1, 0, 0, 1);
        if (b != null) op.addInputs(x, w, b, dy).addOutputs(dx, dw, db);
        else op.addInputs(x, w, dy).addOutputs(dx, dw);
        Nd4j.exec(op.build());
        return new INDArray[] {dx, dw, db};
    }

    // ---- linear --------------------------------------------------------------------------------------------

    /** Rows: [N, in] → [N, out]. */
    public static INDArray linearRows(INDArray x, INDArray w, INDArray b) {
        INDArray y = Nd4j.create(x.dataType(), x.size(0), w.size(0));
        Nd4j.gemm(x, w, y, false, true, 1.0, 0.0);
        if (b != null) y.addiRowVector(b);
        return y;
    }

    /** {dx, dw, db} for rows. */
    public static INDArray[] linearRowsBackward(INDArray x, INDArray w, INDArray b, INDArray dy) {
        INDArray dx = Nd4j.create(x.dataType(), x.shape());
        Nd4j.gemm(dy, w, dx, false, false, 1.0, 0.0);
        INDArray dw = Nd4j.create(w.dataType(), w.shape());
        Nd4j.gemm(dy, x, dw, true, false, 1.0, 0.0);
        return new INDArray[] {dx, dw, b == null ? null : dy.sum(0)};
    }

    /** Channel-first: [B, in, T] → [B, out, T], one GEMM per sample on views (no copies of W or x). */
    public static INDArray linearChannels(INDArray x, INDArray w, INDArray b) {
        long bs = x.size(0);
        INDArray y = Nd4j.createUninitialized(x.dataType(), bs, w.size(0), x.size(2));
        for (long i = 0; i < bs; i++) Nd4j.gemm(w, x.slice(i), y.slice(i), false, false, 1.0, 0.0);
        if (b != null) Ops.addChannelVector(y, b);
        return y;
    }

    public static INDArray[] linearChannelsBackward(INDArray x, INDArray w, INDArray b, INDArray dy) {
        long bs = x.size(0);
        INDArray dyc = FloatAccess.isContiguousC(dy) ? dy : dy.dup('c');
        INDArray dx = Nd4j.createUninitialized(x.dataType(), x.shape());
        INDArray dw = Nd4j.createUninitialized(w.dataType(), w.shape());
        for (long i = 0; i < bs; i++) {
            INDArray d = dyc.slice(i);
            Nd4j.gemm(w, d, dx.slice(i), true, false, 1.0, 0.0);
            // dW = Σ_b dy[b] · x[b]ᵀ, accumulated in place
            Nd4j.gemm(d, x.slice(i), dw, false, true, 1.0, i == 0 ? 0.0 : 1.0);
        }
        return new INDArray[] {dx, dw, b == null ? null : dyc.sum(0, 2)};
    }

    // ---- group norm ----------------------------------------------------------------------------------------

    /** Normalised x̂ and 1/σ per (sample, group), kept for the backward pass. */
    public record NormCache(INDArray xhat, INDArray invStd) {}

    /** y = γ·x̂ + β over [B, C, …] with {@code groups} groups; returns {y} and fills the cache. */
    public static INDArray groupNorm(INDArray x, INDArray gamma, INDArray beta, int groups, double eps, NormCache[] cache) {
        long b = x.size(0);
        long c = x.size(1);
        INDArray g = x.dup('c').reshape('c', b * groups, x.length() / (b * groups));
        INDArray mean = g.mean(1);
        INDArray var = g.var(false, 1);
        INDArray inv = Transforms.pow(var.addi(eps), -0.5, false);
        INDArray xhat = g.subiColumnVector(mean.reshape(b * groups, 1)).muliColumnVector(inv.reshape(b * groups, 1));
        INDArray xh = xhat.reshape('c', x.shape());
        cache[0] = new NormCache(xh, inv);
        INDArray y = xh.dup('c');
        INDArray y3 = y.reshape('c', b, c, x.length() / (b * c));
        Nd4j.getExecutioner().exec(new BroadcastMulOp(y3, gamma, y3, 1));
        Ops.addChannelVector(y3, beta);
        return y;
    }

    /** {dx, dγ, dβ}. */
    public static INDArray[] groupNormBackward(NormCache cache, INDArray gamma, int groups, INDArray dy) {
        INDArray xh = cache.xhat();
        long b = xh.size(0);
        long c = xh.size(1);
        long per = xh.length() / (b * c);
        INDArray dy3 = dy.reshape('c', b, c, per);
        INDArray xh3 = xh.reshape('c', b, c, per);
        INDArray dgamma = dy3.mul(xh3).sum(0, 2);
        INDArray dbeta = dy3.sum(0, 2);
        INDArray dxh = dy3.dup('c');
        Nd4j.getExecutioner().exec(new BroadcastMulOp(dxh, gamma, dxh, 1));
        long m = xh.length() / (b * groups);
        INDArray g = dxh.reshape('c', b * groups, m);
        INDArray xg = xh.reshape('c', b * groups, m);
        INDArray meanD = g.mean(1).reshape(b * groups, 1);
        INDArray meanDX = g.mul(xg).mean(1).reshape(b * groups, 1);
        INDArray dx = g.sub(meanD.broadcast(b * groups, m)).subi(xg.mulColumnVector(meanDX))
                .muliColumnVector(cache.invStd().reshape(b * groups, 1));
        return new INDArray[] {dx.reshape('c', xh.shape()), dgamma, dbeta};
    }

    // ---- SiLU ---------------------------------------------------------------------------------------------

    public static INDArray silu(INDArray x) {
        INDArray y = Nd4j.create(x.dataType(), x.shape());
        Ops.silu(x, y);
        return y;
    }

    /** d/dx [x·σ(x)] = σ(x)·(1 + x·(1 − σ(x))). */
    public static INDArray siluBackward(INDArray x, INDArray dy) {
        INDArray s = Transforms.sigmoid(x, true);
        INDArray d = s.rsub(1.0).muli(x).addi(1.0).muli(s);
        return d.muli(dy);
    }

    // ---- attention core ------------------------------------------------------------------------------------

    /** softmax(qᵀk·scale) applied to v per head: q, k, v [n·heads, d, T] → o [n·heads, d, T]; probs kept. */
    public static INDArray attention(INDArray q, INDArray k, INDArray v, double scale, INDArray[] probs) {
        long nh = q.size(0);
        long t = q.size(2);
        INDArray s = Nd4j.create(q.dataType(), nh, t, t);
        Ops.matmul(q, k, true, false, scale, s);
        Ops.softmaxLastDim(s);
        probs[0] = s;
        INDArray o = Nd4j.create(q.dataType(), q.shape());
        Ops.matmul(v, s, false, true, 1.0, o);
        return o;
    }

    /** {dq, dk, dv}. */
    public static INDArray[] attentionBackward(INDArray q, INDArray k, INDArray v, INDArray p, double scale, INDArray dO) {
        long nh = q.size(0);
        long t = q.size(2);
        INDArray dv = Nd4j.create(q.dataType(), v.shape());
        Ops.matmul(dO, p, false, false, 1.0, dv);
        INDArray dp = Nd4j.create(q.dataType(), nh, t, t);
        Ops.matmul(dO, v, true, false, 1.0, dp);
        return scoresBackward(q, k, p, dp, scale, dv);
    }

    /**
     * From dL/dP (overwritten) to {dq, dk, dv}: the softmax backward per row, dS = P ⊙ (dP − Σ_j dP·P), then the
     * gradients of S = scale·qᵀk.
     */
    private static INDArray[] scoresBackward(INDArray q, INDArray k, INDArray p, INDArray dp, double scale, INDArray dv) {
        softmaxBackwardInPlace(p, dp);
        INDArray ds = dp;
        INDArray dq = Nd4j.createUninitialized(q.dataType(), q.shape());
        Ops.matmul(k, ds, false, true, scale, dq);
        INDArray dk = Nd4j.createUninitialized(q.dataType(), k.shape());
        Ops.matmul(q, ds, false, false, scale, dk);
        return new INDArray[] {dq, dk, dv};
    }

    /**
     * dP ← P ⊙ (dP − Σ_j dP·P) per row of the last axis, in one pass per row and without temporaries (the
     * broadcast of the row sums was a full [n·heads, T, T] copy per call).
     */
    static void softmaxBackwardInPlace(INDArray p, INDArray dp) {
        if (!FloatAccess.isContiguousC(p) || !FloatAccess.isContiguousC(dp)) {
            throw new IllegalArgumentException("softmax backward needs C-contiguous probabilities and gradients");
        }
        long n = p.length();
        int row = (int) p.size(p.rank() - 1);
        if (p.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT && dp.dataType() == p.dataType()) {
            java.nio.FloatBuffer pb = p.data().asNioFloat(), db = dp.data().asNioFloat();
            int po = (int) p.offset(), dof = (int) dp.offset();
            for (long r = 0; r < n; r += row) {
                int a = po + (int) r, d = dof + (int) r;
                double dot = 0;
                for (int j = 0; j < row; j++) dot += db.get(d + j) * pb.get(a + j);
                float fd = (float) dot;
                for (int j = 0; j < row; j++) db.put(d + j, pb.get(a + j) * (db.get(d + j) - fd));
            }
            return;
        }
        FloatAccess pa = FloatAccess.of(p), da = FloatAccess.of(dp);
        for (long r = 0; r < n; r += row) {
            double dot = 0;
            for (int j = 0; j < row; j++) dot += da.get(r + j) * pa.get(r + j);
            for (int j = 0; j < row; j++) da.set(r + j, pa.get(r + j) * (da.get(r + j) - dot));
        }
    }

    /** softmax(qᵀk·scale) per head: [n·heads, T, T]. */
    public static INDArray softmaxScores(INDArray q, INDArray k, double scale) {
        INDArray s = Nd4j.create(q.dataType(), q.size(0), q.size(2), q.size(2));
        Ops.matmul(q, k, true, false, scale, s);
        Ops.softmaxLastDim(s);
        return s;
    }

    /** o = v·Pᵀ per head. */
    public static INDArray applyProbs(INDArray v, INDArray p) {
        INDArray o = Nd4j.create(v.dataType(), v.shape());
        Ops.matmul(v, p, false, true, 1.0, o);
        return o;
    }

    /** {dq, dk, dv} when the probabilities were fake-quantized (by {@code probsQuant}, whose last input was P). */
    static INDArray[] attentionBackwardQuantizedProbs(INDArray q, INDArray k, INDArray v, INDArray p,
                                                      StepSizeQuantizer probsQuant, double scale, INDArray dO) {
        INDArray pq = probsQuant.forwardCachedOutput();
        INDArray dv = Nd4j.create(q.dataType(), v.shape());
        Ops.matmul(dO, pq, false, false, 1.0, dv);
        INDArray dpq = Nd4j.create(q.dataType(), p.shape());
        Ops.matmul(dO, v, true, false, 1.0, dpq);
        return scoresBackward(q, k, p, probsQuant.backward(dpq), scale, dv);
    }

    // ---- nearest upsampling ---------------------------------------------------------------------------------

    public static INDArray upsample2x(INDArray x) {
        INDArray y = Nd4j.create(x.dataType(), x.size(0), x.size(1), 2 * x.size(2), 2 * x.size(3));
        Ops.upsampleNearest2x(x, y);
        return y;
    }

    /** Each input pixel receives the sum of the gradients of its 2×2 copies. */
    public static INDArray upsample2xBackward(INDArray dy) {
        long b = dy.size(0), c = dy.size(1), h = dy.size(2) / 2, w = dy.size(3) / 2;
        return dy.dup('c').reshape('c', b, c, h, 2, w, 2).sum(3, 5);
    }
}
