package dev.tfmq.metrics.distance;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.metrics.Fixtures;
import dev.tfmq.metrics.PortableRandom;
import dev.tfmq.metrics.stats.FeatureReservoir;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static dev.tfmq.metrics.Fixtures.relativeError;
import static org.junit.jupiter.api.Assertions.*;

/** KID, Inception Score and precision/recall against NumPy references. */
class SampleMetricsTest {

    static INDArray[] kidSets() {
        JsonNode c = Fixtures.reference().get("kid_full");
        int n = c.get("n").asInt();
        int d = c.get("d").asInt();
        int r = c.get("rank").asInt();
        return new INDArray[] {PortableRandom.features(c.get("seed_real").asLong(), n, d, r, 1.0),
            PortableRandom.features(c.get("seed_fake").asLong(), n, d, r, c.get("scale_fake").asDouble())};
    }

    @Test
    void kidOnFullSetsMatchesNumpy() {
        INDArray[] s = kidSets();
        double expected = Fixtures.reference().get("kid_full").get("kid").asDouble();
        // One subset of all samples: the unbiased MMD² does not depend on the order the subset was drawn in.
        KernelInceptionDistance.Result r = KernelInceptionDistance.compute(s[0], s[1], 10_000, 1, 3L);
        assertTrue(relativeError(r.mean(), expected) < 1e-10, r + " vs " + expected);
        assertEquals(200, r.subsetSize());
        assertEquals(0.0, r.std());
        assertEquals(200, r.nReal());
    }

    @Test
    void kidSubsetsAreSeededAndSpread() {
        INDArray[] s = kidSets();
        KernelInceptionDistance.Result a = KernelInceptionDistance.compute(s[0], s[1], 50, 20, 9L);
        KernelInceptionDistance.Result b = KernelInceptionDistance.compute(s[0], s[1], 50, 20, 9L);
        KernelInceptionDistance.Result c = KernelInceptionDistance.compute(s[0], s[1], 50, 20, 10L);
        assertEquals(a, b);
        assertNotEquals(a.mean(), c.mean());
        assertTrue(a.std() > 0);
        double full = Fixtures.reference().get("kid_full").get("kid").asDouble();
        // subset estimates are unbiased: the mean of 20 subsets lies within a few standard errors of the full value
        assertEquals(full, a.mean(), 4 * a.std() / Math.sqrt(20) + 1e-12);
        // same distribution: KID near zero relative to the shifted one
        KernelInceptionDistance.Result same = KernelInceptionDistance.compute(s[0].get(
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 100), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup(),
                s[0].get(org.nd4j.linalg.indexing.NDArrayIndex.interval(100, 200), org.nd4j.linalg.indexing.NDArrayIndex.all()).dup(),
                1000, 1, 0L);
        assertTrue(Math.abs(same.mean()) < 0.1 * full, same + " vs " + full);
        assertThrows(IllegalArgumentException.class,
                () -> KernelInceptionDistance.compute(s[0], Nd4j.zeros(DataType.FLOAT, 1, 16), 10, 1, 0L));
        assertThrows(IllegalArgumentException.class,
                () -> KernelInceptionDistance.compute(s[0], Nd4j.zeros(DataType.FLOAT, 5, 15), 10, 1, 0L));
    }

    @Test
    void precisionRecallMatchesNumpy() {
        INDArray[] s = kidSets();
        JsonNode c = Fixtures.reference().get("precision_recall");
        PrecisionRecall.Result r = PrecisionRecall.compute(s[0], s[1], c.get("k").asInt());
        assertEquals(c.get("precision").asDouble(), r.precision(), 1e-12);
        assertEquals(c.get("recall").asDouble(), r.recall(), 1e-12);
        assertTrue(r.precision() > 0 && r.precision() < 1 && r.recall() > 0 && r.recall() < 1, r.toString());
        assertEquals(200, r.nFake());
        PrecisionRecall.Result self = PrecisionRecall.compute(s[0], s[0], 3);
        assertEquals(1.0, self.precision());
        assertEquals(1.0, self.recall());
        assertThrows(IllegalArgumentException.class, () -> PrecisionRecall.compute(s[0], Nd4j.zeros(DataType.FLOAT, 3, 16), 3));
    }

    @Test
    void selectFindsKthSmallest() {
        double[] v = {5, 1, 4, 1, 3, 9, 2};
        assertEquals(1, PrecisionRecall.select(v.clone(), 0));
        assertEquals(1, PrecisionRecall.select(v.clone(), 1));
        assertEquals(2, PrecisionRecall.select(v.clone(), 2));
        assertEquals(3, PrecisionRecall.select(v.clone(), 3));
        assertEquals(9, PrecisionRecall.select(v.clone(), 6));
    }

    @Test
    void inceptionScoreMatchesNumpy() {
        JsonNode c = Fixtures.reference().get("inception_score");
        int n = c.get("n").asInt();
        int k = c.get("classes").asInt();
        double[] z = PortableRandom.normals(c.get("seed").asLong(), n * k);
        float[] f = new float[z.length];
        for (int i = 0; i < z.length; i++) f[i] = (float) (z[i] * c.get("scale").asDouble());
        InceptionScore.Result r = InceptionScore.compute(Nd4j.create(f, new long[] {n, k}, 'c'), c.get("splits").asInt());
        assertTrue(relativeError(r.mean(), c.get("mean").asDouble()) < 1e-12, r.toString());
        assertTrue(relativeError(r.std(), c.get("std").asDouble()) < 1e-9, r.toString());
        assertEquals(n, r.n());
        // uniform predictions score exactly 1
        assertEquals(1.0, InceptionScore.compute(Nd4j.zeros(DataType.FLOAT, 8, 5), 2).mean(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> InceptionScore.compute(Nd4j.zeros(DataType.FLOAT, 3, 5), 4));
    }

    @Test
    void reservoirIsUniformAndBounded() {
        int capacity = 100;
        int n = 1000;
        int trials = 300;
        long[] hits = new long[n];
        for (int t = 0; t < trials; t++) {
            FeatureReservoir r = new FeatureReservoir(1, capacity, t);
            for (int i = 0; i < n; i += 64) {
                int b = Math.min(64, n - i);
                INDArray batch = Nd4j.create(DataType.FLOAT, b, 1);
                for (int j = 0; j < b; j++) batch.putScalar(j, 0, i + j);
                r.add(batch);
            }
            assertEquals(capacity, r.size());
            assertEquals(n, r.seen());
            float[] kept = r.features().data().asFloat();
            java.util.Set<Float> distinct = new java.util.HashSet<>();
            for (float v : kept) {
                hits[(int) v]++;
                distinct.add(v);
            }
            assertEquals(capacity, distinct.size());
        }
        // each item kept with probability capacity/n = 0.1: first and last tenth of the stream alike
        long early = 0;
        long late = 0;
        for (int i = 0; i < 100; i++) {
            early += hits[i];
            late += hits[n - 1 - i];
        }
        double expected = 100 * trials * 0.1; // 3000, sd ≈ 52
        assertEquals(expected, early, 250);
        assertEquals(expected, late, 250);
        FeatureReservoir a = new FeatureReservoir(3, 10, 1);
        assertThrows(IllegalArgumentException.class, () -> a.add(Nd4j.zeros(DataType.FLOAT, 2, 4)));
    }
}
