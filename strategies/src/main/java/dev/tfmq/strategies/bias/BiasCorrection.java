package dev.tfmq.strategies.bias;

import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.TimestepContext;
import dev.tfmq.strategies.recipe.ProgressListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * Empirical bias correction of quantized layers (Nagel et al., "Data-Free Quantization", §4.2, empirical variant):
 * rounding 4-bit weights to nearest leaves each output channel a mean error E[(W_q − W) x] wherever its inputs have
 * a non-zero mean, and those shifts add up along the UNet into a mean shift of ε̂ at every step (measured by
 * {@link OutputBiasProbe}). The layers are walked in forward order; for each, the per-channel mean of its output in
 * the quantized network, whose earlier layers are already corrected, is compared with the mean in the
 * full-precision network on the same calibration inputs, and the difference is subtracted from the layer's bias.
 * After the walk every corrected layer's output has the FP mean on these inputs.
 *
 * <p>Cost: one FP pass, then one quantized pass per layer that stops right after that layer's output (an exception
 * out of its hook), so the walk costs about half a network pass per layer. Layers that read the same input buffer
 * (to_q, to_k, to_v) cannot depend on each other and are corrected from one pass.
 */
public final class BiasCorrection {
    private BiasCorrection() {}

    /** One corrected layer: the offsets in units of its FP output channels' standard deviation. */
    public record LayerCorrection(String path, int channels, double rmsZ, double maxAbsZ) {}

    public record Result(BiasOffsets offsets, List<LayerCorrection> layers, int samples, int passes) {
        /** {@code layer=rmsZ/maxAbsZ ...} for the provenance. */
        public String summary() {
            StringBuilder sb = new StringBuilder();
            for (LayerCorrection l : layers) {
                sb.append(l.path()).append('=').append(String.format("%.4g/%.4g", l.rmsZ(), l.maxAbsZ())).append(' ');
            }
            return sb.toString().trim();
        }
    }

    /** Thrown from the hook of the last layer a pass needs: the rest of the network is not computed. */
    private static final class PassDone extends RuntimeException {
        PassDone() { super(null, null, false, false); }
    }

    /**
     * The layers a recipe corrects: every weight-quantized conv/linear with a bias outside the Temporal Information
     * Block. TIB outputs depend on the time-step alone, not on data; their error is a per-step function that TIAR and
     * the cache maintain, and under the cache strategy they do not run at all.
     */
    public static List<String> targets(UNet2DModel model, Collection<String> quantizedLayers) {
        List<String> out = new ArrayList<>();
        for (String p : quantizedLayers) {
            Module m = model.module(p);
            if (model.isTemporal(p)) continue;
            if ((m instanceof Conv2d c && c.bias() != null) || (m instanceof Linear l && l.bias() != null)) out.add(p);
        }
        return out;
    }

    /**
     * {@code count} calibration samples spread evenly over the store in step order (every step keeps its share),
     * or all of them when the store has fewer.
     */
    public static int[] subsample(CalibrationStore data, int count) {
        if (count < 1) throw new IllegalArgumentException("bias correction needs at least 1 sample, got " + count);
        List<Integer> byStep = new ArrayList<>();
        for (int k : data.steps()) for (int i : data.indicesOfStep(k)) byStep.add(i);
        if (byStep.isEmpty()) throw new IllegalArgumentException("bias correction: the calibration store is empty");
        int n = Math.min(count, byStep.size());
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = byStep.get((int) ((long) i * byStep.size() / n));
        return idx;
    }

    /**
     * Corrects {@code layers} of {@code model} in place (it ends in the quantized state with the corrected biases
     * installed).
     *
     * @param fullPrecision puts the network into its FP state (FP weights, no activation quantization, own TIB)
     * @param quantized     puts it back into the quantized state
     */
    public static Result run(UNet2DModel model, List<String> layers, CalibrationStore data, int[] idx, int batch,
                             TimestepContext context, Runnable fullPrecision, Runnable quantized, ProgressListener progress) {
        if (layers.isEmpty()) throw new IllegalArgumentException("bias correction: no layers to correct");
        if (batch < 1) throw new IllegalArgumentException("bias correction: batch must be >= 1, got " + batch);
        BiasOffsets offsets = new BiasOffsets(model);
        progress.onProgress("bias-correction", layers.size() + " layers on " + idx.length + " calibration samples");
        double[][] fpMean = new double[layers.size()][];
        double[][] fpStd = new double[layers.size()][];
        List<List<String>> groups;
        fullPrecision.run();
        try (LayerTaps taps = new LayerTaps(model, layers, 1, false)) {
            sweep(model, data, idx, batch, context, taps, null);
            for (int i = 0; i < layers.size(); i++) {
                ChannelMoments m = taps.moments(layers.get(i), 0);
                if (m.count() == 0) throw new IllegalStateException("bias correction: layer '" + layers.get(i) + "' did not run");
                fpMean[i] = m.means();
                fpStd[i] = m.stds();
            }
            groups = taps.parallelGroups();
        } finally {
            quantized.run();
        }
        List<LayerCorrection> done = new ArrayList<>();
        int passes = 1;
        for (List<String> group : groups) {
            progress.onWork("bias-correction", "layers", done.size(), layers.size(), "layers");
            Module last = model.module(group.get(group.size() - 1));
            try (LayerTaps taps = new LayerTaps(model, group, 1, false)) {
                ModuleHook tapped = last.hook();
                last.setHook(stopAfter(tapped));
                try {
                    sweep(model, data, idx, batch, context, taps, last.path());
                } finally {
                    last.setHook(tapped);
                }
                passes++;
                for (String p : group) {
                    int i = layers.indexOf(p);
                    double[] q = taps.moments(p, 0).means();
                    double[] delta = new double[q.length];
                    for (int c = 0; c < q.length; c++) delta[c] = q[c] - fpMean[i][c];
                    offsets.set(p, delta);
                    done.add(correction(p, delta, fpStd[i]));
                }
            }
            for (String p : group) offsets.install(p);
        }
        progress.onWork("bias-correction", "layers", layers.size(), layers.size(), "layers");
        return new Result(offsets, done, idx.length, passes);
    }

    private static ModuleHook stopAfter(ModuleHook inner) {
        return new ModuleHook() {
            @Override
            public void beforeForward(String p, INDArray in) {
                if (inner != null) inner.beforeForward(p, in);
            }

            @Override
            public void afterForward(String p, INDArray out) {
                if (inner != null) inner.afterForward(p, out);
                throw new PassDone();
            }
        };
    }

    /** Forward passes over the samples, one time-step per pass so that per-step activation tables apply. */
    private static void sweep(UNet2DModel model, CalibrationStore data, int[] idx, int batch, TimestepContext context,
                              LayerTaps taps, String stopLayer) {
        taps.setSlot(0);
        int at = 0;
        while (at < idx.length) {
            long t = data.timestep(idx[at]);
            int end = at;
            while (end < idx.length && end - at < batch && data.timestep(idx[end]) == t) end++;
            int[] part = Arrays.copyOfRange(idx, at, end);
            INDArray x = data.x(part);
            if (x.dataType() != model.dtype()) x = x.castTo(model.dtype());
            if (context != null) context.set(t);
            try {
                model.forward(x, data.timesteps(part), Nd4j.create(model.dtype(), x.shape()));
                if (stopLayer != null) throw new IllegalStateException("bias correction: layer '" + stopLayer + "' did not run");
            } catch (PassDone expected) {
                // the layer being corrected has its output: nothing after it is needed
            } finally {
                if (context != null) context.clear();
            }
            taps.setSlot(0);
            at = end;
        }
    }

    private static LayerCorrection correction(String path, double[] delta, double[] std) {
        double s = 0, max = 0;
        int n = 0;
        for (int c = 0; c < delta.length; c++) {
            if (!(std[c] > 0)) continue;
            double z = delta[c] / std[c];
            s += z * z;
            max = Math.max(max, Math.abs(z));
            n++;
        }
        return new LayerCorrection(path, delta.length, n == 0 ? 0 : Math.sqrt(s / n), max);
    }
}
