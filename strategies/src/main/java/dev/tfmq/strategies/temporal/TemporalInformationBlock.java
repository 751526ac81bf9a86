package dev.tfmq.strategies.temporal;

import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.unet.ResnetBlock2D;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Temporal Information Block (method spec §1): t → sinusoidal projection → linear_1 → SiLU → linear_2 = temb,
 * then for every ResnetBlock2D i the temporal feature g_i = time_emb_proj_i(SiLU(temb)). This class holds a
 * double-precision copy of the TIB weights taken when it is built, so it is the full-precision reference the
 * disturbance measurements, the cache and TIAR compare against, independent of what is later installed in the
 * live model.
 */
public final class TemporalInformationBlock {
    private final UNet2DModel model;
    private final double[] w1, b1, w2, b2;
    private final int proj, emb;
    private final List<String> members = new ArrayList<>();
    private final Map<String, double[]> memberW = new LinkedHashMap<>();
    private final Map<String, double[]> memberB = new LinkedHashMap<>();
    private final Map<String, Integer> memberDim = new LinkedHashMap<>();

    /** Captures the model's current TIB weights (call it on the full-precision model, before quantization). */
    public TemporalInformationBlock(UNet2DModel model) {
        this.model = model;
        Linear l1 = (Linear) model.module("time_embedding.linear_1");
        Linear l2 = (Linear) model.module("time_embedding.linear_2");
        w1 = FloatAccess.toDoubles(l1.weight());
        b1 = FloatAccess.toDoubles(l1.bias());
        w2 = FloatAccess.toDoubles(l2.weight());
        b2 = FloatAccess.toDoubles(l2.bias());
        proj = (int) l1.inFeatures();
        emb = (int) l1.outFeatures();
        for (ResnetBlock2D r : model.resnets()) {
            Linear p = r.timeEmbProj();
            members.add(p.path());
            memberW.put(p.path(), FloatAccess.toDoubles(p.weight()));
            memberB.put(p.path(), FloatAccess.toDoubles(p.bias()));
            memberDim.put(p.path(), (int) p.outFeatures());
        }
    }

    /** The time_emb_proj paths in forward order: the TIB's outputs. */
    public List<String> members() { return Collections.unmodifiableList(members); }

    public int dim(String member) {
        Integer d = memberDim.get(member);
        if (d == null) throw new IllegalArgumentException("'" + member + "' is not a TIB member; members are " + members);
        return d;
    }

    /** Σ_i d_i: the number of temporal-feature values per time-step. */
    public int totalDim() { return memberDim.values().stream().mapToInt(Integer::intValue).sum(); }

    public int embeddingDim() { return emb; }

    /** temb = linear_2(SiLU(linear_1(proj(t)))) in double precision. */
    public double[] embedding(long t) {
        double[] p = model.timeEmbedding().projection(new long[] {t})[0];
        double[] h = affine(w1, b1, p, emb, proj);
        for (int i = 0; i < h.length; i++) h[i] = silu(h[i]);
        return affine(w2, b2, h, emb, emb);
    }

    /** Every temporal feature g_i(h(t)) by member path. */
    public Map<String, double[]> features(long t) {
        double[] e = embedding(t);
        double[] a = new double[e.length];
        for (int i = 0; i < e.length; i++) a[i] = silu(e[i]);
        Map<String, double[]> out = new LinkedHashMap<>();
        for (String m : members) out.put(m, affine(memberW.get(m), memberB.get(m), a, memberDim.get(m), emb));
        return out;
    }

    static double[] affine(double[] w, double[] b, double[] x, int out, int in) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b[o];
            int off = o * in;
            for (int i = 0; i < in; i++) s += w[off + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    static double silu(double x) { return x / (1 + Math.exp(-x)); }
}
