package dev.tfmq.harness;

import com.typesafe.config.ConfigFactory;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.harness.run.StrategiesSide;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.strategies.recipe.CalibrationSettings;
import dev.tfmq.strategies.recipe.ProgressListener;
import dev.tfmq.strategies.recipe.QuantizationArtifact;
import dev.tfmq.strategies.recipe.QuantizationRecipe;
import dev.tfmq.strategies.recipe.RecipeRunner;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The tiny UNet quantized by the real tfmq recipe with selection by the output error, for harness runs that revise
 * the selection online (single node, resume, cluster workers).
 */
public final class OnlineTestModels {
    private OnlineTestModels() {}

    /** W4A8 tfmq on {@link TestModels#unet()}, selected by the output error on the test runs' 6-step schedule. */
    public static Path writeArtifact(Path dir) throws IOException {
        SchedulerConfig s = TestModels.scheduler();
        CalibrationSettings cal = new CalibrationSettings(s, SchedulerConfig.Kind.DDIM, 0.0, 6, CalibrationSettings.Spacing.CONFIG,
                CalibrationSettings.DataMode.QDIFFUSION, 4, 2, 0, true, 16, 0.4, 0.4, 4, 1L << 24, null, 7);
        Path recipes = Path.of(System.getProperty("tfmq.root", "..")).resolve("configs/recipes");
        var cfg = ConfigFactory.parseString("recipe.reconstruction { iterations = 5, batch-size = 4 }\n"
                        + "recipe.temporal.selection { measure = output, samples = 3 }")
                .withFallback(QuantizationRecipe.loadConfig(recipes.resolve("tfmq-w4a8.conf")));
        var qm = RecipeRunner.quantize(TestModels.unet(), QuantizationRecipe.fromConfig(cfg), cal, ProgressListener.NONE);
        Path artifact = dir.resolve("tfmq-output.safetensors");
        QuantizationArtifact.write(artifact, qm);
        return artifact;
    }

    /**
     * The artifact as the quantized side, reporting every step's calibration-time serving inverted, so that the run
     * must find the better serving itself wherever the evidence is clear; {@code crashAt}: as {@link TestModels#quantized}.
     */
    public static DenoiserSide quantized(Path artifact, int crashAt) {
        try {
            StrategiesSide side = new StrategiesSide(QuantizationArtifact.read(artifact, TestModels.unet()));
            return new TestModels.Logged(new Inverted(side), 1, crashAt > 0 ? new AtomicInteger(crashAt) : null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static RunLauncher.Parts parts(Path artifact, int crashAt) {
        return new RunLauncher.Parts(TestModels::fp, () -> quantized(artifact, crashAt), TestModels::featurizer, TestModels.reference(),
                TestModels.scheduler(), new long[] {1, 16, 16}, "tiny-random-unet-seed-" + TestModels.SEED);
    }

    record Inverted(StrategiesSide d) implements DenoiserSide {
        @Override public String label() { return d.label(); }
        @Override public List<String> members() { return d.members(); }
        @Override public List<String> strategies() { return d.strategies(); }
        @Override public Map<String, float[]> temporalFeatures(long t, String s) { return d.temporalFeatures(t, s); }
        @Override public Map<String, float[]> appliedTemporalFeatures(long t) { return d.appliedTemporalFeatures(t); }
        @Override public void apply(SelectionTable table) { d.apply(table); }
        @Override public void predict(INDArray x, long[] ts, INDArray out) { d.predict(x, ts, out); }
        @Override public void predictWith(String s, INDArray x, long[] ts, INDArray out) { d.predictWith(s, x, ts, out); }

        @Override
        public Optional<SelectionTable> calibratedSelection() {
            SelectionTable t = d.calibratedSelection().orElseThrow();
            Map<Long, String> flipped = new LinkedHashMap<>();
            t.serving().forEach((ts, c) -> flipped.put(ts, c.equals(SelectionTable.TIB) ? SelectionTable.CACHE : SelectionTable.TIB));
            return Optional.of(t.revised(flipped, Map.of()));
        }
    }
}
