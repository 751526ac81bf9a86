package dev.tfmq.strategies.recipe;

import com.typesafe.config.ConfigFactory;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.temporal.DisturbanceMetric;
import dev.tfmq.strategies.temporal.DisturbanceProbe;
import dev.tfmq.strategies.temporal.TemporalInformationBlock;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Measurements for the report, not a CI test: run with
 * {@code -Dtfmq.measure=RECIPE[,RECIPE…] -Dtfmq.measure.model=models/fmnist-ddpm -Dtfmq.measure.iterations=N}.
 * Prints, per recipe: phase wall times, output error vs FP at every step of one FP trajectory, the temporal-feature
 * cosine per step (Fig. 2 diagnostic), cache and artifact sizes and the selection counts.
 */
class BundledModelMeasurement {
    @Test
    void measure() throws Exception {
        String which = System.getProperty("tfmq.measure");
        Assumptions.assumeTrue(which != null && !which.isBlank(), "measurement only on request");
        Path root = Path.of(System.getProperty("tfmq.root", ".."));
        Path modelDir = root.resolve(System.getProperty("tfmq.measure.model", "models/fmnist-ddpm"));
        int iters = Integer.getInteger("tfmq.measure.iterations", 50);
        int steps = Integer.getInteger("tfmq.measure.steps", 20);
        int perStep = Integer.getInteger("tfmq.measure.samples", 4);
        SchedulerConfig sc = SchedulerConfig.read(modelDir.resolve("scheduler/scheduler_config.json"));
        CalibrationSettings cal = new CalibrationSettings(sc, SchedulerConfig.Kind.DDIM, 0.0, steps,
                CalibrationSettings.Spacing.CONFIG, CalibrationSettings.DataMode.QDIFFUSION, perStep, 4, 0, true, 64, 0.4, 0.4,
                16, 1L << 30, null, 1234);
        TimestepSchedule ts = cal.schedule();
        // reference trajectory inputs x_t from the FP model (4 images)
        UNet2DModel fpModel = UNet2DModel.load(modelDir);
        List<INDArray> xs = new ArrayList<>();
        new Sampler(fpModel, cal.createScheduler(), ts).sample(new long[] {100000, 100001, 100002, 100003},
                new long[] {1, 28, 28}, new NoiseSource(99), (k, t, xt, mo, x0, xp) -> xs.add(xt.dup()));
        List<INDArray> fpOut = new ArrayList<>();
        for (int k = 0; k < ts.size(); k++) fpOut.add(out(fpModel, xs.get(k), ts.timestep(k)));
        TemporalInformationBlock fpTib = new TemporalInformationBlock(fpModel);
        System.out.printf("FP32 parameters: %d B%n", QuantizationArtifact.fp32Bytes(fpModel));
        for (String name : which.split(",")) {
            var cfg = ConfigFactory.parseString("recipe.reconstruction { iterations = " + iters + ", batch-size = 8 }\n"
                            + "recipe.activation.step-size-reconstruction.iterations = " + iters)
                    .withFallback(QuantizationRecipe.loadConfig(root.resolve("configs/recipes/" + name + ".conf")));
            QuantizationRecipe r = QuantizationRecipe.fromConfig(cfg);
            CalibrationSettings c = cal;
            if (name.startsWith("ptq4dm")) {
                c = new CalibrationSettings(sc, cal.samplerKind(), cal.eta(), steps, cal.spacing(), CalibrationSettings.DataMode.PTQ4DM,
                        perStep, 4, 0, true, 4 * perStep, 0.4, 0.4, 16, 1L << 30, null, 1234);
            } else if (r.activation().calibration() == QuantizationRecipe.ActivationCalibrationMode.SINGLE) {
                // the baselines calibrate activations on the weight steps only (Q-Diffusion's single set)
                c = new CalibrationSettings(sc, cal.samplerKind(), cal.eta(), steps, cal.spacing(), cal.data(), perStep, 4, 4,
                        true, 64, 0.4, 0.4, 16, 1L << 30, null, 1234);
            }
            QuantizedModel qm = RecipeRunner.quantize(UNet2DModel.load(modelDir), r, c, ProgressListener.NONE);
            StringBuilder err = new StringBuilder();
            double sum = 0;
            for (int k = 0; k < ts.size(); k++) {
                INDArray o = Nd4j.create(DataType.FLOAT, xs.get(k).shape());
                long[] tb = new long[(int) o.size(0)];
                java.util.Arrays.fill(tb, ts.timestep(k));
                qm.predict(xs.get(k), tb, o);
                double rel = o.sub(fpOut.get(k)).norm2Number().doubleValue() / fpOut.get(k).norm2Number().doubleValue();
                sum += rel;
                if (k % 4 == 0 || k == ts.size() - 1) err.append(String.format(" t%d=%.4f", ts.timestep(k), rel));
            }
            StringBuilder cos = new StringBuilder();
            double worst = 1;
            for (long t : ts.distinctTimesteps()) {
                Map<String, double[]> want = fpTib.features(t);
                Map<String, double[]> got = servedFeatures(qm, t);
                double m = 0;
                for (String k : want.keySet()) m += 1 - DisturbanceMetric.COSINE.of(want.get(k), got.get(k));
                m /= want.size();
                worst = Math.min(worst, m);
                if (t % 200 == 0 || t == ts.distinctTimesteps()[0]) cos.append(String.format(" t%d=%.5f", t, m));
            }
            Path art = Files.createTempFile("tfmq-measure", ".safetensors");
            long size = QuantizationArtifact.write(art, qm);
            Files.delete(art);
            System.out.printf("%n== %s (%s), %d iterations, calib %d samples%n", name, r.bits(), iters,
                    Integer.parseInt(qm.provenance().get("calibration_samples")));
            for (String k : List.of("time_calibration_data_s", "time_weight_init_s", "time_reconstruction_s",
                    "time_activation_calibration_s", "time_temporal_s", "time_total_s", "cache_bytes", "selection_counts")) {
                if (qm.provenance().containsKey(k)) System.out.printf("  %s = %s%n", k, qm.provenance().get(k));
            }
            System.out.printf("  output rel-L2 vs FP: mean %.4f |%s%n", sum / ts.size(), err);
            System.out.printf("  temporal-feature cosine (mean over members): min %.5f |%s%n", worst, cos);
            System.out.printf("  artifact %d B (%.1f%% of FP32)%n", size, 100.0 * size / QuantizationArtifact.fp32Bytes(qm.model()));
            if (qm.selection() != null) {
                qm.selection().perMember().forEach((m, ch) -> System.out.printf("  select %-34s %s tib=%.5f cache=%.5f%n",
                        m, ch.strategy(), ch.tib(), ch.cache()));
            }
        }
    }

    /** The temporal features the quantized model actually uses at t (TIB, cache or selection). */
    static Map<String, double[]> servedFeatures(QuantizedModel qm, long t) {
        if (qm.temporalSource() == null) return DisturbanceProbe.quantizedTib(qm.model(), qm.context(), t);
        var tf = qm.model().temporalBuffers(new long[] {t});
        qm.context().set(t);
        try {
            qm.temporalSource().fill(qm.model(), tf);
        } finally {
            qm.context().clear();
        }
        Map<String, double[]> m = new java.util.LinkedHashMap<>();
        tf.projections().forEach((k, v) -> m.put(k, v.dup().data().asDouble()));
        return m;
    }

    static INDArray out(UNet2DModel m, INDArray x, long t) {
        INDArray o = Nd4j.create(DataType.FLOAT, x.shape());
        long[] tb = new long[(int) x.size(0)];
        java.util.Arrays.fill(tb, t);
        m.forward(x, tb, o);
        return o;
    }
}
