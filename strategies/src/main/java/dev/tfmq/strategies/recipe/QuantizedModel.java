package dev.tfmq.strategies.recipe;

import dev.tfmq.model.Denoiser;
import dev.tfmq.model.unet.TemporalFeatureSource;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.bias.BiasOffsets;
import dev.tfmq.strategies.quant.ActivationQuantization;
import dev.tfmq.strategies.quant.TimestepContext;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.temporal.SelectionTable;
import dev.tfmq.strategies.temporal.TemporalFeatureCache;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A UNet2DModel running with fake-quantized weights (installed in its layers), hook-based activation quantization
 * and the chosen temporal-feature source. It owns the model it was built on: quantization changes that instance.
 *
 * <p>{@link #predict} sets the {@link TimestepContext} before every UNet call so per-time-step activation tables
 * are looked up at the sampler's time-step; a batch that mixes time-steps is run as one sub-batch per time-step.
 */
public final class QuantizedModel implements Denoiser {
    private final UNet2DModel model;
    private final TimestepContext context;
    private final WeightQuantization weights;
    private final ActivationQuantization activations;
    private final TemporalFeatureCache cache;
    private final SelectionTable selection;
    private final TemporalFeatureSource source;
    private final BiasOffsets biases;
    private final Map<String, String> provenance = new LinkedHashMap<>();

    public QuantizedModel(UNet2DModel model, TimestepContext context, WeightQuantization weights,
                          ActivationQuantization activations, TemporalFeatureCache cache, SelectionTable selection,
                          TemporalFeatureSource source) {
        this(model, context, weights, activations, cache, selection, source, null);
    }

    /** @param biases bias correction of the quantized layers, or null for none */
    public QuantizedModel(UNet2DModel model, TimestepContext context, WeightQuantization weights,
                          ActivationQuantization activations, TemporalFeatureCache cache, SelectionTable selection,
                          TemporalFeatureSource source, BiasOffsets biases) {
        this.model = model;
        this.context = context;
        this.weights = weights;
        this.activations = activations;
        this.cache = cache;
        this.selection = selection;
        this.source = source;
        this.biases = biases == null || biases.isEmpty() ? null : biases;
        weights.applyAll();
        if (this.biases != null) this.biases.install();
        if (activations != null) {
            activations.setEnabled(true);
            activations.install();
        }
        model.setTemporalFeatureSource(source);
    }

    public UNet2DModel model() { return model; }

    public TimestepContext context() { return context; }

    public WeightQuantization weights() { return weights; }

    /** Null for weight-only settings (A32). */
    public ActivationQuantization activations() { return activations; }

    /** Null unless the cache or selection strategy is used. */
    public TemporalFeatureCache cache() { return cache; }

    public SelectionTable selection() { return selection; }

    public TemporalFeatureSource temporalSource() { return source; }

    /** Null unless the recipe corrected the quantized layers' biases. */
    public BiasOffsets biasOffsets() { return biases; }

    public Map<String, String> provenance() { return provenance; }

    @Override
    public void predict(INDArray sample, long[] timesteps, INDArray out) {
        if (timesteps.length != sample.size(0)) {
            throw new IllegalArgumentException(timesteps.length + " time-steps for a batch of " + sample.size(0));
        }
        boolean uniform = true;
        for (long t : timesteps) uniform &= t == timesteps[0];
        if (uniform) {
            context.set(timesteps[0]);
            try {
                model.forward(sample, timesteps, out);
            } finally {
                context.clear();
            }
            return;
        }
        List<Long> distinct = new ArrayList<>();
        for (long t : timesteps) if (!distinct.contains(t)) distinct.add(t);
        for (long t : distinct) {
            List<Integer> rows = new ArrayList<>();
            for (int i = 0; i < timesteps.length; i++) if (timesteps[i] == t) rows.add(i);
            long[] idx = rows.stream().mapToLong(Integer::longValue).toArray();
            INDArray sub = sample.get(NDArrayIndex.indices(idx)).dup('c');
            INDArray o = Nd4j.create(out.dataType(), sub.shape());
            long[] ts = new long[idx.length];
            java.util.Arrays.fill(ts, t);
            predict(sub, ts, o);
            for (int i = 0; i < idx.length; i++) {
                out.get(NDArrayIndex.point(idx[i]), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all()).assign(o.slice(i));
            }
        }
    }

    /** Puts the model back to full precision (FP weights and biases, no hooks, its own TIB). */
    public void release() {
        weights.restoreAll();
        if (biases != null) biases.restore();
        if (activations != null) activations.uninstall();
        model.setTemporalFeatureSource(null);
    }
}
