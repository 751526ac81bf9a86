package dev.tfmq.strategies.temporal;

import dev.tfmq.model.unet.TemporalFeatureSource;
import dev.tfmq.model.unet.TemporalFeatures;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;

import java.util.Map;

/**
 * Serves temporal features per the selection: the quantized TIB computes every member, then the members (or
 * member/time-step pairs) that chose the cache are overwritten with the cached features. When every member at
 * every time-step of the batch chose the cache, the TIB is skipped.
 *
 * <p>Online mode (a {@link DisturbanceMonitor} and {@link StrategySelector} given): at every forward pass it also
 * evaluates the FP reference, feeds both candidates' disturbance to the monitor and decides from the monitor's
 * aggregates right then — selection while the sampler runs, without an offline table.
 */
public final class SelectiveTemporalSource implements TemporalFeatureSource {
    private final TemporalFeatureCache cache;
    private final SelectionTable table;
    private final TemporalInformationBlock fp;
    private final DisturbanceMonitor monitor;
    private final StrategySelector selector;
    private SelectionTable online;

    /** Offline: decisions from a finished table. */
    public SelectiveTemporalSource(TemporalFeatureCache cache, SelectionTable table) {
        this(cache, table, null, null, null);
    }

    private SelectiveTemporalSource(TemporalFeatureCache cache, SelectionTable table, TemporalInformationBlock fp,
                                    DisturbanceMonitor monitor, StrategySelector selector) {
        this.cache = cache;
        this.table = table;
        this.fp = fp;
        this.monitor = monitor;
        this.selector = selector;
        if (monitor != null) online = new SelectionTable(selector.granularity(), selector.metric());
    }

    /** Online: measures and decides as steps run. */
    public static SelectiveTemporalSource online(TemporalFeatureCache cache, TemporalInformationBlock fp,
                                                 DisturbanceMonitor monitor, StrategySelector selector) {
        return new SelectiveTemporalSource(cache, null, fp, monitor, selector);
    }

    /** The decisions taken so far in online mode (null offline). */
    public SelectionTable onlineDecisions() { return online; }

    @Override
    public void fill(UNet2DModel model, TemporalFeatures out) {
        long[] ts = out.timesteps();
        if (monitor == null && allCache(ts)) {
            cache.fill(model, out);
            return;
        }
        model.fillFromTib(out);
        // rows of one time-step carry identical features: measure each time-step once per pass
        Map<Long, Map<String, MaintenanceStrategy>> decided = new java.util.HashMap<>();
        for (int b = 0; b < ts.length; b++) {
            long t = ts[b];
            Map<String, MaintenanceStrategy> known = decided.get(t);
            if (known != null) {
                for (String m : cache.members()) {
                    if (known.get(m) == MaintenanceStrategy.CACHE) TemporalFeatureCache.writeRow(out.projection(m), b, cache.entry(t, m).values());
                }
                continue;
            }
            known = new java.util.HashMap<>();
            decided.put(t, known);
            Map<String, double[]> ref = monitor != null ? fp.features(t) : null;
            for (String m : cache.members()) {
                MaintenanceStrategy s;
                if (monitor != null) {
                    if (!cache.contains(t)) {
                        s = handleUncached(t);
                    } else {
                        double[] tibVals = row(out.projection(m), b, cache.dim(m));
                        monitor.record(MaintenanceStrategy.TIB, m, t, ref.get(m), tibVals);
                        monitor.record(MaintenanceStrategy.CACHE, m, t, ref.get(m), cache.feature(t, m));
                        SelectionTable.Choice c = selector.decide(monitor, m, t);
                        if (selector.granularity() == SelectionTable.Granularity.MEMBER) online.put(m, c);
                        else online.put(m, t, c);
                        s = c.strategy();
                    }
                } else {
                    s = table.strategy(m, t);
                    if (s == MaintenanceStrategy.CACHE && !cache.contains(t)) s = handleUncached(t);
                }
                known.put(m, s);
                if (s == MaintenanceStrategy.CACHE) TemporalFeatureCache.writeRow(out.projection(m), b, cache.entry(t, m).values());
            }
        }
    }

    private MaintenanceStrategy handleUncached(long t) {
        if (cache.uncachedPolicy() == TemporalFeatureCache.Uncached.FAIL) {
            throw new UncachedTimestepException(t, "the selection chose the cache for it");
        }
        return MaintenanceStrategy.TIB;
    }

    private boolean allCache(long[] ts) {
        for (long t : ts) {
            if (!cache.contains(t)) return false;
            for (String m : cache.members()) {
                if (!table.has(m, t) || table.strategy(m, t) != MaintenanceStrategy.CACHE) return false;
            }
        }
        return true;
    }

    static double[] row(org.nd4j.linalg.api.ndarray.INDArray buf, int row, int dim) {
        FloatAccess f = FloatAccess.of(buf);
        double[] v = new double[dim];
        for (int i = 0; i < dim; i++) v[i] = f.get((long) row * dim + i);
        return v;
    }
}
