package dev.tfmq.metrics.paired;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.metrics.Fixtures;
import dev.tfmq.metrics.PortableRandom;
import dev.tfmq.metrics.uncertainty.Interval;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.*;

class PairedImageMetricsTest {

    /** paired_images() of tools/fid_reference.py. */
    static INDArray[] images(JsonNode c) {
        long seed = c.get("seed").asLong();
        int n = c.get("n").asInt();
        int ch = c.get("c").asInt();
        int h = c.get("h").asInt();
        int w = c.get("w").asInt();
        int total = n * ch * h * w;
        double[] u = PortableRandom.uniforms(seed, total);
        double[] v = PortableRandom.uniforms(seed + 7, total);
        float[] clean = new float[total];
        float[] noisy = new float[total];
        for (int idx = 0; idx < total; idx++) {
            int x = idx % w;
            int left = idx - x + (x - 1 + w) % w;
            double cl = 0.5 * (u[idx] + u[left]);
            int sample = idx / (ch * h * w);
            double noise = (v[idx] - 0.5) * 0.1;
            double nz = cl + (noise * (sample + 1)) / n;
            clean[idx] = (float) cl;
            noisy[idx] = (float) Math.min(1.0, Math.max(0.0, nz));
        }
        long[] shape = {n, ch, h, w};
        return new INDArray[] {Nd4j.create(clean, shape, 'c'), Nd4j.create(noisy, shape, 'c')};
    }

    @Test
    void matchesNumpyReference() {
        JsonNode c = Fixtures.reference().get("paired");
        INDArray[] im = images(c);
        PairedImageMetrics.PerSample p = PairedImageMetrics.compute(im[0], im[1], 1.0);
        assertEquals(6, p.n());
        for (int i = 0; i < 6; i++) {
            assertEquals(c.get("mse").get(i).asDouble(), p.mse()[i], 1e-12 * c.get("mse").get(i).asDouble());
            assertEquals(c.get("psnr").get(i).asDouble(), p.psnr()[i], 1e-10);
            assertEquals(c.get("ssim").get(i).asDouble(), p.ssim()[i], 1e-10);
        }
        // noise grows with the index: similarity falls
        assertTrue(p.ssim()[0] > p.ssim()[5] && p.psnr()[0] > p.psnr()[5]);
    }

    @Test
    void identicalImagesAndErrors() {
        INDArray[] im = images(Fixtures.reference().get("paired"));
        PairedImageMetrics.PerSample p = PairedImageMetrics.compute(im[0], im[0], 1.0);
        for (int i = 0; i < p.n(); i++) {
            assertEquals(0.0, p.mse()[i]);
            assertEquals(Double.POSITIVE_INFINITY, p.psnr()[i]);
            assertEquals(1.0, p.ssim()[i], 1e-12);
        }
        assertThrows(IllegalArgumentException.class,
                () -> PairedImageMetrics.compute(im[0], Nd4j.zeros(DataType.FLOAT, 6, 2, 28, 27), 1.0));
        assertThrows(IllegalArgumentException.class,
                () -> PairedImageMetrics.compute(Nd4j.zeros(DataType.FLOAT, 1, 1, 8, 8), Nd4j.zeros(DataType.FLOAT, 1, 1, 8, 8), 1.0));
    }

    @Test
    void summaryHasSeededIntervalsWithN() {
        INDArray[] im = images(Fixtures.reference().get("paired"));
        PairedImageMetrics.PerSample p = PairedImageMetrics.compute(im[0], im[1], 1.0);
        PairedImageMetrics.Summary s = PairedImageMetrics.summarize(p, 2000, 0.95, 5L);
        assertEquals(s, PairedImageMetrics.summarize(p, 2000, 0.95, 5L));
        for (Interval i : new Interval[] {s.mse(), s.psnr(), s.ssim()}) {
            assertEquals(6, i.n());
            assertTrue(i.low() <= i.value() && i.value() <= i.high(), i.toString());
            assertTrue(i.low() < i.high());
        }
        double meanSsim = java.util.Arrays.stream(p.ssim()).average().orElseThrow();
        assertEquals(meanSsim, s.ssim().value(), 1e-15);
    }
}
