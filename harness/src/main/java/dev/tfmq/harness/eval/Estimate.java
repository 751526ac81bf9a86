package dev.tfmq.harness.eval;

import dev.tfmq.metrics.uncertainty.Interval;

/**
 * A metric value with its interval and sample count, as written to summary.json and sent to the dashboard.
 *
 * @param method how the interval was obtained (e.g. "poisson-bootstrap", "kid-subset-spread", "bootstrap")
 */
public record Estimate(double value, double low, double high, double confidence, long n, String method) {
    public static Estimate of(Interval i, String method) {
        return new Estimate(i.value(), i.low(), i.high(), i.confidence(), i.n(), method);
    }
}
