package dev.tfmq.model.scheduler;

import dev.tfmq.model.Denoiser;
import dev.tfmq.model.Fixtures;
import dev.tfmq.model.io.Npy;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The scheduler against the 10-step DDIM loop recorded by diffusers 0.25.1 (tiny-gray28/sampling). */
class DiffusersDdimFixtureTest {
    private static final Path DIR = Fixtures.tinyGray28().resolve("sampling");

    static double maxAbs(INDArray a, INDArray b) {
        assertArrayEquals(a.shape(), b.shape());
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    @Test
    void tablesAndTimestepsMatchDiffusers() throws IOException {
        SchedulerConfig cfg = SchedulerConfig.read(DIR.resolve("scheduler_config.json"));
        assertEquals(SchedulerConfig.Kind.DDIM, cfg.kind());
        DDIMScheduler s = new DDIMScheduler(cfg);
        double[] betas = Npy.read(DIR.resolve("betas.npy")).toDoubleVector();
        double[] ac = Npy.read(DIR.resolve("alphas_cumprod.npy")).toDoubleVector();
        assertEquals(1000, betas.length);
        double maxBeta = 0, maxRel = 0;
        for (int i = 0; i < 1000; i++) {
            maxBeta = Math.max(maxBeta, Math.abs(s.noiseSchedule().beta(i) - betas[i]));
            maxRel = Math.max(maxRel, Math.abs(s.noiseSchedule().alphaCumprod(i) / ac[i] - 1));
        }
        // diffusers' tables are float32: betas within float32 rounding, alpha-bar within its accumulated rounding
        assertTrue(maxBeta < 5e-9, "betas max abs error " + maxBeta);
        assertTrue(maxRel < 1e-6, "alphas_cumprod max rel error " + maxRel);
        long[] ts = Npy.read(DIR.resolve("timesteps.npy")).toLongVector();
        assertArrayEquals(ts, s.timesteps(10).timesteps());
        System.out.printf("fixture tables: betas max abs %.3g, alphas_cumprod max rel %.3g%n", maxBeta, maxRel);
    }

    /** Feeds the recorded ε at each step; x0, every intermediate sample and the final sample must match. */
    @Test
    void ddimLoopReproducesRecordedSamples() throws IOException {
        for (DataType dt : new DataType[]{DataType.FLOAT, DataType.DOUBLE}) {
            SchedulerConfig cfg = SchedulerConfig.read(DIR.resolve("scheduler_config.json"));
            DDIMScheduler s = new DDIMScheduler(cfg, 0.0);
            INDArray eps = Npy.read(DIR.resolve("eps.npy"));
            INDArray x0Ref = Npy.read(DIR.resolve("x0.npy"));
            INDArray samplesRef = Npy.read(DIR.resolve("samples.npy"));
            INDArray finalRef = Npy.read(DIR.resolve("final.npy"));
            INDArray noise = Npy.read(DIR.resolve("noise.npy")).castTo(dt);
            TimestepSchedule ts = s.timesteps(10);
            long[] expectedT = ts.timesteps();
            int[] calls = {0};
            Denoiser recorded = (sample, t, out) -> {
                int k = calls[0]++;
                for (long ti : t) assertEquals(expectedT[k], ti);
                assertEquals(dt, sample.dataType());
                out.assign(eps.get(NDArrayIndex.point(k)).castTo(dt));
            };
            List<INDArray> x0s = new ArrayList<>();
            List<INDArray> xs = new ArrayList<>();
            Sampler sampler = new Sampler(recorded, s, ts, dt);
            INDArray out = Nd4j.create(dt, noise.shape());
            sampler.run(noise, new long[]{0, 1}, null, (k, t, xt, m, x0, xPrev) -> {
                x0s.add(x0.dup());
                xs.add(xPrev.dup());
            }, out);
            assertEquals(10, calls[0]);
            double ex0 = 0, es = 0;
            for (int k = 0; k < 10; k++) {
                ex0 = Math.max(ex0, maxAbs(x0s.get(k), x0Ref.get(NDArrayIndex.point(k))));
                es = Math.max(es, maxAbs(xs.get(k), samplesRef.get(NDArrayIndex.point(k))));
            }
            double ef = maxAbs(out, finalRef);
            System.out.printf("DDIM loop (%s) vs diffusers: x0 %.3g, samples %.3g, final %.3g%n", dt, ex0, es, ef);
            assertTrue(ex0 < 1e-5, "x0 max abs error " + ex0);
            assertTrue(es < 1e-5, "samples max abs error " + es);
            assertTrue(ef < 1e-5, "final max abs error " + ef);
            if (dt == DataType.DOUBLE) {
                // samples64/final64 come from the float64 model, whose ε differs from the recorded float32 ε; the
                // loop fed float32 ε stays within the recorded float32-vs-float64 gap (9.4e-5)
                double e64 = maxAbs(out, Npy.read(DIR.resolve("final64.npy")));
                double s64 = 0;
                INDArray samples64 = Npy.read(DIR.resolve("samples64.npy"));
                for (int k = 0; k < 10; k++) s64 = Math.max(s64, maxAbs(xs.get(k), samples64.get(NDArrayIndex.point(k))));
                System.out.printf("DDIM loop (DOUBLE, float32 eps) vs final64 %.3g, samples64 %.3g%n", e64, s64);
                assertTrue(e64 < 1e-4 && s64 < 1e-4, e64 + " " + s64);
            }
        }
    }
}
