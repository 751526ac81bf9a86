package dev.tfmq.metrics.uncertainty;

import dev.tfmq.metrics.PortableRandom;
import dev.tfmq.metrics.distance.FrechetDistance;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.*;

class UncertaintyTest {

    static INDArray rows(INDArray x, int from, int to) {
        return x.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup();
    }

    @Test
    void percentilesFollowNumpyLinearRule() {
        // numpy.percentile([1..10], [2.5, 97.5]) = 1.225, 9.775
        double[] v = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
        Interval i = Bootstrap.interval(5.5, v, 0.95, 10);
        assertEquals(1.225, i.low(), 1e-12);
        assertEquals(9.775, i.high(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Bootstrap.mean(new double[] {1}, 100, 0.95, 0));
        assertThrows(IllegalArgumentException.class, () -> Bootstrap.interval(0, v, 1.5, 10));
    }

    @Test
    void bootstrapMeanCoversAndShrinks() {
        double[] small = PortableRandom.normals(1, 50);
        double[] large = PortableRandom.normals(1, 5000);
        Interval a = Bootstrap.mean(small, 1000, 0.95, 3);
        Interval b = Bootstrap.mean(large, 1000, 0.95, 3);
        // standard error 1/√n: 95% half-width ≈ 1.96/√n
        assertEquals(2 * 1.96 / Math.sqrt(50), a.high() - a.low(), 0.25 * 2 * 1.96 / Math.sqrt(50));
        assertEquals(2 * 1.96 / Math.sqrt(5000), b.high() - b.low(), 0.25 * 2 * 1.96 / Math.sqrt(5000));
        assertEquals(50, a.n());
        assertEquals(1000, a.replicates());
    }

    @Test
    void poissonWeightsHaveUnitMeanAndVariance() {
        long sum = 0;
        long sq = 0;
        int n = 200_000;
        for (int i = 0; i < n; i++) {
            int k = PoissonBootstrapStatistics.poissonOne(7, i % 13, i);
            sum += k;
            sq += (long) k * k;
        }
        double mean = (double) sum / n;
        double var = (double) sq / n - mean * mean;
        assertEquals(1.0, mean, 0.01);
        assertEquals(1.0, var, 0.02);
    }

    @Test
    void poissonBootstrapMergesAcrossWorkersAndGivesCi() {
        int d = 16;
        INDArray x = PortableRandom.features(100, 900, d, 4, 1.0);
        Gaussian reference = Gaussian.of(stats(PortableRandom.features(200, 4000, d, 4, 1.2)));
        PoissonBootstrapStatistics single = new PoissonBootstrapStatistics(d, 40, 99);
        for (int i = 0; i < 900; i += 64) single.update(rows(x, i, Math.min(900, i + 64)), i);
        // two workers, different batch boundaries, ids stay global
        PoissonBootstrapStatistics w1 = new PoissonBootstrapStatistics(d, 40, 99);
        PoissonBootstrapStatistics w2 = new PoissonBootstrapStatistics(d, 40, 99);
        for (int i = 0; i < 500; i += 100) w1.update(rows(x, i, i + 100), i);
        for (int i = 500; i < 900; i += 32) w2.update(rows(x, i, Math.min(900, i + 32)), i);
        w2.merge(w1);
        for (int r = 0; r < 40; r++) {
            assertEquals(single.replicate(r).count(), w2.replicate(r).count());
            double diff = single.replicate(r).comoment().sub(w2.replicate(r).comoment()).amaxNumber().doubleValue();
            assertTrue(diff < 1e-12 * single.replicate(r).comoment().amaxNumber().doubleValue());
        }
        Interval ci = single.fid(reference, 0.9);
        assertEquals(900, ci.n());
        assertEquals(FrechetDistance.compute(Gaussian.of(stats(x)), reference).value(), ci.value(), 1e-9 * ci.value());
        assertTrue(ci.low() < ci.high());
        assertTrue(ci.high() - ci.low() < ci.value(), ci.toString());
        // replicate counts are Poisson sums around N
        long total = 0;
        for (int r = 0; r < 40; r++) total += single.replicate(r).count();
        assertEquals(900.0, total / 40.0, 3 * Math.sqrt(900.0 / 40));
        assertThrows(IllegalArgumentException.class, () -> single.merge(new PoissonBootstrapStatistics(d, 40, 98)));
    }

    @Test
    void fidInfinityRemovesSmallSampleBias() {
        int d = 32;
        // generated set drawn from the same model as the reference: FID → 0 as N → ∞, the finite-N bias is ~ a/N
        INDArray pool = PortableRandom.features(300, 22000, d, 4, 1.0);
        Gaussian reference = Gaussian.of(stats(rows(pool, 0, 20000)));
        INDArray x = rows(pool, 20000, 22000);
        int[] sizes = FidInfinity.defaultSizes(2000, 8);
        assertEquals(400, sizes[0]);
        assertEquals(2000, sizes[7]);
        FidInfinity.Result r = FidInfinity.compute(x, reference, sizes, 5);
        double atN = r.fids()[r.fids().length - 1];
        assertTrue(r.slope() > 0, "bias must shrink with N: " + r.slope());
        System.out.println("FID∞ fit: sizes " + java.util.Arrays.toString(r.sizes()) + " fids "
                + java.util.Arrays.toString(r.fids()) + " -> " + r.fidInfinity());
        // The extrapolation moves below FID(N), towards the true value 0 (up to its own sampling noise).
        assertTrue(r.fidInfinity() < atN);
        assertTrue(Math.abs(r.fidInfinity()) < 0.25 * r.fids()[0], "FID∞ " + r.fidInfinity() + " vs FID(400) " + r.fids()[0]);
        assertEquals(2000, r.n());
        assertThrows(IllegalArgumentException.class, () -> FidInfinity.compute(x, reference, new int[] {100}, 1));
        assertThrows(IllegalArgumentException.class, () -> FidInfinity.compute(x, reference, new int[] {100, 100}, 1));
    }

    static FeatureStatistics stats(INDArray x) {
        FeatureStatistics s = new FeatureStatistics(x.columns());
        s.update(x);
        return s;
    }

    @org.junit.jupiter.api.Test
    void bootstrapFidIntervalIsRecentredOnTheEstimate() {
        // replicates biased upwards, as resampled FIDs are: the interval keeps their spread around the estimate
        double[] reps = {5.0, 5.2, 5.4, 5.6, 5.8, 6.0, 6.2, 6.4, 6.6, 6.8, 7.0};
        dev.tfmq.metrics.uncertainty.Interval ci = PoissonBootstrapStatistics.biasShifted(3.0, reps, 0.9, 100);
        org.junit.jupiter.api.Assertions.assertTrue(ci.low() < 3.0 && ci.high() > 3.0, ci.toString());
        org.junit.jupiter.api.Assertions.assertEquals(ci.high() - ci.low(),
                Bootstrap.interval(3.0, reps, 0.9, 100).high() - Bootstrap.interval(3.0, reps, 0.9, 100).low(), 1e-12);
        org.junit.jupiter.api.Assertions.assertEquals(100, ci.n());
    }

    @Test
    void aHandfulOfSamplesGivesAnIntervalInsteadOfFailingInAReplicate() {
        // issue 14: tfmq fid on 2-6 images failed inside a replicate whose Poisson weights summed to 0 or 1
        int d = 4;
        INDArray ref = org.nd4j.linalg.factory.Nd4j.create(PortableRandom.normals(7, 40 * d), 40, d);
        FeatureStatistics r = new FeatureStatistics(d);
        r.update(ref);
        for (int n = 2; n <= 6; n++) {
            PoissonBootstrapStatistics b = new PoissonBootstrapStatistics(d, 50, 3);
            b.update(org.nd4j.linalg.factory.Nd4j.create(PortableRandom.normals(n, n * d), n, d), 0);
            int degenerate = 0;
            for (int k = 0; k < b.replicates(); k++) if (b.replicate(k).count() < 2) degenerate++;
            Interval i = b.fid(Gaussian.of(r), 0.95);
            assertEquals(50 - degenerate, i.replicates(), "n = " + n);
            assertTrue(i.low() <= i.high() && Double.isFinite(i.low()), "n = " + n + ": " + i);
            if (n == 2) assertTrue(degenerate > 0, "two samples leave some replicates without a covariance");
            PoissonBootstrapStatistics other = new PoissonBootstrapStatistics(d, 50, 3);
            other.update(ref, 100);
            assertTrue(Double.isFinite(b.fid(other, 0.95).value()));
        }
    }
}
