package dev.tfmq.harness.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.tfmq.harness.console.CalibrationProgress;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.recipe.CalibrationSettings;
import dev.tfmq.strategies.recipe.QuantizationArtifact;
import dev.tfmq.strategies.recipe.QuantizationRecipe;
import dev.tfmq.strategies.recipe.QuantizedModel;
import dev.tfmq.strategies.recipe.RecipeRunner;
import dev.tfmq.strategies.temporal.SelectionMeasure;
import dev.tfmq.strategies.temporal.SelectionTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code tfmq quantize}: run a recipe on a model and write the quantized artifact. */
@Command(name = "quantize", description = "Calibrate a recipe (configs/recipes/*.conf) on a model and write the artifact"
        + " (packed integer weights, scales, activation tables, cache, selection table, provenance).")
public final class QuantizeCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "recipe file, e.g. configs/recipes/tfmq-w4a8.conf")
    Path config;

    @Option(names = "--model", defaultValue = "fmnist-ddpm", description = "model folder or bundled name (default ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--out", required = true, description = "artifact (.safetensors) to write")
    Path out;

    @Option(names = "--set", description = "override a recipe/calibration key, e.g. --set calibration.samples-per-step=32")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Path dir = ModelLocator.resolve(model);
        Config cfg = QuantizationRecipe.loadConfig(config);
        for (String s : sets) {
            int eq = s.indexOf('=');
            if (eq < 1) throw new IllegalArgumentException("--set '" + s + "': expected key=value");
            cfg = ConfigFactory.parseString(s.substring(0, eq) + " = " + s.substring(eq + 1)).withFallback(cfg).resolve();
        }
        if (!cfg.hasPath("calibration.scheduler")) {
            Path sched = SampleCommand.schedulerConfig(dir).getParent();
            cfg = cfg.withValue("calibration.scheduler", ConfigValueFactory.fromAnyRef(sched.toString()));
        }
        QuantizationRecipe recipe = QuantizationRecipe.fromConfig(cfg);
        CalibrationSettings cal = CalibrationSettings.fromConfig(cfg, config.toAbsolutePath().getParent());
        UNet2DModel fp = UNet2DModel.load(dir);
        long fpBytes = QuantizationArtifact.fp32Bytes(fp);
        long t0 = System.nanoTime();
        QuantizedModel q;
        try (CalibrationProgress progress = new CalibrationProgress((phase, detail) ->
                System.err.printf("  %-12s %s%n", phase, detail))) {
            q = RecipeRunner.quantize(fp, recipe, cal, progress);
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        long bytes = QuantizationArtifact.write(out, q);
        System.out.printf("wrote %s: %,d bytes (%.1f%% of the %,d-byte float32 checkpoint), calibrated in %.1f s%n",
                out, bytes, 100.0 * bytes / fpBytes, fpBytes, secs);
        for (Map.Entry<String, String> e : q.provenance().entrySet()) {
            if (e.getValue().length() < 160) System.out.printf("  %-28s %s%n", e.getKey(), e.getValue());
        }
        if (q.selection() != null && q.selection().measure() == SelectionMeasure.OUTPUT) printOutputTable(q.selection());
        return 0;
    }

    /** Per step: both servings' mean ε̂ error on the FP trajectory and the choice (selection by the output error). */
    static void printOutputTable(SelectionTable table) {
        System.out.println("selection by the output error (mean relative L2 of eps on the FP trajectory, per step):");
        System.out.printf("  %5s %5s %10s %10s  %s%n", "step", "t", "tib", "cache", "choice");
        int k = 0;
        for (Map.Entry<Long, SelectionTable.Choice> e : table.perTimestep().entrySet()) {
            SelectionTable.Choice c = e.getValue();
            System.out.printf("  %5d %5d %10.6f %10.6f  %s%n", k++, e.getKey(), c.tib(), c.cache(),
                    c.strategy().name().toLowerCase(java.util.Locale.ROOT));
        }
    }
}
