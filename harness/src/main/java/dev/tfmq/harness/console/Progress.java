package dev.tfmq.harness.console;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * Progress of one long task on standard error. On an interactive terminal a live bar with rate and ETA (the
 * me.tongfei progressbar library); otherwise (CI logs, redirected output) a plain line at most every
 * {@code TFMQ_PROGRESS_INTERVAL} seconds (default 10) and one when the task ends, so a log shows that work goes
 * on without filling up with carriage returns. {@code TFMQ_PROGRESS=bar|lines|off} forces a mode.
 *
 * <p>Counts may be finer than what is shown: a sampling run counts sample-steps and shows samples
 * ({@code unitSize} = steps per sample). Thread-safe; callers may report from any thread.
 */
public final class Progress implements AutoCloseable {
    public enum Mode { BAR, LINES, OFF }

    private final Mode mode;
    private final String task;
    private final String unit;
    private final long unitSize;
    private final long total;
    private final long initial;
    private final PrintStream out;
    private final long intervalNanos;
    private final long startNanos = System.nanoTime();
    private final ProgressBar bar;
    private long done;
    private long lastLine;
    private String extra = "";
    private boolean closed;

    private Progress(Mode mode, String task, long total, String unit, long unitSize, long initial, PrintStream out) {
        this.mode = mode;
        this.task = task;
        this.unit = unit;
        this.unitSize = Math.max(1, unitSize);
        this.total = Math.max(0, total);
        this.initial = Math.max(0, Math.min(initial, this.total));
        this.done = this.initial;
        this.out = out;
        this.intervalNanos = (long) (intervalSeconds() * 1e9);
        this.lastLine = startNanos;
        this.bar = mode == Mode.BAR ? new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(this.total)
                .startsFrom(this.initial, Duration.ZERO)
                .setUnit(" " + unit, this.unitSize)
                .showSpeed()
                .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                .setUpdateIntervalMillis(250)
                .setMaxRenderedLength(120)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .build() : null;
    }

    /** A task of {@code total} counts, shown in {@code unit}s of {@code unitSize} counts, starting at {@code initial}. */
    public static Progress start(String task, long total, String unit, long unitSize, long initial) {
        return new Progress(mode(), task, total, unit, unitSize, initial, System.err);
    }

    public static Progress start(String task, long total, String unit) {
        return start(task, total, unit, 1, 0);
    }

    /** For tests: an explicit mode and stream. */
    public static Progress start(Mode mode, String task, long total, String unit, long unitSize, long initial, PrintStream out) {
        return new Progress(mode, task, total, unit, unitSize, initial, out);
    }

    /** The mode for this process: {@code TFMQ_PROGRESS} if set, else a bar on a terminal and lines elsewhere. */
    public static Mode mode() {
        String forced = System.getenv("TFMQ_PROGRESS");
        if (forced != null && !forced.isBlank()) {
            switch (forced.trim().toLowerCase(Locale.ROOT)) {
                case "bar": return Mode.BAR;
                case "lines": return Mode.LINES;
                case "off": return Mode.OFF;
                default: break;
            }
        }
        return System.console() != null ? Mode.BAR : Mode.LINES;
    }

    private static double intervalSeconds() {
        String s = System.getenv("TFMQ_PROGRESS_INTERVAL");
        if (s != null) {
            try {
                double v = Double.parseDouble(s.trim());
                if (v >= 0 && Double.isFinite(v)) return v;
            } catch (NumberFormatException ignored) {
                // fall back to the default: a progress setting is not worth failing a run for
            }
        }
        return 10;
    }

    public synchronized void stepBy(long n) {
        stepTo(done + n);
    }

    /** Moves to {@code value} counts; never backwards (a late, smaller report from another thread is ignored). */
    public synchronized void stepTo(long value) {
        if (closed || value <= done) return;
        done = Math.min(value, total);
        if (bar != null) bar.stepTo(done);
        else if (mode == Mode.LINES) {
            long now = System.nanoTime();
            if (now - lastLine >= intervalNanos && done < total) {
                lastLine = now;
                out.println(line(now, false));
                out.flush();
            }
        }
    }

    /** A short note shown after the bar (e.g. the latest FID), and in the next plain line. */
    public synchronized void extra(String message) {
        extra = message == null ? "" : message;
        if (bar != null) bar.setExtraMessage(extra.isEmpty() ? "" : " " + extra);
    }

    public synchronized long done() {
        return done;
    }

    /** Ends the task: the bar's last frame, or a closing line with the elapsed time and rate. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (bar != null) bar.close();
        else if (mode == Mode.LINES) {
            out.println(line(System.nanoTime(), true));
            out.flush();
        }
    }

    String line(long now, boolean end) {
        double secs = (now - startNanos) / 1e9;
        double rate = secs > 0 ? (done - initial) / (double) unitSize / secs : 0;
        StringBuilder b = new StringBuilder("tfmq: ").append(task).append(' ')
                .append(amount(done)).append('/').append(amount(total)).append(' ').append(unit);
        if (total > 0) b.append(String.format(Locale.ROOT, " (%.0f%%)", 100.0 * done / total));
        b.append(String.format(Locale.ROOT, ", %s %s/s", rate >= 100 ? String.format(Locale.ROOT, "%.0f", rate)
                : String.format(Locale.ROOT, "%.2f", rate), unit));
        if (end) b.append(", ").append(Durations.format(secs));
        else if (rate > 0 && total > done) b.append(", ETA ").append(Durations.format((total - done) / (double) unitSize / rate));
        if (!extra.isEmpty()) b.append(", ").append(extra);
        return b.toString();
    }

    private String amount(long counts) {
        if (unitSize == 1) return Long.toString(counts);
        double v = counts / (double) unitSize;
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(Locale.ROOT, "%.1f", v);
    }
}
