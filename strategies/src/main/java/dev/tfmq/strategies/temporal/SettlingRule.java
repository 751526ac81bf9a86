package dev.tfmq.strategies.temporal;

import dev.tfmq.model.stats.StandardNormal;

/**
 * When online evidence overturns a time-step's decision: only when at least {@code minSamples} paired samples are in
 * and the {@code confidence} interval of the mean difference e_TIB − e_cache lies wholly on the other candidate's
 * side of zero. A difference inside its interval is noise and never flips anything.
 *
 * <p>The rule settles: {@link OnlineOutputSelection} lets each step flip at most once. Checking the interval after
 * every batch is a repeated look, so a step whose candidates are truly tied can still cross zero once by chance; a
 * second flip would undo a decision that already needed the interval to exclude zero, and is never made.
 */
public record SettlingRule(int minSamples, double confidence) {
    public SettlingRule {
        if (minSamples < 2) throw new IllegalArgumentException("the settling rule needs at least 2 samples for an interval, got " + minSamples);
        if (!(confidence > 0.5 && confidence < 1)) throw new IllegalArgumentException("settling confidence " + confidence + " is not in (0.5, 1)");
    }

    /** Two-sided normal quantile of the confidence (1.96 at 0.95). */
    public double z() { return StandardNormal.twoSided(confidence); }

    /** The interval [low, high] of the mean difference. */
    public double[] interval(PairedErrors e) {
        double h = e.halfWidth(z());
        return new double[] {e.meanDifference() - h, e.meanDifference() + h};
    }

    /** The candidate the evidence demands instead of {@code current}, or {@code current} when it does not. */
    public MaintenanceStrategy decide(MaintenanceStrategy current, PairedErrors e) {
        if (e.n() < minSamples) return current;
        double[] ci = interval(e);
        // d = e_TIB − e_cache: wholly above zero, the cache is certainly better; wholly below, the TIB is
        if (current == MaintenanceStrategy.TIB && ci[0] > 0) return MaintenanceStrategy.CACHE;
        if (current == MaintenanceStrategy.CACHE && ci[1] < 0) return MaintenanceStrategy.TIB;
        return current;
    }
}
