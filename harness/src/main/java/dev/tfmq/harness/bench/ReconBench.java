package dev.tfmq.harness.bench;

import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizationRecipe;
import dev.tfmq.strategies.recon.BlockReconstructor;
import dev.tfmq.strategies.recon.ReconstructionSettings;
import dev.tfmq.strategies.recon.UnitKind;
import dev.tfmq.strategies.recon.WeightReconstruction;
import dev.tfmq.strategies.temporal.TemporalInformationBlock;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Times one reconstruction of every unit of a recipe (TIB, ResnetBlocks, attention blocks, layers) on random
 * calibration inputs, the real training loop at a few iterations per unit. The data's values do not change the work,
 * only its shapes do, so random inputs at the model's sample size time the same loop a calibration runs.
 */
public final class ReconBench {
    /** Per unit kind: units, floating-point work and steady seconds of one iteration of every unit of that kind. */
    public record KindRow(UnitKind kind, int units, double gflopPerIteration, double secondsPerIteration) {
        public double gflops() { return gflopPerIteration / secondsPerIteration; }
    }

    private ReconBench() {}

    /** Random calibration inputs: {@code samples} images spread over four time-steps of the model's schedule. */
    public static CalibrationStore randomData(UNet2DModel model, int samples, long seed) {
        var c = model.config();
        long size = c.sampleSize() == null ? 32 : c.sampleSize();
        long[] chw = {c.inChannels(), size, size};
        CalibrationStore store = new CalibrationStore(chw, Long.MAX_VALUE, null);
        long[] ts = {999, 666, 333, 0};
        int per = Math.max(1, samples / ts.length);
        for (int k = 0; k < ts.length; k++) {
            store.add(k, ts[k], Nd4j.randn(seed + k, new long[] {per, chw[0], chw[1], chw[2]}).castTo(model.dtype()));
        }
        return store;
    }

    /**
     * One reconstruction of every unit with {@code iterations} iterations each on mini-batches of {@code batch}; the
     * model's weights are restored.
     */
    public static Map<String, BlockReconstructor.Result> run(UNet2DModel model, QuantizationRecipe recipe,
                                                             CalibrationStore data, int iterations, int batch,
                                                             ProgressListener progress) {
        WeightQuantization wq = new WeightQuantization(model, recipe.layers(), recipe.bits().weight());
        wq.initializeAll(recipe.weightInit());
        ReconstructionSettings rs = recipe.reconstruction();
        ReconstructionSettings s = new ReconstructionSettings(true, rs.tib(), true, iterations, batch, rs.lambda(),
                rs.betaStart(), rs.betaEnd(), rs.warmup(), rs.lr(), rs.seed());
        WeightReconstruction wr = new WeightReconstruction(model, new TemporalInformationBlock(model), wq, s, progress);
        int[] idx = new int[data.size()];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        try {
            wr.run(data, idx);
        } finally {
            wq.restoreAll();
        }
        return new LinkedHashMap<>(wr.results());
    }

    /** Sums the units of each kind: their work per iteration and their steady seconds per iteration. */
    public static List<KindRow> byKind(Map<String, BlockReconstructor.Result> results) {
        Map<UnitKind, double[]> acc = new EnumMap<>(UnitKind.class);
        for (BlockReconstructor.Result r : results.values()) {
            double[] a = acc.computeIfAbsent(r.kind(), k -> new double[3]);
            a[0]++;
            a[1] += r.flopPerIteration() / 1e9;
            a[2] += 1 / r.iterationsPerSecond();
        }
        List<KindRow> rows = new ArrayList<>();
        acc.forEach((k, a) -> rows.add(new KindRow(k, (int) a[0], a[1], a[2])));
        return rows;
    }

    /** Every unit once: the whole network's work and seconds of one iteration. */
    public static KindRow total(List<KindRow> rows) {
        int n = 0;
        double g = 0, s = 0;
        for (KindRow r : rows) {
            n += r.units();
            g += r.gflopPerIteration();
            s += r.secondsPerIteration();
        }
        return new KindRow(null, n, g, s);
    }
}
