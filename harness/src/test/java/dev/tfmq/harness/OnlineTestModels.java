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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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
                        // the revision schedule these runs assert was measured without bias correction
                        + "recipe.bias-correction = false\n"
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
            return new Inverted(side, crashAt > 0 ? new AtomicInteger(crashAt) : null);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static RunLauncher.Parts parts(Path artifact, int crashAt) {
        return new RunLauncher.Parts(TestModels::fp, () -> quantized(artifact, crashAt), TestModels::featurizer, TestModels.reference(),
                TestModels.scheduler(), new long[] {1, 16, 16}, "tiny-random-unet-seed-" + TestModels.SEED);
    }

    /** The logged side (crash injection included) with its calibration-time table inverted. */
    static final class Inverted extends TestModels.Logged {
        Inverted(StrategiesSide side, AtomicInteger crash) {
            super(side, 1, crash);
        }

        @Override
        public Optional<SelectionTable> calibratedSelection() {
            SelectionTable t = super.calibratedSelection().orElseThrow();
            Map<Long, String> flipped = new LinkedHashMap<>();
            t.serving().forEach((ts, c) -> flipped.put(ts, c.equals(SelectionTable.TIB) ? SelectionTable.CACHE : SelectionTable.TIB));
            return Optional.of(t.revised(flipped, Map.of()));
        }
    }
}
