package dev.tfmq.harness.cli;

import dev.tfmq.harness.bench.ForwardBench;
import dev.tfmq.harness.bench.ReconBench;
import dev.tfmq.harness.console.CalibrationProgress;
import dev.tfmq.harness.console.Durations;
import dev.tfmq.harness.console.Progress;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.io.AtomicFiles;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.recipe.QuantizationRecipe;
import dev.tfmq.strategies.recon.BlockReconstructor;
import dev.tfmq.strategies.recon.UnitKind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code tfmq bench recon}: the reconstruction loop per unit kind (iterations/s, GFLOP/s) against the forward pass at
 * the same batch, measured in alternating rounds of the same run.
 */
@Command(name = "recon", description = "Reconstruction (AdaRound/BRECQ/TIAR) speed per unit kind: iterations/s and"
        + " GFLOP/s against the UNet forward pass at the same batch, in alternating rounds.")
public final class ReconBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", defaultValue = "fmnist-ddpm", description = "model folder or bundled name (default ${DEFAULT-VALUE})")
    String model;

    @Option(names = "--config", description = "recipe whose units are timed (default configs/recipes/tfmq-w4a8.conf)")
    Path config;

    @Option(names = "--iters", defaultValue = "20", description = "iterations per unit and round (default ${DEFAULT-VALUE};"
            + " the first " + BlockReconstructor.WARMUP_ITERATIONS + " are not timed)")
    int iters;

    @Option(names = "--rounds", defaultValue = "3", description = "alternating forward/reconstruction rounds (medians reported)")
    int rounds;

    @Option(names = "--samples", defaultValue = "64", description = "random calibration samples per round (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--batch", description = "mini-batch of the reconstruction and the forward pass (default: the recipe's, 32)")
    Integer batchOption;

    @Option(names = "--workspace-reference", description = "also time each round with the iteration workspace off"
            + " (every op allocating fresh memory, as before the workspace)")
    boolean workspaceReference;

    @Option(names = "--report", description = "also write the report to this file")
    Path report;

    @Override
    public Integer call() throws Exception {
        if (iters <= BlockReconstructor.WARMUP_ITERATIONS) {
            throw new ParameterException(spec.commandLine(), "--iters must be more than " + BlockReconstructor.WARMUP_ITERATIONS + ", got " + iters);
        }
        if (rounds < 1) throw new ParameterException(spec.commandLine(), "--rounds must be at least 1, got " + rounds);
        Path recipeFile = config != null ? config : ModelLocator.home().resolve("configs/recipes/tfmq-w4a8.conf");
        if (!Files.isRegularFile(recipeFile)) throw new ParameterException(spec.commandLine(), "--config " + recipeFile + ": no such file");
        QuantizationRecipe recipe = QuantizationRecipe.fromConfig(QuantizationRecipe.loadConfig(recipeFile));
        Path dir = ModelLocator.resolve(model);
        UNet2DModel fp = UNet2DModel.load(dir);
        if (batchOption != null && batchOption < 1) throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batchOption);
        int batch = batchOption != null ? batchOption : recipe.reconstruction().batchSize();
        if (samples < batch) throw new ParameterException(spec.commandLine(), "--samples must be at least the batch " + batch + ", got " + samples);

        List<Double> forward = new ArrayList<>();
        Map<UnitKind, List<double[]>> kinds = new EnumMap<>(UnitKind.class);
        Map<UnitKind, List<double[]>> noWs = new EnumMap<>(UnitKind.class);
        List<Double> totalSec = new ArrayList<>(), totalSecNoWs = new ArrayList<>();
        double gflopTotal = 0;
        try (CalibrationStore data = ReconBench.randomData(fp, samples, 7)) {
            for (int round = 0; round < rounds; round++) {
                String of = " round " + (round + 1) + "/" + rounds;
                double s;
                try (Progress p = Progress.start("bench recon forward batch " + batch + of, ForwardBench.countedPasses(5), "passes")) {
                    s = ForwardBench.timeJava(fp, batch, 5, 42, p);
                }
                forward.add(s);
                for (boolean ws : workspaceReference ? new boolean[] {true, false} : new boolean[] {true}) {
                    boolean was = BlockReconstructor.useIterationWorkspace(ws);
                    Map<String, BlockReconstructor.Result> res;
                    try (CalibrationProgress progress = new CalibrationProgress((phase, detail) -> {})) {
                        res = ReconBench.run(fp, recipe, data, iters, batch, progress);
                    } finally {
                        BlockReconstructor.useIterationWorkspace(was);
                    }
                    List<ReconBench.KindRow> rows = ReconBench.byKind(res);
                    ReconBench.KindRow all = ReconBench.total(rows);
                    gflopTotal = all.gflopPerIteration();
                    (ws ? totalSec : totalSecNoWs).add(all.secondsPerIteration());
                    for (ReconBench.KindRow r : rows) {
                        (ws ? kinds : noWs).computeIfAbsent(r.kind(), k -> new ArrayList<>())
                                .add(new double[] {r.units(), r.gflopPerIteration(), r.secondsPerIteration()});
                    }
                    System.err.printf("  round %d%s: forward %.1f ms, one iteration of every unit %.3f s%n", round + 1,
                            ws ? "" : " (no workspace)", s * 1e3, all.secondsPerIteration());
                }
            }
        }
        double fwd = ForwardBench.median(forward);
        double fwdGflops = 2.0 * fp.macsPerImage() * batch / 1e9 / fwd;
        StringBuilder out = new StringBuilder();
        out.append(String.format("tfmq bench recon: %s, recipe %s (W%d, TIB %s), batch %d, %d iterations per unit"
                        + " (%d untimed), medians of %d alternating rounds, %d cores%n", dir.getFileName(), recipe.name(),
                recipe.bits().weight(), recipe.reconstruction().tib(), batch, iters, BlockReconstructor.WARMUP_ITERATIONS,
                rounds, Runtime.getRuntime().availableProcessors()));
        out.append(String.format("forward pass, batch %d: %.1f ms, %.1f GFLOP/s (float32)%n", batch, fwd * 1e3, fwdGflops));
        out.append("work of one reconstruction iteration = forward + input gradient + weight gradient = 3 x 2 x MACs x batch\n");
        out.append(String.format("%-10s %5s %11s %10s %9s %10s%s%n", "unit kind", "units", "GFLOP/iter", "s/iter", "GFLOP/s",
                "vs forward", workspaceReference ? "  no-workspace s/iter (speed-up)" : ""));
        for (UnitKind k : UnitKind.values()) {
            List<double[]> l = kinds.get(k);
            if (l == null) continue;
            double sec = ForwardBench.median(l.stream().map(a -> a[2]).toList());
            double g = l.get(0)[1];
            out.append(String.format("%-10s %5d %11.2f %10.4f %9.1f %9.0f%%", k.name().toLowerCase(), (int) l.get(0)[0], g, sec,
                    g / sec, 100 * g / sec / fwdGflops));
            if (workspaceReference && noWs.get(k) != null) {
                double s2 = ForwardBench.median(noWs.get(k).stream().map(a -> a[2]).toList());
                out.append(String.format("  %10.4f (%.2fx)", s2, s2 / sec));
            }
            out.append('\n');
        }
        double all = ForwardBench.median(totalSec);
        out.append(String.format("%-10s %5s %11.2f %10.4f %9.1f %9.0f%%", "all", "", gflopTotal, all, gflopTotal / all,
                100 * gflopTotal / all / fwdGflops));
        if (workspaceReference) {
            double s2 = ForwardBench.median(totalSecNoWs);
            out.append(String.format("  %10.4f (%.2fx)", s2, s2 / all));
        }
        out.append('\n');
        out.append(String.format("one iteration of every unit: %.3f s; at 5,000 iterations per unit %s, at 20,000 %s"
                        + " (reconstruction loops only; capture passes and activation calibration not included)%n",
                all, Durations.format(all * 5000), Durations.format(all * 20000)));
        System.out.print(out);
        if (report != null) AtomicFiles.writeString(report, out.toString());
        return 0;
    }
}
