package dev.tfmq.harness.cli;

import dev.tfmq.metrics.FidComparison;
import dev.tfmq.metrics.features.FeatureExtractor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tfmq fid A B}: FID (and sFID) between two statistics files, image folders or named datasets. */
@Command(name = "fid", description = "FID/sFID between A and B: each a statistics .npz (ADM keys mu, sigma, mu_s, sigma_s),"
        + " an image folder, or fashion-mnist:train|test. Prints JSON.")
public final class FidCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "first side")
    String a;

    @Parameters(index = "1", description = "second side")
    String b;

    @Mixin
    FeatureOptions features = new FeatureOptions();

    @Option(names = "--seed", defaultValue = "0", description = "bootstrap seed (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--confidence", defaultValue = "0.95")
    double confidence;

    @Override
    public Integer call() throws Exception {
        if (!(confidence > 0 && confidence < 1)) throw new IllegalArgumentException("--confidence " + confidence + ": expected a number in (0, 1)");
        boolean needsFeatures = !Files.isRegularFile(Path.of(a)) || !Files.isRegularFile(Path.of(b));
        FeatureExtractor ex = needsFeatures ? features.load() : null;
        // statistics files first, so one made with another feature network fails before any image is featurised
        FidComparison.Side sa = Files.isRegularFile(Path.of(a)) ? FidComparison.load(a, ex, seed) : null;
        FidComparison.Side sb = Files.isRegularFile(Path.of(b)) ? FidComparison.load(b, ex, seed + 1) : null;
        if (ex != null) {
            for (FidComparison.Side s : new FidComparison.Side[]{sa, sb}) {
                if (s != null) FidComparison.checkDimension(s, ex.pooledDim(), ex.name());
            }
        }
        if (sa == null) sa = FidComparison.load(a, ex, seed);
        if (sb == null) sb = FidComparison.load(b, ex, seed + 1);
        System.out.println(FidComparison.compare(sa, sb, ex == null ? "statistics" : ex.name(), confidence).toJson());
        return 0;
    }
}
