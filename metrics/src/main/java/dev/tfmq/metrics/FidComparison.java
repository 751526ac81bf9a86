package dev.tfmq.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tfmq.metrics.distance.FrechetDistance;
import dev.tfmq.metrics.distance.FrechetResult;
import dev.tfmq.metrics.features.FeatureExtractor;
import dev.tfmq.metrics.features.Features;
import dev.tfmq.metrics.stats.ReferenceStatistics;
import dev.tfmq.metrics.uncertainty.Interval;
import dev.tfmq.model.data.Datasets;
import dev.tfmq.model.data.ImageDataset;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.io.FormatException;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The work behind {@code tfmq fid A B}: each side is a statistics {@code .npz} (ADM layout) or a folder of
 * images, which is featurised with the given extractor (pixels v/255 in [0, 1], no resizing — the extractor's
 * documented preprocessing applies). Returns FID, sFID when both sides have spatial statistics, both sample
 * counts, and a Poisson-bootstrap CI of FID when at least one side came from images.
 */
public final class FidComparison {
    public static final int BATCH = 64;

    /** One side: its statistics, and the accumulator when it was computed from images (null for an npz). */
    public record Side(String source, ReferenceStatistics statistics, FeatureAccumulator accumulator) {
        public long n() { return statistics.pooled().n(); }
    }

    /**
     * @param fid  the Fréchet distance of the pooled features, with its diagnostics
     * @param sfid of the spatial features, or null
     * @param ci   bootstrap CI of the FID, or null when both sides were statistics files
     */
    public record Result(FrechetResult fid, FrechetResult sfid, Interval ci, String features, String sourceA,
                         String sourceB) {
        public String toJson() {
            ObjectMapper m = new ObjectMapper();
            ObjectNode o = m.createObjectNode();
            o.put("fid", fid.value());
            if (sfid != null) o.put("sfid", sfid.value());
            o.put("n_a", fid.n1());
            o.put("n_b", fid.n2());
            o.put("dim", fid.dim());
            if (ci != null) {
                ObjectNode c = o.putObject("fid_ci");
                c.put("low", ci.low());
                c.put("high", ci.high());
                c.put("confidence", ci.confidence());
                c.put("replicates", ci.replicates());
                c.put("method", "poisson-bootstrap over samples");
            }
            if (features != null) o.put("features", features);
            o.put("a", sourceA);
            o.put("b", sourceB);
            String warn = fid.warning();
            if (sfid != null && !sfid.warning().isEmpty()) warn = (warn.isEmpty() ? "" : warn + "; ") + "sFID: " + sfid.warning();
            if (!warn.isEmpty()) o.put("warning", warn);
            try {
                return m.writeValueAsString(o);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private FidComparison() {}

    /** Reads an npz, or featurises an image folder with {@code extractor} (required then). */
    public static Side load(Path path, FeatureExtractor extractor, long seed) throws IOException {
        if (Files.isRegularFile(path)) {
            return new Side(path.toString(), ReferenceStatistics.read(path), null);
        }
        if (!Files.isDirectory(path)) throw new java.io.FileNotFoundException(path + ": no such file or folder");
        return load(path.toString(), extractor, seed);
    }

    /**
     * As {@link #load(Path, FeatureExtractor, long)}, also accepting dataset names such as
     * {@code fashion-mnist:train} (see {@link Datasets}).
     */
    public static Side load(String spec, FeatureExtractor extractor, long seed) throws IOException {
        return load(spec, extractor, seed, null);
    }

    /**
     * Sees each featurised batch: {@code from} is the index of its first image, {@code total} the dataset's size
     * (progress, or features kept beside the statistics).
     */
    @FunctionalInterface
    public interface BatchObserver {
        void featurised(int from, int total, Features batch);
    }

    /** As {@link #load(String, FeatureExtractor, long)}, telling {@code observer} (may be null) about every batch. */
    public static Side load(String spec, FeatureExtractor extractor, long seed, BatchObserver observer) throws IOException {
        if (Files.isRegularFile(Path.of(spec))) return load(Path.of(spec), extractor, seed);
        if (extractor == null) {
            throw new IllegalArgumentException(spec + " holds images: choose a feature network to featurise it");
        }
        ImageDataset images = Datasets.open(spec);
        if (images.size() < 2) throw new FormatException(Path.of(spec), "needs at least 2 images, has " + images.size());
        FeatureAccumulator acc = FeatureAccumulator.forExtractor(extractor, seed);
        for (int from = 0; from < images.size(); from += BATCH) {
            int count = Math.min(BATCH, images.size() - from);
            INDArray batch = images.toFloat(from, count, PixelRange.ZERO_ONE);
            Features f = extractor.extract(batch);
            acc.add(f);
            if (observer != null) observer.featurised(from, images.size(), f);
        }
        return new Side(spec, acc.toReference(), acc);
    }

    /** A side must hold {@code dim}-d statistics to be compared with features of that width. */
    public static void checkDimension(Side s, int dim, String what) {
        int d = s.statistics().pooled().dim();
        if (d != dim) {
            throw new IllegalArgumentException(s.source() + ": 'mu' has " + d + " entries but " + what + " gives " + dim
                    + "-d features; both sides must come from the same feature network");
        }
    }

    public static Result compare(Side a, Side b, String features, double confidence) {
        checkDimension(b, a.statistics().pooled().dim(), a.source());
        FrechetResult fid = FrechetDistance.compute(a.statistics().pooled(), b.statistics().pooled());
        FrechetResult sfid = null;
        if (a.statistics().spatial() != null && b.statistics().spatial() != null) {
            sfid = FrechetDistance.compute(a.statistics().spatial(), b.statistics().spatial());
        }
        Interval ci = null;
        if (a.accumulator() != null && b.accumulator() != null) {
            ci = a.accumulator().pooled().fid(b.accumulator().pooled(), confidence);
        } else if (a.accumulator() != null) {
            ci = a.accumulator().pooled().fid(b.statistics().pooled(), confidence);
        } else if (b.accumulator() != null) {
            ci = b.accumulator().pooled().fid(a.statistics().pooled(), confidence);
        }
        return new Result(fid, sfid, ci, features, a.source(), b.source());
    }
}
