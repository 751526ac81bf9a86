package dev.tfmq.harness.pipeline;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.model.unet.TemporalFeatures;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A side backed by a {@link UNet2DModel} running its own TIB: the full-precision reference. TIB members are
 * {@code time_embedding} and every ResnetBlock2D's {@code time_emb_proj}.
 */
public final class UNetSide implements DenoiserSide {
    public static final String EMBEDDING = "time_embedding";

    private final String label;
    private final UNet2DModel model;
    private final List<String> members;

    public UNetSide(String label, UNet2DModel model) {
        this.label = label;
        this.model = model;
        List<String> m = new ArrayList<>();
        m.add(EMBEDDING);
        model.resnets().forEach(r -> m.add(r.path() + ".time_emb_proj"));
        this.members = List.copyOf(m);
    }

    public UNet2DModel model() { return model; }

    @Override public String label() { return label; }

    @Override public List<String> members() { return members; }

    @Override public List<String> strategies() { return List.of("fp"); }

    @Override
    public Map<String, float[]> temporalFeatures(long t, String strategy) {
        if (!strategy.equals("fp")) throw new IllegalArgumentException(label + " side has only strategy 'fp', asked for '" + strategy + "'");
        return features(model.computeTemporalFeatures(new long[] {t}));
    }

    @Override
    public Map<String, float[]> appliedTemporalFeatures(long t) {
        return temporalFeatures(t, "fp");
    }

    /** Row 0 of each member's features, by member name. */
    public static Map<String, float[]> features(TemporalFeatures tf) {
        Map<String, float[]> out = new LinkedHashMap<>();
        out.put(EMBEDDING, row0(tf.embedding()));
        tf.projections().forEach((k, v) -> out.put(k, row0(v)));
        return out;
    }

    private static float[] row0(INDArray a) {
        return a.getRow(0).castTo(DataType.FLOAT).dup('c').data().asFloat();
    }

    @Override
    public void apply(SelectionTable table) {
        for (String c : table.perMember().values()) {
            if (!c.equals("fp")) throw new IllegalArgumentException(label + " side cannot apply strategy '" + c + "'");
        }
    }

    @Override
    public java.util.Optional<SelectionTable> calibratedSelection() { return java.util.Optional.empty(); }

    @Override
    public void predictWith(String strategy, INDArray sample, long[] timesteps, INDArray out) {
        if (!strategy.equals("fp")) throw new IllegalArgumentException(label + " side has only strategy 'fp', asked for '" + strategy + "'");
        predict(sample, timesteps, out);
    }

    @Override
    public void predict(INDArray sample, long[] timesteps, INDArray out) {
        model.forward(sample, timesteps, out);
    }
}
