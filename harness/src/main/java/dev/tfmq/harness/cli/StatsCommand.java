package dev.tfmq.harness.cli;

import dev.tfmq.metrics.FidComparison;
import dev.tfmq.metrics.features.FeatureExtractor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tfmq stats}: reference statistics of a dataset in ADM's .npz layout. */
@Command(name = "stats", description = "Featurise a dataset and write its reference statistics (.npz with mu, sigma, mu_s, sigma_s).")
public final class StatsCommand implements Callable<Integer> {
    @Option(names = "--data", required = true, description = "fashion-mnist:train, fashion-mnist:test or an image folder")
    String data;

    @Mixin
    FeatureOptions features = new FeatureOptions();

    @Option(names = "--out", required = true, description = ".npz to write")
    Path out;

    @Override
    public Integer call() throws Exception {
        FeatureExtractor ex = features.load();
        long t0 = System.nanoTime();
        FidComparison.Side side = FidComparison.load(data, ex, 0);
        side.statistics().write(out);
        System.out.printf("wrote %s: N = %d images of %s, %s features (%d pooled, %d spatial dims), %.1f s%n", out,
                side.n(), data, ex.name(), ex.pooledDim(), ex.spatialDim(), (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
