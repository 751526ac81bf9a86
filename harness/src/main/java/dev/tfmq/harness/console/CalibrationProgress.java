package dev.tfmq.harness.console;

import dev.tfmq.strategies.recipe.ProgressListener;

import java.io.PrintStream;
import java.util.Objects;

/**
 * Shows a quantization run's progress on the terminal: each phase's {@link #onProgress} line goes to the given
 * listener unchanged (the run's log), and the counted work inside a phase ({@link #onWork}) becomes a
 * {@link Progress} per (phase, item), named {@code calibration <phase> <item>} (e.g.
 * {@code calibration blocks down_blocks.0.resnets.0}). A progress ends when its work completes, when work on another
 * item starts, when the next phase line comes, or when this adapter is closed (do that in a finally block, so that a
 * failed run leaves no bar open). Thread-safe.
 */
public final class CalibrationProgress implements ProgressListener, AutoCloseable {
    /** Opens the display of one task: {@code Progress::start} by default, an explicit mode and stream in tests. */
    @FunctionalInterface
    public interface Factory {
        Progress start(String task, long total, String unit);
    }

    private final ProgressListener lines;
    private final Factory factory;
    private Progress current;
    private String phase;
    private String item;
    private String unit;
    private long total;
    /** The (phase, item) whose work completed last: late reports of its last count open nothing. */
    private boolean completed;

    /** Phase lines to {@code lines}, counted work as {@link Progress} on standard error in this process's mode. */
    public CalibrationProgress(ProgressListener lines) {
        this(lines, Progress::start);
    }

    public CalibrationProgress(ProgressListener lines, Factory factory) {
        this.lines = Objects.requireNonNull(lines, "lines");
        this.factory = Objects.requireNonNull(factory, "factory");
    }

    /** Phase lines as {@code tfmq:   calibration <phase>: <detail>} on {@code log} (the harness's run log format). */
    public static CalibrationProgress toLog(PrintStream log) {
        return new CalibrationProgress((phase, detail) -> log.println("tfmq:   calibration " + phase + ": " + detail));
    }

    /** For tests: as {@link #toLog}, with every progress in {@code mode} on {@code out}. */
    public static CalibrationProgress toLog(PrintStream log, Progress.Mode mode, PrintStream out) {
        return new CalibrationProgress((phase, detail) -> log.println("tfmq:   calibration " + phase + ": " + detail),
                (task, total, unit) -> Progress.start(mode, task, total, unit, 1, 0, out));
    }

    /** The task name shown for work on {@code item} of {@code phase}. */
    public static String taskName(String phase, String item) {
        return "calibration " + phase + (item == null || item.isEmpty() ? "" : " " + item);
    }

    @Override
    public synchronized void onProgress(String phase, String detail) {
        // the phase line must not land in the middle of a bar that is still being redrawn
        end();
        this.phase = null;
        lines.onProgress(phase, detail);
    }

    @Override
    public synchronized void onWork(String phase, String item, long done, long total, String unit) {
        String it = item == null ? "" : item;
        boolean same = Objects.equals(phase, this.phase) && it.equals(this.item) && Objects.equals(unit, this.unit)
                && total == this.total;
        if (same && completed && done >= total) return;
        if (!same || completed || current == null) {
            end();
            this.phase = phase;
            this.item = it;
            this.unit = unit;
            this.total = total;
            completed = false;
            if (total <= 0) {
                completed = true;
                return;
            }
            current = factory.start(taskName(phase, it), total, unit);
        }
        current.stepTo(done);
        if (done >= total) {
            end();
            completed = true;
        }
    }

    /** Ends the open progress, if any. */
    @Override
    public synchronized void close() {
        end();
        phase = null;
    }

    private void end() {
        if (current != null) {
            current.close();
            current = null;
        }
    }
}
