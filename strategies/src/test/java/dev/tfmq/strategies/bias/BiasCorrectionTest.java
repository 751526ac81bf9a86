package dev.tfmq.strategies.bias;

import dev.tfmq.model.nn.Module;
import dev.tfmq.model.nn.ModuleHook;
import dev.tfmq.model.nn.ModuleKind;
import dev.tfmq.model.nn.Ops;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.LayerPolicy;
import dev.tfmq.strategies.quant.WeightInit;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.recipe.ModelChecksum;
import dev.tfmq.strategies.recipe.ProgressListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class BiasCorrectionTest {
    static final String EARLY = "down_blocks.0.resnets.0.conv1";

    /** Random x_t at three time-steps, {@code perStep} each. */
    static CalibrationStore data(int perStep, long seed) {
        CalibrationStore s = new CalibrationStore(new long[] {1, 16, 16}, 1L << 26, null);
        Nd4j.getRandom().setSeed(seed);
        long[] ts = {900, 500, 100};
        for (int k = 0; k < ts.length; k++) s.add(k, ts[k], Nd4j.randn(DataType.FLOAT, perStep, 1, 16, 16));
        return s;
    }

    static List<String> convAndLinear(UNet2DModel m) {
        List<String> out = new ArrayList<>();
        for (Module x : m.modules().values()) if (x.kind() == ModuleKind.CONV || x.kind() == ModuleKind.LINEAR) out.add(x.path());
        return out;
    }

    static int[] all(CalibrationStore d) {
        int[] idx = new int[d.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        return idx;
    }

    /** Per layer, the channel moments of its output over the samples, in the model's current state. */
    static List<ChannelMoments> moments(UNet2DModel m, List<String> layers, CalibrationStore d) {
        try (LayerTaps taps = new LayerTaps(m, layers, 1, false)) {
            taps.setSlot(0);
            for (int k : d.steps()) {
                int[] idx = d.indicesOfStep(k);
                m.forward(d.x(idx), d.timesteps(idx), Nd4j.create(DataType.FLOAT, idx.length, 1, 16, 16));
            }
            List<ChannelMoments> out = new ArrayList<>();
            for (String p : layers) out.add(taps.moments(p, 0));
            return out;
        }
    }

    static List<double[]> means(UNet2DModel m, List<String> layers, CalibrationStore d) {
        return moments(m, layers, d).stream().map(ChannelMoments::means).toList();
    }

    static List<double[]> stds(UNet2DModel m, List<String> layers, CalibrationStore d) {
        return moments(m, layers, d).stream().map(ChannelMoments::stds).toList();
    }

    /** RMS over every channel of every layer of (q − fp) / std. */
    static double rmsZ(List<double[]> q, List<double[]> fp, List<double[]> std) {
        double s = 0;
        int n = 0;
        for (int l = 0; l < q.size(); l++) {
            for (int c = 0; c < q.get(l).length; c++) {
                if (!(std.get(l)[c] > 0)) continue;
                double z = (q.get(l)[c] - fp.get(l)[c]) / std.get(l)[c];
                s += z * z;
                n++;
            }
        }
        return Math.sqrt(s / n);
    }

    /** A known offset added to one layer's output, in whatever layout the pass runs. */
    static ModuleHook addOffset(UNet2DModel m, double[] offset) {
        INDArray v = Nd4j.createFromArray(offset).castTo(DataType.FLOAT);
        return new ModuleHook() {
            @Override
            public void afterForward(String path, INDArray out) {
                if (m.channelsLast()) out.reshape('c', -1, offset.length).addiRowVector(v);
                else Ops.addChannelVector(out.reshape('c', out.size(0), offset.length, -1), v);
            }
        };
    }

    @ParameterizedTest(name = "channels-last allowed: {0}")
    @ValueSource(booleans = {true, false})
    void aKnownOffsetInjectedIntoOneLayerIsRemovedThereAndNothingIsCorrectedDownstream(boolean channelsLast) {
        UNet2DModel m = TinyModels.random(9);
        m.setChannelsLast(channelsLast);
        String before = ModelChecksum.sha256(m);
        Module early = m.module(EARLY);
        int ch = OutputChannels.of(early);
        double[] offset = new double[ch];
        for (int c = 0; c < ch; c++) offset[c] = 0.05 * (c - ch / 2.0);
        List<String> layers = BiasCorrection.targets(m, convAndLinear(m));
        assertFalse(layers.contains("time_embedding.linear_2") || layers.contains("down_blocks.0.resnets.0.time_emb_proj"),
                "the TIB is not corrected: " + layers);
        CalibrationStore d = data(4, 1);
        BiasCorrection.Result r = BiasCorrection.run(m, layers, d, all(d), 3, null,
                () -> early.setHook(null), () -> early.setHook(addOffset(m, offset)), ProgressListener.NONE);
        double[] got = r.offsets().offsets().get(EARLY);
        assertArrayEquals(offset, got, 1e-5, "the injected offset is what the layer's bias loses");
        // every later layer sees FP inputs again once the early one is corrected: forward order, not all at once
        r.offsets().offsets().forEach((p, delta) -> {
            if (p.equals(EARLY)) return;
            for (double x : delta) assertEquals(0.0, x, 2e-5, p);
        });
        assertEquals(layers.size(), r.layers().size());
        assertTrue(r.passes() < layers.size() + 1, "to_q, to_k, to_v share a pass: " + r.passes() + " passes for " + layers.size());
        // with the injection in place the network computes the FP function again
        early.setHook(addOffset(m, offset));
        INDArray x = d.x(new int[] {0, 1});
        INDArray corrected = Nd4j.create(DataType.FLOAT, 2, 1, 16, 16);
        m.forward(x, d.timesteps(new int[] {0, 1}), corrected);
        early.setHook(null);
        r.offsets().restore();
        assertEquals(before, ModelChecksum.sha256(m), "restore puts the FP biases back");
        INDArray fp = Nd4j.create(DataType.FLOAT, 2, 1, 16, 16);
        m.forward(x, d.timesteps(new int[] {0, 1}), fp);
        assertTrue(corrected.sub(fp).amaxNumber().doubleValue() < 1e-4, "offset cancelled: " + corrected.sub(fp).amaxNumber());
    }

    @Test
    void correctionTakesTheMeanShiftOfFourBitWeightsToZeroOnItsDataAndReducesItOnOtherData() {
        UNet2DModel m = TinyModels.random(9);
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 4);
        wq.initializeAll(WeightInit.MSE);
        List<String> layers = BiasCorrection.targets(m, wq.quantizers().keySet());
        CalibrationStore cal = data(6, 2);
        CalibrationStore other = data(6, 3);
        List<double[]> fpCal = means(m, layers, cal);
        List<double[]> stdCal = stds(m, layers, cal);
        List<double[]> fpOther = means(m, layers, other);
        List<double[]> stdOther = stds(m, layers, other);
        wq.applyAll();
        double calBefore = rmsZ(means(m, layers, cal), fpCal, stdCal);
        double otherBefore = rmsZ(means(m, layers, other), fpOther, stdOther);
        assertTrue(calBefore > 0.01, "4-bit weights shift the channel means: rms z " + calBefore);
        BiasCorrection.Result r = BiasCorrection.run(m, layers, cal, BiasCorrection.subsample(cal, 1000), 4, null,
                wq::restoreAll, wq::applyAll, ProgressListener.NONE);
        double calAfter = rmsZ(means(m, layers, cal), fpCal, stdCal);
        double otherAfter = rmsZ(means(m, layers, other), fpOther, stdOther);
        assertTrue(calAfter < 1e-4, "on its own data the shift is gone: rms z " + calBefore + " -> " + calAfter);
        assertTrue(otherAfter < 0.5 * otherBefore, "on other data it shrinks: rms z " + otherBefore + " -> " + otherAfter);
        for (BiasCorrection.LayerCorrection l : r.layers()) assertTrue(l.maxAbsZ() >= l.rmsZ() && l.rmsZ() > 0, l.toString());
        assertTrue(r.summary().startsWith(layers.get(0) + "=") || r.summary().contains("down_blocks.0.resnets.0.conv2="), r.summary());
    }

    @Test
    void subsampleKeepsEveryStepsShareAndBadInputIsAClearError() {
        CalibrationStore d = data(5, 4);
        int[] idx = BiasCorrection.subsample(d, 6);
        assertEquals(6, idx.length);
        for (int k : d.steps()) {
            long n = java.util.Arrays.stream(idx).filter(i -> d.step(i) == k).count();
            assertEquals(2, n, "step " + k);
        }
        assertEquals(15, BiasCorrection.subsample(d, 100).length);
        assertThrows(IllegalArgumentException.class, () -> BiasCorrection.subsample(d, 0));
        UNet2DModel m = TinyModels.random(9);
        var e = assertThrows(IllegalArgumentException.class, () -> BiasCorrection.run(m, List.of(), d, idx, 4, null,
                () -> { }, () -> { }, ProgressListener.NONE));
        assertTrue(e.getMessage().contains("no layers"), e.getMessage());
        BiasOffsets o = new BiasOffsets(m);
        e = assertThrows(IllegalArgumentException.class, () -> o.set(EARLY, new double[3]));
        assertTrue(e.getMessage().contains(EARLY) && e.getMessage().contains("3 offsets"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> o.set("conv_norm_out", new double[16]));
        assertTrue(e.getMessage().contains("not a conv or linear"), e.getMessage());
    }
}
