package dev.tfmq.harness.run;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.model.unet.TemporalFeatures;
import dev.tfmq.strategies.recipe.QuantizedModel;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

/** A strategies-module {@link QuantizedModel} as the quantized side: one strategy, "as-calibrated". */
public final class StrategiesSide implements DenoiserSide {
    public static final String STRATEGY = "as-calibrated";

    private final QuantizedModel qm;
    private final List<String> members;

    public StrategiesSide(QuantizedModel qm) {
        this.qm = qm;
        this.members = new UNetSide("view", qm.model()).members();
    }

    @Override public String label() { return "quantized"; }

    @Override public List<String> members() { return members; }

    @Override public List<String> strategies() { return List.of(STRATEGY); }

    @Override
    public Map<String, float[]> temporalFeatures(long t, String strategy) {
        if (!strategy.equals(STRATEGY)) throw new IllegalArgumentException("quantized side has only strategy '" + STRATEGY + "'");
        long[] ts = {t};
        TemporalFeatures tf = qm.model().temporalBuffers(ts);
        qm.context().set(t);
        try {
            if (qm.temporalSource() == null) qm.model().fillFromTib(tf);
            else qm.temporalSource().fill(qm.model(), tf);
        } finally {
            qm.context().clear();
        }
        return UNetSide.features(tf);
    }

    @Override
    public Map<String, float[]> appliedTemporalFeatures(long t) {
        return temporalFeatures(t, STRATEGY);
    }

    @Override
    public void apply(SelectionTable table) {
        for (String c : table.perMember().values()) {
            if (!c.equals(STRATEGY)) throw new IllegalArgumentException("quantized side cannot apply strategy '" + c + "'");
        }
    }

    @Override
    public void predict(INDArray sample, long[] timesteps, INDArray out) {
        qm.predict(sample, timesteps, out);
    }
}
