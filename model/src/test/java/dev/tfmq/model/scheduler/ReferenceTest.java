package dev.tfmq.model.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tfmq.model.io.Npz;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Against tools/sched_reference.py, an independent float64 NumPy implementation of the diffusers formulas. */
class ReferenceTest {
    static Path dir() {
        try {
            return Path.of(ReferenceTest.class.getResource("/data/scheduler/loops.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void setTimestepsMatchesNumpyForAllSpacings() throws IOException {
        Map<String, INDArray> ref = Npz.read(dir().resolve("timesteps.npz"));
        int checked = 0;
        for (Map.Entry<String, INDArray> e : ref.entrySet()) {
            String[] p = e.getKey().split("_");
            if (e.getValue().maxNumber().longValue() >= 1000) {
                // e.g. leading spacing, steps_offset 1, 1000 steps: diffusers lists t = 1000 and fails on indexing
                assertThrows(IllegalArgumentException.class, () -> TimestepSchedule.spaced(1000,
                        Integer.parseInt(p[2]), SchedulerConfig.TimestepSpacing.valueOf(p[0].toUpperCase()),
                        Integer.parseInt(p[1])), e.getKey());
                checked++;
                continue;
            }
            TimestepSchedule s;
            if (p[0].equals("quadratic")) {
                s = TimestepSchedule.quadratic(1000, Integer.parseInt(p[1]));
            } else {
                SchedulerConfig.TimestepSpacing sp = SchedulerConfig.TimestepSpacing.valueOf(p[0].toUpperCase());
                s = TimestepSchedule.spaced(1000, Integer.parseInt(p[2]), sp, Integer.parseInt(p[1]));
            }
            assertArrayEquals(e.getValue().toLongVector(), s.timesteps(), e.getKey());
            checked++;
        }
        assertEquals(73, checked);
    }

    @Test
    void betaSchedulesMatch() throws IOException {
        Map<String, INDArray> ref = Npz.read(dir().resolve("betas.npz"));
        SchedulerConfig.Builder b = SchedulerConfig.builder(SchedulerConfig.Kind.DDPM);
        Map<String, SchedulerConfig> cfgs = Map.of(
                "linear", b.build(),
                "scaled_linear", SchedulerConfig.builder(SchedulerConfig.Kind.DDPM)
                        .betaSchedule(SchedulerConfig.BetaSchedule.SCALED_LINEAR).betaStart(0.00085).betaEnd(0.012).build(),
                "squaredcos_cap_v2", SchedulerConfig.builder(SchedulerConfig.Kind.DDPM)
                        .betaSchedule(SchedulerConfig.BetaSchedule.SQUAREDCOS_CAP_V2).build(),
                "linear_zero_snr", SchedulerConfig.builder(SchedulerConfig.Kind.DDPM).rescaleBetasZeroSnr(true).build());
        for (Map.Entry<String, SchedulerConfig> e : cfgs.entrySet()) {
            double[] want = ref.get(e.getKey()).toDoubleVector();
            double[] got = NoiseSchedule.of(e.getValue()).betas();
            assertEquals(want.length, got.length);
            for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-13, e.getKey() + "[" + i + "]");
        }
        double[] cos = NoiseSchedule.of(cfgs.get("squaredcos_cap_v2")).betas();
        assertEquals(0.999, cos[999], 0, "the cosine schedule's last beta is capped at 0.999");
        NoiseSchedule z = NoiseSchedule.of(cfgs.get("linear_zero_snr"));
        assertEquals(0.0, z.alphaCumprod(999), 1e-15, "zero terminal SNR");
        assertEquals(NoiseSchedule.of(cfgs.get("linear")).alphaCumprod(0), z.alphaCumprod(0), 1e-15);
    }

    @Test
    void loopsMatchReference() throws IOException {
        Map<String, INDArray> ref = Npz.read(dir().resolve("loops.npz"));
        JsonNode cases = new ObjectMapper().readTree(dir().resolve("loops.json").toFile());
        assertEquals(10, cases.size());
        for (JsonNode c : cases) {
            String name = c.get("name").asText();
            SchedulerConfig cfg = SchedulerConfig.parse(c.get("config").toString(), Path.of(name + ".json"));
            Scheduler s = Schedulers.create(cfg, cfg.kind(), c.get("eta").asDouble());
            int n = c.get("steps").asInt();
            TimestepSchedule ts = c.get("schedule").asText().equals("quadratic")
                    ? TimestepSchedule.quadratic(cfg.numTrainTimesteps(), n) : s.timesteps(n);
            assertArrayEquals(ref.get(name + "__timesteps").toLongVector(), ts.timesteps(), name);
            assertArrayEquals(ref.get(name + "__prev").toLongVector(), ts.previousTimesteps(), name);
            for (DataType dt : new DataType[]{DataType.DOUBLE, DataType.FLOAT}) {
                INDArray x = ref.get(name + "__x_T").castTo(dt).dup('c');
                INDArray x0 = Nd4j.create(dt, x.shape());
                double tol = dt == DataType.DOUBLE ? 1e-11 : 2e-6;
                for (int k = 0; k < ts.size(); k++) {
                    INDArray m = ref.get(name + "__model_out").get(NDArrayIndex.point(k)).castTo(dt).dup('c');
                    INDArray z = ref.get(name + "__noise").get(NDArrayIndex.point(k)).castTo(dt).dup('c');
                    long t = ts.timestep(k), p = ts.previous(k);
                    s.step(m, t, p, x, s.usesNoise(t, p) ? z : null, x0, x);
                    assertClose(ref.get(name + "__x0").get(NDArrayIndex.point(k)), x0, tol, name + " x0 step " + k + " " + dt);
                    assertClose(ref.get(name + "__samples").get(NDArrayIndex.point(k)), x, tol, name + " step " + k + " " + dt);
                }
            }
        }
    }

    static void assertClose(INDArray want, INDArray got, double relTol, String what) {
        double[] w = want.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] g = got.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        assertEquals(w.length, g.length, what);
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i], g[i], relTol * Math.max(1, Math.abs(w[i])), what + " element " + i);
        }
    }

    @Test
    void noiseMatchesIndependentImplementationOfDocumentedAlgorithm() throws IOException {
        Map<String, INDArray> ref = Npz.read(dir().resolve("noise.npz"));
        for (Map.Entry<String, INDArray> e : ref.entrySet()) {
            String[] p = e.getKey().replace("seed", "").replace("sample", "").replace("stream", "").split("_");
            NoiseSource ns = new NoiseSource(Long.parseLong(p[0]));
            double[] got = new double[11];
            ns.fill(got, 0, 11, Long.parseLong(p[1]), Integer.parseInt(p[2]));
            double[] want = e.getValue().toDoubleVector();
            for (int i = 0; i < 11; i++) assertEquals(want[i], got[i], 1e-14, e.getKey() + "[" + i + "]");
        }
    }
}
