package dev.tfmq.harness.console;

import dev.tfmq.harness.actors.LiveSink;
import dev.tfmq.harness.actors.Publisher;
import dev.tfmq.harness.eval.Estimate;
import dev.tfmq.harness.eval.QualitySnapshot;

import java.util.Locale;
import java.util.function.Function;

/**
 * The sampling phase of a run in the terminal: one progress bar over the samples of both sides, moved per denoising
 * step (single-node runs report every step of every batch) and at least per committed batch (cluster runs), with
 * the latest FID of each side as it streams in. A run resumed after {@code committed} samples starts there.
 */
public final class SamplingProgress implements LiveSink, AutoCloseable {
    private final long steps;
    private final long totalSamples;
    private final Function<Long, Progress> open;
    private Progress progress;
    private long stepCounts;

    /**
     * @param open creates the progress (counts = sample-steps, initial count given), e.g. {@code
     *             init -> Progress.start("sampling", total * steps, "samples", steps, init)}
     */
    public SamplingProgress(long totalSamples, int steps, long committed, Function<Long, Progress> open) {
        this.steps = Math.max(1, steps);
        this.totalSamples = totalSamples;
        this.open = open;
        this.stepCounts = committed * this.steps;
    }

    /** A bar (terminal) or plain lines (logs) on standard error, per {@link Progress#mode()}. */
    public static SamplingProgress onTerminal(long totalSamples, int steps, long committed) {
        return new SamplingProgress(totalSamples, steps, committed,
                init -> Progress.start("sampling", totalSamples * Math.max(1, steps), "samples", Math.max(1, steps), init));
    }

    @Override
    public synchronized void publish(String event, Object payload) {
        switch (event) {
            case "step" -> {
                Publisher.StepDone s = (Publisher.StepDone) payload;
                stepCounts += s.samples();
                progress().stepTo(stepCounts);
            }
            case "progress" -> {
                Publisher.ProgressUpdate p = (Publisher.ProgressUpdate) payload;
                stepCounts = Math.max(stepCounts, p.samplesDone() * steps);
                progress().stepTo(stepCounts);
            }
            case "quality" -> progress().extra(qualityNote((QualitySnapshot) payload));
            case "status" -> {
                if ("finished".equals(((Publisher.Status) payload).phase())) close();
            }
            default -> { }
        }
    }

    private Progress progress() {
        if (progress == null) progress = open.apply(Math.min(stepCounts, totalSamples * steps));
        return progress;
    }

    static String qualityNote(QualitySnapshot q) {
        Estimate f = q.fp().get("fid"), z = q.quantized().get("fid");
        if (f == null || z == null) return "";
        return String.format(Locale.ROOT, "FID fp %.3g / quantized %.3g at n = %d", f.value(), z.value(), q.n());
    }

    @Override
    public synchronized void close() {
        if (progress != null) progress.close();
    }
}
