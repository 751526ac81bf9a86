package dev.tfmq.strategies.bias;

import dev.tfmq.model.Denoiser;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.quant.FloatAccess;
import dev.tfmq.strategies.quant.WeightQuantizer;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizedModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * Measures the mean shift that quantization puts into the denoiser, on the full-precision model's own sampling
 * trajectory: both models see the same x_t at every step (the FP model's), so the differences are one-step
 * errors, not drift.
 * <ul>
 *   <li>Per sampling step: the mean over pixels and batch of ε̂_q − ε̂_fp, its ratio to the standard deviation of
 *       ε̂_fp, and the relative L2 error ‖ε̂_q − ε̂_fp‖ / ‖ε̂_fp‖.</li>
 *   <li>Per conv/linear layer: per output channel, the shift E[y_q] − E[y_fp] of the layer output in the quantized
 *       network against the FP network, in units of the FP channel's standard deviation (z). This is the shift
 *       that has accumulated up to the layer's output. The layer's own share, on the input it sees in the
 *       quantized network (x̃, before its input quantizer Q), splits exactly into weight rounding,
 *       E[(W_q − W) x̃], and activation quantization, E[W_q (Q(x̃) − x̃)]: the layer is linear, so both follow from
 *       the batch-mean input.</li>
 * </ul>
 * Both models run channel-first during the probe (the input taps read [B, C, ...] tensors).
 */
public final class OutputBiasProbe {
    private OutputBiasProbe() {}

    /** ε̂ statistics of one sampling step, pooled over its samples and pixels. */
    public record StepShift(int step, long t, long elements, double meanFp, double stdFp, double meanShift, double relL2) {
        /** Mean shift in units of the FP prediction's standard deviation. */
        public double shiftOverStd() { return meanShift / stdFp; }
    }

    /**
     * One layer's shifts, z = shift / FP channel std, over its channels (channels whose FP output is constant are
     * left out of the z statistics).
     *
     * @param quantized       whether the layer's weights are quantized (else it is a full-precision layer that only
     *                        receives quantized inputs)
     * @param rmsZ            root mean square over channels of the accumulated shift's z, all steps pooled
     * @param maxAbsZ         largest |z| of a channel
     * @param meanZ           mean signed z (a common direction of the channels)
     * @param ownWeightRmsZ   RMS z of the layer's own weight-rounding shift
     * @param ownActivationRmsZ RMS z of the layer's own input-quantization shift
     * @param stepResidualRmsZ RMS z, over steps and channels, of each step's shift minus the pooled shift: what a
     *                        single correction per channel leaves; compare with {@code rmsZ}
     * @param meanFp          per-channel FP mean (pooled)
     * @param stdFp           per-channel FP standard deviation (pooled)
     * @param shift           per-channel accumulated shift E[y_q] − E[y_fp] (pooled)
     */
    public record LayerShift(String path, boolean quantized, boolean temporal, int channels, double rmsZ, double maxAbsZ,
                             double meanZ, double ownWeightRmsZ, double ownActivationRmsZ, double stepResidualRmsZ,
                             double[] meanFp, double[] stdFp, double[] shift) {}

    /** Steps in schedule order, layers in forward order (of the layers that ran). */
    public record Report(int samples, List<StepShift> steps, List<LayerShift> layers) {
        public LayerShift layer(String path) {
            for (LayerShift l : layers) if (l.path().equals(path)) return l;
            throw new IllegalArgumentException("layer '" + path + "' was not measured (it did not run, or is not conv/linear)");
        }
    }

    /**
     * @param fp        the full-precision model (a different instance from the one {@code quantized} took over)
     * @param quantized the quantized model, as it should be measured (its activation quantization may be switched
     *                  off for a weights-only view)
     * @param samples   trajectories (sample indices 0 … samples−1 of the noise source)
     */
    public static Report measure(UNet2DModel fp, QuantizedModel quantized, Scheduler scheduler, TimestepSchedule schedule,
                                 NoiseSource noise, int samples, int batch, ProgressListener progress) {
        UNet2DModel qModel = quantized.model();
        if (fp == qModel) {
            throw new IllegalArgumentException("the probe needs the full-precision model as a separate instance from the quantized one");
        }
        if (!fp.modules().keySet().equals(qModel.modules().keySet()) || fp.parameterCount() != qModel.parameterCount()) {
            throw new IllegalArgumentException("the full-precision and quantized models have different architectures");
        }
        if (samples < 1 || batch < 1) throw new IllegalArgumentException("samples and batch must be >= 1, got " + samples + ", " + batch);
        List<String> paths = new ArrayList<>();
        for (Module m : qModel.modules().values()) {
            if (m.kind() == ModuleKind.CONV || m.kind() == ModuleKind.LINEAR) paths.add(m.path());
        }
        int steps = schedule.size();
        boolean fpLast = fp.setChannelsLast(false);
        boolean qLast = qModel.setChannelsLast(false);
        StepAccumulator[] acc = new StepAccumulator[steps];
        for (int k = 0; k < steps; k++) acc[k] = new StepAccumulator();
        try (LayerTaps fpTaps = new LayerTaps(fp, paths, steps, false);
             LayerTaps qTaps = new LayerTaps(qModel, paths, steps, true)) {
            int[] current = {0};
            Denoiser fpDenoiser = (x, ts, out) -> {
                fpTaps.setSlot(current[0]);
                fp.forward(x, ts, out);
            };
            Sampler sampler = new Sampler(fpDenoiser, scheduler, schedule);
            var c = fp.config();
            int size = c.sampleSize() == null ? 32 : c.sampleSize();
            long[] chw = {c.inChannels(), size, size};
            progress.onWork("probe", "trajectories", 0, (long) samples * steps, "sample-steps");
            for (int s = 0; s < samples; s += batch) {
                int n = Math.min(batch, samples - s);
                long[] idx = new long[n];
                for (int i = 0; i < n; i++) idx[i] = s + i;
                INDArray qOut = Nd4j.create(DataType.FLOAT, n, chw[0], chw[1], chw[2]);
                long doneBefore = (long) s * steps;
                current[0] = 0;
                sampler.sample(idx, chw, noise, (k, t, xt, fpOut, x0, xPrev) -> {
                    long[] ts = new long[n];
                    java.util.Arrays.fill(ts, t);
                    qTaps.setSlot(k);
                    quantized.predict(xt.dup('c'), ts, qOut);
                    acc[k].add(fpOut, qOut);
                    current[0] = k + 1;
                    progress.onWork("probe", "trajectories", doneBefore + (long) n * (k + 1), (long) samples * steps, "sample-steps");
                });
            }
            List<StepShift> stepShifts = new ArrayList<>();
            for (int k = 0; k < steps; k++) stepShifts.add(acc[k].result(k, schedule.timestep(k)));
            List<LayerShift> layers = new ArrayList<>();
            for (String p : qTaps.forwardOrder()) layers.add(layerShift(p, quantized, fpTaps, qTaps, steps));
            return new Report(samples, stepShifts, layers);
        } finally {
            fp.setChannelsLast(fpLast);
            qModel.setChannelsLast(qLast);
        }
    }

    private static LayerShift layerShift(String path, QuantizedModel q, LayerTaps fpTaps, LayerTaps qTaps, int steps) {
        ChannelMoments fpAll = fpTaps.pooled(path);
        ChannelMoments qAll = qTaps.pooled(path);
        double[] mFp = fpAll.means();
        double[] sFp = fpAll.stds();
        double[] mQ = qAll.means();
        int ch = mFp.length;
        double[] shift = new double[ch];
        for (int c = 0; c < ch; c++) shift[c] = mQ[c] - mFp[c];
        Module layer = q.model().module(path);
        boolean quantized = q.weights().contains(path);
        double[] ownWeight = new double[ch];
        LayerTaps.InputSums in = qTaps.inputs(path);
        INDArray wq = OutputChannels.weight(layer);
        if (quantized) {
            WeightQuantizer wz = q.weights().get(path);
            ownWeight = OutputChannels.meanResponse(layer, wq.castTo(DataType.DOUBLE).sub(wz.fpWeight().castTo(DataType.DOUBLE)),
                    in.rawMean(), in.imageShape());
        }
        double[] raw = in.rawMean();
        double[] qd = in.quantizedMean();
        double[] delta = new double[raw.length];
        for (int i = 0; i < raw.length; i++) delta[i] = qd[i] - raw[i];
        double[] ownAct = OutputChannels.meanResponse(layer, wq, delta, in.imageShape());
        // per-step shifts against the pooled one, in units of the pooled FP std
        double residual = 0;
        long residualCount = 0;
        for (int k = 0; k < steps; k++) {
            ChannelMoments f = fpTaps.moments(path, k);
            ChannelMoments g = qTaps.moments(path, k);
            if (f.count() == 0 || g.count() == 0) continue;
            double[] fm = f.means();
            double[] gm = g.means();
            for (int c = 0; c < ch; c++) {
                if (!(sFp[c] > 0)) continue;
                double d = (gm[c] - fm[c] - shift[c]) / sFp[c];
                residual += d * d;
                residualCount++;
            }
        }
        double[] z = zScores(shift, sFp);
        return new LayerShift(path, quantized, q.model().isTemporal(path), ch, rms(z), maxAbs(z), mean(z),
                rms(zScores(ownWeight, sFp)), rms(zScores(ownAct, sFp)),
                residualCount == 0 ? 0 : Math.sqrt(residual / residualCount), mFp, sFp, shift);
    }

    /** z per channel; NaN where the FP channel is constant. */
    private static double[] zScores(double[] v, double[] std) {
        double[] z = new double[v.length];
        for (int c = 0; c < v.length; c++) z[c] = std[c] > 0 ? v[c] / std[c] : Double.NaN;
        return z;
    }

    private static double rms(double[] z) {
        double s = 0;
        int n = 0;
        for (double v : z) if (!Double.isNaN(v)) { s += v * v; n++; }
        return n == 0 ? 0 : Math.sqrt(s / n);
    }

    private static double maxAbs(double[] z) {
        double m = 0;
        for (double v : z) if (!Double.isNaN(v)) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static double mean(double[] z) {
        double s = 0;
        int n = 0;
        for (double v : z) if (!Double.isNaN(v)) { s += v; n++; }
        return n == 0 ? 0 : s / n;
    }

    /** Sums of one step's ε̂_fp and ε̂_q − ε̂_fp over its batches. */
    private static final class StepAccumulator {
        private double sumFp, sumFp2, sumD, sumD2;
        private long n;

        void add(INDArray fp, INDArray q) {
            FloatAccess f = FloatAccess.of(fp.dup('c'));
            FloatAccess g = FloatAccess.of(q.dup('c'));
            for (long i = 0; i < f.length(); i++) {
                double a = f.get(i);
                double d = g.get(i) - a;
                sumFp += a;
                sumFp2 += a * a;
                sumD += d;
                sumD2 += d * d;
            }
            n += f.length();
        }

        StepShift result(int k, long t) {
            double meanFp = sumFp / n;
            double std = Math.sqrt(Math.max(0, sumFp2 / n - meanFp * meanFp));
            return new StepShift(k, t, n, meanFp, std, sumD / n, Math.sqrt(sumD2 / sumFp2));
        }
    }
}
