package dev.tfmq.strategies.temporal;

import dev.tfmq.model.unet.TemporalFeatures;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;
import dev.tfmq.strategies.quant.TimestepContext;

import java.util.Map;

/**
 * Measures both maintenance candidates against the FP TIB at a set of time-steps and feeds a monitor: the TIB
 * candidate is the live model's own TIB (quantized weights, FSC activation tables at that time-step), the cache
 * candidate is the cached vector. Also the per-time-step cosine diagnostic of the paper's Fig. 2.
 */
public final class DisturbanceProbe {
    private DisturbanceProbe() {}

    public static void measure(UNet2DModel quantized, TimestepContext ctx, TemporalInformationBlock fp,
                               TemporalFeatureCache cache, long[] timesteps, DisturbanceMonitor monitor) {
        for (long t : timesteps) {
            Map<String, double[]> ref = fp.features(t);
            Map<String, double[]> tib = quantizedTib(quantized, ctx, t);
            for (String m : fp.members()) {
                monitor.record(MaintenanceStrategy.TIB, m, t, ref.get(m), tib.get(m));
                if (cache != null) monitor.record(MaintenanceStrategy.CACHE, m, t, ref.get(m), cache.feature(t, m));
            }
        }
    }

    /** The live model's TIB output at t (run with the context set, so per-step activation tables apply). */
    public static Map<String, double[]> quantizedTib(UNet2DModel model, TimestepContext ctx, long t) {
        ctx.set(t);
        try {
            TemporalFeatures tf = model.computeTemporalFeatures(new long[] {t});
            Map<String, double[]> out = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, org.nd4j.linalg.api.ndarray.INDArray> e : tf.projections().entrySet()) {
                out.put(e.getKey(), FloatAccess.toDoubles(e.getValue()));
            }
            return out;
        } finally {
            ctx.clear();
        }
    }
}
