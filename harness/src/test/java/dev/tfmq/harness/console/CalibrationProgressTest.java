package dev.tfmq.harness.console;

import dev.tfmq.strategies.recipe.ProgressListener;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CalibrationProgressTest {
    private static List<String> lines(ByteArrayOutputStream b) {
        String s = b.toString(StandardCharsets.UTF_8);
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    /**
     * The last line of each task, in the order the tasks first appear (periodic lines may come before the closing
     * one when TFMQ_PROGRESS_INTERVAL is small in this environment).
     */
    private static List<String> lastPerTask(List<String> out, String... tasks) {
        List<String> last = new ArrayList<>();
        for (String t : tasks) {
            String l = null;
            for (String line : out) if (line.startsWith("tfmq: " + t + " ")) l = line;
            last.add(l);
        }
        long matched = out.stream().filter(line -> java.util.Arrays.stream(tasks).anyMatch(t -> line.startsWith("tfmq: " + t + " "))).count();
        assertEquals(out.size(), matched, "lines of other tasks: " + out);
        return last;
    }

    @Test
    void workOnTwoItemsClosesEachWithItsCountAndKeepsThePhaseLines() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (CalibrationProgress p = CalibrationProgress.toLog(new PrintStream(log, true, StandardCharsets.UTF_8),
                Progress.Mode.LINES, new PrintStream(err, true, StandardCharsets.UTF_8))) {
            p.onProgress("blocks", "down_blocks.0.resnets.0");
            for (int k = 0; k <= 20; k++) p.onWork("blocks", "down_blocks.0.resnets.0", k, 20, "iterations");
            p.onProgress("blocks", "down_blocks.0.attentions.0");
            for (int k = 0; k <= 7; k++) p.onWork("blocks", "down_blocks.0.attentions.0", k, 30, "iterations");
        }
        assertEquals(List.of("tfmq:   calibration blocks: down_blocks.0.resnets.0",
                "tfmq:   calibration blocks: down_blocks.0.attentions.0"), lines(log));
        List<String> out = lastPerTask(lines(err), "calibration blocks down_blocks.0.resnets.0",
                "calibration blocks down_blocks.0.attentions.0");
        assertTrue(out.get(0).startsWith("tfmq: calibration blocks down_blocks.0.resnets.0 20/20 iterations (100%)"), out.get(0));
        // closed by the adapter before it finished: its closing line shows how far it got
        assertTrue(out.get(1).startsWith("tfmq: calibration blocks down_blocks.0.attentions.0 7/30 iterations (23%)"), out.get(1));
    }

    @Test
    void anotherItemOrPhaseEndsTheOpenProgressAndLateReportsOpenNothing() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> phases = new ArrayList<>();
        PrintStream ps = new PrintStream(err, true, StandardCharsets.UTF_8);
        CalibrationProgress p = new CalibrationProgress((phase, detail) -> phases.add(phase + ": " + detail),
                (task, total, unit) -> Progress.start(Progress.Mode.LINES, task, total, unit, 1, 0, ps));
        p.onWork("calibration-data", "trajectories", 0, 100, "sample-steps");
        p.onWork("calibration-data", "trajectories", 40, 100, "sample-steps");
        p.onWork("tiar", "TIB", 0, 10, "iterations"); // a new item ends the first
        p.onWork("tiar", "TIB", 10, 10, "iterations"); // completes: closed at once
        p.onWork("tiar", "TIB", 10, 10, "iterations"); // a repeated last report opens nothing
        p.onWork("temporal", "", 0, 0, "time-steps"); // no work: nothing shown
        p.onProgress("activations", "FSC calibration of the TIB");
        p.close();
        assertEquals(List.of("activations: FSC calibration of the TIB"), phases);
        List<String> out = lastPerTask(lines(err), "calibration calibration-data trajectories", "calibration tiar TIB");
        assertTrue(out.get(0).startsWith("tfmq: calibration calibration-data trajectories 40/100 sample-steps (40%)"), out.get(0));
        assertTrue(out.get(1).startsWith("tfmq: calibration tiar TIB 10/10 iterations (100%)"), out.get(1));
    }

    @Test
    void offModeShowsNothingButStillForwardsThePhases() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<String> phases = new ArrayList<>();
        PrintStream ps = new PrintStream(err, true, StandardCharsets.UTF_8);
        try (CalibrationProgress p = new CalibrationProgress((phase, detail) -> phases.add(phase),
                (task, total, unit) -> Progress.start(Progress.Mode.OFF, task, total, unit, 1, 0, ps))) {
            p.onProgress("weights", "init");
            p.onWork("blocks", "conv_in", 5, 10, "iterations");
        }
        assertEquals(List.of("weights"), phases);
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aListenerWrittenAsALambdaIgnoresWork() {
        List<String> seen = new ArrayList<>();
        ProgressListener l = (phase, detail) -> seen.add(phase);
        l.onWork("blocks", "conv_in", 1, 2, "iterations");
        l.onProgress("blocks", "conv_in");
        ProgressListener.NONE.onWork("blocks", "conv_in", 1, 2, "iterations");
        assertEquals(List.of("blocks"), seen);
    }
}
