package dev.tfmq.strategies.temporal;

import dev.tfmq.model.unet.TemporalFeatureSource;
import dev.tfmq.model.unet.TemporalFeatures;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;
import dev.tfmq.strategies.quant.QuantGrid;
import dev.tfmq.strategies.quant.UniformAffineQuantizer;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Cache-based maintenance (journal extension; our design, GUESS per spec §4.2). For every time-step τ of the
 * deployed schedule and every TIB member i, the full-precision temporal feature g_i(h(τ)) is computed once, offline,
 * and stored quantized with its own asymmetric Min-Max grid per (τ, i). At inference the whole TIB is skipped and
 * the dequantized vector is served through the runtime's {@link TemporalFeatureSource}.
 *
 * <p>Why per-(step, member) grids: a member's feature range changes by orders of magnitude across t, so one grid
 * per member would waste most of the codes at the small-range steps; a grid per vector costs 8 bytes next to
 * d_i·b/8 bytes of codes. Why FP targets: the cached value has no quantized TIB weights or activations in its
 * path, so its only error is the rounding of the vector itself (≤ Δ/2 per element) — the "quantized counterpart"
 * the abstract describes, with no reconstruction needed.
 *
 * <p>Memory (what a deployment stores): N·Σ_i ⌈d_i·b/8⌉ bytes of codes + N·n·8 bytes of (float32 Δ, int32 z).
 * The embedding temb itself is not cached: outside the TIB the UNet never reads it, so a pure-cache forward fills
 * it with NaN — any consumer that would wrongly rely on it fails loudly instead of computing with stale data.
 */
public final class TemporalFeatureCache implements TemporalFeatureSource {
    /** What happens at a time-step that is not cached. */
    public enum Uncached { FAIL, FALLBACK }

    /** One cached (time-step, member) vector: its codes and grid, and the dequantized values served. */
    public record Entry(int[] codes, float scale, int zeroPoint, double[] values) {}

    private final List<String> members;
    private final Map<String, Integer> dims = new LinkedHashMap<>();
    private final int bits;
    private final Uncached uncached;
    private final NavigableMap<Long, Map<String, Entry>> entries = new TreeMap<>();

    public TemporalFeatureCache(List<String> members, Map<String, Integer> dims, int bits, Uncached uncached) {
        UniformAffineQuantizer.checkBits(bits, "temporal-feature cache");
        this.members = List.copyOf(members);
        for (String m : members) {
            Integer d = dims.get(m);
            if (d == null || d <= 0) throw new IllegalArgumentException("cache member '" + m + "' has no dimension");
            this.dims.put(m, d);
        }
        this.bits = bits;
        this.uncached = uncached;
    }

    /** Builds the cache from the full-precision TIB for every time-step of the schedule. */
    public static TemporalFeatureCache build(TemporalInformationBlock fp, long[] timesteps, int bits, Uncached uncached) {
        Map<String, Integer> dims = new LinkedHashMap<>();
        for (String m : fp.members()) dims.put(m, fp.dim(m));
        TemporalFeatureCache c = new TemporalFeatureCache(fp.members(), dims, bits, uncached);
        for (long t : timesteps) {
            Map<String, double[]> f = fp.features(t);
            for (String m : fp.members()) c.put(t, m, f.get(m));
        }
        return c;
    }

    /** Quantizes and stores one FP feature vector. */
    public void put(long t, String member, double[] fpValues) {
        double lo = Arrays.stream(fpValues).min().orElseThrow();
        double hi = Arrays.stream(fpValues).max().orElseThrow();
        QuantGrid g = UniformAffineQuantizer.minMax(lo, hi, bits);
        // the stored scale is float32, and the served values are rebuilt from exactly what an artifact stores
        float s = (float) g.scale(0);
        int z = (int) Math.rint(-Math.min(lo, 0) / s);
        int[] codes = new int[fpValues.length];
        for (int i = 0; i < codes.length; i++) codes[i] = UniformAffineQuantizer.code(fpValues[i], s, z, bits);
        putCodes(t, member, codes, s, z);
    }

    /** Stores codes with their grid (artifact loading). */
    public void putCodes(long t, String member, int[] codes, float scale, int zeroPoint) {
        Integer d = dims.get(member);
        if (d == null) throw new IllegalArgumentException("'" + member + "' is not a cache member");
        if (codes.length != d) throw new IllegalArgumentException(member + ": " + codes.length + " codes for dimension " + d);
        if (!(scale > 0)) throw new IllegalArgumentException(member + " at t=" + t + ": cache scale " + scale + " is not positive");
        int max = (1 << bits) - 1;
        double[] v = new double[d];
        for (int i = 0; i < d; i++) {
            if (codes[i] < 0 || codes[i] > max) {
                throw new IllegalArgumentException(member + " at t=" + t + ": code " + codes[i] + " outside [0, " + max + "]");
            }
            v[i] = UniformAffineQuantizer.dequantize(codes[i], scale, zeroPoint);
        }
        entries.computeIfAbsent(t, k -> new LinkedHashMap<>()).put(member, new Entry(codes.clone(), scale, zeroPoint, v));
    }

    public List<String> members() { return members; }

    public int dim(String member) { return dims.get(member); }

    public int bits() { return bits; }

    public Uncached uncachedPolicy() { return uncached; }

    public boolean contains(long t) {
        Map<String, Entry> e = entries.get(t);
        return e != null && e.size() == members.size();
    }

    public long[] timesteps() { return entries.keySet().stream().mapToLong(Long::longValue).toArray(); }

    public Entry entry(long t, String member) {
        Map<String, Entry> e = entries.get(t);
        if (e == null || !e.containsKey(member)) throw new UncachedTimestepException(t, "cached: " + describe());
        return e.get(member);
    }

    /** The dequantized cached feature. */
    public double[] feature(long t, String member) { return entry(t, member).values().clone(); }

    public Map<Long, Map<String, Entry>> entries() { return Collections.unmodifiableMap(entries); }

    /** Deployment memory: packed codes plus a float32 scale and int32 zero point per (step, member). */
    public long packedBytes() {
        long perStep = 0;
        for (int d : dims.values()) perStep += ((long) d * bits + 7) / 8 + 8;
        return perStep * entries.size();
    }

    /** What the same features would take in float32. */
    public long float32Bytes() {
        return 4L * dims.values().stream().mapToInt(Integer::intValue).sum() * entries.size();
    }

    @Override
    public void fill(UNet2DModel model, TemporalFeatures out) {
        long[] ts = out.timesteps();
        boolean allCached = true;
        for (long t : ts) allCached &= contains(t);
        if (!allCached) {
            if (uncached == Uncached.FAIL) {
                for (long t : ts) if (!contains(t)) throw new UncachedTimestepException(t, "cached: " + describe());
            }
            // fall back: the model's own (quantized) TIB for the whole batch, cached rows overwritten below
            model.fillFromTib(out);
        } else {
            out.embedding().assign(Double.NaN);
        }
        for (int b = 0; b < ts.length; b++) {
            if (!contains(ts[b])) continue;
            for (String m : members) writeRow(out.projection(m), b, entry(ts[b], m).values());
        }
    }

    static void writeRow(INDArray buf, int row, double[] v) {
        FloatAccess f = FloatAccess.of(buf);
        long off = (long) row * v.length;
        for (int i = 0; i < v.length; i++) f.set(off + i, v[i]);
    }

    private String describe() {
        long[] ts = timesteps();
        return ts.length + " time-steps " + (ts.length <= 8 ? Arrays.toString(ts)
                : Arrays.toString(Arrays.copyOf(ts, 8)).replace("]", ", …]"));
    }
}
