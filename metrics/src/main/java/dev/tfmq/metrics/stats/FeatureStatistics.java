package dev.tfmq.metrics.stats;

import dev.tfmq.metrics.linalg.Lapack;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npz;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
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
 * <p>Only the lower triangle of the co-moment is updated (BLAS dsyrk/dsyr straight on ND4J's native buffers:
 * half the flops of a gemm and no temporary D×D arrays); every accessor returns the symmetric matrix.
 *
 * <p>Not thread-safe; one instance per stream, merge at the end.
 */
public final class FeatureStatistics {
    private static final byte[] MAGIC = "TFMQSTAT".getBytes(StandardCharsets.US_ASCII);
    private static final int FORMAT_VERSION = 1;
    private static final int HEADER_BYTES = MAGIC.length + 4 + 4 + 8;

    private final int dim;
    private long count;
    /** Running mean. */
    private final double[] mean;
    /** Co-moment Σ (x−μ)(x−μ)ᵀ, [D, D], c order; only the lower triangle is maintained. */
    private final INDArray comoment;
    private final DoublePointer comomentPtr;

    // Scratch reused across batches of the same size (the common case in a sampling loop).
    private DoublePointer rowsPtr;
    private double[] rows;
    private int rowsCapacity = -1;
    private final double[] batchMean;

    public FeatureStatistics(int dim) {
        if (dim <= 0) throw new IllegalArgumentException("feature dimension must be positive, got " + dim);
        this.dim = dim;
        this.mean = new double[dim];
        this.batchMean = new double[dim];
        this.comoment = Nd4j.zeros(DataType.DOUBLE, dim, dim);
        this.comomentPtr = new DoublePointer(comoment.data().addressPointer()).capacity(comoment.length())
                .limit(comoment.length());
    }

    public int dim() { return dim; }

    /** Number of samples (sum of weights) seen. */
    public long count() { return count; }

    /** A copy of the mean as a [D] double vector. */
    public INDArray mean() { return Nd4j.create(mean.clone(), new long[] {dim}, DataType.DOUBLE); }

    /** A copy of the co-moment matrix Σ (x−μ)(x−μ)ᵀ. */
    public INDArray comoment() {
        return Nd4j.create(symmetricComoment(), new long[] {dim, dim}, DataType.DOUBLE);
    }

    /** Unbiased covariance {@code M/(N−1)} as a new [D, D] double array. */
    public INDArray covariance() {
        if (count < 2) throw new IllegalStateException("covariance needs at least 2 samples, have " + count);
        double[] m = symmetricComoment();
        double scale = count - 1;
        for (int i = 0; i < m.length; i++) m[i] /= scale;
        return Nd4j.create(m, new long[] {dim, dim}, DataType.DOUBLE);
    }

    /** Row-major co-moment with the upper triangle mirrored from the maintained lower one. */
    private double[] symmetricComoment() {
        double[] m = comoment.data().asDouble();
        for (int i = 0; i < dim; i++) {
            for (int j = i + 1; j < dim; j++) m[i * dim + j] = m[j * dim + i];
        }
        return m;
    }

    /** Adds a batch of features [B, D] (any floating type; widened to double). */
    public void update(INDArray features) {
        int b = checkBatch(features);
        if (b == 0) return;
        double[] x = stage(features, b);
        java.util.Arrays.fill(batchMean, 0);
        for (int i = 0; i < b; i++) {
            int row = i * dim;
            for (int j = 0; j < dim; j++) batchMean[j] += x[row + j];
        }
        for (int j = 0; j < dim; j++) batchMean[j] /= b;
        for (int i = 0; i < b; i++) {
            int row = i * dim;
            for (int j = 0; j < dim; j++) x[row + j] -= batchMean[j];
        }
        accumulate(b, b);
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
        double[] x = stage(features, b);
        java.util.Arrays.fill(batchMean, 0);
        for (int i = 0; i < b; i++) {
            if (weights[i] == 0) continue;
            int row = i * dim;
            for (int j = 0; j < dim; j++) batchMean[j] += weights[i] * x[row + j];
        }
        for (int j = 0; j < dim; j++) batchMean[j] /= w;
        // Rows scaled by √w: Σ w_i (x_i−m)(x_i−m)ᵀ = (√w ⊙ Xc)ᵀ(√w ⊙ Xc), symmetric by construction.
        for (int i = 0; i < b; i++) {
            double sw = Math.sqrt(weights[i]);
            int row = i * dim;
            for (int j = 0; j < dim; j++) x[row + j] = (x[row + j] - batchMean[j]) * sw;
        }
        accumulate(b, w);
    }

    /**
     * Chan's update for a part of {@code nb} samples with mean {@code batchMean} whose centred (and weighted) rows
     * fill the first {@code rowsUsed} rows of the scratch: M += Xcᵀ Xc + δδᵀ·n_a·n_b/n, done as ONE rank-k update
     * by appending the row √(n_a·n_b/n)·δ, so the D×D matrix is streamed through memory once per batch.
     */
    private void accumulate(int rowsUsed, long nb) {
        long na = count;
        long n = na + nb;
        double scale = Math.sqrt((double) na * (double) nb / (double) n);
        double frac = (double) nb / (double) n;
        int extra = rowsUsed * dim;
        for (int j = 0; j < dim; j++) {
            double delta = batchMean[j] - mean[j];
            rows[extra + j] = scale * delta;
            mean[j] = na == 0 ? batchMean[j] : mean[j] + delta * frac;
        }
        rowsPtr.put(rows, 0, (rowsUsed + 1) * dim);
        Lapack.rankKUpdateLower(rowsPtr, rowsUsed + 1, dim, 1.0, comomentPtr);
        count = n;
    }

    /** Folds another set's statistics into this one; afterwards this holds the statistics of the union. */
    public void merge(FeatureStatistics other) {
        if (other.dim != dim) {
            throw new IllegalArgumentException("cannot merge statistics of dimension " + other.dim + " into " + dim);
        }
        if (other.count == 0) return;
        long na = count;
        long nb = other.count;
        long n = na + nb;
        comoment.addi(other.comoment);
        double[] delta = new double[dim];
        for (int j = 0; j < dim; j++) {
            delta[j] = other.mean[j] - mean[j];
            mean[j] = na == 0 ? other.mean[j] : mean[j] + delta[j] * ((double) nb / (double) n);
        }
        if (na > 0) {
            try (DoublePointer d = new DoublePointer(delta)) {
                Lapack.rankOneUpdateLower(d, dim, (double) na * (double) nb / (double) n, comomentPtr);
            }
        }
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
        return features.rows();
    }

    /**
     * Widens the batch into the reused double scratch (B+1 rows: the last is for the between-part term).
     * Element-wise ND4J ops cost milliseconds per call on small arrays here, so this is plain Java.
     */
    private double[] stage(INDArray features, int b) {
        if (rowsCapacity < b + 1) {
            rows = new double[(b + 1) * dim];
            if (rowsPtr != null) rowsPtr.close();
            rowsPtr = new DoublePointer((long) (b + 1) * dim);
            rowsCapacity = b + 1;
        }
        INDArray c = features;
        if (c.isView() || c.ordering() != 'c') c = c.dup('c');
        int n = b * dim;
        if (c.dataType() == DataType.DOUBLE) {
            new DoublePointer(c.data().addressPointer()).capacity(n).limit(n).get(rows, 0, n);
        } else {
            if (c.dataType() != DataType.FLOAT) c = c.castTo(DataType.FLOAT);
            float[] f = new float[n];
            new FloatPointer(c.data().addressPointer()).capacity(n).limit(n).get(f, 0, n);
            for (int i = 0; i < n; i++) rows[i] = f[i];
        }
        return rows;
    }

    /** An independent copy. */
    public FeatureStatistics copy() {
        FeatureStatistics c = new FeatureStatistics(dim);
        c.count = count;
        System.arraycopy(mean, 0, c.mean, 0, dim);
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
        for (double v : mean) buf.putDouble(v);
        for (double v : symmetricComoment()) buf.putDouble(v);
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
        System.arraycopy(mu, 0, s.mean, 0, d);
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
        arrays.put(KEY_COMOMENT, comoment());
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
        String p = Gaussian.countProblem(n.getDouble(0));
        if (p != null) throw new FormatException(file, "'" + KEY_COUNT + "' " + p);
        double[] meanValues = mu.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        p = Gaussian.meanProblem(meanValues);
        if (p != null) throw new FormatException(file, "'mu' " + p);
        INDArray comoment = m.castTo(DataType.DOUBLE).dup('c');
        p = Gaussian.covarianceProblem(comoment.data().asDouble(), d);
        if (p != null) throw new FormatException(file, "'" + KEY_COMOMENT + "' " + p);
        FeatureStatistics s = new FeatureStatistics(d);
        s.count = n.getLong(0);
        System.arraycopy(meanValues, 0, s.mean, 0, d);
        s.comoment.assign(comoment);
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
