package dev.tfmq.harness.eval;

import dev.tfmq.metrics.distance.FrechetDistance;
import dev.tfmq.metrics.distance.FrechetResult;
import dev.tfmq.metrics.distance.KernelInceptionDistance;
import dev.tfmq.metrics.paired.PairedImageMetrics;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.metrics.uncertainty.Interval;
import dev.tfmq.metrics.uncertainty.PoissonBootstrapStatistics;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Streaming quality state of a run: for each of the FP and the quantized sample sets, Poisson-bootstrapped
 * feature statistics (pooled and, when the featurizer has them, spatial) and a {@link HashReservoir} for KID; plus
 * the per-sample paired metrics between the two sets. Batches must be added in sample-id order for bit-identical
 * statistics (round-off depends on the order); {@link #toBytes}/{@link #fromBytes} restore the state bit for bit.
 *
 * <p>The FP and quantized bootstrap replicates share the seed, so sample i gets the same Poisson weight on both
 * sides: the FP-vs-quantized FID interval is a paired bootstrap.
 */
public final class QualityAccumulator {
    /** What the generated samples are compared with. spatial and kidFeatures may be null. */
    public record Reference(String source, Gaussian pooled, Gaussian spatial, INDArray kidFeatures) {}

    public record Options(int replicates, int spatialReplicates, long seed, double confidence, int reservoir, int kidSubsetSize,
                          int kidSubsets) {}

    private static final int MAGIC = 0x54514143; // "TQAC"

    private final int pooledDim, spatialDim;
    private final Options options;
    private final Reference reference;
    private final PoissonBootstrapStatistics fp, q;
    private final PoissonBootstrapStatistics fpSpatial, qSpatial;
    private final HashReservoir fpReservoir, qReservoir;
    private final DoubleList mse = new DoubleList(), psnr = new DoubleList(), ssim = new DoubleList();
    private long count;

    public QualityAccumulator(int pooledDim, int spatialDim, Options options, Reference reference) {
        this.pooledDim = pooledDim;
        this.spatialDim = spatialDim;
        this.options = options;
        this.reference = reference;
        fp = new PoissonBootstrapStatistics(pooledDim, options.replicates(), options.seed());
        q = new PoissonBootstrapStatistics(pooledDim, options.replicates(), options.seed());
        fpSpatial = spatialDim > 0 ? new PoissonBootstrapStatistics(spatialDim, options.spatialReplicates(), options.seed()) : null;
        qSpatial = spatialDim > 0 ? new PoissonBootstrapStatistics(spatialDim, options.spatialReplicates(), options.seed()) : null;
        fpReservoir = new HashReservoir(pooledDim, options.reservoir(), options.seed());
        qReservoir = new HashReservoir(pooledDim, options.reservoir(), options.seed());
    }

    public long count() { return count; }

    /** Adds one batch: ids are consecutive, starting at {@code ids[0]}. */
    public void add(long[] ids, ImageFeaturizer.Extracted fpFeat, ImageFeaturizer.Extracted qFeat, PairedImageMetrics.PerSample paired) {
        for (int i = 1; i < ids.length; i++) {
            if (ids[i] != ids[0] + i) throw new IllegalArgumentException("batch sample ids must be consecutive");
        }
        fp.update(fpFeat.pooled(), ids[0]);
        q.update(qFeat.pooled(), ids[0]);
        if (fpSpatial != null) {
            fpSpatial.update(fpFeat.spatial(), ids[0]);
            qSpatial.update(qFeat.spatial(), ids[0]);
        }
        fpReservoir.offer(fpFeat.pooled(), ids);
        qReservoir.offer(qFeat.pooled(), ids);
        mse.addAll(paired.mse());
        psnr.addAll(paired.psnr());
        ssim.addAll(paired.ssim());
        count += ids.length;
    }

    /** All metrics now, with intervals. Needs at least 2 samples. */
    public QualitySnapshot evaluate() {
        return evaluate(true);
    }

    /**
     * All metrics now. {@code full = false} is the cheap periodic view for the live charts: FID with its interval,
     * sFID as a point estimate (its replicate Fréchet distances on the large spatial features are left to the final
     * evaluation), KID on at most 10 subsets.
     */
    public QualitySnapshot evaluate(boolean full) {
        if (count < 2) throw new IllegalStateException("metrics need at least 2 samples, have " + count);
        double conf = options.confidence();
        List<String> warnings = new ArrayList<>();
        Map<String, Estimate> f = new LinkedHashMap<>(), qq = new LinkedHashMap<>(), both = new LinkedHashMap<>(),
                paired = new LinkedHashMap<>();
        if (reference != null && reference.pooled() != null) {
            f.put("fid", fid(fp, reference.pooled(), "fp fid", warnings));
            qq.put("fid", fid(q, reference.pooled(), "quantized fid", warnings));
            if (fpSpatial != null && reference.spatial() != null) {
                f.put("sfid", full ? fid(fpSpatial, reference.spatial(), "fp sfid", warnings) : point(fpSpatial, reference.spatial()));
                qq.put("sfid", full ? fid(qSpatial, reference.spatial(), "quantized sfid", warnings) : point(qSpatial, reference.spatial()));
            }
            if (reference.kidFeatures() != null) {
                int subsets = full ? options.kidSubsets() : Math.min(10, options.kidSubsets());
                f.put("kid", kid(reference.kidFeatures(), fpReservoir, subsets));
                qq.put("kid", kid(reference.kidFeatures(), qReservoir, subsets));
            }
        }
        Interval pair = fp.fid(q, conf);
        both.put("fid", Estimate.of(pair, "poisson-bootstrap-paired"));
        if (fpSpatial != null && full) both.put("sfid", Estimate.of(fpSpatial.fid(qSpatial, conf), "poisson-bootstrap-paired"));
        PairedImageMetrics.PerSample per = new PairedImageMetrics.PerSample(mse.toArray(), psnr.toArray(), ssim.toArray(), 1.0);
        PairedImageMetrics.Summary s = PairedImageMetrics.summarize(per, options.replicates() * 4, conf, options.seed());
        paired.put("mse", Estimate.of(s.mse(), "bootstrap"));
        paired.put("psnr", Estimate.of(s.psnr(), "bootstrap"));
        paired.put("ssim", Estimate.of(s.ssim(), "bootstrap"));
        return new QualitySnapshot(count, f, qq, both, paired, warnings);
    }

    private Estimate fid(PoissonBootstrapStatistics stats, Gaussian ref, String what, List<String> warnings) {
        FrechetResult r = FrechetDistance.compute(Gaussian.of(stats.all()), ref);
        if (r.hasWarning()) warnings.add(what + ": " + r.warning());
        return Estimate.of(stats.fid(ref, options.confidence()), "poisson-bootstrap");
    }

    private Estimate point(PoissonBootstrapStatistics stats, Gaussian ref) {
        double v = FrechetDistance.compute(Gaussian.of(stats.all()), ref).value();
        return new Estimate(v, v, v, options.confidence(), stats.all().count(), "point-estimate (interval in the final evaluation)");
    }

    private Estimate kid(INDArray real, HashReservoir fake, int subsets) {
        KernelInceptionDistance.Result r = KernelInceptionDistance.compute(real, fake.features(),
                options.kidSubsetSize(), subsets, options.seed());
        double z = dev.tfmq.model.stats.StandardNormal.twoSided(options.confidence());
        return new Estimate(r.mean(), r.mean() - z * r.std(), r.mean() + z * r.std(), options.confidence(), count,
                "kid-subset-spread(" + r.subsets() + "x" + r.subsetSize() + ")");
    }

    // ------------------------------------------------------------------ checkpoint

    public byte[] toBytes() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(MAGIC);
            out.writeInt(pooledDim);
            out.writeInt(spatialDim);
            out.writeInt(options.replicates());
            out.writeInt(options.spatialReplicates());
            out.writeLong(options.seed());
            out.writeLong(count);
            writeBoot(out, fp);
            writeBoot(out, q);
            if (fpSpatial != null) {
                writeBoot(out, fpSpatial);
                writeBoot(out, qSpatial);
            }
            fpReservoir.write(out);
            qReservoir.write(out);
            mse.write(out);
            psnr.write(out);
            ssim.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Restores a state written by {@link #toBytes} with the same dimensions and options. */
    public static QualityAccumulator fromBytes(byte[] data, Options options, Reference reference) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            if (in.readInt() != MAGIC) throw new IllegalArgumentException("not a tfmq quality checkpoint");
            int pd = in.readInt(), sd = in.readInt(), reps = in.readInt(), sreps = in.readInt();
            long seed = in.readLong();
            if (reps != options.replicates() || sreps != options.spatialReplicates() || seed != options.seed()) {
                throw new IllegalArgumentException("checkpoint has " + reps + " bootstrap replicates and seed " + seed
                        + " but the config asks for " + options.replicates() + " and " + options.seed());
            }
            QualityAccumulator a = new QualityAccumulator(pd, sd, options, reference);
            a.count = in.readLong();
            readBoot(in, a.fp);
            readBoot(in, a.q);
            if (sd > 0) {
                readBoot(in, a.fpSpatial);
                readBoot(in, a.qSpatial);
            }
            HashReservoir fr = HashReservoir.read(in), qr = HashReservoir.read(in);
            copyReservoir(fr, a.fpReservoir);
            copyReservoir(qr, a.qReservoir);
            a.mse.read(in);
            a.psnr.read(in);
            a.ssim.read(in);
            return a;
        } catch (IOException e) {
            throw new IllegalArgumentException("corrupt quality checkpoint: " + e.getMessage(), e);
        }
    }

    private static void copyReservoir(HashReservoir from, HashReservoir to) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        from.write(new DataOutputStream(b));
        HashReservoir r = HashReservoir.read(new DataInputStream(new ByteArrayInputStream(b.toByteArray())));
        if (r.dim() != to.dim()) throw new IOException("reservoir dimension " + r.dim() + " differs from " + to.dim());
        to.restoreFrom(r);
    }

    private static void writeBoot(DataOutputStream out, PoissonBootstrapStatistics s) throws IOException {
        writeStats(out, s.all());
        for (int r = 0; r < s.replicates(); r++) writeStats(out, s.replicate(r));
    }

    private static void readBoot(DataInputStream in, PoissonBootstrapStatistics s) throws IOException {
        s.all().merge(readStats(in));
        for (int r = 0; r < s.replicates(); r++) s.replicate(r).merge(readStats(in));
    }

    private static void writeStats(DataOutputStream out, FeatureStatistics s) throws IOException {
        byte[] b = s.toBytes();
        out.writeInt(b.length);
        out.write(b);
    }

    private static FeatureStatistics readStats(DataInputStream in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return FeatureStatistics.fromBytes(b);
    }

    /** A growable double array. */
    private static final class DoubleList {
        private double[] a = new double[64];
        private int n;

        void addAll(double[] v) {
            if (n + v.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + v.length));
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        double[] toArray() { return Arrays.copyOf(a, n); }

        void write(DataOutputStream out) throws IOException {
            out.writeInt(n);
            for (int i = 0; i < n; i++) out.writeDouble(a[i]);
        }

        void read(DataInputStream in) throws IOException {
            int m = in.readInt();
            double[] v = new double[m];
            for (int i = 0; i < m; i++) v[i] = in.readDouble();
            addAll(v);
        }
    }
}
