package dev.tfmq.harness.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.model.ModelLocator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * {@code tfmq bench cluster}: the same run with 1, 2, 3 ... worker JVMs on this machine, each pinned to one core with
 * {@code taskset} (worker i on core i mod cores), the coordinator sampling nothing itself. Reports samples/s from the
 * first batch handed out to the last one received (so JVM start-up and model loading are left out), the speed-up and
 * the parallel efficiency against the 1-worker run measured in the same invocation.
 */
@Command(name = "cluster", description = "Cluster scaling: samples/s and parallel efficiency with 1, 2, 3 worker JVMs pinned to one core each.")
public final class ClusterBenchCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", paramLabel = "CONFIG", description = "run config (default configs/cluster-bench.conf)")
    Path config;

    @Option(names = "--workers", split = ",", defaultValue = "1,2,3", description = "worker counts to measure (default ${DEFAULT-VALUE})")
    int[] counts;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key (repeatable)")
    List<String> sets = new ArrayList<>();

    @Option(names = "--no-pin", description = "do not pin workers with taskset")
    boolean noPin;

    @Override
    public Integer call() throws Exception {
        Path cfgFile = config != null ? config : ModelLocator.home().resolve("configs/cluster-bench.conf");
        int cores = Runtime.getRuntime().availableProcessors();
        boolean pin = !noPin && new File("/usr/bin/taskset").canExecute();
        List<double[]> rows = new ArrayList<>();
        System.out.printf("tfmq bench cluster: %s, %d cores here, workers pinned: %s%n", cfgFile, cores,
                pin ? "yes (taskset -c, worker i on core i mod " + cores + ")" : "no");
        for (int n : counts) {
            if (n < 1) throw new IllegalArgumentException("--workers " + n + ": expected counts of at least 1");
            double rate = measure(cfgFile, n, cores, pin);
            rows.add(new double[] {n, rate});
            System.out.printf("tfmq bench cluster: %d worker(s): %.3f samples/s%n", n, rate);
        }
        double base = rows.stream().filter(r -> r[0] == 1).mapToDouble(r -> r[1]).findFirst().orElse(Double.NaN);
        StringBuilder t = new StringBuilder("\n| workers | cores used | samples/s | speed-up vs 1 | parallel efficiency |\n|---|---|---|---|---|\n");
        for (double[] r : rows) {
            int n = (int) r[0];
            t.append(String.format("| %d | %d%s | %.3f | %.2fx | %.0f %% |%n", n, Math.min(n, cores), n > cores ? " (oversubscribed)" : "",
                    r[1], r[1] / base, 100 * r[1] / (n * base)));
        }
        System.out.print(t);
        return 0;
    }

    private double measure(Path cfgFile, int n, int cores, boolean pin) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> all = new ArrayList<>(sets);
        all.addAll(List.of("cluster.port=" + port, "cluster.local-workers=false", "cluster.min-workers=" + n, "dashboard.enabled=false"));
        RunConfig cfg = ConfigLoader.load(cfgFile, all);
        Path dir = Files.createTempDirectory("tfmq-bench-cluster");
        List<Process> workers = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) workers.add(worker(port, i % cores, pin, dir.resolve("worker-" + i + ".log")));
            RunLauncher.Outcome o = new RunLauncher(cfg, new PrintStream(new ByteArrayOutputStream())).cluster(true)
                    .run(dir.resolve("run"), false, null);
            JsonNode summary = dev.tfmq.harness.run.RunDirectory.JSON.valueToTree(o.summary());
            for (Process w : workers) {
                if (!w.waitFor(60, TimeUnit.SECONDS) || w.exitValue() != 0) {
                    throw new IllegalStateException("a worker did not finish cleanly; see " + dir);
                }
            }
            return summary.at("/cluster/samples_per_second").asDouble();
        } finally {
            workers.forEach(Process::destroyForcibly);
        }
    }

    private static Process worker(int port, int core, boolean pin, Path log) throws Exception {
        List<String> cmd = new ArrayList<>();
        if (pin) cmd.addAll(List.of("/usr/bin/taskset", "-c", Integer.toString(core)));
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g"));
        // the coordinator's kernel choice must match (workers refuse otherwise), so pass this JVM's module flags on
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-modules") || a.equals("jdk.incubator.vector")).toList());
        cmd.add("-Dtfmq.home=" + ModelLocator.home());
        for (String p : List.of("org.bytedeco.javacpp.cachedir")) {
            if (System.getProperty(p) != null) cmd.add("-D" + p + "=" + System.getProperty(p));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "worker", "--join", "127.0.0.1:" + port));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        return pb.start();
    }
}
