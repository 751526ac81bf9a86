package dev.tfmq.harness.console;

import dev.tfmq.harness.actors.Publisher;
import dev.tfmq.harness.eval.Estimate;
import dev.tfmq.harness.eval.QualitySnapshot;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SamplingProgressTest {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    SamplingProgress sampling(long total, int steps, long committed) {
        return new SamplingProgress(total, steps, committed,
                init -> Progress.start(Progress.Mode.LINES, "sampling", total * steps, "samples", steps, init, out));
    }

    @Test
    void movesPerStepAndEndsWithTheLatestFid() {
        SamplingProgress p = sampling(8, 4, 0);
        for (int batch = 0; batch < 2; batch++) {
            for (int k = 0; k < 4; k++) p.publish("step", new Publisher.StepDone(batch, k, 4, 4));
        }
        Estimate e = new Estimate(1.5, 1, 2, 0.95, 8, "m");
        p.publish("quality", new QualitySnapshot(8, Map.of("fid", e), Map.of("fid", new Estimate(3.25, 2, 4, 0.95, 8, "m")),
                Map.of(), Map.of(), List.of()));
        p.publish("status", new Publisher.Status("finished", "8 samples per side"));
        p.publish("step", new Publisher.StepDone(9, 0, 4, 4));   // after the end: ignored
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(1, text.lines().count(), text);
        assertTrue(text.startsWith("tfmq: sampling 8/8 samples (100%)"), text);
        assertTrue(text.contains("FID fp 1.50 / quantized 3.25 at n = 8"), text);
    }

    @Test
    void aResumedRunStartsAtItsCommittedSamplesAndBatchReportsCatchUp() {
        SamplingProgress p = sampling(10, 5, 4);
        p.publish("progress", new Publisher.ProgressUpdate(8, 10, 2, 3, 1, 1, 1));
        p.publish("step", new Publisher.StepDone(2, 0, 5, 2));
        p.close();
        String text = bytes.toString(StandardCharsets.UTF_8);
        // 8 samples committed (40 sample-steps) + 2 more sample-steps = 8.4 samples
        assertTrue(text.startsWith("tfmq: sampling 8.4/10 samples (84%)"), text);
    }

    @Test
    void plainLinesAreThrottledButTheEndIsAlwaysShown() {
        Progress p = Progress.start(Progress.Mode.LINES, "stats", 1000, "images", 1, 0, out);
        for (int i = 0; i < 1000; i++) p.stepBy(1);
        p.close();
        p.close();
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(1, text.lines().count(), "default interval 10 s: only the closing line: " + text);
        assertTrue(text.matches("tfmq: stats 1000/1000 images \\(100%\\), [\\d.]+ images/s, \\d+\\.\\d s\\R"), text);
    }
}
