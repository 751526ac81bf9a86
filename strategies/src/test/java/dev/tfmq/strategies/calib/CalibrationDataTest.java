package dev.tfmq.strategies.calib;

import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CalibrationDataTest {

    @Test
    void spilledBatchesReadBackBitIdentical(@TempDir Path dir) throws Exception {
        long[] chw = {1, 4, 4};
        long perSample = 16 * 4;
        Nd4j.getRandom().setSeed(5);
        INDArray a = Nd4j.rand(DataType.FLOAT, 3, 1, 4, 4);
        INDArray b = Nd4j.rand(DataType.FLOAT, 2, 1, 4, 4);
        INDArray c = Nd4j.rand(DataType.FLOAT, 4, 1, 4, 4);
        try (CalibrationStore s = new CalibrationStore(chw, 5 * perSample, dir)) {
            s.add(0, 900, a);
            s.add(3, 600, b);
            assertEquals(0, s.spilledChunks());
            s.add(7, 100, c);
            // 9 samples against a budget of 5: the first batch (3) and the second (2) spill, 4 stay resident
            assertEquals(2, s.spilledChunks());
            assertEquals(4 * perSample, s.residentBytes());
            assertTrue(Files.exists(dir.resolve("calib-000000.safetensors")));
            assertEquals(9, s.size());
            assertArrayEquals(new int[] {3, 4}, s.indicesOfStep(3));
            assertArrayEquals(new long[] {900, 600, 100}, s.timesteps(new int[] {2, 3, 8}));
            INDArray got = s.x(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8});
            INDArray want = Nd4j.concat(0, a, b, c);
            assertArrayEquals(want.data().asFloat(), got.data().asFloat(), 0.0f, "spilled data read back exactly");
            // random access across spilled and resident batches
            INDArray mix = s.x(new int[] {8, 0, 4});
            assertEquals(c.slice(3), mix.slice(0));
            assertEquals(a.slice(0), mix.slice(1));
            assertEquals(b.slice(1), mix.slice(2));
        }
        assertFalse(Files.exists(dir.resolve("calib-000000.safetensors")), "close() removes spill files");
    }

    @Test
    void overBudgetWithoutSpillFolderFailsClearly() {
        CalibrationStore s = new CalibrationStore(new long[] {1, 2, 2}, 16, null);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> s.add(0, 10, Nd4j.zeros(DataType.FLOAT, 2, 1, 2, 2)));
        assertTrue(e.getMessage().contains("16 bytes"), e.getMessage());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                () -> s.add(0, 10, Nd4j.zeros(DataType.FLOAT, 2, 3, 2, 2)));
        assertTrue(shape.getMessage().contains("[2, 3, 2, 2]"), shape.getMessage());
    }

    @Test
    void partialTrajectoriesMatchTheSamplersStepInputs() {
        UNet2DModel m = TinyModels.random(2);
        SchedulerConfig cfg = TinyModels.scheduler();
        // η = 1 so that the DDIM steps add noise: the partial loop must use the same noise streams
        Scheduler sch = Schedulers.create(cfg, SchedulerConfig.Kind.DDIM, 1.0);
        TimestepSchedule ts = TimestepSchedule.spaced(cfg, 5);
        long[] chw = {1, 16, 16};
        TrajectoryCalibration tc = new TrajectoryCalibration(m, sch, ts, 42, chw, 2);
        List<INDArray> seen = new ArrayList<>();
        new Sampler(m, sch, ts).sample(new long[] {0, 1}, chw, new NoiseSource(42),
                (k, t, xt, mo, x0, xp) -> seen.add(xt.dup()));
        for (int k : new int[] {0, 2, 4}) {
            INDArray x = tc.runTo(k, new long[] {0, 1});
            assertEquals(0.0, x.sub(seen.get(k)).amaxNumber().doubleValue(), 0.0, "step " + k);
        }
        try (CalibrationStore store = new CalibrationStore(chw, 1L << 20, null)) {
            tc.collect(new int[] {1, 3}, 3, store);
            assertEquals(6, store.size());
            assertArrayEquals(new int[] {1, 3}, store.steps());
            assertEquals(ts.timestep(3), store.timestep(5));
            // step 3's samples use indices 3..5, so they differ from step 1's trajectories
            assertNotEquals(store.x(new int[] {0}), store.x(new int[] {3}));
            CalibrationStore shared = new CalibrationStore(chw, 1L << 20, null);
            tc.collectShared(new int[] {2, 4}, 2, shared);
            assertEquals(seen.get(2), shared.x(new int[] {0, 1}));
            assertEquals(seen.get(4), shared.x(new int[] {2, 3}));
        }
    }

    @Test
    void stepChoicesAreUniformOrNormal() {
        assertArrayEquals(new int[] {0, 25, 50, 75}, TrajectoryCalibration.uniformSteps(100, 4));
        assertArrayEquals(new int[] {0, 1, 3, 4, 6}, TrajectoryCalibration.uniformSteps(8, 5));
        assertThrows(IllegalArgumentException.class, () -> TrajectoryCalibration.uniformSteps(8, 9));
        TimestepSchedule ts = TimestepSchedule.spaced(1000, 10, SchedulerConfig.TimestepSpacing.LEADING, 0);
        int[] c = NormalTimestepSelection.countsPerStep(ts, 4000, 0.4, 0.4, 1);
        assertArrayEquals(c, NormalTimestepSelection.countsPerStep(ts, 4000, 0.4, 0.4, 1), "seeded");
        int sum = 0;
        double mean = 0;
        for (int k = 0; k < c.length; k++) {
            sum += c[k];
            mean += c[k] * (double) ts.timestep(k);
        }
        assertEquals(4000, sum);
        // N(400, 400) clamped to [0, 999] has mean ≈ 430; the schedule grid (0, 100, …, 900) shifts it little
        mean /= sum;
        assertTrue(mean > 380 && mean < 480, "mean time-step " + mean);
        // the clamp piles the left tail (P(t < 0) ≈ 16%) onto t = 0, the schedule's last step
        assertTrue(c[9] > 0.15 * 4000, "count at t=0: " + c[9]);
    }
}
