package dev.tfmq.model.scheduler;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Seeded standard normal noise that depends only on (seed, sample index, stream), never on how samples are grouped
 * into batches or which machine draws them: a batch of 64 and two batches of 32 get identical noise for the same
 * sample indices, so distributed and resumed runs reproduce single runs exactly.
 *
 * <p>Exact algorithm (so it can be re-implemented elsewhere; all arithmetic on unsigned 64-bit words mod 2^64):
 * <pre>
 *   mix(z):  z = (z ^ (z &gt;&gt;&gt; 30)) * 0xBF58476D1CE4E5B9;  z = (z ^ (z &gt;&gt;&gt; 27)) * 0x94D049BB133111EB;  return z ^ (z &gt;&gt;&gt; 31)
 *   key    = mix(mix(mix(seed ^ 0x243F6A8885A308D3) ^ (sampleIndex + 0x13198A2E03707344)) ^ (stream + 0xA4093822299F31D0))
 *   SplitMix64 from state = key:  next() { state += 0x9E3779B97F4A7C15; return mix(state); }
 *   Box–Muller pairs:  u1 = ((next() &gt;&gt;&gt; 11) + 1) · 2^-53  (in (0, 1]),  u2 = (next() &gt;&gt;&gt; 11) · 2^-53  (in [0, 1)),
 *                      r = sqrt(−2·ln u1),  z0 = r·cos(2π·u2),  z1 = r·sin(2π·u2)   (IEEE double, java.lang.StrictMath)
 * </pre>
 * A sample of n values (n = C·H·W, C order) takes z0, z1 of the first pair, then of the second, …; for odd n the last
 * z1 is dropped. Float32 arrays receive the doubles rounded to nearest. By convention the sampler uses stream 0 for
 * the initial x_T and stream k + 1 for the noise added at step k ({@link #streamForStep}).
 */
public final class NoiseSource {
    public static final int STREAM_INITIAL = 0;

    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private final long seed;

    public NoiseSource(long seed) { this.seed = seed; }

    public long seed() { return seed; }

    public static int streamForStep(int stepIndex) { return stepIndex + 1; }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The generator key of one (sample, stream). */
    public long key(long sampleIndex, int stream) {
        long k = mix(seed ^ 0x243F6A8885A308D3L);
        k = mix(k ^ (sampleIndex + 0x13198A2E03707344L));
        return mix(k ^ (stream + 0xA4093822299F31D0L));
    }

    /** Writes the first {@code len} normal values of (sampleIndex, stream) into {@code dst[off..off+len)}. */
    public void fill(double[] dst, int off, int len, long sampleIndex, int stream) {
        Gen g = new Gen(key(sampleIndex, stream));
        for (int i = 0; i < len; i += 2) {
            g.pair();
            dst[off + i] = g.z0;
            if (i + 1 < len) dst[off + i + 1] = g.z1;
        }
    }

    /**
     * Fills a batch [B, …] (float32 or float64, contiguous C order): row b gets the noise of
     * {@code sampleIndices[b]} in the given stream.
     */
    public void fill(INDArray out, long[] sampleIndices, int stream) {
        FlatView v = FlatView.of(out, "noise output");
        long b = out.size(0);
        if (sampleIndices.length != b) {
            throw new IllegalArgumentException(sampleIndices.length + " sample indices for a batch of " + b);
        }
        int per = (int) (v.length() / b);
        for (int s = 0; s < b; s++) {
            Gen g = new Gen(key(sampleIndices[s], stream));
            int base = s * per;
            for (int i = 0; i < per; i += 2) {
                g.pair();
                v.set(base + i, g.z0);
                if (i + 1 < per) v.set(base + i + 1, g.z1);
            }
        }
    }

    private static final class Gen {
        long state;
        double z0, z1;

        Gen(long key) { state = key; }

        long next() {
            state += GOLDEN_GAMMA;
            return mix(state);
        }

        void pair() {
            double u1 = ((next() >>> 11) + 1) * 0x1.0p-53;
            double u2 = (next() >>> 11) * 0x1.0p-53;
            double r = StrictMath.sqrt(-2.0 * StrictMath.log(u1));
            double th = 2.0 * StrictMath.PI * u2;
            z0 = r * StrictMath.cos(th);
            z1 = r * StrictMath.sin(th);
        }
    }
}
