package dev.tfmq.model.scheduler;

import dev.tfmq.model.Denoiser;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {
    /** A deterministic per-sample "network": out = 0.3·x + t/1000 (no cross-sample mixing). */
    static final Denoiser FAKE = (x, t, out) -> {
        out.assign(x).muli(0.3);
        for (int b = 0; b < t.length; b++) out.get(NDArrayIndex.point(b)).addi(t[b] / 1000.0);
    };

    static Scheduler ddpm() {
        return new DDPMScheduler(SchedulerConfig.builder(SchedulerConfig.Kind.DDPM).build());
    }

    @Test
    void resultsIndependentOfBatching() {
        for (Scheduler s : new Scheduler[]{ddpm(), new DDIMScheduler(ddpm().config(), 1.0)}) {
            Sampler sampler = new Sampler(FAKE, s, s.timesteps(8));
            NoiseSource ns = new NoiseSource(42);
            long[] shape = {1, 5, 6};
            INDArray all = sampler.sample(new long[]{10, 11, 12, 13}, shape, ns, null);
            INDArray a = sampler.sample(new long[]{10, 11}, shape, ns, null);
            INDArray b = new Sampler(FAKE, s, s.timesteps(8)).sample(new long[]{12, 13}, shape, ns, null);
            assertEquals(all.get(NDArrayIndex.interval(0, 2)), a);
            assertEquals(all.get(NDArrayIndex.interval(2, 4)), b);
            INDArray single = sampler.sample(new long[]{13}, shape, ns, null);
            assertEquals(all.get(NDArrayIndex.interval(3, 4)), single);
            INDArray otherSeed = sampler.sample(new long[]{13}, shape, new NoiseSource(43), null);
            assertNotEquals(single, otherSeed);
            assertTrue(Double.isFinite(all.sumNumber().doubleValue()));
        }
    }

    @Test
    void callbackSeesEveryStepAndBuffersAreReused() {
        Scheduler s = ddpm();
        TimestepSchedule ts = TimestepSchedule.quadratic(1000, 6);
        Sampler sampler = new Sampler(FAKE, s, ts);
        List<Long> seen = new ArrayList<>();
        IdentityHashMap<INDArray, Boolean> arrays = new IdentityHashMap<>();
        Sampler.StepListener l = (k, t, xt, m, x0, xPrev) -> {
            assertEquals(seen.size() % 6, k);
            seen.add(t);
            arrays.put(xt, true);
            arrays.put(m, true);
            arrays.put(x0, true);
            arrays.put(xPrev, true);
            assertTrue(x0.maxNumber().doubleValue() <= 1 && x0.minNumber().doubleValue() >= -1, "clip_sample");
        };
        sampler.sample(new long[]{0, 1}, new long[]{1, 4, 4}, new NoiseSource(1), l);
        sampler.sample(new long[]{2, 3}, new long[]{1, 4, 4}, new NoiseSource(1), l);
        assertEquals(List.of(800L, 512L, 288L, 128L, 32L, 0L, 800L, 512L, 288L, 128L, 32L, 0L), seen);
        assertEquals(4, arrays.size(), "x, x_prev, model output and x0 buffers reused across steps and calls");
    }

    @Test
    void initialNoiseIsStreamZeroAndStandardNormal() {
        NoiseSource ns = new NoiseSource(7);
        INDArray batch = Nd4j.create(DataType.FLOAT, 3, 1, 100, 100);
        ns.fill(batch, new long[]{5, 6, 7}, 0);
        INDArray one = Nd4j.create(DataType.DOUBLE, 1, 1, 100, 100);
        ns.fill(one, new long[]{6}, 0);
        assertEquals(one.castTo(DataType.FLOAT), batch.get(NDArrayIndex.interval(1, 2)), "float32 = rounded doubles");
        double mean = batch.meanNumber().doubleValue();
        double std = batch.stdNumber().doubleValue();
        assertEquals(0, mean, 0.02);
        assertEquals(1, std, 0.02);
        INDArray s1 = Nd4j.create(DataType.FLOAT, 1, 1, 100, 100);
        ns.fill(s1, new long[]{6}, NoiseSource.streamForStep(0));
        assertNotEquals(one.castTo(DataType.FLOAT), s1, "streams differ");
        // odd length: drops the last pair's second value, prefix-consistent
        double[] a = new double[5], b = new double[6];
        ns.fill(a, 0, 5, 9, 2);
        ns.fill(b, 0, 6, 9, 2);
        assertArrayEquals(a, java.util.Arrays.copyOf(b, 5));
    }

    @Test
    void addNoiseFollowsTheForwardProcess() {
        Scheduler s = ddpm();
        INDArray x0 = Nd4j.createFromArray(new float[]{0.5f, -0.5f, 1f, 0f}).reshape(2, 1, 1, 2);
        INDArray z = Nd4j.createFromArray(new float[]{1f, 2f, -1f, 3f}).reshape(2, 1, 1, 2);
        INDArray out = Nd4j.create(DataType.FLOAT, 2, 1, 1, 2);
        s.addNoise(x0, z, new long[]{0, 999}, out);
        double a0 = s.noiseSchedule().alphaCumprod(0), a1 = s.noiseSchedule().alphaCumprod(999);
        assertEquals(Math.sqrt(a0) * 0.5 + Math.sqrt(1 - a0), out.getDouble(0), 1e-6);
        assertEquals(Math.sqrt(a1) * 1 - Math.sqrt(1 - a1), out.getDouble(2), 1e-6);
        assertThrows(IllegalArgumentException.class, () -> s.addNoise(x0, z, new long[]{0}, out));
        INDArray strided = Nd4j.create(DataType.FLOAT, 2, 2, 1, 2).get(NDArrayIndex.all(), NDArrayIndex.point(1));
        assertThrows(IllegalArgumentException.class, () -> s.addNoise(strided, z, new long[]{0, 1}, out),
                "non-contiguous views are rejected with a clear message");
        // a contiguous view at an offset is read and written in place at the right elements
        INDArray big = Nd4j.create(DataType.FLOAT, 4, 1, 1, 2);
        INDArray rows = big.get(NDArrayIndex.interval(2, 4));
        s.addNoise(x0, z, new long[]{0, 999}, rows);
        assertEquals(out, rows);
        assertEquals(0.0, big.get(NDArrayIndex.interval(0, 2)).amaxNumber().doubleValue());
        assertThrows(IllegalArgumentException.class, () -> s.step(x0, 5, 4, x0, null, null, out), "DDPM at t>0 needs noise");
    }
}
