package dev.tfmq.metrics.stats;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.metrics.Fixtures;
import dev.tfmq.metrics.PortableRandom;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class FeatureStatisticsTest {

    static FeatureStatistics stream(INDArray x, int batch) {
        FeatureStatistics s = new FeatureStatistics(x.columns());
        for (long i = 0; i < x.rows(); i += batch) {
            s.update(x.get(NDArrayIndex.interval(i, Math.min(x.rows(), i + batch)), NDArrayIndex.all()));
        }
        return s;
    }

    /** max |a − b| / max |b| over all entries. */
    static double relDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue() / b.amaxNumber().doubleValue();
    }

    @Test
    void matchesNumpyMeanAndCovariance() {
        JsonNode c = Fixtures.reference().get("fid").get("full64");
        INDArray x = PortableRandom.features(c.get("seed1").asLong(), c.get("n1").asInt(), c.get("d").asInt(),
                c.get("rank").asInt(), 1.0);
        FeatureStatistics s = stream(x, 64);
        assertEquals(c.get("n1").asLong(), s.count());
        INDArray mu = s.mean();
        INDArray sigma = s.covariance();
        assertEquals(c.get("mu1_0").asDouble(), mu.getDouble(0), 1e-12 * Math.abs(c.get("mu1_0").asDouble()));
        assertEquals(c.get("mu1_sum").asDouble(), mu.sumNumber().doubleValue(), 1e-12 * c.get("mu1_sum").asDouble());
        assertEquals(c.get("sigma1_00").asDouble(), sigma.getDouble(0, 0), 1e-11 * c.get("sigma1_00").asDouble());
        assertEquals(c.get("sigma1_01").asDouble(), sigma.getDouble(0, 1), 1e-11 * Math.abs(c.get("sigma1_01").asDouble()));
        assertEquals(c.get("trace_sigma1").asDouble(), Nd4j.diag(sigma).sumNumber().doubleValue(),
                1e-12 * c.get("trace_sigma1").asDouble());
        assertEquals(c.get("sigma1_sum").asDouble(), sigma.sumNumber().doubleValue(), 1e-10 * c.get("sigma1_sum").asDouble());
    }

    @Test
    void mergingPartitionsEqualsOnePass() {
        INDArray x = PortableRandom.features(42, 1000, 48, 6, 1.0);
        FeatureStatistics whole = stream(x, 1000);
        int[] cuts = {0, 137, 600, 1000};
        FeatureStatistics[] parts = new FeatureStatistics[3];
        for (int p = 0; p < 3; p++) {
            // dup(): ND4J 1.0.0-M2.1 mis-shapes some row intervals taken from an offset view.
            parts[p] = stream(x.get(NDArrayIndex.interval(cuts[p], cuts[p + 1]), NDArrayIndex.all()).dup(), 64);
        }
        FeatureStatistics forward = parts[0].copy();
        forward.merge(parts[1]);
        forward.merge(parts[2]);
        FeatureStatistics backward = parts[2].copy();
        backward.merge(parts[1]);
        backward.merge(parts[0]);
        assertEquals(1000, forward.count());
        assertEquals(1000, backward.count());
        for (FeatureStatistics m : new FeatureStatistics[] {forward, backward}) {
            assertTrue(relDiff(m.mean(), whole.mean()) < 1e-12, "mean " + relDiff(m.mean(), whole.mean()));
            assertTrue(relDiff(m.comoment(), whole.comoment()) < 1e-12, "co-moment " + relDiff(m.comoment(), whole.comoment()));
        }
        assertTrue(relDiff(forward.comoment(), backward.comoment()) < 1e-13);
        // Merging an empty part changes nothing; merging into an empty one copies.
        FeatureStatistics empty = new FeatureStatistics(48);
        empty.merge(whole);
        assertArrayEquals(whole.toBytes(), empty.toBytes());
        whole.merge(new FeatureStatistics(48));
        assertArrayEquals(empty.toBytes(), whole.toBytes());
    }

    @Test
    void avoidsCancellationWithLargeMean() {
        // Features with mean 1e4 and unit spread: the Σxxᵀ − nμμᵀ formula loses ~8 digits here.
        INDArray noise = PortableRandom.features(7, 2000, 8, 2, 1.0);
        INDArray x = noise.castTo(DataType.DOUBLE).addi(1e4).castTo(DataType.FLOAT);
        INDArray ref = x.castTo(DataType.DOUBLE);
        INDArray centred = ref.subRowVector(ref.mean(0));
        INDArray cov = centred.transpose().mmul(centred).divi(1999);
        FeatureStatistics s = stream(x, 64);
        assertTrue(relDiff(s.covariance(), cov) < 1e-10, "relative covariance error " + relDiff(s.covariance(), cov));
    }

    @Test
    void acceptsDoubleFortranOrderAndViewInputs() {
        INDArray x = PortableRandom.features(13, 40, 6, 2, 1.0);
        FeatureStatistics plain = stream(x, 40);
        FeatureStatistics asDouble = new FeatureStatistics(6);
        asDouble.update(x.castTo(DataType.DOUBLE));
        FeatureStatistics fortran = new FeatureStatistics(6);
        fortran.update(x.dup('f'));
        FeatureStatistics columns = new FeatureStatistics(6);
        INDArray wide = org.nd4j.linalg.factory.Nd4j.concat(1, x, x); // [40, 12]; take columns 6..11 as a view
        columns.update(wide.get(NDArrayIndex.all(), NDArrayIndex.interval(6, 12)));
        for (FeatureStatistics s : new FeatureStatistics[] {asDouble, fortran, columns}) {
            assertArrayEquals(plain.toBytes(), s.toBytes());
        }
    }

    @Test
    void weightsEqualRepeatedRows() {
        INDArray x = PortableRandom.features(11, 10, 5, 2, 1.0);
        int[] w = {0, 1, 2, 3, 0, 1, 1, 4, 2, 1};
        FeatureStatistics weighted = new FeatureStatistics(5);
        weighted.update(x, w);
        int total = Arrays.stream(w).sum();
        INDArray repeated = Nd4j.create(DataType.FLOAT, total, 5);
        int row = 0;
        for (int i = 0; i < w.length; i++) {
            for (int k = 0; k < w[i]; k++) repeated.putRow(row++, x.getRow(i));
        }
        FeatureStatistics plain = stream(repeated, 7);
        assertEquals(total, weighted.count());
        assertTrue(relDiff(weighted.mean(), plain.mean()) < 1e-13);
        assertTrue(relDiff(weighted.comoment(), plain.comoment()) < 1e-12);
        FeatureStatistics none = new FeatureStatistics(5);
        none.update(x, new int[10]);
        assertEquals(0, none.count());
        assertThrows(IllegalArgumentException.class, () -> weighted.update(x, new int[3]));
    }

    @Test
    void bytesRoundTripBitExactly() {
        FeatureStatistics s = stream(PortableRandom.features(5, 300, 20, 3, 1.0), 64);
        byte[] bytes = s.toBytes();
        FeatureStatistics back = FeatureStatistics.fromBytes(bytes);
        assertEquals(s.count(), back.count());
        assertArrayEquals(s.mean().data().asDouble(), back.mean().data().asDouble());
        assertArrayEquals(s.comoment().data().asDouble(), back.comoment().data().asDouble());
        assertArrayEquals(bytes, back.toBytes());
        // A restored object keeps streaming like the original.
        INDArray more = PortableRandom.features(6, 64, 20, 3, 1.0);
        s.update(more);
        back.update(more);
        assertArrayEquals(s.toBytes(), back.toBytes());

        assertThrows(IllegalArgumentException.class, () -> FeatureStatistics.fromBytes(Arrays.copyOf(bytes, bytes.length - 8)));
        byte[] bad = bytes.clone();
        bad[0] = 'X';
        assertThrows(IllegalArgumentException.class, () -> FeatureStatistics.fromBytes(bad));
    }

    @Test
    void npzRoundTripBitExactlyAndReadsAsAdm(@TempDir Path dir) throws Exception {
        FeatureStatistics s = stream(PortableRandom.features(5, 300, 20, 3, 1.0), 64);
        Path file = dir.resolve("stats.npz");
        s.writeNpz(file);
        FeatureStatistics back = FeatureStatistics.readNpz(file);
        assertArrayEquals(s.toBytes(), back.toBytes());
        ReferenceStatistics adm = ReferenceStatistics.read(file);
        assertEquals(300, adm.pooled().n());
        assertArrayEquals(s.covariance().dup('c').data().asDouble(), adm.pooled().sigma());
        assertNull(adm.spatial());

        Path plain = dir.resolve("adm.npz");
        Npz.write(plain, Map.of("mu", s.mean(), "sigma", s.covariance()));
        FormatException e = assertThrows(FormatException.class, () -> FeatureStatistics.readNpz(plain));
        assertTrue(e.getMessage().contains("adm.npz") && e.getMessage().contains("'n'"), e.getMessage());
    }

    @Test
    void rejectsDimensionMismatchAndTooFewSamples() {
        FeatureStatistics s = new FeatureStatistics(4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> s.update(Nd4j.zeros(DataType.FLOAT, 3, 5)));
        assertTrue(e.getMessage().contains("mismatch"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.update(Nd4j.zeros(DataType.FLOAT, 4)));
        assertThrows(IllegalArgumentException.class, () -> s.merge(new FeatureStatistics(5)));
        assertThrows(IllegalStateException.class, s::covariance);
        s.update(Nd4j.ones(DataType.FLOAT, 1, 4));
        assertThrows(IllegalStateException.class, s::covariance);
        s.update(Nd4j.zeros(DataType.FLOAT, 1, 4));
        assertEquals(0.5, s.covariance().getDouble(0, 0), 1e-15); // the folded between-part row costs ≤ 1 ulp
    }
}
