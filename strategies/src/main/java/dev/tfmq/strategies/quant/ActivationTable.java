package dev.tfmq.strategies.quant;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The quantization grid(s) of one activation: either one grid for every time-step (baselines; non-TIB layers
 * under the paper's FSC scope) or one grid per sampling time-step (FSC). Empty until calibrated.
 */
public final class ActivationTable {
    private QuantGrid shared;
    private final NavigableMap<Long, QuantGrid> perStep = new TreeMap<>();

    public boolean isPerStep() { return !perStep.isEmpty(); }

    public boolean isEmpty() { return shared == null && perStep.isEmpty(); }

    public QuantGrid shared() { return shared; }

    public Map<Long, QuantGrid> perStep() { return Collections.unmodifiableMap(perStep); }

    public void setShared(QuantGrid g) {
        perStep.clear();
        shared = g;
    }

    public void setStep(long t, QuantGrid g) {
        shared = null;
        perStep.put(t, g);
    }

    public void clear() {
        shared = null;
        perStep.clear();
    }

    public long[] timesteps() { return perStep.keySet().stream().mapToLong(Long::longValue).toArray(); }

    /** The grid to use at time-step t ({@code t} is ignored for a shared grid). */
    public QuantGrid lookup(String site, long t, UnknownTimestepPolicy policy) {
        if (shared != null) return shared;
        QuantGrid g = perStep.get(t);
        if (g != null) return g;
        if (perStep.isEmpty()) throw new IllegalStateException("activation quantizer '" + site + "' is not calibrated");
        if (policy == UnknownTimestepPolicy.FAIL) {
            throw new IllegalStateException("activation quantizer '" + site + "' has no parameters for time-step " + t
                    + "; it was calibrated for " + perStep.size() + " time-steps " + preview()
                    + " (set unknown-timestep = nearest to reuse the closest one)");
        }
        Map.Entry<Long, QuantGrid> lo = perStep.floorEntry(t);
        Map.Entry<Long, QuantGrid> hi = perStep.ceilingEntry(t);
        if (lo == null) return hi.getValue();
        if (hi == null) return lo.getValue();
        return t - lo.getKey() <= hi.getKey() - t ? lo.getValue() : hi.getValue();
    }

    private String preview() {
        long[] ts = timesteps();
        return ts.length <= 8 ? Arrays.toString(ts) : Arrays.toString(Arrays.copyOf(ts, 8)).replace("]", ", …]");
    }
}
