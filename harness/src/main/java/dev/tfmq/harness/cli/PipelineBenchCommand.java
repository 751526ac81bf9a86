package dev.tfmq.harness.cli;

import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.console.Progress;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.pipeline.Nd4jThreads;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.io.AtomicFiles;
import dev.tfmq.model.unet.UNet2DConfig;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.harness.pipeline.UNetSide;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;

/**
 * {@code tfmq bench pipeline CONFIG}: end-to-end samples/s of the actor pipeline (metrics, checkpoints, dashboard and
 * Prometheus included) against the bound set by the two models' forward passes alone — the same forward passes
 * (batch forward at every step on both sides, plus the quantized side's probe rows), run concurrently on two threads
 * with nothing else — measured in the same process, for ND4J threads per worker 1 and 0 (= all cores per op).
 */
@Command(name = "pipeline", description = "Pipeline samples/s vs the two models' forward-pass bound, same run.")
public final class PipelineBenchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CONFIG") Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE") List<String> sets = new ArrayList<>();

    @Option(names = "--report", description = "also write the report here") Path report;

    @Override
    public Integer call() throws Exception {
        RunConfig cfg = ConfigLoader.load(config, sets);
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "tfmq bench pipeline: %s, %s %s, %d samples x %d steps, batch %d, probe %d, %d cores%n",
                cfg.run().name(), cfg.quantization().recipe(), cfg.quantization().bits(), cfg.run().samples(), cfg.model().steps(),
                cfg.run().batchSize(), cfg.monitor().probeSamples(), Runtime.getRuntime().availableProcessors()));
        Path tmp = Files.createTempDirectory("tfmq-bench-pipeline");
        double bestBound = 0;
        int bestThreads = 1;
        for (int threads : new int[] {1, 0}) {
            double bound = forwardBound(cfg, threads);
            out.append(String.format(Locale.ROOT, "  forward passes alone, nd4j-threads %d: %.3f samples/s%n", threads, bound));
            if (bound > bestBound) {
                bestBound = bound;
                bestThreads = threads;
            }
        }
        List<String> s = new ArrayList<>(sets);
        s.add("workers.nd4j-threads=" + bestThreads);
        RunConfig run = ConfigLoader.load(config, s);
        RunLauncher.Outcome o = new RunLauncher(run, new PrintStream(new ByteArrayOutputStream())).run(tmp.resolve("run"), false, null);
        @SuppressWarnings("unchecked")
        Map<String, Object> tp = (Map<String, Object>) o.summary().get("throughput");
        double rate = ((Number) tp.get("samples_per_second")).doubleValue();
        out.append(String.format(Locale.ROOT, "  pipeline end to end (nd4j-threads %d, dashboard + metrics + checkpoints): %.3f samples/s%n",
                bestThreads, rate));
        out.append(String.format(Locale.ROOT, "  ratio pipeline / forward bound: %.1f%% (target >= 90%%)%n", 100 * rate / bestBound));
        out.append(String.format(Locale.ROOT, "  inside the run: worker compute fp %.1f s, quantized %.1f s of %.1f s wall%n",
                ((Number) tp.get("fp_forward_seconds")).doubleValue(), ((Number) tp.get("quantized_forward_seconds")).doubleValue(),
                ((Number) tp.get("wall_seconds")).doubleValue()));
        System.out.print(out);
        if (report != null) AtomicFiles.writeString(report, out.toString());
        return 0;
    }

    /** Samples/s when both sides only run their forward passes, concurrently, one thread each. */
    static double forwardBound(RunConfig cfg, int threads) throws Exception {
        Path dir = ModelLocator.resolve(cfg.model().path());
        UNet2DConfig uc = UNet2DConfig.read(dir.resolve("config.json"));
        int size = uc.sampleSize() == null ? 32 : uc.sampleSize();
        int b = cfg.run().batchSize(), steps = cfg.model().steps(), batches = cfg.run().batches();
        int probe = Math.min(cfg.monitor().probeSamples(), b);
        CountDownLatch ready = new CountDownLatch(2), go = new CountDownLatch(1);
        List<CompletableFuture<Long>> sides = new ArrayList<>();
        // batch forward passes of both sides (the quantized side's probe rows are not counted), from the start signal
        Progress[] progress = new Progress[1];
        for (int side = 0; side < 2; side++) {
            boolean quantizedSide = side == 1;
            sides.add(CompletableFuture.supplyAsync(() -> {
                try {
                    Nd4jThreads.limitCurrentThread(threads);
                    DenoiserSide m = new UNetSide("bench", UNet2DModel.load(dir));
                    INDArray x = Nd4j.rand(DataType.FLOAT, b, uc.inChannels(), size, size);
                    INDArray o = Nd4j.create(DataType.FLOAT, b, uc.outChannels(), size, size);
                    INDArray px = probe > 0 ? x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, probe)).dup() : null;
                    INDArray po = probe > 0 ? Nd4j.create(DataType.FLOAT, probe, uc.outChannels(), size, size) : null;
                    long[] t = new long[b], tp = new long[Math.max(probe, 1)];
                    Arrays.fill(t, 500);
                    Arrays.fill(tp, 500);
                    m.predict(x, t, o);
                    if (quantizedSide && px != null) m.predict(px, tp, po);
                    ready.countDown();
                    go.await();
                    long t0 = System.nanoTime();
                    for (int i = 0; i < batches * steps; i++) {
                        m.predict(x, t, o);
                        if (quantizedSide && px != null && i % steps != 0) m.predict(px, tp, po);
                        progress[0].stepBy(1);
                    }
                    return System.nanoTime() - t0;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, r -> new Thread(r, "bench-side").start()));
        }
        double wall;
        ready.await();
        progress[0] = Progress.start("bench pipeline forward bound (nd4j-threads " + threads + ")", 2L * batches * steps, "passes");
        try {
            long start = System.nanoTime();
            go.countDown();
            for (CompletableFuture<Long> f : sides) f.join();
            wall = (System.nanoTime() - start) / 1e9;
        } finally {
            progress[0].close();
        }
        return (double) batches * b / wall;
    }
}
