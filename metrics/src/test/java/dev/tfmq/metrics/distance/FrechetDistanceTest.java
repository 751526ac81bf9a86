package dev.tfmq.metrics.distance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.metrics.Fixtures;
import dev.tfmq.metrics.PortableRandom;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.metrics.stats.ReferenceStatistics;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Path;
import java.util.Map;

import static dev.tfmq.metrics.Fixtures.relativeError;
import static org.junit.jupiter.api.Assertions.*;

class FrechetDistanceTest {

    static FeatureStatistics streamed(long seed, int n, int d, int r, double scale) {
        INDArray x = PortableRandom.features(seed, n, d, r, scale);
        FeatureStatistics s = new FeatureStatistics(d);
        for (int i = 0; i < n; i += 64) {
            s.update(x.get(NDArrayIndex.interval(i, Math.min(n, i + 64)), NDArrayIndex.all()));
        }
        return s;
    }

    static Gaussian[] caseStatistics(JsonNode c) {
        int d = c.get("d").asInt();
        int r = c.get("rank").asInt();
        return new Gaussian[] {
            Gaussian.of(streamed(c.get("seed1").asLong(), c.get("n1").asInt(), d, r, 1.0)),
            Gaussian.of(streamed(c.get("seed2").asLong(), c.get("n2").asInt(), d, r, c.get("scale2").asDouble()))
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"full64", "lowrank2048"})
    void matchesScipyOnFullRankCases(String name) {
        JsonNode c = Fixtures.reference().get("fid").get(name);
        Gaussian[] g = caseStatistics(c);
        for (FrechetDistance.Method m : FrechetDistance.Method.values()) {
            if (m == FrechetDistance.Method.EIGEN && g[0].dim() > 256) continue; // eigenvectors of 2048² take ~10 s
            FrechetResult r = FrechetDistance.compute(g[0], g[1], m);
            double eSqrtm = relativeError(r.value(), c.get("fid_sqrtm").asDouble());
            double eEigen = relativeError(r.value(), c.get("fid_eigen").asDouble());
            System.out.printf("%s %s: fid %.12g  rel.err vs scipy sqrtm %.2e, vs numpy eigen %.2e, trace-sqrt %.2e%n",
                    name, m, r.value(), eSqrtm, eEigen, relativeError(r.traceSqrt(), c.get("trace_sqrt").asDouble()));
            assertTrue(eSqrtm < 1e-6, "vs scipy sqrtm: " + eSqrtm);
            assertTrue(eEigen < 1e-6, "vs numpy eigen: " + eEigen);
            assertTrue(relativeError(r.traceSqrt(), c.get("trace_sqrt").asDouble()) < 1e-8);
            assertEquals(c.get("n1").asLong(), r.n1());
            assertEquals(c.get("n2").asLong(), r.n2());
            assertEquals(g[0].dim(), r.rank1());
            assertFalse(r.rankDeficient(), r.warning());
        }
    }

    @Test
    void rankDeficientCaseIsFiniteAndWarns() {
        JsonNode c = Fixtures.reference().get("fid").get("deficient128");
        Gaussian[] g = caseStatistics(c);
        for (FrechetDistance.Method m : FrechetDistance.Method.values()) {
            FrechetResult r = FrechetDistance.compute(g[0], g[1], m);
            double e = relativeError(r.value(), c.get("fid_eigen").asDouble());
            System.out.printf("deficient128 %s: fid %.12g rel.err vs numpy eigen %.2e, vs scipy sqrtm %.2e, rank %d, clamped %d (max %.2e) %s%n",
                    m, r.value(), e, relativeError(r.value(), c.get("fid_sqrtm").asDouble()), r.rank1(), r.clamped(),
                    r.largestClamped(), r.warning());
            assertTrue(Double.isFinite(r.value()));
            assertTrue(e < 1e-6, "vs numpy eigen: " + e);
            assertTrue(r.rankDeficient());
            assertTrue(r.hasWarning());
            assertTrue(r.warning().contains("N1=50"), r.warning());
            assertTrue(r.warning().contains("need N > D"), r.warning());
            assertTrue(r.rank1() < 50, "rank of Σ1 from 50 samples must be < 50, got " + r.rank1());
        }
    }

    @Test
    void rankLossWithEnoughSamplesIsNotBlamedOnN() {
        // 5000 samples of 1568-d features whose covariance lost one rank: a (near-)constant feature, not a small N
        FrechetResult r = new FrechetResult(27.2, 5000, 60000, 1568, 1.0, 1567, 0, 0, 1.0, true, FrechetDistance.Method.EIGEN);
        assertTrue(r.warning().contains("constant"), r.warning());
        assertFalse(r.warning().contains("need N > D"), r.warning());
    }

    @Test
    void identicalStatisticsGiveZero() {
        JsonNode c = Fixtures.reference().get("fid").get("identical32");
        Gaussian[] g = caseStatistics(c);
        FrechetResult r = FrechetDistance.compute(g[0], g[1]);
        assertEquals(0.0, r.value(), 1e-10 * c.get("trace_sigma1").asDouble());
        assertEquals(c.get("trace_sigma1").asDouble(), r.traceSqrt(), 1e-10 * c.get("trace_sigma1").asDouble());
    }

    @Test
    void readsAdmNpzAndMatchesScipy() throws Exception {
        JsonNode c = Fixtures.reference().get("fid").get("full64");
        ReferenceStatistics a = ReferenceStatistics.read(Fixtures.path("metrics/full64_a.npz"));
        ReferenceStatistics b = ReferenceStatistics.read(Fixtures.path("metrics/full64_b.npz"));
        assertEquals(-1, a.pooled().n(), "ADM files carry no count");
        assertNull(a.spatial());
        assertNotNull(b.spatial());
        assertEquals(8, b.spatial().dim());
        FrechetResult r = FrechetDistance.compute(a.pooled(), b.pooled());
        assertTrue(relativeError(r.value(), c.get("fid_sqrtm").asDouble()) < 1e-9);
    }

    @Test
    void clearErrorsForBadReferenceFiles(@TempDir Path dir) throws Exception {
        ReferenceStatistics good = ReferenceStatistics.read(Fixtures.path("metrics/full64_b.npz"));
        Path noSigma = dir.resolve("no_sigma.npz");
        Npz.write(noSigma, Map.of("mu", good.pooled().muArray()));
        FormatException e = assertThrows(FormatException.class, () -> ReferenceStatistics.read(noSigma));
        assertTrue(e.getMessage().contains("no_sigma.npz") && e.getMessage().contains("'sigma'"), e.getMessage());

        Path wrongShape = dir.resolve("wrong_shape.npz");
        Npz.write(wrongShape, Map.of("mu", good.pooled().muArray().get(NDArrayIndex.interval(0, 10)).dup(),
                "sigma", good.pooled().sigmaArray()));
        e = assertThrows(FormatException.class, () -> ReferenceStatistics.read(wrongShape));
        assertTrue(e.getMessage().contains("wrong_shape.npz") && e.getMessage().contains("[10, 10]"), e.getMessage());

        Path halfSpatial = dir.resolve("half_spatial.npz");
        Npz.write(halfSpatial, Map.of("mu", good.pooled().muArray(), "sigma", good.pooled().sigmaArray(),
                "mu_s", good.spatial().muArray()));
        e = assertThrows(FormatException.class, () -> ReferenceStatistics.read(halfSpatial));
        assertTrue(e.getMessage().contains("'sigma_s'"), e.getMessage());

        // Round trip with counts
        Path out = dir.resolve("round.npz");
        ReferenceStatistics withN = new ReferenceStatistics(
                new Gaussian(good.pooled().mu(), good.pooled().sigma(), 400), good.spatial());
        withN.write(out);
        ReferenceStatistics back = ReferenceStatistics.read(out);
        assertEquals(400, back.pooled().n());
        assertArrayEquals(good.pooled().sigma(), back.pooled().sigma());
        assertArrayEquals(good.spatial().mu(), back.spatial().mu());
    }

    @Test
    void rejectsMismatchedOrNonFiniteInputs() {
        Gaussian a = new Gaussian(new double[2], new double[] {1, 0, 0, 1}, 10);
        Gaussian b = new Gaussian(new double[3], new double[9], 10);
        assertThrows(IllegalArgumentException.class, () -> FrechetDistance.compute(a, b));
        Gaussian nan = new Gaussian(new double[] {Double.NaN, 0}, new double[] {1, 0, 0, 1}, 10);
        assertThrows(IllegalArgumentException.class, () -> FrechetDistance.compute(a, nan));
        assertThrows(IllegalArgumentException.class, () -> new Gaussian(new double[2], new double[3], 1));
    }

    @Test
    void knownDiagonalCase() {
        // Σ1 = diag(1, 4), Σ2 = diag(9, 16), μ diff (1, 2): 5 + 5 + 25 − 2(3 + 8) = 13.
        Gaussian a = new Gaussian(new double[] {0, 0}, new double[] {1, 0, 0, 4}, 100);
        Gaussian b = new Gaussian(new double[] {1, 2}, new double[] {9, 0, 0, 16}, 100);
        for (FrechetDistance.Method m : FrechetDistance.Method.values()) {
            assertEquals(13.0, FrechetDistance.compute(a, b, m).value(), 1e-12);
        }
    }
}
