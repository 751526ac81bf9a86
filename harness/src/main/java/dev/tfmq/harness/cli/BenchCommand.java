package dev.tfmq.harness.cli;

import dev.tfmq.harness.bench.ForwardBench;
import dev.tfmq.harness.console.Progress;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.io.AtomicFiles;
import dev.tfmq.model.unet.UNet2DConfig;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code tfmq bench ...}: speed reports with ratios against a reference measured in the same run. */
@Command(name = "bench", description = "Benchmarks (reports print ratios against a reference measured in the same run).",
        subcommands = {BenchCommand.Forward.class, ReconBenchCommand.class, PipelineBenchCommand.class, ClusterBenchCommand.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        picocli.CommandLine.usage(this, System.out);
    }

    @Command(name = "forward", description = "UNet forward: images/s, GFLOP/s, fraction of fp32 peak, ratio vs PyTorch.")
    public static final class Forward implements Callable<Integer> {
        @Option(names = "--model", description = "model folders or bundled names (default: tiny-gray28 architecture"
                + " and the bundled fmnist-ddpm if present)")
        List<String> models = new ArrayList<>();

        @Option(names = "--batches", split = ",", defaultValue = "1,16,64")
        int[] batches;

        @Option(names = "--iters", defaultValue = "5", description = "timed passes per batch size (median reported)")
        int iters;

        @Option(names = "--python", defaultValue = "/usr/bin/python3",
                description = "Python with PyTorch for the reference; 'off' to skip")
        String python;

        @Option(names = "--rounds", defaultValue = "1", description = "repeat Java and PyTorch alternately this many"
                + " times and report medians over the rounds (a noisy machine drifts between runs)")
        int rounds;

        @Option(names = "--report", description = "also write the report to this file")
        Path report;

        @Override
        public Integer call() throws Exception {
            Map<String, UNet2DModel> archs = new LinkedHashMap<>();
            Map<String, Path> configs = new LinkedHashMap<>();
            Path tmp = Files.createTempDirectory("tfmq-bench");
            if (models.isEmpty()) {
                Path cfg = tmp.resolve("tiny-gray28.json");
                try (InputStream in = BenchCommand.class.getResourceAsStream("/bench/tiny-gray28.json")) {
                    Files.copy(in, cfg);
                }
                archs.put("tiny-gray28", UNet2DModel.random(UNet2DConfig.read(cfg), 1, DataType.FLOAT));
                configs.put("tiny-gray28", cfg);
                Path bundled = ModelLocator.home().resolve("models/fmnist-ddpm");
                if (Files.isDirectory(bundled)) models.add("fmnist-ddpm");
            }
            for (String m : models) {
                Path dir = ModelLocator.resolve(m);
                archs.put(dir.getFileName().toString(), UNet2DModel.load(dir));
                configs.put(dir.getFileName().toString(), dir.resolve("config.json"));
            }
            Path script = ModelLocator.home().resolve("tools/bench_forward_torch.py");
            if (rounds < 1) throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "--rounds must be at least 1, got " + rounds);
            List<String> notes = new ArrayList<>();
            // per (architecture, batch): Java and PyTorch seconds of every round
            Map<String, List<Double>> javaRuns = new LinkedHashMap<>();
            Map<String, List<Double>> torchRuns = new LinkedHashMap<>();
            for (int round = 0; round < rounds; round++) {
                String of = rounds > 1 ? " round " + (round + 1) + "/" + rounds : "";
                for (var e : archs.entrySet()) {
                    UNet2DModel model = e.getValue();
                    Map<Integer, Double> torch = Map.of();
                    if (!python.equals("off") && Files.exists(script)) {
                        try (Progress p = Progress.start("bench forward " + e.getKey() + " PyTorch reference" + of,
                                batches.length, "batch sizes")) {
                            torch = ForwardBench.timeTorch(python, script, configs.get(e.getKey()), batches, iters, notes, p);
                        }
                    }
                    for (int b : batches) {
                        double s;
                        try (Progress p = Progress.start("bench forward " + e.getKey() + " batch " + b + of,
                                ForwardBench.countedPasses(iters), "passes")) {
                            s = ForwardBench.timeJava(model, b, iters, 42, p);
                        }
                        String key = e.getKey() + "\t" + b;
                        javaRuns.computeIfAbsent(key, k -> new ArrayList<>()).add(s);
                        if (torch.get(b) != null) torchRuns.computeIfAbsent(key, k -> new ArrayList<>()).add(torch.get(b));
                        System.err.printf("  round %d: %s batch %d: %.1f ms%s%n", round + 1, e.getKey(), b, s * 1e3,
                                torch.get(b) == null ? "" : String.format(" (PyTorch %.1f ms)", torch.get(b) * 1e3));
                    }
                }
            }
            List<ForwardBench.Row> rows = new ArrayList<>();
            for (var e : archs.entrySet()) {
                double gflop = 2.0 * e.getValue().macsPerImage() / 1e9;
                for (int b : batches) {
                    String key = e.getKey() + "\t" + b;
                    List<Double> t = torchRuns.get(key);
                    rows.add(new ForwardBench.Row(e.getKey(), b, ForwardBench.median(javaRuns.get(key)), gflop,
                            t == null ? null : ForwardBench.median(t)));
                    if (rounds > 1 && t != null && t.size() == javaRuns.get(key).size()) {
                        List<Double> ratios = new ArrayList<>();
                        for (int i = 0; i < t.size(); i++) ratios.add(t.get(i) / javaRuns.get(key).get(i));
                        notes.add(String.format("%s batch %d: vs torch per round %s", e.getKey(), b,
                                ratios.stream().map(r -> String.format("%.2fx", r)).toList()));
                    }
                }
            }
            StringBuilder out = new StringBuilder();
            out.append("tfmq bench forward: float32, ").append(Runtime.getRuntime().availableProcessors())
                    .append(" cores, peak ").append(ForwardBench.PEAK_GFLOPS).append(" GFLOP/s, median of ")
                    .append(iters).append(" passes").append(rounds > 1 ? ", then of " + rounds + " alternating rounds" : "")
                    .append("\n");
            for (var e : archs.entrySet()) {
                out.append(String.format("  %s: %,d parameters, %.3f GFLOP/image%n", e.getKey(),
                        e.getValue().parameterCount(), 2.0 * e.getValue().macsPerImage() / 1e9));
            }
            out.append(ForwardBench.table(rows));
            notes.forEach(n -> out.append("note: ").append(n).append('\n'));
            System.out.print(out);
            if (report != null) AtomicFiles.writeString(report, out.toString());
            return 0;
        }
    }
}
