package dev.tfmq.metrics;

import dev.tfmq.metrics.distance.InceptionScore;
import dev.tfmq.metrics.features.FeatureExtractor;
import dev.tfmq.metrics.features.Features;
import dev.tfmq.metrics.stats.FeatureReservoir;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.metrics.stats.ReferenceStatistics;
import dev.tfmq.metrics.uncertainty.PoissonBootstrapStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;

/**
 * Everything the sample-based metrics need from a stream of generated (or real) images, in bounded memory:
 * <ul>
 *   <li>pooled-feature statistics with {@code replicates} Poisson-bootstrap replicates (FID and its CI);</li>
 *   <li>spatial-feature statistics when the extractor has a spatial tap (sFID);</li>
 *   <li>a seeded reservoir of pooled features (KID, precision/recall, FID∞);</li>
 *   <li>the logits (Inception Score: N·K floats, 400 KB for 10 000 samples of 10 classes).</li>
 * </ul>
 * Statistics merge across workers when each worker passes globally unique sample ids; the reservoir and logits
 * stay per worker.
 */
public final class FeatureAccumulator {
    private final PoissonBootstrapStatistics pooled;
    private final FeatureStatistics spatial;
    private final FeatureReservoir reservoir;
    private float[] logits = new float[0];
    private int logitRows;
    private int numClasses = -1;
    private long nextId;

    public FeatureAccumulator(int pooledDim, int spatialDim, int replicates, int reservoirCapacity, long seed) {
        this.pooled = new PoissonBootstrapStatistics(pooledDim, replicates, seed);
        this.spatial = spatialDim > 0 ? new FeatureStatistics(spatialDim) : null;
        this.reservoir = new FeatureReservoir(pooledDim, reservoirCapacity, seed ^ 0x5DEECE66DL);
    }

    /** Memory allowed for bootstrap replicates (each holds a D×D double co-moment). */
    public static final long REPLICATE_BUDGET_BYTES = 512L << 20;

    /**
     * Defaults for an extractor: 50 bootstrap replicates, fewer when their co-moments would exceed
     * {@link #REPLICATE_BUDGET_BYTES} (Inception's 2048-d features: 16 replicates, 512 MB), never fewer than 2.
     */
    public static FeatureAccumulator forExtractor(FeatureExtractor ex, long seed) {
        return new FeatureAccumulator(ex.pooledDim(), ex.spatialDim(), defaultReplicates(ex.pooledDim()),
                FeatureReservoir.DEFAULT_CAPACITY, seed);
    }

    public static int defaultReplicates(int dim) {
        long perReplicate = 8L * dim * dim;
        return (int) Math.max(2, Math.min(PoissonBootstrapStatistics.DEFAULT_REPLICATES, REPLICATE_BUDGET_BYTES / perReplicate));
    }

    /** Adds a batch whose samples get the next consecutive ids. */
    public void add(Features f) {
        add(f, nextId);
    }

    /** Adds a batch whose first sample has global id {@code firstId} (for sharded streams). */
    public void add(Features f, long firstId) {
        int b = f.batchSize();
        pooled.update(f.pooled(), firstId);
        if (spatial != null) {
            if (f.spatial() == null) throw new IllegalArgumentException("extractor gave no spatial features");
            spatial.update(f.spatial());
        }
        reservoir.add(f.pooled());
        if (f.logits() != null) {
            int k = f.logits().columns();
            if (numClasses < 0) numClasses = k;
            if (k != numClasses) throw new IllegalArgumentException("logit count changed from " + numClasses + " to " + k);
            float[] l = f.logits().castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat();
            if ((long) (logitRows + b) * k > logits.length) logits = Arrays.copyOf(logits, Math.max(2 * logits.length, (logitRows + b) * k));
            System.arraycopy(l, 0, logits, logitRows * k, b * k);
            logitRows += b;
        }
        nextId = Math.max(nextId, firstId + b);
    }

    public long count() { return pooled.all().count(); }

    public PoissonBootstrapStatistics pooled() { return pooled; }

    public FeatureStatistics spatial() { return spatial; }

    public FeatureReservoir reservoir() { return reservoir; }

    /** Logits seen so far as [N, K], or null when the extractor gives none. */
    public INDArray logits() {
        if (numClasses < 0) return null;
        return Nd4j.create(Arrays.copyOf(logits, logitRows * numClasses), new long[] {logitRows, numClasses}, 'c');
    }

    public InceptionScore.Result inceptionScore(int splits) {
        INDArray l = logits();
        if (l == null) throw new IllegalStateException("no logits were accumulated");
        return InceptionScore.compute(l, splits);
    }

    /** Mean/covariance (with counts) in the ADM layout, e.g. to save as reference statistics. */
    public ReferenceStatistics toReference() {
        return new ReferenceStatistics(Gaussian.of(pooled.all()),
                spatial != null && spatial.count() >= 2 ? Gaussian.of(spatial) : null);
    }

    public void merge(FeatureAccumulator other) {
        pooled.merge(other.pooled);
        if (spatial != null && other.spatial != null) spatial.merge(other.spatial);
    }
}
