package dev.tfmq.strategies.temporal;

/**
 * What disturbance-aware selection compares the two candidates by.
 *
 * <p>{@link #FEATURE}: the distance of each member's temporal feature to full precision (relative L2 or 1 − cosine),
 * the journal's own proxy. {@link #OUTPUT}: the error each candidate causes in the denoiser's output ε̂ on the FP
 * model's own trajectory inputs x_t, per sampling step. The second is what the samples feel: on the bundled model at
 * W4A8 / 100 steps the features closest to FP (the cache, everywhere) gave FID 3.054, serving by the TIB 2.699, and
 * the per-step split the output error points to 2.633 (README, "The serving alone decides it").
 */
public enum SelectionMeasure { FEATURE, OUTPUT }
