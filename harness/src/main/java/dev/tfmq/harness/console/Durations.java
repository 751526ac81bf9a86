package dev.tfmq.harness.console;

import java.util.Locale;

/** Human-readable durations for the terminal: {@code 4.2 s}, {@code 3 min 05 s}, {@code 1 h 02 min}. */
public final class Durations {
    private Durations() {}

    public static String format(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "?";
        if (seconds < 60) return String.format(Locale.ROOT, "%.1f s", seconds);
        long s = Math.round(seconds);
        if (s < 3600) return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
        return String.format(Locale.ROOT, "%d h %02d min", s / 3600, (s % 3600) / 60);
    }
}
