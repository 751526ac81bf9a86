package dev.tfmq.harness.cli;

import dev.tfmq.harness.console.Progress;
import dev.tfmq.metrics.FidComparison;
import dev.tfmq.metrics.features.FeatureExtractor;
import dev.tfmq.model.io.Npz;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
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

    @Option(names = "--kid-features", paramLabel = "K", defaultValue = "0", description = "also keep the first K pooled feature "
            + "vectors (key 'kid', float32), so the file can serve as a run's reference for KID (default ${DEFAULT-VALUE})")
    int kidFeatures;

    @Override
    public Integer call() throws Exception {
        if (kidFeatures < 0) throw new IllegalArgumentException("--kid-features " + kidFeatures + ": expected 0 or more");
        FeatureExtractor ex = features.load();
        long t0 = System.nanoTime();
        INDArray[] kid = new INDArray[1];
        Progress[] progress = new Progress[1];
        FidComparison.Side side;
        try {
            side = FidComparison.load(data, ex, 0, (from, total, batch) -> {
                if (progress[0] == null) progress[0] = Progress.start("stats " + data, total, "images");
                int k = Math.min(kidFeatures, total);
                if (k > 0 && kid[0] == null) kid[0] = Nd4j.create(DataType.FLOAT, k, ex.pooledDim());
                int rows = (int) batch.pooled().rows();
                if (from < k) {
                    int take = Math.min(rows, k - from);
                    kid[0].get(NDArrayIndex.interval(from, from + take), NDArrayIndex.all())
                            .assign(batch.pooled().get(NDArrayIndex.interval(0, take), NDArrayIndex.all()));
                }
                progress[0].stepTo(from + rows);
            });
        } finally {
            if (progress[0] != null) progress[0].close();
        }
        if (kidFeatures > 0 && kid[0] == null) {
            throw new IllegalArgumentException("--kid-features needs images to featurise; " + data + " is a statistics file");
        }
        if (kid[0] == null) {
            side.statistics().write(out);
        } else {
            // the statistics as ReferenceStatistics writes them, plus the KID features
            Path tmp = out.resolveSibling(out.getFileName() + ".stats.tmp.npz");
            side.statistics().write(tmp);
            Map<String, INDArray> arrays = new LinkedHashMap<>(Npz.read(tmp));
            java.nio.file.Files.deleteIfExists(tmp);
            arrays.put("kid", kid[0]);
            Npz.write(out, arrays);
        }
        System.out.printf("wrote %s: N = %d images of %s, %s features (%d pooled, %d spatial dims)%s, %.1f s%n", out,
                side.n(), data, ex.name(), ex.pooledDim(), ex.spatialDim(),
                kid[0] == null ? "" : ", " + kid[0].rows() + " KID feature vectors", (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
