package dev.tfmq.harness.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.harness.console.Progress;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Times the UNet forward pass per batch size and, in the same run, the same architecture in PyTorch, so that
 * the ratio is measured under identical machine conditions.
 */
public final class ForwardBench {
    /** Measured fp32 peak of the project's 2-core machines (AVX-512 FMA), from docs/stack.md. */
    public static final double PEAK_GFLOPS = 393.0;

    /** Warm-up passes always run before the timed ones (then more until 1.5 s have passed). */
    private static final int MIN_WARMUP = 2;

    public record Row(String arch, int batch, double javaSeconds, double gflopPerImage, Double torchSeconds) {
        public double imagesPerSecond() { return batch / javaSeconds; }

        public double gflops() { return gflopPerImage * batch / javaSeconds; }

        public double peakFraction() { return gflops() / PEAK_GFLOPS; }

        public Double speedup() { return torchSeconds == null ? null : torchSeconds / javaSeconds; }
    }

    private ForwardBench() {}

    /** Median seconds of {@code iters} timed passes after the warm-up passes. */
    public static double timeJava(UNet2DModel model, int batch, int iters, long seed) {
        return timeJava(model, batch, iters, seed, null);
    }

    /** Passes counted by {@link #timeJava(UNet2DModel, int, int, long, Progress)}: the timed ones and the least warm-up. */
    public static long countedPasses(int iters) {
        return MIN_WARMUP + (long) iters;
    }

    /**
     * As above, stepping {@code progress} (may be null) over {@link #countedPasses} passes: the first two warm-up
     * passes, then each timed pass; further warm-up passes (while the 1.5 s are not up) show as "warm-up".
     */
    public static double timeJava(UNet2DModel model, int batch, int iters, long seed, Progress progress) {
        var c = model.config();
        int size = c.sampleSize() == null ? 32 : c.sampleSize();
        INDArray x = Nd4j.randn(seed, new long[]{batch, c.inChannels(), size, size}).castTo(DataType.FLOAT);
        INDArray out = Nd4j.create(DataType.FLOAT, batch, c.outChannels(), size, size);
        long[] t = new long[batch];
        for (int i = 0; i < batch; i++) t[i] = (i * 997L) % 1000;
        // Warm up for at least two passes and 1.5 s: a batch-1 pass is too short for the JIT to compile the
        // Vector API kernels within two passes, and interpreted vector code is ~100x slower.
        if (progress != null) progress.extra("warm-up");
        long warmStart = System.nanoTime();
        for (int i = 0; i < 200 && (i < MIN_WARMUP || System.nanoTime() - warmStart < 1_500_000_000L); i++) {
            model.forward(x, t, out);
            if (progress != null) progress.stepTo(Math.min(i + 1, MIN_WARMUP));
        }
        if (progress != null) progress.extra("");
        double[] runs = new double[iters];
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            model.forward(x, t, out);
            runs[i] = (System.nanoTime() - t0) / 1e9;
            if (progress != null) progress.stepTo(MIN_WARMUP + i + 1);
        }
        Arrays.sort(runs);
        return runs[iters / 2];
    }

    /** Runs the PyTorch reference script; returns median seconds by batch, or an empty map if it can't run. */
    public static Map<Integer, Double> timeTorch(String python, Path script, Path config, int[] batches, int iters,
                                                 List<String> notes) {
        return timeTorch(python, script, config, batches, iters, notes, null);
    }

    /** As above, stepping {@code progress} (may be null) by one for each batch size the reference has timed. */
    public static Map<Integer, Double> timeTorch(String python, Path script, Path config, int[] batches, int iters,
                                                 List<String> notes, Progress progress) {
        Map<Integer, Double> out = new HashMap<>();
        List<String> cmd = new ArrayList<>(List.of(python, script.toString(), "--config", config.toString(),
                "--batches", Arrays.toString(batches).replaceAll("[\\[\\] ]", ""), "--iters", String.valueOf(iters),
                "--threads", "2"));
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            // The launcher tunes glibc and OpenMP for ND4J; PyTorch runs with its own defaults, as a user would run
            // it. With our fixed mmap threshold every PyTorch temporary would be a fresh mapping (first-touch page
            // faults): 1.0 s instead of 0.77 s for tiny-gray28 at batch 64 on this machine.
            pb.environment().remove("MALLOC_MMAP_THRESHOLD_");
            pb.environment().remove("OMP_WAIT_POLICY");
            Process p = pb.start();
            ObjectMapper json = new ObjectMapper();
            StringBuilder other = new StringBuilder();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("{")) {
                        JsonNode n = json.readTree(line);
                        out.put(n.get("batch").asInt(), n.get("median_s").asDouble());
                        if (progress != null) progress.stepTo(out.size());
                        if (notes.stream().noneMatch(s -> s.startsWith("PyTorch"))) {
                            notes.add("PyTorch " + n.get("torch").asText() + ", " + n.get("threads").asInt() + " threads");
                        }
                    } else {
                        other.append(line).append('\n');
                    }
                }
            }
            int rc = p.waitFor();
            if (rc != 0) notes.add("PyTorch reference failed (exit " + rc + "): " + other.toString().strip());
        } catch (IOException e) {
            notes.add("PyTorch reference not run: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return out;
    }

    /** Median of a non-empty list (mean of the middle two for an even count). */
    public static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) throw new IllegalArgumentException("median of no values");
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    public static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%-14s %5s %10s %9s %9s %7s %11s %8s%n", "architecture", "batch", "ms/batch", "images/s",
                "GFLOP/s", "%peak", "torch ms", "vs torch"));
        for (Row r : rows) {
            sb.append(String.format("%-14s %5d %10.1f %9.1f %9.1f %6.1f%% %11s %8s%n", r.arch(), r.batch(),
                    r.javaSeconds() * 1e3, r.imagesPerSecond(), r.gflops(), 100 * r.peakFraction(),
                    r.torchSeconds() == null ? "-" : String.format("%.1f", r.torchSeconds() * 1e3),
                    r.speedup() == null ? "-" : String.format("%.2fx", r.speedup())));
        }
        return sb.toString();
    }
}
