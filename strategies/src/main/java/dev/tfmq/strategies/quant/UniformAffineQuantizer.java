package dev.tfmq.strategies.quant;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Asymmetric uniform affine (fake) quantization as in the TFMQ / Q-Diffusion code (method spec §5.1):
 * q = clip(⌊x/Δ⌉ + z, 0, 2^b − 1), x̂ = Δ·(q − z), with round-half-to-even like {@code torch.round}.
 *
 * <p>Grid initialisation: {@link #minMax} (range widened to contain 0, Δ ≥ 1e−8), {@link #unsignedMax} for the
 * softmax output (z = 0), and {@link #mseSearch}: 80 shrink candidates of the raw [min, max], scored by the mean
 * |x̂ − x|^2.4, keeping the first strict minimum.
 */
public final class UniformAffineQuantizer {
    /** Exponent of the reconstruction norm used to score clipping candidates (TFMQ/Q-Diffusion: 2.4). */
    public static final double SEARCH_NORM = 2.4;
    /** Number of shrink candidates, factors 1, 0.99, …, 0.21. */
    public static final int SEARCH_CANDIDATES = 80;
    /** Smallest step size, as the released Min-Max path clamps it. */
    public static final double MIN_SCALE = 1e-8;
    public static final int MIN_BITS = 2;
    public static final int MAX_BITS = 16;

    private UniformAffineQuantizer() {}

    /** Rejects bit widths outside [2, 16]: 1 bit has no asymmetric grid, and codes are stored in 16 bits at most. */
    public static void checkBits(int bits, String what) {
        if (bits < MIN_BITS || bits > MAX_BITS) {
            throw new IllegalArgumentException(what + ": bit width " + bits + " is outside [" + MIN_BITS + ", "
                    + MAX_BITS + "]");
        }
    }

    public static int code(double x, double scale, int zeroPoint, int bits) {
        double q = Math.rint(x / scale) + zeroPoint;
        int max = (1 << bits) - 1;
        if (q < 0) return 0;
        if (q > max) return max;
        return (int) q;
    }

    public static double dequantize(int code, double scale, int zeroPoint) {
        return scale * (code - zeroPoint);
    }

    public static double fakeQuant(double x, double scale, int zeroPoint, int bits) {
        return dequantize(code(x, scale, zeroPoint, bits), scale, zeroPoint);
    }

    /** Min-Max grid over [min(lo, 0), max(hi, 0)]. */
    public static QuantGrid minMax(double lo, double hi, int bits) {
        checkBits(bits, "min-max grid");
        if (Double.isNaN(lo) || Double.isNaN(hi) || Double.isInfinite(lo) || Double.isInfinite(hi)) {
            throw new IllegalArgumentException("min-max grid over a non-finite range [" + lo + ", " + hi + "]");
        }
        double min = Math.min(lo, 0);
        double max = Math.max(hi, 0);
        double scale = Math.max((max - min) / ((1 << bits) - 1), MIN_SCALE);
        int z = (int) Math.rint(-min / scale);
        return QuantGrid.perTensor(bits, scale, z);
    }

    /** Unsigned grid [0, max] with z = 0, used for the softmax probabilities. */
    public static QuantGrid unsignedMax(double hi, int bits) {
        checkBits(bits, "unsigned grid");
        if (Double.isNaN(hi) || Double.isInfinite(hi)) {
            throw new IllegalArgumentException("unsigned grid over a non-finite maximum " + hi);
        }
        return QuantGrid.perTensor(bits, Math.max(hi / ((1 << bits) - 1), MIN_SCALE), 0);
    }

    /**
     * The MSE shrink search on {@code values[off, off+len)}: returns {Δ, z}. A candidate whose step is below
     * {@link #MIN_SCALE} or whose zero point would not fit an int (a constant or far-from-zero slice) is skipped;
     * when no candidate is usable the slice falls back to {@link #minMax}, whose zero-containing range represents a
     * constant slice exactly.
     */
    public static double[] mseSearch(double[] values, int off, int len, int bits) {
        checkBits(bits, "MSE search");
        if (len <= 0) throw new IllegalArgumentException("MSE search over an empty slice");
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = off; i < off + len; i++) {
            double v = values[i];
            if (Double.isNaN(v) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("MSE search: non-finite value " + v + " at index " + (i - off));
            }
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        int levels = (1 << bits) - 1;
        double best = Double.POSITIVE_INFINITY;
        double bestScale = 0;
        int bestZ = 0;
        for (int c = 0; c < SEARCH_CANDIDATES; c++) {
            double shrink = 1.0 - c * 0.01;
            double m = lo * shrink;
            double mx = hi * shrink;
            double scale = (mx - m) / levels;
            if (!(scale >= MIN_SCALE)) continue;
            double zd = Math.rint(-m / scale);
            if (Math.abs(zd) > (1 << 30)) continue;
            int z = (int) zd;
            double score = 0;
            for (int i = off; i < off + len; i++) {
                double d = Math.abs(fakeQuant(values[i], scale, z, bits) - values[i]);
                if (d != 0) score += Math.pow(d, SEARCH_NORM);
            }
            score /= len;
            if (score < best) {
                best = score;
                bestScale = scale;
                bestZ = z;
            }
        }
        if (bestScale == 0) {
            QuantGrid g = minMax(lo, hi, bits);
            return new double[] {g.scale(0), g.zeroPoint(0)};
        }
        return new double[] {bestScale, bestZ};
    }

    /** Per-output-channel MSE search over a weight laid out as [channels, rest] in C order. */
    public static QuantGrid perChannelMse(double[] weight, int channels, int bits) {
        int per = checkChannels(weight, channels);
        double[] s = new double[channels];
        int[] z = new int[channels];
        for (int c = 0; c < channels; c++) {
            double[] r = mseSearch(weight, c * per, per, bits);
            s[c] = r[0];
            z[c] = (int) r[1];
        }
        return new QuantGrid(bits, s, z);
    }

    /** Per-output-channel Min-Max grid (the "naive Min-Max" initialisation of the paper's Freeze ablation). */
    public static QuantGrid perChannelMinMax(double[] weight, int channels, int bits) {
        int per = checkChannels(weight, channels);
        double[] s = new double[channels];
        int[] z = new int[channels];
        for (int c = 0; c < channels; c++) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (int i = c * per; i < (c + 1) * per; i++) {
                lo = Math.min(lo, weight[i]);
                hi = Math.max(hi, weight[i]);
            }
            QuantGrid g = minMax(lo, hi, bits);
            s[c] = g.scale(0);
            z[c] = g.zeroPoint(0);
        }
        return new QuantGrid(bits, s, z);
    }

    private static int checkChannels(double[] weight, int channels) {
        if (channels <= 0 || weight.length % channels != 0 || weight.length == 0) {
            throw new IllegalArgumentException(weight.length + " weight values cannot be split into " + channels + " channels");
        }
        return weight.length / channels;
    }

    /** Integer codes of a [channels, rest] weight on a per-channel (or per-tensor) grid. */
    public static int[] codes(double[] weight, QuantGrid grid) {
        int ch = grid.channels();
        int per = checkChannels(weight, ch);
        int[] q = new int[weight.length];
        for (int c = 0; c < ch; c++) {
            double s = grid.scale(c);
            int z = grid.zeroPoint(c);
            for (int i = c * per; i < (c + 1) * per; i++) q[i] = code(weight[i], s, z, grid.bits());
        }
        return q;
    }

    /** Dequantized values of codes on a grid ([channels, rest] layout). */
    public static double[] dequantize(int[] codes, QuantGrid grid) {
        int ch = grid.channels();
        if (codes.length % ch != 0) {
            throw new IllegalArgumentException(codes.length + " codes cannot be split into " + ch + " channels");
        }
        int per = codes.length / ch;
        double[] out = new double[codes.length];
        for (int c = 0; c < ch; c++) {
            for (int i = c * per; i < (c + 1) * per; i++) out[i] = dequantize(codes[i], grid.scale(c), grid.zeroPoint(c));
        }
        return out;
    }

    /**
     * Fake-quantizes a contiguous float32/float64 array in place on a per-tensor grid. float32 arrays (every
     * activation of a quantized forward pass) go through heap chunks in parallel; each element gets the same double
     * arithmetic and single rounding to float as on the element-wise path, so results are bit-identical to it.
     */
    public static void fakeQuantInPlace(INDArray x, double scale, int zeroPoint, int bits) {
        if (x.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT && FloatAccess.isContiguousC(x)) {
            fakeQuantFloat(x, scale, zeroPoint, bits);
            return;
        }
        FloatAccess f = FloatAccess.of(x);
        long n = f.length();
        int max = (1 << bits) - 1;
        for (long i = 0; i < n; i++) {
            double q = Math.rint(f.get(i) / scale) + zeroPoint;
            if (q < 0) q = 0;
            else if (q > max) q = max;
            f.set(i, scale * (q - zeroPoint));
        }
    }

    private static final int CHUNK = 1 << 15;
    private static final ThreadLocal<float[]> CHUNKS = ThreadLocal.withInitial(() -> new float[CHUNK]);

    private static void fakeQuantFloat(INDArray x, double scale, int zeroPoint, int bits) {
        java.nio.FloatBuffer all = x.data().asNio().order(java.nio.ByteOrder.nativeOrder()).asFloatBuffer();
        int base = Math.toIntExact(x.offset());
        int n = Math.toIntExact(x.length());
        int max = (1 << bits) - 1;
        int chunks = (n + CHUNK - 1) / CHUNK;
        java.util.stream.IntStream range = java.util.stream.IntStream.range(0, chunks);
        (chunks > 4 ? range.parallel() : range).forEach(c -> {
            float[] a = CHUNKS.get();
            int from = c * CHUNK;
            int len = Math.min(CHUNK, n - from);
            all.get(base + from, a, 0, len);
            for (int i = 0; i < len; i++) {
                double q = Math.rint(a[i] / scale) + zeroPoint;
                if (q < 0) q = 0;
                else if (q > max) q = max;
                a[i] = (float) (scale * (q - zeroPoint));
            }
            all.put(base + from, a, 0, len);
        });
    }
}
