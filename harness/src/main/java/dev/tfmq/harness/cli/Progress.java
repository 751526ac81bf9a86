package dev.tfmq.harness.cli;

import java.io.PrintStream;

/** A one-line terminal progress bar with rate and ETA, redrawn at most every 200 ms. */
final class Progress {
    private final long total;
    private final String label;
    private final PrintStream out = System.err;
    private final long start = System.nanoTime();
    private long done;
    private long lastDraw;

    Progress(long total, String label) {
        this.total = Math.max(1, total);
        this.label = label;
    }

    void step() {
        done++;
        long now = System.nanoTime();
        if (now - lastDraw > 200_000_000L || done == total) {
            lastDraw = now;
            draw(now);
        }
    }

    private void draw(long now) {
        double frac = (double) done / total;
        int width = 30;
        int filled = (int) Math.round(frac * width);
        double secs = (now - start) / 1e9;
        double eta = done == 0 ? 0 : secs / done * (total - done);
        out.printf("\r%s [%s%s] %3.0f%% %d/%d  %.1fs elapsed, ETA %.1fs ", label, "#".repeat(filled),
                " ".repeat(width - filled), 100 * frac, done, total, secs, eta);
        out.flush();
    }

    void done() {
        draw(System.nanoTime());
        out.println();
    }
}
