package dev.tfmq.metrics.uncertainty;

/**
 * A point estimate with a percentile bootstrap confidence interval.
 *
 * @param value      the estimate on all samples
 * @param low        lower percentile bound
 * @param high       upper percentile bound
 * @param confidence e.g. 0.95
 * @param replicates bootstrap replicates behind the bounds
 * @param n          samples behind the estimate
 */
public record Interval(double value, double low, double high, double confidence, int replicates, long n) {}
