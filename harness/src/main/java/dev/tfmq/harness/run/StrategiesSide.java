package dev.tfmq.harness.run;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.model.unet.TemporalFeatureSource;
import dev.tfmq.model.unet.TemporalFeatures;
import dev.tfmq.strategies.recipe.QuantizedModel;
import dev.tfmq.strategies.temporal.DisturbanceMetric;
import dev.tfmq.strategies.temporal.MaintenanceStrategy;
import dev.tfmq.strategies.temporal.SelectionMeasure;
import dev.tfmq.strategies.temporal.SelectiveTemporalSource;
import dev.tfmq.strategies.temporal.TemporalFeatureCache;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A strategies-module {@link QuantizedModel} as the quantized side. Its candidate strategies are the temporal-feature
 * paths the artifact really holds: {@code tib} (the quantized TIB: TIAR weights, FSC activation ranges) when the
 * recipe keeps a TIB path, {@code cache} (the quantized pre-computed features) when the artifact has a cache.
 * A recipe with disturbance-aware selection ({@code tfmq}) has both, and the harness's selector decides between them
 * online from the measured disturbance; the table it sends replaces the one chosen at calibration time.
 *
 * <p>A {@code tfmq} artifact selected by the output error ({@code recipe.temporal.selection.measure = output}) offers
 * its calibration-time table ({@link #calibratedSelection}): the run starts from it and revises it online, and
 * {@link #predictWith} serves every member by one candidate for the online probe.
 *
 * <p>The embedding {@code time_embedding} is not cacheable (only TIB members read it, and a pure-cache forward never
 * computes it), so under both candidates this side reports the quantized TIB's embedding: the two measure alike,
 * the tie goes to {@code tib}, and a selection of {@code cache} for it would be refused.
 */
public final class StrategiesSide implements DenoiserSide {
    public static final String TIB = SelectionTable.TIB;
    public static final String CACHE = SelectionTable.CACHE;

    private final QuantizedModel qm;
    private final List<String> members;
    private final List<String> strategies;
    private TemporalFeatureSource applied;

    public StrategiesSide(QuantizedModel qm) {
        this.qm = qm;
        this.members = new UNetSide("view", qm.model()).members();
        TemporalFeatureCache cache = qm.cache();
        if (cache == null) strategies = List.of(TIB);
        else if (qm.selection() == null) strategies = List.of(CACHE);
        else strategies = List.of(TIB, CACHE);
        this.applied = qm.temporalSource();
    }

    @Override public String label() { return "quantized"; }

    @Override public List<String> members() { return members; }

    @Override public List<String> strategies() { return strategies; }

    @Override
    public Map<String, float[]> temporalFeatures(long t, String strategy) {
        if (!strategies.contains(strategy)) {
            throw new IllegalArgumentException("quantized side offers strategies " + strategies + ", asked for '" + strategy + "'");
        }
        return fill(t, strategy.equals(CACHE) ? qm.cache() : null);
    }

    @Override
    public Map<String, float[]> appliedTemporalFeatures(long t) {
        return fill(t, applied);
    }

    /** Features of time-step t from a source (null: the quantized TIB), with the TIB's embedding (see class doc). */
    private Map<String, float[]> fill(long t, TemporalFeatureSource source) {
        long[] ts = {t};
        qm.context().set(t);
        try {
            TemporalFeatures tib = qm.model().temporalBuffers(ts);
            qm.model().fillFromTib(tib);
            Map<String, float[]> out = UNetSide.features(tib);
            if (source != null) {
                TemporalFeatures tf = qm.model().temporalBuffers(ts);
                source.fill(qm.model(), tf);
                Map<String, float[]> fromSource = UNetSide.features(tf);
                fromSource.put(UNetSide.EMBEDDING, out.get(UNetSide.EMBEDDING));
                out = fromSource;
            }
            return out;
        } finally {
            qm.context().clear();
        }
    }

    @Override
    public Optional<SelectionTable> calibratedSelection() {
        var t = qm.selection();
        if (t == null || t.measure() != SelectionMeasure.OUTPUT || strategies.size() < 2) return Optional.empty();
        Map<Long, String> serving = new LinkedHashMap<>();
        Map<Long, Map<String, Double>> errors = new LinkedHashMap<>();
        t.perTimestep().forEach((ts, c) -> {
            serving.put(ts, c.strategy() == MaintenanceStrategy.CACHE ? CACHE : TIB);
            errors.put(ts, Map.of(TIB, c.tib(), CACHE, c.cache()));
        });
        return Optional.of(SelectionTable.byOutput(strategies, cacheable(), serving, errors));
    }

    /** The members a cache can serve: every time_emb_proj, not the embedding. */
    private List<String> cacheable() {
        return members.stream().filter(m -> !m.equals(UNetSide.EMBEDDING)).toList();
    }

    @Override
    public void predictWith(String strategy, INDArray sample, long[] timesteps, INDArray out) {
        if (!strategies.contains(strategy)) {
            throw new IllegalArgumentException("quantized side offers strategies " + strategies + ", asked for '" + strategy + "'");
        }
        // null: the model's own quantized TIB
        qm.model().setTemporalFeatureSource(strategy.equals(CACHE) ? qm.cache() : null);
        try {
            qm.predict(sample, timesteps, out);
        } finally {
            qm.model().setTemporalFeatureSource(applied);
        }
    }

    @Override
    public void apply(SelectionTable table) {
        for (String c : table.counts().keySet()) {
            if (!strategies.contains(c)) throw new IllegalArgumentException("quantized side cannot apply strategy '" + c + "' (offers " + strategies + ")");
        }
        if (strategies.size() == 1) {
            // nothing to choose: the artifact's own path stays in place
            applied = qm.temporalSource();
            qm.model().setTemporalFeatureSource(applied);
            return;
        }
        applied = new SelectiveTemporalSource(qm.cache(), toStrategiesTable(table));
        qm.model().setTemporalFeatureSource(applied);
    }

    /** The harness's decision as the strategies module's table, with the mean disturbance of both candidates. */
    static dev.tfmq.strategies.temporal.SelectionTable toStrategiesTable(SelectionTable table) {
        if (table.byOutput()) {
            var out = new dev.tfmq.strategies.temporal.SelectionTable(dev.tfmq.strategies.temporal.SelectionTable.Granularity.STEP,
                    DisturbanceMetric.REL_L2, SelectionMeasure.OUTPUT);
            table.serving().forEach((t, c) -> {
                Map<String, Double> e = table.stepMeasured().getOrDefault(t, Map.of());
                out.put(t, new dev.tfmq.strategies.temporal.SelectionTable.Choice(strategy(c), e.getOrDefault(TIB, Double.NaN),
                        e.getOrDefault(CACHE, Double.NaN)));
            });
            return out;
        }
        var g = table.mode().equals("per-step") ? dev.tfmq.strategies.temporal.SelectionTable.Granularity.MEMBER_STEP
                : dev.tfmq.strategies.temporal.SelectionTable.Granularity.MEMBER;
        var metric = table.metric().equals("cosine") ? DisturbanceMetric.COSINE : DisturbanceMetric.REL_L2;
        var out = new dev.tfmq.strategies.temporal.SelectionTable(g, metric);
        for (Map.Entry<String, String> e : table.perMember().entrySet()) {
            String m = e.getKey();
            if (m.equals(UNetSide.EMBEDDING)) {
                if (!e.getValue().equals(TIB)) throw new IllegalArgumentException("'" + m + "' is not cacheable: it can only use the TIB");
                continue;
            }
            Map<String, Double> measured = table.measured().getOrDefault(m, Map.of());
            double tib = measured.getOrDefault(TIB, Double.NaN), cache = measured.getOrDefault(CACHE, Double.NaN);
            if (g == dev.tfmq.strategies.temporal.SelectionTable.Granularity.MEMBER) {
                out.put(m, new dev.tfmq.strategies.temporal.SelectionTable.Choice(strategy(e.getValue()), tib, cache));
            } else {
                for (Map.Entry<Long, Map<String, String>> step : table.perStep().entrySet()) {
                    out.put(m, step.getKey(), new dev.tfmq.strategies.temporal.SelectionTable.Choice(
                            strategy(step.getValue().get(m)), tib, cache));
                }
            }
        }
        return out;
    }

    private static MaintenanceStrategy strategy(String name) {
        if (name == null) throw new IllegalArgumentException("selection table misses a decision");
        return name.equals(CACHE) ? MaintenanceStrategy.CACHE : MaintenanceStrategy.TIB;
    }

    @Override
    public void predict(INDArray sample, long[] timesteps, INDArray out) {
        qm.predict(sample, timesteps, out);
    }
}
