package dev.tfmq.strategies.bias;

import com.typesafe.config.ConfigFactory;
import dev.tfmq.model.nn.Conv2d;
import dev.tfmq.model.nn.Linear;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.nn.Ops;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.recipe.CalibrationSettings;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizationRecipe;
import dev.tfmq.strategies.recipe.QuantizedModel;
import dev.tfmq.strategies.recipe.RecipeRunner;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The probe's numbers against the same quantities computed directly from captured tensors on the tiny UNet. */
class OutputBiasProbeTest {
    static final String CONV = "up_blocks.0.resnets.0.conv2";
    /** Reads the attention input that to_q's quantizer has already quantized in place. */
    static final String SHARED = "mid_block.attentions.0.to_v";
    static final String OWNER = "mid_block.attentions.0.to_q";

    static QuantizedModel quantized() {
        SchedulerConfig s = TinyModels.scheduler();
        CalibrationSettings cal = new CalibrationSettings(s, SchedulerConfig.Kind.DDIM, 0.0, 5, CalibrationSettings.Spacing.CONFIG,
                CalibrationSettings.DataMode.QDIFFUSION, 4, 2, 0, true, 16, 0.4, 0.4, 4, 1L << 24, null, 7);
        QuantizationRecipe r = QuantizationRecipe.fromConfig(ConfigFactory.parseString("recipe { name = probe-test, bits = W4A8, "
                + "reconstruction.enabled = false, activation { calibration = fsc, fsc-scope = all }, temporal.strategy = tib, "
                + "bias-correction = false }"));
        return RecipeRunner.quantize(TinyModels.random(9), r, cal, ProgressListener.NONE);
    }

    /** Captured per batch: a layer's output in FP and quantized, and its quantized-network input before/after Q. */
    static final class Capture {
        final List<double[]> fpOut = new ArrayList<>(), qOut = new ArrayList<>(), raw = new ArrayList<>(), quant = new ArrayList<>();
        final List<long[]> outShape = new ArrayList<>(), inShape = new ArrayList<>();
    }

    static ModuleHook chain(ModuleHook prev, java.util.function.Consumer<INDArray> beforeRaw,
                            java.util.function.Consumer<INDArray> beforeQuantized, java.util.function.Consumer<INDArray> after) {
        return new ModuleHook() {
            @Override
            public void beforeForward(String p, INDArray in) {
                if (beforeRaw != null) beforeRaw.accept(in);
                if (prev != null) prev.beforeForward(p, in);
                if (beforeQuantized != null) beforeQuantized.accept(in);
            }

            @Override
            public void afterForward(String p, INDArray out) {
                if (prev != null) prev.afterForward(p, out);
                if (after != null) after.accept(out);
            }
        };
    }

    static double[] d(INDArray a) { return a.dup('c').castTo(DataType.DOUBLE).data().asDouble(); }

    @Test
    void stepAndLayerNumbersEqualADirectComputation() {
        UNet2DModel fp = TinyModels.random(9);
        QuantizedModel q = quantized();
        SchedulerConfig sc = TinyModels.scheduler();
        Scheduler scheduler = Schedulers.create(sc, SchedulerConfig.Kind.DDIM, 0.0);
        TimestepSchedule schedule = TimestepSchedule.spaced(sc, 5);
        int samples = 3, batch = 2;
        OutputBiasProbe.Report r = OutputBiasProbe.measure(fp, q, scheduler, schedule, new NoiseSource(3), samples, batch,
                ProgressListener.NONE);
        assertEquals(schedule.size(), r.steps().size());

        // the same trajectories by hand, channel-first as the probe runs them
        fp.setChannelsLast(false);
        q.model().setChannelsLast(false);
        double[] sumD = new double[5], sumD2 = new double[5], sumF = new double[5], sumF2 = new double[5];
        long[] n = new long[5];
        Capture conv = new Capture(), shared = new Capture();
        Module fpConv = fp.module(CONV), qConv = q.model().module(CONV);
        Module fpShared = fp.module(SHARED), qShared = q.model().module(SHARED), qOwner = q.model().module(OWNER);
        ModuleHook qConvPrev = qConv.hook(), qSharedPrev = qShared.hook(), qOwnerPrev = qOwner.hook();
        fpConv.setHook(chain(null, null, null, o -> conv.fpOut.add(d(o))));
        fpShared.setHook(chain(null, null, null, o -> shared.fpOut.add(d(o))));
        qConv.setHook(chain(qConvPrev, i -> { conv.raw.add(d(i)); conv.inShape.add(i.shape()); }, i -> conv.quant.add(d(i)),
                o -> { conv.qOut.add(d(o)); conv.outShape.add(o.shape()); }));
        qOwner.setHook(chain(qOwnerPrev, i -> { shared.raw.add(d(i)); shared.inShape.add(i.shape()); }, null, null));
        qShared.setHook(chain(qSharedPrev, null, i -> shared.quant.add(d(i)), o -> { shared.qOut.add(d(o)); shared.outShape.add(o.shape()); }));
        try {
            Sampler sampler = new Sampler(fp, scheduler, schedule);
            NoiseSource noise = new NoiseSource(3);
            for (int s = 0; s < samples; s += batch) {
                int b = Math.min(batch, samples - s);
                long[] idx = new long[b];
                for (int i = 0; i < b; i++) idx[i] = s + i;
                sampler.sample(idx, new long[] {1, 16, 16}, noise, (k, t, xt, fpOut, x0, xPrev) -> {
                    long[] ts = new long[b];
                    java.util.Arrays.fill(ts, t);
                    INDArray out = Nd4j.create(DataType.FLOAT, b, 1, 16, 16);
                    q.predict(xt.dup('c'), ts, out);
                    double[] f = d(fpOut), g = d(out);
                    for (int i = 0; i < f.length; i++) {
                        sumF[k] += f[i];
                        sumF2[k] += f[i] * f[i];
                        sumD[k] += g[i] - f[i];
                        sumD2[k] += (g[i] - f[i]) * (g[i] - f[i]);
                    }
                    n[k] += f.length;
                });
            }
        } finally {
            fpConv.setHook(null);
            fpShared.setHook(null);
            qConv.setHook(qConvPrev);
            qShared.setHook(qSharedPrev);
            qOwner.setHook(qOwnerPrev);
        }
        for (int k = 0; k < 5; k++) {
            OutputBiasProbe.StepShift s = r.steps().get(k);
            double meanF = sumF[k] / n[k];
            assertEquals(schedule.timestep(k), s.t());
            assertEquals(n[k], s.elements());
            assertEquals(sumD[k] / n[k], s.meanShift(), 1e-12, "mean shift at step " + k);
            assertEquals(Math.sqrt(sumF2[k] / n[k] - meanF * meanF), s.stdFp(), 1e-9, "std at step " + k);
            assertEquals(Math.sqrt(sumD2[k] / sumF2[k]), s.relL2(), 1e-9, "rel-L2 at step " + k);
        }
        assertTrue(r.steps().stream().anyMatch(s -> Math.abs(s.meanShift()) > 1e-6), "W4A8 moves the mean of eps");
        checkLayer(r.layer(CONV), conv, q, true);
        checkLayer(r.layer(SHARED), shared, q, false);
        assertFalse(r.layers().stream().anyMatch(l -> l.path().equals("conv_in") && l.rmsZ() != 0), "conv_in sees the same input");
    }

    /** Channel means and stds over all captured batches, the accumulated shift, and the own weight/activation shares. */
    static void checkLayer(OutputBiasProbe.LayerShift l, Capture c, QuantizedModel q, boolean conv) {
        int ch = l.channels();
        double[] sf = new double[ch], sf2 = new double[ch], sq = new double[ch], ownW = new double[ch], ownA = new double[ch];
        long per = 0, positions = 0;
        Module layer = q.model().module(l.path());
        INDArray wq = (layer instanceof Conv2d cv ? cv.weight() : ((Linear) layer).weight()).castTo(DataType.DOUBLE);
        INDArray dw = wq.sub(q.weights().get(l.path()).fpWeight().castTo(DataType.DOUBLE));
        for (int b = 0; b < c.fpOut.size(); b++) {
            long[] shape = c.outShape.get(b);
            long inner = c.fpOut.get(b).length / (shape[0] * ch);
            for (int i = 0; i < c.fpOut.get(b).length; i++) {
                int channel = (int) ((i / inner) % ch);
                sf[channel] += c.fpOut.get(b)[i];
                sf2[channel] += c.fpOut.get(b)[i] * c.fpOut.get(b)[i];
                sq[channel] += c.qOut.get(b)[i];
            }
            per += shape[0] * inner;
            // own shares from the whole captured batch (no mean-input shortcut)
            INDArray raw = Nd4j.createFromArray(c.raw.get(b)).reshape('c', c.inShape.get(b));
            INDArray quant = Nd4j.createFromArray(c.quant.get(b)).reshape('c', c.inShape.get(b));
            INDArray w = respond(layer, dw, raw, shape), a = respond(layer, wq, quant.sub(raw), shape);
            double[] wv = d(w), av = d(a);
            for (int i = 0; i < wv.length; i++) {
                ownW[(int) ((i / inner) % ch)] += wv[i];
                ownA[(int) ((i / inner) % ch)] += av[i];
            }
            positions += shape[0] * inner;
        }
        double sw = 0, sa = 0, sz = 0;
        for (int ch2 = 0; ch2 < ch; ch2++) {
            double mf = sf[ch2] / per, std = Math.sqrt(sf2[ch2] / per - mf * mf);
            assertEquals(mf, l.meanFp()[ch2], 1e-9 * (1 + Math.abs(mf)), l.path() + " FP mean, channel " + ch2);
            assertEquals(std, l.stdFp()[ch2], 1e-7 * std, l.path() + " FP std, channel " + ch2);
            assertEquals(sq[ch2] / per - mf, l.shift()[ch2], 1e-9, l.path() + " shift, channel " + ch2);
            sz += Math.pow(l.shift()[ch2] / std, 2);
            sw += Math.pow(ownW[ch2] / positions / std, 2);
            sa += Math.pow(ownA[ch2] / positions / std, 2);
        }
        assertEquals(Math.sqrt(sz / ch), l.rmsZ(), 1e-9, l.path() + " rms z");
        assertEquals(Math.sqrt(sw / ch), l.ownWeightRmsZ(), 1e-6 * Math.sqrt(sw / ch), l.path() + " own weight share");
        assertEquals(Math.sqrt(sa / ch), l.ownActivationRmsZ(), 1e-6 * Math.sqrt(sa / ch) + 1e-12, l.path() + " own activation share");
        assertTrue(l.ownWeightRmsZ() > 0 && l.ownActivationRmsZ() > 0, l.path() + ": both shares are measured " + l);
        assertTrue(l.quantized() && !l.temporal());
        assertEquals(conv, layer instanceof Conv2d);
    }

    /** W · x over the whole batch without bias, in the layer's own layout (channel-first). */
    static INDArray respond(Module layer, INDArray w, INDArray x, long[] outShape) {
        INDArray out = Nd4j.create(DataType.DOUBLE, outShape);
        if (layer instanceof Conv2d c) {
            Ops.conv2d(x.castTo(DataType.DOUBLE), w, null, c.stride(), c.padding(), out);
            return out;
        }
        for (long b = 0; b < x.size(0); b++) out.slice(b).assign(w.mmul(x.slice(b)));
        return out;
    }
}
