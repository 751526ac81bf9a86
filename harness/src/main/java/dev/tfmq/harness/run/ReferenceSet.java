package dev.tfmq.harness.run;

import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.QualityAccumulator;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.metrics.stats.ReferenceStatistics;
import dev.tfmq.model.data.FashionMnist;
import dev.tfmq.model.data.ImageDataset;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npz;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The real-image side of FID/sFID/KID: statistics of the first {@code count} images of a dataset under the run's
 * featurizer, plus the first {@code kidCount} pooled feature vectors for KID, as an ADM-style npz ({@code mu, sigma,
 * mu_s, sigma_s}, plus {@code n} and {@code kid}). Found, in this order: a path to such an npz (or any ADM reference
 * batch with mu/sigma); the statistics bundled with the feature network ({@code <features>/<dataset>.npz}, used when
 * they cover the same images: all 60 000 training images for the bundled fmnist-features); the cache folder (keyed by
 * featurizer, dataset and counts); else computed from the dataset and cached.
 *
 * <p>{@link #resolve} decides which, reading at most one npz, so a run that needs a dataset it lacks fails before
 * calibration; {@link #load} then does the work.
 */
public final class ReferenceSet {
    /** Fashion-MNIST's split sizes: how many images {@code count} can take without opening the dataset. */
    static final int TRAIN_SIZE = 60_000, TEST_SIZE = 10_000;

    private ReferenceSet() {}

    /** Where the reference comes from: ready statistics, or a dataset to featurise. */
    public sealed interface Source {
        /** A human-readable origin, e.g. the npz path or "fashion-mnist-train (first 5000, computed)". */
        String describe();
    }

    public record Ready(QualityAccumulator.Reference reference, String describe) implements Source {}

    public record Compute(String dataset, boolean train, int count, int kidCount, Path cacheFile) implements Source {
        @Override
        public String describe() {
            return dataset + " (first " + count + " images, featurised now and cached as " + cacheFile + ")";
        }
    }

    /**
     * Decides where the reference comes from, checking that it can be had: a missing npz or a missing dataset is an
     * error naming the config key, the value and what provides it.
     *
     * @param featuresDir the feature network's folder (its bundled statistics), or null for a supplied featurizer
     */
    public static Source resolve(String dataset, int count, int kidCount, Path featuresDir, String featurizerKey, Path cacheDir)
            throws IOException {
        String key = "config key 'tfmq.metrics.reference.dataset' = \"" + dataset + "\"";
        if (dataset.equals("none")) return new Ready(new QualityAccumulator.Reference("none", null, null, null), "none");
        if (dataset.endsWith(".npz")) {
            Path p = Path.of(dataset);
            if (!Files.isRegularFile(p)) throw new FileNotFoundException(key + ": no such file " + p.toAbsolutePath());
            return new Ready(read(p), p.toString());
        }
        boolean train = switch (dataset) {
            case "fashion-mnist-train" -> true;
            case "fashion-mnist-test" -> false;
            default -> throw new IllegalArgumentException(key
                    + ": expected fashion-mnist-train, fashion-mnist-test, none, or a path to a .npz");
        };
        int n = Math.min(count, train ? TRAIN_SIZE : TEST_SIZE);
        int k = Math.min(kidCount, n);
        Path bundled = featuresDir == null ? null : featuresDir.resolve(dataset + ".npz");
        if (bundled != null && Files.isRegularFile(bundled)) {
            Map<String, INDArray> a = Npz.read(bundled);
            INDArray kid = a.get("kid");
            if (a.containsKey("n") && a.get("n").getLong(0) == n && kid != null && kid.rank() == 2 && kid.rows() >= k) {
                return new Ready(reference(bundled, a, k), bundled.toString());
            }
        }
        Path cached = cacheDir.resolve("reference").resolve(Hashing.sha256(featurizerKey + "|" + dataset + "|" + count + "|" + kidCount)
                .substring(0, 16) + ".npz");
        if (Files.exists(cached)) return new Ready(read(cached), cached.toString());
        if (!FashionMnist.available()) {
            int full = train ? TRAIN_SIZE : TEST_SIZE;
            String hint = bundled == null || !Files.isRegularFile(bundled) ? ""
                    : n != full ? "; or set tfmq.metrics.reference.count = " + full + ", whose statistics ship in " + bundled
                    : "; the bundled " + bundled + " lacks " + k + " KID feature vectors (key 'kid'): lower tfmq.metrics.reservoir";
            throw new FileNotFoundException(key + " with reference.count = " + count + ": "
                    + FashionMnist.missingMessage("computing these reference statistics") + hint);
        }
        return new Compute(dataset, train, n, k, cached);
    }

    /** The reference itself: ready statistics as they are, or the dataset featurised (and cached for next time). */
    public static QualityAccumulator.Reference load(Source source, ImageFeaturizer featurizer) throws IOException {
        if (source instanceof Ready r) return r.reference();
        return compute((Compute) source, featurizer);
    }

    private static QualityAccumulator.Reference compute(Compute c, ImageFeaturizer featurizer) throws IOException {
        ImageDataset data = FashionMnist.open(c.train());
        int n = Math.min(c.count(), data.size());
        FeatureStatistics pooled = new FeatureStatistics(featurizer.pooledDim());
        FeatureStatistics spatial = featurizer.spatialDim() > 0 ? new FeatureStatistics(featurizer.spatialDim()) : null;
        int k = Math.min(c.kidCount(), n);
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
        Files.createDirectories(c.cacheFile().getParent());
        Npz.write(c.cacheFile(), arrays);
        return read(c.cacheFile());
    }

    /** The reference must describe the features the run measures: same widths of the pooled and spatial features. */
    public static void checkDimensions(QualityAccumulator.Reference r, ImageFeaturizer f) {
        if (r.pooled() == null) return;
        String key = "config key 'tfmq.metrics.reference.dataset' (" + r.source() + ")";
        if (r.pooled().dim() != f.pooledDim()) {
            throw new IllegalArgumentException(key + ": 'mu' has " + r.pooled().dim() + " entries but the feature network "
                    + "gives " + f.pooledDim() + "-d features; the reference was made with another feature network");
        }
        if (r.spatial() != null && f.spatialDim() > 0 && r.spatial().dim() != f.spatialDim()) {
            throw new IllegalArgumentException(key + ": 'mu_s' has " + r.spatial().dim() + " entries but the feature network "
                    + "gives " + f.spatialDim() + "-d spatial features");
        }
    }

    static QualityAccumulator.Reference read(Path file) throws IOException {
        return reference(file, Npz.read(file), Integer.MAX_VALUE);
    }

    /** The arrays of a reference npz; at most {@code kidRows} KID features are kept (the first ones). */
    private static QualityAccumulator.Reference reference(Path file, Map<String, INDArray> a, int kidRows) throws IOException {
        ReferenceStatistics st = ReferenceStatistics.of(file, a);
        Gaussian pooled = st.pooled();
        Gaussian spatial = st.spatial();
        // a run's reference records one count for both feature sets
        if (spatial != null && spatial.n() != pooled.n()) spatial = new Gaussian(spatial.mu(), spatial.sigma(), pooled.n());
        INDArray kid = a.get("kid");
        if (kid != null && (kid.rank() != 2 || kid.columns() != pooled.dim())) {
            throw new FormatException(file, "'kid' has shape " + java.util.Arrays.toString(kid.shape()) + " but 'mu' has "
                    + pooled.dim() + " entries (expected [k, " + pooled.dim() + "])");
        }
        if (kid != null && kid.rows() > kidRows) kid = kid.get(NDArrayIndex.interval(0, kidRows), NDArrayIndex.all()).dup();
        return new QualityAccumulator.Reference(file.toString(), pooled, spatial, kid == null ? null : kid.castTo(DataType.FLOAT));
    }
}
