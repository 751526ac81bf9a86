package dev.tfmq.harness.run;

import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.QualityAccumulator;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.model.data.IdxReader;
import dev.tfmq.model.data.ImageDataset;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.io.Npz;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The real-image side of FID/sFID/KID: statistics of the first {@code count} images of a dataset under the run's
 * featurizer, plus the first {@code kidCount} feature vectors for KID. Computed once and cached as an ADM-style npz
 * ({@code mu, sigma, mu_s, sigma_s}, plus {@code n} and {@code kid}) under the cache folder, keyed by featurizer,
 * dataset and count. A path to such an npz (or any ADM reference batch with mu/sigma) can be given instead.
 */
public final class ReferenceSet {
    private ReferenceSet() {}

    public static QualityAccumulator.Reference load(String dataset, int count, int kidCount, ImageFeaturizer featurizer,
                                                    String featurizerKey, Path cacheDir) throws IOException {
        if (dataset.equals("none")) return new QualityAccumulator.Reference("none", null, null, null);
        if (dataset.endsWith(".npz")) return read(Path.of(dataset));
        boolean train = switch (dataset) {
            case "fashion-mnist-train" -> true;
            case "fashion-mnist-test" -> false;
            default -> throw new IllegalArgumentException("config key 'tfmq.metrics.reference.dataset' = \"" + dataset
                    + "\": expected fashion-mnist-train, fashion-mnist-test, none, or a path to a .npz");
        };
        Path cached = cacheDir.resolve("reference").resolve(Hashing.sha256(featurizerKey + "|" + dataset + "|" + count + "|" + kidCount)
                .substring(0, 16) + ".npz");
        if (Files.exists(cached)) return read(cached);
        ImageDataset data = IdxReader.fashionMnist(IdxReader.FASHION_MNIST_DIR, train);
        int n = Math.min(count, data.size());
        FeatureStatistics pooled = new FeatureStatistics(featurizer.pooledDim());
        FeatureStatistics spatial = featurizer.spatialDim() > 0 ? new FeatureStatistics(featurizer.spatialDim()) : null;
        int k = Math.min(kidCount, n);
        INDArray kid = Nd4j.create(DataType.FLOAT, k, featurizer.pooledDim());
        int batch = 250;
        for (int from = 0; from < n; from += batch) {
            int b = Math.min(batch, n - from);
            INDArray images = data.toFloat(from, b, PixelRange.ZERO_ONE);
            ImageFeaturizer.Extracted e = featurizer.extract(images);
            pooled.update(e.pooled());
            if (spatial != null) spatial.update(e.spatial());
            if (from < k) {
                int take = Math.min(b, k - from);
                kid.get(NDArrayIndex.interval(from, from + take), NDArrayIndex.all())
                        .assign(e.pooled().get(NDArrayIndex.interval(0, take), NDArrayIndex.all()));
            }
        }
        Map<String, INDArray> arrays = new LinkedHashMap<>();
        Gaussian g = Gaussian.of(pooled);
        arrays.put("mu", g.muArray());
        arrays.put("sigma", g.sigmaArray());
        arrays.put("n", Nd4j.createFromArray((long) n));
        if (spatial != null) {
            Gaussian s = Gaussian.of(spatial);
            arrays.put("mu_s", s.muArray());
            arrays.put("sigma_s", s.sigmaArray());
        }
        arrays.put("kid", kid);
        Files.createDirectories(cached.getParent());
        Npz.write(cached, arrays);
        return read(cached);
    }

    static QualityAccumulator.Reference read(Path file) throws IOException {
        Map<String, INDArray> a = Npz.read(file);
        if (!a.containsKey("mu") || !a.containsKey("sigma")) {
            throw new IOException(file + ": a reference npz needs 'mu' and 'sigma' (has " + a.keySet() + ")");
        }
        long n = a.containsKey("n") ? a.get("n").getLong(0) : -1;
        Gaussian pooled = Gaussian.of(a.get("mu"), a.get("sigma"), n);
        Gaussian spatial = a.containsKey("mu_s") && a.containsKey("sigma_s") ? Gaussian.of(a.get("mu_s"), a.get("sigma_s"), n) : null;
        INDArray kid = a.get("kid");
        return new QualityAccumulator.Reference(file.toString(), pooled, spatial, kid == null ? null : kid.castTo(DataType.FLOAT));
    }
}
