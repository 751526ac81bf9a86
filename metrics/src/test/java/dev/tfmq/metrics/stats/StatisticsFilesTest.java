package dev.tfmq.metrics.stats;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/** Statistics files are checked against what a mean, a covariance and a count can be (issue 14). */
class StatisticsFilesTest {
    @TempDir
    Path dir;

    private static Map<String, INDArray> valid() {
        FeatureStatistics s = new FeatureStatistics(3);
        s.update(Nd4j.createFromArray(new double[][]{{1, 2, 0}, {0, 1, 1}, {2, 0, 1}, {1, 1, 3}}));
        Map<String, INDArray> a = new LinkedHashMap<>();
        a.put("mu", s.mean());
        a.put("sigma", s.covariance());
        a.put("n", Nd4j.createFromArray(4L));
        a.put("comoment", s.comoment());
        return a;
    }

    private String refused(Consumer<Map<String, INDArray>> change) throws IOException {
        Map<String, INDArray> a = valid();
        change.accept(a);
        Path f = dir.resolve("ref.npz");
        Npz.write(f, a);
        return assertThrows(FormatException.class, () -> ReferenceStatistics.read(f)).getMessage();
    }

    @Test
    void impossibleReferenceStatisticsAreRefusedNamingFileKeyAndEntry() throws IOException {
        // a negative variance used to give "fid": -100.09 with exit 0
        String m = refused(a -> a.get("sigma").putScalar(new long[]{1, 1}, -5.0));
        assertTrue(m.contains("ref.npz") && m.contains("'sigma' diagonal entry [1, 1] = -5.0 is negative"), m);
        m = refused(a -> a.get("sigma").putScalar(new long[]{0, 2}, 7.0));
        assertTrue(m.contains("'sigma' is not symmetric: [2, 0]") && m.contains("but [0, 2] = 7.0"), m);
        m = refused(a -> a.get("sigma").putScalar(new long[]{2, 1}, Double.NaN));
        assertTrue(m.contains("'sigma' entry [2, 1]") && m.contains("not finite"), m);
        m = refused(a -> a.get("mu").putScalar(1, Double.POSITIVE_INFINITY));
        assertTrue(m.contains("'mu' entry [1] = Infinity is not finite"), m);
        m = refused(a -> a.put("n", Nd4j.createFromArray(1L)));
        assertTrue(m.contains("'n' = 1.0: statistics need a whole sample count of at least 2"), m);
        m = refused(a -> a.put("sigma", Nd4j.zeros(DataType.DOUBLE, 3, 4)));
        assertTrue(m.contains("'sigma' has shape [3, 4]") && m.contains("expected [3, 3]"), m);
        m = refused(a -> {
            a.put("mu_s", Nd4j.zeros(DataType.DOUBLE, 2));
            a.put("sigma_s", Nd4j.createFromArray(new double[][]{{1, 0}, {0, -1}}));
        });
        assertTrue(m.contains("'sigma_s' diagonal entry [1, 1] = -1.0"), m);
        // round-off far below the tolerance is a covariance
        Map<String, INDArray> a = valid();
        a.get("sigma").putScalar(new long[]{0, 1}, a.get("sigma").getDouble(0, 1) * (1 + 1e-12));
        Path ok = dir.resolve("ok.npz");
        Npz.write(ok, a);
        assertEquals(4, ReferenceStatistics.read(ok).pooled().n());
    }

    @Test
    void mergeableStatisticsAreCheckedToo() throws IOException {
        Map<String, INDArray> a = valid();
        a.get("comoment").putScalar(new long[]{2, 2}, -1.0);
        Path f = dir.resolve("partial.npz");
        Npz.write(f, a);
        String m = assertThrows(FormatException.class, () -> FeatureStatistics.readNpz(f)).getMessage();
        assertTrue(m.contains("partial.npz") && m.contains("'comoment' diagonal entry [2, 2] = -1.0 is negative"), m);
        a = valid();
        a.put("n", Nd4j.createFromArray(0L));
        Npz.write(f, a);
        m = assertThrows(FormatException.class, () -> FeatureStatistics.readNpz(f)).getMessage();
        assertTrue(m.contains("'n' = 0.0"), m);
        Npz.write(f, valid());
        assertEquals(4, FeatureStatistics.readNpz(f).count());
    }
}
