package dev.tfmq.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.metrics.distance.FrechetDistance;
import dev.tfmq.metrics.features.FashionFeatureNet;
import dev.tfmq.metrics.features.Features;
import dev.tfmq.metrics.stats.FeatureStatistics;
import dev.tfmq.metrics.stats.Gaussian;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.data.PngImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class FidComparisonTest {

    /** n gray 28×28 images quantised to 8 bits, so a PNG round trip is exact. */
    static INDArray images(long seed, int n, double contrast) {
        double[] u = PortableRandom.uniforms(seed, n * 28 * 28);
        float[] f = new float[u.length];
        for (int i = 0; i < u.length; i++) {
            int x = i % 28;
            double v = Math.min(1, Math.max(0, 0.5 + contrast * (u[i] - 0.5) * (x / 28.0)));
            f[i] = (float) (Math.round(v * 255) / 255.0);
        }
        return Nd4j.create(f, new long[] {n, 1, 28, 28}, 'c');
    }

    @Test
    void foldersAndStatisticsFiles(@TempDir Path tmp) throws Exception {
        FashionFeatureNet net = FashionFeatureNet.load(Fixtures.path("fmnist-features-random/config.json").getParent());
        INDArray a = images(1, 150, 1.0);
        INDArray b = images(2, 130, 0.5);
        PngImages.write(tmp.resolve("a"), a, PixelRange.ZERO_ONE, 0);
        PngImages.write(tmp.resolve("b"), b, PixelRange.ZERO_ONE, 0);

        FidComparison.Side sa = FidComparison.load(tmp.resolve("a"), net, 1);
        FidComparison.Side sb = FidComparison.load(tmp.resolve("b"), net, 2);
        assertEquals(150, sa.n());
        assertEquals(130, sb.n());
        FidComparison.Result r = FidComparison.compare(sa, sb, net.name(), 0.95);

        // the same numbers computed directly from the in-memory images
        FeatureStatistics fa = new FeatureStatistics(net.pooledDim());
        FeatureStatistics fb = new FeatureStatistics(net.pooledDim());
        Features ea = net.extract(a);
        Features eb = net.extract(b);
        fa.update(ea.pooled());
        fb.update(eb.pooled());
        double direct = FrechetDistance.compute(fa, fb).value();
        assertEquals(direct, r.fid().value(), 1e-9 * direct);
        assertNotNull(r.sfid(), "both sides have spatial statistics");
        assertNotNull(r.ci());
        assertTrue(r.ci().low() < r.fid().value() && r.fid().value() < r.ci().high() + 1e-12, r.ci().toString());

        JsonNode json = new ObjectMapper().readTree(r.toJson());
        assertEquals(150, json.get("n_a").asLong());
        assertEquals(130, json.get("n_b").asLong());
        assertEquals(r.fid().value(), json.get("fid").asDouble());
        assertTrue(json.has("sfid") && json.has("fid_ci") && json.get("warning").asText().contains("rank-deficient"));
        assertEquals("fmnist-features", json.get("features").asText());

        // save A's statistics, compare the file with folder B: same FID, CI only from B's side
        Path stats = tmp.resolve("a_stats.npz");
        sa.statistics().write(stats);
        FidComparison.Result r2 = FidComparison.compare(FidComparison.load(stats, null, 0), sb, null, 0.95);
        assertEquals(r.fid().value(), r2.fid().value(), 1e-12 * r.fid().value());
        assertEquals(150, r2.fid().n1());
        assertEquals(130, r2.ci().n());

        assertThrows(IllegalArgumentException.class, () -> FidComparison.load(tmp.resolve("a"), null, 0));
        assertThrows(java.io.FileNotFoundException.class, () -> FidComparison.load(tmp.resolve("missing"), net, 0));
    }

    @Test
    void accumulatorKeepsLogitsAndReservoir() throws Exception {
        FashionFeatureNet net = FashionFeatureNet.load(Fixtures.path("fmnist-features-random/config.json").getParent());
        FeatureAccumulator acc = new FeatureAccumulator(net.pooledDim(), net.spatialDim(), 4, 50, 3);
        INDArray x = images(3, 70, 1.0);
        acc.add(net.extract(x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 64)).dup()));
        acc.add(net.extract(x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(64, 70)).dup()));
        assertEquals(70, acc.count());
        assertEquals(70, acc.spatial().count());
        assertEquals(50, acc.reservoir().size());
        assertArrayEquals(new long[] {70, 10}, acc.logits().shape());
        assertEquals(70, acc.inceptionScore(2).n());
        Gaussian g = acc.toReference().pooled();
        assertEquals(70, g.n());
        assertEquals(DataType.DOUBLE, g.muArray().dataType());
    }
}
