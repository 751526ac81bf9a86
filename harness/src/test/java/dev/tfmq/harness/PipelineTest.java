package dev.tfmq.harness;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tfmq.harness.pipeline.TrajectoryStepper;
import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PipelineTest {
    @TempDir
    Path tmp;

    @Test
    void stepperReproducesTheSamplerExactly() {
        UNet2DModel m = TestModels.unet();
        var sc = TestModels.scheduler();
        TimestepSchedule ts = TimestepSchedule.spaced(sc, 6);
        long[] ids = {5, 6, 7};
        INDArray expected = new Sampler(m, Schedulers.create(sc, sc.kind(), 0.5), ts).sample(ids, new long[] {1, 16, 16},
                new NoiseSource(11), null);
        TrajectoryStepper s = new TrajectoryStepper(new UNetSide("fp", m), Schedulers.create(sc, sc.kind(), 0.5), ts,
                new NoiseSource(11), new long[] {1, 16, 16});
        s.begin(ids);
        while (!s.finished()) s.step();
        assertArrayEquals(expected.data().asFloat(), s.current().dup().data().asFloat());
    }

    @Test
    void fpAndQuantizedRunInParallelAndTheSummaryHasEverything() throws Exception {
        TestModels.CALLS.clear();
        var cfg = TestModels.config(tmp, "model.eta=0.5");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        RunLauncher.Outcome o = new RunLauncher(cfg, new PrintStream(log)).run(tmp.resolve("run"), false, TestModels.parts(0));
        assertEquals(0, o.exitCode());
        JsonNode s = RunDirectory.JSON.readTree(tmp.resolve("run/summary.json").toFile());
        for (String side : List.of("fp", "quantized")) {
            for (String metric : List.of("fid", "sfid", "kid")) {
                JsonNode e = s.at("/quality/" + side + "/" + metric);
                assertEquals(40, e.get("n").asLong(), side + " " + metric);
                // (percentile bootstrap intervals of FID need not contain the point estimate at tiny N: FID is biased)
                assertTrue(Double.isFinite(e.get("value").asDouble()) && e.get("low").asDouble() <= e.get("high").asDouble(),
                        side + " " + metric + " interval " + e);
            }
        }
        assertTrue(s.at("/quality/fp_vs_quantized/fid/value").asDouble() > 0, "rounded weights change the samples");
        assertTrue(s.at("/paired/psnr/value").asDouble() > 0);
        assertTrue(s.at("/disturbance/overall/eps_rel_l2").asDouble() > 0);
        assertTrue(s.at("/disturbance/overall/one_step_rel_l2").asDouble() > 0);
        assertTrue(s.at("/disturbance/overall/final_trajectory_rms").asDouble() > 0);
        // selection measured both strategies and chose the exact one everywhere; the applied features then match FP
        JsonNode sel = s.at("/selection");
        sel.get("per_member").forEach(c -> assertEquals("fp-tib", c.asText()));
        sel.get("measured").forEach(m -> assertTrue(m.get("tib").asDouble() > 0 && m.get("fp-tib").asDouble() == 0, m.toString()));
        assertEquals(0.0, s.at("/disturbance/overall/temporal_rel_l2").asDouble());
        assertTrue(s.at("/disturbance/per_member/time_embedding/mean_rel_l2").isNumber());
        // files
        for (String f : List.of("config.conf", "provenance.json", "progress.jsonl", "checkpoint.cbor", "disturbance.csv",
                "gate-report.xml", "gate-report.md", "grids/latest-fp.png", "grids/latest-quantized.png", "grids/batch-00000-fp.png")) {
            assertTrue(Files.exists(tmp.resolve("run").resolve(f)), f);
        }
        List<String> csv = Files.readAllLines(tmp.resolve("run/disturbance.csv"));
        assertEquals(7, csv.size(), "header + one row per step");
        // the two workers ran on two distinct threads, and their forward passes overlapped in time
        Set<Long> fpThreads = new HashSet<>(), qThreads = new HashSet<>();
        List<long[]> fpCalls = new ArrayList<>(), qCalls = new ArrayList<>();
        for (long[] c : new ArrayList<>(TestModels.CALLS)) {
            (c[0] == 0 ? fpThreads : qThreads).add(c[3]);
            (c[0] == 0 ? fpCalls : qCalls).add(c);
        }
        assertEquals(1, fpThreads.size());
        assertEquals(1, qThreads.size());
        assertTrue(!fpThreads.equals(qThreads), "FP and quantized on different threads");
        long overlap = 0;
        for (long[] a : fpCalls) for (long[] b : qCalls) overlap += Math.max(0, Math.min(a[2], b[2]) - Math.max(a[1], b[1]));
        assertTrue(overlap > 0, "FP and quantized forward passes overlap in time");
    }
}
