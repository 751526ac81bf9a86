package dev.tfmq.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * Entry point to the Vector API kernels: moves data between ND4J's native buffers and reusable heap arrays and
 * calls {@link VectorMath}. When the JVM runs without {@code --add-modules jdk.incubator.vector} (or the
 * property {@code tfmq.kernels=nd4j} is set), {@link #enabled()} is false and callers use the ND4J op chains,
 * which compute the same functions.
 */
public final class FusedKernels {
    private static final boolean AVAILABLE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"nd4j".equals(System.getProperty("tfmq.kernels"));

    private static boolean forcedOff;

    private FusedKernels() {}

    /** Whether the fused kernels serve float32 forward passes. */
    public static boolean enabled() { return AVAILABLE && !forcedOff; }

    /** Switches the fused kernels off (tests compare both paths); returns the previous state. */
    public static boolean setEnabled(boolean on) {
        boolean was = enabled();
        forcedOff = !on;
        return was;
    }

    /** Reusable heap staging arrays, one set per owner (a module), grown on demand and never shrunk. */
    public static final class Staging {
        private final float[][] arrays = new float[6][];

        float[] get(int slot, long n) {
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor of " + n + " elements is too large");
            float[] a = arrays[slot];
            if (a == null || a.length < n) {
                a = new float[(int) n];
                arrays[slot] = a;
            }
            return a;
        }
    }

    static FloatBuffer floats(INDArray a) {
        if (a.dataType() != DataType.FLOAT || !Host.isContiguousC(a)) {
            throw new IllegalArgumentException("fused kernels need contiguous c-order float32, got " + a.shapeInfoToString());
        }
        FloatBuffer f = a.data().asNio().order(ByteOrder.nativeOrder()).asFloatBuffer();
        f.position((int) a.offset());
        return f.slice();
    }

    static void load(INDArray src, float[] dst) {
        floats(src).get(dst, 0, (int) src.length());
    }

    static void store(float[] src, INDArray dst) {
        floats(dst).put(src, 0, (int) dst.length());
    }

    /** GroupNorm (+SiLU) of x [B, C, ...] into out, gamma/beta as float arrays. */
    public static void groupNorm(Staging st, INDArray x, INDArray out, int groups, float[] gamma, float[] beta, double eps,
                          boolean silu) {
        long b = x.size(0);
        long c = x.size(1);
        long hw = x.length() / (b * c);
        float[] in = st.get(0, x.length());
        float[] res = st.get(1, x.length());
        load(x, in);
        VectorMath.groupNorm(in, res, (int) b, (int) c, (int) hw, groups, gamma, beta, eps, silu);
        store(res, out);
    }

    /** Attention core over channel-first q, k, v [B, heads·d, T] into o. */
    public static void attention(Staging st, INDArray q, INDArray k, INDArray v, INDArray o, int heads, int d, float scale) {
        long n = q.length();
        float[] qa = st.get(0, n);
        float[] ka = st.get(1, n);
        float[] va = st.get(2, n);
        float[] oa = st.get(3, n);
        load(q, qa);
        load(k, ka);
        load(v, va);
        VectorMath.attention(qa, ka, va, oa, (int) q.size(0), heads, d, (int) q.size(2), scale);
        store(oa, o);
    }

    /** Channel-first linear layer: x [B, cin, T] → y [B, cout, T] with weight [cout, cin] and optional bias. */
    public static void channelLinear(Staging st, float[] weight, float[] bias, INDArray x, INDArray y) {
        int b = (int) x.size(0);
        int cin = (int) x.size(1);
        int t = (int) x.size(2);
        int cout = (int) y.size(1);
        float[] xa = st.get(0, x.length());
        float[] ya = st.get(1, y.length());
        load(x, xa);
        VectorMath.channelLinear(weight, bias, xa, ya, b, cout, cin, t);
        store(ya, y);
    }

    /**
     * GroupNorm (+SiLU) of channels-last x [B, H, W, C] into out, with the optional per-(image, channel) terms
     * of {@link VectorMath#groupNormChannelsLast}: {@code pre} [B, C] added before normalising, {@code postScale}
     * (the factor itself, i.e. 1 + scale) and {@code postShift} [B, C] applied after.
     */
    public static void groupNormChannelsLast(Staging st, INDArray x, INDArray out, int groups, float[] gamma,
                                             float[] beta, double eps, boolean silu, INDArray pre,
                                             INDArray postScale, INDArray postShift) {
        long b = x.size(0);
        long c = x.size(x.rank() - 1);
        long hw = x.length() / (b * c);
        float[] p = null;
        float[] ps = null;
        float[] pt = null;
        if (pre != null) load(pre, p = st.get(2, pre.length()));
        if (postScale != null) {
            load(postScale, ps = st.get(3, postScale.length()));
            load(postShift, pt = st.get(4, postShift.length()));
        }
        VectorMath.groupNormChannelsLast(floats(x), floats(out), (int) b, (int) hw, (int) c, groups, gamma, beta, eps,
                silu, p, ps, pt);
    }

    /** Attention core over token-major q, k, v [B, T, heads·d] into o (same shape). */
    public static void attentionTokens(INDArray q, INDArray k, INDArray v, INDArray o, int heads, int d,
                                       float scale) {
        int b = (int) q.size(0);
        int c = heads * d;
        VectorMath.attentionTokens(floats(q), 0, floats(k), 0, floats(v), 0, c, null, null, null, floats(o), b, heads, d,
                (int) (q.length() / (b * (long) c)), scale);
    }

    /**
     * Attention core over one packed projection qkv [B, T, 3·heads·d] (q | k | v per token, without their
     * biases, which the kernel adds while gathering) into o [B, T, heads·d].
     */
    public static void attentionPacked(INDArray qkv, float[] bq, float[] bk, float[] bv, INDArray o,
                                       int heads, int d, float scale) {
        int b = (int) qkv.size(0);
        int c = heads * d;
        int t = (int) (o.length() / (b * (long) c));
        FloatBuffer in = floats(qkv);
        VectorMath.attentionTokens(in, 0, in, c, in, 2 * c, 3 * c, bq, bk, bv, floats(o), b, heads, d, t, scale);
    }
}
