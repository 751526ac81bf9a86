package dev.tfmq.strategies.recon;

import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.calib.TrajectoryCalibration;
import dev.tfmq.strategies.quant.LayerPolicy;
import dev.tfmq.strategies.quant.WeightInit;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizationRecipe.TibReconstruction;
import dev.tfmq.strategies.temporal.DisturbanceMetric;
import dev.tfmq.strategies.temporal.TemporalInformationBlock;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** AdaRound's learned rounding beats round-to-nearest on every unit it reconstructs (3-bit weights). */
class WeightReconstructionTest {

    static CalibrationStore data(UNet2DModel m) {
        SchedulerConfig cfg = TinyModels.scheduler();
        Scheduler s = Schedulers.create(cfg, SchedulerConfig.Kind.DDIM, 0.0);
        TimestepSchedule ts = TimestepSchedule.spaced(cfg, 4);
        CalibrationStore store = new CalibrationStore(new long[] {1, 16, 16}, 1L << 24, null);
        new TrajectoryCalibration(m, s, ts, 3, new long[] {1, 16, 16}, 8).collect(new int[] {0, 2, 3}, 8, store);
        return store;
    }

    @Test
    void learnedRoundingBeatsNearestOnEveryUnitAndTiarShrinksTemporalError() {
        UNet2DModel m = TinyModels.random(12);
        CalibrationStore store = data(m);
        TemporalInformationBlock fp = new TemporalInformationBlock(m);
        WeightQuantization wq = new WeightQuantization(m, LayerPolicy.defaults(), 3);
        wq.initializeAll(WeightInit.MSE);
        // temporal-feature error of the TIB with round-to-nearest weights
        double nearest = tibError(m, wq, fp);
        // few iterations and a larger step than the spec's 1e-3 keep this test fast; recipes use the spec defaults
        ReconstructionSettings rs = new ReconstructionSettings(true, TibReconstruction.TIAR, true, 100, 8, 0.01, 20, 2, 0.2,
                1e-2, 5);
        WeightReconstruction wr = new WeightReconstruction(m, fp, wq, rs, ProgressListener.NONE);
        int[] idx = new int[store.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        wr.run(store, idx);
        Map<String, BlockReconstructor.Result> res = wr.results();
        assertEquals("TIB", res.keySet().iterator().next(), "TIAR runs first");
        assertTrue(res.containsKey("mid_block.attentions.0"));
        assertTrue(res.containsKey("up_blocks.0.upsamplers.0.conv"));
        assertFalse(res.containsKey("down_blocks.0.downsamplers.0.conv"), "downsamplers stay FP (§5.3)");
        for (var e : res.entrySet()) {
            BlockReconstructor.Result r = e.getValue();
            assertTrue(r.learnedLoss() < r.nearestLoss(), e.getKey() + ": learned " + r.learnedLoss() + " vs nearest " + r.nearestLoss());
            System.out.printf("reconstruction %-28s nearest %.5g learned %.5g%n", e.getKey(), r.nearestLoss(), r.learnedLoss());
        }
        double learned = tibError(m, wq, fp);
        System.out.printf("TIB rel-L2 vs FP: nearest %.5f, TIAR %.5f%n", nearest, learned);
        assertTrue(learned < 0.85 * nearest, "TIAR temporal error " + learned + " vs nearest " + nearest);
    }

    /** Mean relative L2 of all temporal features at a few time-steps, weights as the quantizers hold them. */
    static double tibError(UNet2DModel m, WeightQuantization wq, TemporalInformationBlock fp) {
        wq.applyAll();
        TemporalInformationBlock q = new TemporalInformationBlock(m);
        wq.restoreAll();
        double sum = 0;
        int n = 0;
        for (long t : new long[] {999, 750, 500, 250, 0}) {
            Map<String, double[]> a = fp.features(t);
            Map<String, double[]> b = q.features(t);
            for (String k : a.keySet()) {
                sum += DisturbanceMetric.REL_L2.of(a.get(k), b.get(k));
                n++;
            }
        }
        return sum / n;
    }
}
