package dev.tfmq.metrics.stats;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npz;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Streaming, mergeable first and second moments of a feature set: count, mean and co-moment matrix
 * {@code M = Σ (x−μ)(x−μ)ᵀ}, all in double precision.
 *
 * <p>Why a co-moment and not {@code Σx, Σxxᵀ}: the covariance {@code (Σxxᵀ − nμμᵀ)/(n−1)} cancels
 * catastrophically when the mean is large relative to the spread (ReLU features are all positive). Each batch is
 * centred on its own mean, its co-moment formed with one double gemm, and the result merged with Chan et al.'s
 * pairwise update {@code M = M_a + M_b + δδᵀ·n_a·n_b/n}. The same update merges partial statistics from several
 * workers, which then equal the statistics of the union up to round-off.
 *
 * <p>Features arrive as float32 {@code [B, D]}; they are widened to double before anything is summed. Per-sample
 * integer weights (counts) are supported so Poisson-bootstrap replicates can share this code: a weight of k means
 * the sample occurs k times.
 *
 * <p>Not thread-safe; one instance per stream, merge at the end.
 */
public final class FeatureStatistics {
    private static final byte[] MAGIC = "TFMQSTAT".getBytes(StandardCharsets.US_ASCII);
    private static final int FORMAT_VERSION = 1;
    private static final int HEADER_BYTES = MAGIC.length + 4 + 4 + 8;

    private final int dim;
    private long count;
    /** Running mean, [1, D]. */
    private final INDArray mean;
    /** Co-moment Σ (x−μ)(x−μ)ᵀ, [D, D], c order. */
    private final INDArray comoment;

    // Scratch reused across batches of the same size (the common case in a sampling loop).
    private INDArray batch;
    private INDArray weightRow;
    private INDArray sqrtWeightCol;
    private double[] weightScratch;
    private final INDArray batchMean;
    private final INDArray delta;

    public FeatureStatistics(int dim) {
        if (dim <= 0) throw new IllegalArgumentException("feature dimension must be positive, got " + dim);
        this.dim = dim;
        this.mean = Nd4j.zeros(DataType.DOUBLE, 1, dim);
        this.comoment = Nd4j.zeros(DataType.DOUBLE, dim, dim);
        this.batchMean = Nd4j.zeros(DataType.DOUBLE, 1, dim);
        this.delta = Nd4j.zeros(DataType.DOUBLE, 1, dim);
    }

    public int dim() { return dim; }

    /** Number of samples (sum of weights) seen. */
    public long count() { return count; }

    /** A copy of the mean as a [D] double vector. */
    public INDArray mean() { return mean.reshape(dim).dup(); }

    /** A copy of the co-moment matrix Σ (x−μ)(x−μ)ᵀ. */
    public INDArray comoment() { return comoment.dup(); }

    /** Unbiased covariance {@code M/(N−1)} as a new [D, D] double array. */
    public INDArray covariance() {
        if (count < 2) throw new IllegalStateException("covariance needs at least 2 samples, have " + count);
        return comoment.div((double) (count - 1));
    }

    /** Adds a batch of features [B, D] (any floating type; widened to double). */
    public void update(INDArray features) {
        int b = checkBatch(features);
        if (b == 0) return;
        INDArray x = stage(features, b);
        x.sum(batchMean, 0);
        batchMean.divi((double) b);
        x.subiRowVector(batchMean);
        // Batch co-moment added straight into M (beta = 1): M += Xcᵀ Xc.
        Nd4j.gemm(x, x, comoment, true, false, 1.0, 1.0);
        mergeMean(b);
    }

    /**
     * Adds a batch where sample i counts {@code weights[i]} times (0 skips it). Used by Poisson bootstrap
     * replicates; equivalent to {@link #update} on the batch with rows repeated.
     */
    public void update(INDArray features, int[] weights) {
        int b = checkBatch(features);
        if (weights.length != b) {
            throw new IllegalArgumentException("batch of " + b + " samples but " + weights.length + " weights");
        }
        long w = 0;
        for (int wi : weights) {
            if (wi < 0) throw new IllegalArgumentException("negative sample weight " + wi);
            w += wi;
        }
        if (w == 0) return;
        INDArray x = stage(features, b);
        if (weightRow == null || weightRow.columns() != b) {
            weightRow = Nd4j.create(DataType.DOUBLE, 1, b);
            sqrtWeightCol = Nd4j.create(DataType.DOUBLE, b, 1);
            weightScratch = new double[b];
        }
        // Bulk copies: per-element putScalar costs a native call each.
        for (int i = 0; i < b; i++) weightScratch[i] = weights[i];
        weightRow.data().setData(weightScratch);
        for (int i = 0; i < b; i++) weightScratch[i] = Math.sqrt(weights[i]);
        sqrtWeightCol.data().setData(weightScratch);
        // Weighted batch mean  wᵀX / W, then co-moment (√w ⊙ Xc)ᵀ(√w ⊙ Xc), symmetric by construction.
        Nd4j.gemm(weightRow, x, batchMean, false, false, 1.0 / w, 0.0);
        x.subiRowVector(batchMean);
        x.muliColumnVector(sqrtWeightCol);
        Nd4j.gemm(x, x, comoment, true, false, 1.0, 1.0);
        mergeMean(w);
    }

    /** Folds another set's statistics into this one; afterwards this holds the statistics of the union. */
    public void merge(FeatureStatistics other) {
        if (other.dim != dim) {
            throw new IllegalArgumentException("cannot merge statistics of dimension " + other.dim + " into " + dim);
        }
        if (other.count == 0) return;
        comoment.addi(other.comoment);
        batchMean.assign(other.mean);
        mergeMean(other.count);
    }

    /**
     * Chan's update for a part of {@code nb} samples whose mean sits in {@code batchMean} and whose co-moment has
     * already been added to {@code comoment}: adds the between-part term and moves the mean.
     */
    private void mergeMean(long nb) {
        long na = count;
        long n = na + nb;
        if (na == 0) {
            mean.assign(batchMean);
            count = n;
            return;
        }
        delta.assign(batchMean).subi(mean);
        double scale = (double) na * (double) nb / (double) n;
        Nd4j.gemm(delta, delta, comoment, true, false, scale, 1.0);
        mean.addi(delta.muli((double) nb / (double) n));
        count = n;
    }

    private int checkBatch(INDArray features) {
        if (features.rank() != 2) {
            throw new IllegalArgumentException("features must be [batch, " + dim + "], got shape "
                    + java.util.Arrays.toString(features.shape()));
        }
        if (features.columns() != dim) {
            throw new IllegalArgumentException("feature dimension mismatch: statistics hold " + dim
                    + "-d features, batch has " + features.columns());
        }
        if (!features.dataType().isFPType()) {
            throw new IllegalArgumentException("features must be floating point, got " + features.dataType());
        }
        return (int) features.rows();
    }

    /** Copies the batch into the reused double buffer (the widening cast happens here). */
    private INDArray stage(INDArray features, int b) {
        if (batch == null || batch.rows() != b) batch = Nd4j.create(DataType.DOUBLE, b, dim);
        batch.assign(features);
        return batch;
    }

    /** An independent copy. */
    public FeatureStatistics copy() {
        FeatureStatistics c = new FeatureStatistics(dim);
        c.count = count;
        c.mean.assign(mean);
        c.comoment.assign(comoment);
        return c;
    }

    // ---------------------------------------------------------------- serialisation

    /**
     * Little-endian bytes: "TFMQSTAT", int version, int D, long N, D doubles of mean, D·D doubles of co-moment
     * (row-major). Doubles are written bit for bit, so {@link #fromBytes} restores an identical object.
     */
    public byte[] toBytes() {
        long size = HEADER_BYTES + 8L * (dim + (long) dim * dim);
        if (size > Integer.MAX_VALUE) throw new IllegalStateException("statistics of dimension " + dim + " too large");
        ByteBuffer buf = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putInt(FORMAT_VERSION).putInt(dim).putLong(count);
        for (double v : mean.data().asDouble()) buf.putDouble(v);
        for (double v : comoment.dup('c').data().asDouble()) buf.putDouble(v);
        return buf.array();
    }

    public static FeatureStatistics fromBytes(byte[] bytes) {
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < HEADER_BYTES) throw new IllegalArgumentException("statistics blob of " + bytes.length + " bytes is truncated");
        byte[] magic = new byte[MAGIC.length];
        buf.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) throw new IllegalArgumentException("not a tfmq statistics blob (bad magic)");
        int version = buf.getInt();
        if (version != FORMAT_VERSION) throw new IllegalArgumentException("unsupported statistics format version " + version);
        int d = buf.getInt();
        long n = buf.getLong();
        if (d <= 0 || n < 0) throw new IllegalArgumentException("corrupt statistics header: dim " + d + ", count " + n);
        long expected = HEADER_BYTES + 8L * (d + (long) d * d);
        if (bytes.length != expected) {
            throw new IllegalArgumentException("statistics blob of dimension " + d + " must be " + expected
                    + " bytes, got " + bytes.length);
        }
        double[] mu = new double[d];
        for (int i = 0; i < d; i++) mu[i] = buf.getDouble();
        double[] m = new double[d * d];
        for (int i = 0; i < m.length; i++) m[i] = buf.getDouble();
        FeatureStatistics s = new FeatureStatistics(d);
        s.count = n;
        s.mean.assign(Nd4j.create(mu, new long[] {1, d}, DataType.DOUBLE));
        s.comoment.assign(Nd4j.create(m, new long[] {d, d}, DataType.DOUBLE));
        return s;
    }

    /** npz key for the sample count (tfmq extension; ADM readers ignore it). */
    public static final String KEY_COUNT = "n";
    /** npz key for the exact co-moment (tfmq extension, so a file can be resumed and merged bit-exactly). */
    public static final String KEY_COMOMENT = "comoment";

    /**
     * Writes ADM-compatible {@code mu}, {@code sigma} (float64) plus {@code n} and the exact {@code comoment},
     * so other tools read it as reference statistics and tfmq restores the mergeable state bit-exactly.
     */
    public void writeNpz(Path file) throws IOException {
        Map<String, INDArray> arrays = new LinkedHashMap<>();
        arrays.put("mu", mean());
        arrays.put("sigma", covariance());
        arrays.put(KEY_COUNT, Nd4j.createFromArray(count));
        arrays.put(KEY_COMOMENT, comoment.dup('c'));
        Npz.write(file, arrays);
    }

    /** Reads a file written by {@link #writeNpz}; plain ADM files lack the count and co-moment and are refused. */
    public static FeatureStatistics readNpz(Path file) throws IOException {
        Map<String, INDArray> a = Npz.read(file);
        INDArray mu = require(file, a, "mu");
        INDArray n = require(file, a, KEY_COUNT);
        INDArray m = require(file, a, KEY_COMOMENT);
        if (mu.rank() != 1) throw new FormatException(file, "'mu' must be 1-d, has shape " + java.util.Arrays.toString(mu.shape()));
        int d = (int) mu.length();
        if (m.rank() != 2 || m.rows() != d || m.columns() != d) {
            throw new FormatException(file, "'" + KEY_COMOMENT + "' must be [" + d + ", " + d + "] to match 'mu', has shape "
                    + java.util.Arrays.toString(m.shape()));
        }
        if (n.length() != 1) throw new FormatException(file, "'" + KEY_COUNT + "' must hold one number");
        FeatureStatistics s = new FeatureStatistics(d);
        s.count = n.getLong(0);
        s.mean.assign(mu.castTo(DataType.DOUBLE).reshape(1, d));
        s.comoment.assign(m.castTo(DataType.DOUBLE));
        return s;
    }

    static INDArray require(Path file, Map<String, INDArray> arrays, String key) throws FormatException {
        INDArray a = arrays.get(key);
        if (a == null) {
            throw new FormatException(file, "missing key '" + key + "' (keys present: " + arrays.keySet() + ")");
        }
        return a;
    }
}
