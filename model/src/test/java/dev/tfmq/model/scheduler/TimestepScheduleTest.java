package dev.tfmq.model.scheduler;

import org.junit.jupiter.api.Test;

import static dev.tfmq.model.scheduler.SchedulerConfig.TimestepSpacing.*;
import static org.junit.jupiter.api.Assertions.*;

class TimestepScheduleTest {
    @Test
    void knownDiffusersOutputs() {
        assertArrayEquals(new long[]{900, 800, 700, 600, 500, 400, 300, 200, 100, 0},
                TimestepSchedule.spaced(1000, 10, LEADING, 0).timesteps());
        assertArrayEquals(new long[]{901, 801, 701, 601, 501, 401, 301, 201, 101, 1},
                TimestepSchedule.spaced(1000, 10, LEADING, 1).timesteps());
        assertArrayEquals(new long[]{999, 899, 799, 699, 599, 499, 399, 299, 199, 99},
                TimestepSchedule.spaced(1000, 10, TRAILING, 0).timesteps());
        assertArrayEquals(new long[]{999, 888, 777, 666, 555, 444, 333, 222, 111, 0},
                TimestepSchedule.spaced(1000, 10, LINSPACE, 0).timesteps());
        // diffusers' previous time-step is t - T // N for every spacing, -1 once negative
        TimestepSchedule lin = TimestepSchedule.spaced(1000, 10, LINSPACE, 0);
        assertEquals(899, lin.previous(0));
        assertEquals(-1, lin.previous(9));
        assertEquals(11, lin.previous(8));
        TimestepSchedule off = TimestepSchedule.spaced(1000, 10, LEADING, 1);
        assertEquals(-1, off.previous(9));
        assertThrows(IllegalArgumentException.class, () -> TimestepSchedule.spaced(1000, 1001, LEADING, 0));
        assertThrows(IllegalArgumentException.class, () -> TimestepSchedule.spaced(1000, 0, LEADING, 0));
    }

    @Test
    void quadraticSkipByHand() {
        // seq_j = int((j * sqrt(800) / 9)^2) = int(800 j^2 / 81): 0, 9, 39, 88, 158, 246, 355, 483, 632, 800
        TimestepSchedule q = TimestepSchedule.quadratic(1000, 10);
        assertArrayEquals(new long[]{800, 632, 483, 355, 246, 158, 88, 39, 9, 0}, q.timesteps());
        assertArrayEquals(new long[]{632, 483, 355, 246, 158, 88, 39, 9, 0, -1}, q.previousTimesteps());
        TimestepSchedule q100 = TimestepSchedule.quadratic(1000, 100);
        assertEquals(100, q100.size());
        long[] tail = java.util.Arrays.copyOfRange(q100.timesteps(), 95, 100);
        assertArrayEquals(new long[]{1, 0, 0, 0, 0}, tail, "the formula repeats 0 for N = 100");
        assertEquals(96, q100.distinctTimesteps().length);
        assertEquals(800, q100.timestep(0));
    }

    @Test
    void customLists() {
        TimestepSchedule c = TimestepSchedule.custom(new long[]{999, 500, 500, 3}, 1000);
        assertArrayEquals(new long[]{500, 500, 3, -1}, c.previousTimesteps());
        assertArrayEquals(new long[]{999, 500, 3}, c.distinctTimesteps());
        assertThrows(IllegalArgumentException.class, () -> TimestepSchedule.custom(new long[]{5, 7}, 1000));
        assertThrows(IllegalArgumentException.class, () -> TimestepSchedule.custom(new long[]{1000}, 1000));
        assertThrows(IllegalArgumentException.class, () -> TimestepSchedule.custom(new long[0], 1000));
    }

    @Test
    void repeatedTimestepIsANoOpForDdim() {
        SchedulerConfig cfg = SchedulerConfig.builder(SchedulerConfig.Kind.DDIM).build();
        DDIMScheduler s = new DDIMScheduler(cfg, 0.5);
        org.nd4j.linalg.api.ndarray.INDArray x = org.nd4j.linalg.factory.Nd4j.createFromArray(new double[]{0.3, -0.2}).reshape(1, 2);
        org.nd4j.linalg.api.ndarray.INDArray m = org.nd4j.linalg.factory.Nd4j.createFromArray(new double[]{0.1, 0.4}).reshape(1, 2);
        org.nd4j.linalg.api.ndarray.INDArray z = org.nd4j.linalg.factory.Nd4j.createFromArray(new double[]{1.0, -1.0}).reshape(1, 2);
        org.nd4j.linalg.api.ndarray.INDArray out = x.dup();
        assertEquals(0.0, s.sigma(0, 0));
        s.step(m, 0, 0, x, z, null, out);
        assertEquals(0.3, out.getDouble(0), 1e-15);
        assertEquals(-0.2, out.getDouble(1), 1e-15);
    }
}
