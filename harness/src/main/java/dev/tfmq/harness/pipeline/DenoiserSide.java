package dev.tfmq.harness.pipeline;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.model.Denoiser;

import java.util.List;
import java.util.Map;

/**
 * One side of the comparison as a denoising worker sees it: a model it owns (not thread-safe; used from one thread),
 * the strategies it can apply to its Temporal Information Block, and its temporal features. The full-precision side
 * has the single strategy "fp"; a quantized side lists its candidates (e.g. "tib" and "cache") and applies a
 * {@link SelectionTable}.
 */
public interface DenoiserSide extends Denoiser {
    /** "fp" or "quantized". */
    String label();

    /** TIB members in a fixed order (the keys of {@link #temporalFeatures}). */
    List<String> members();

    /** Strategies this side can apply, in preference order for ties. */
    List<String> strategies();

    /** The temporal features (one vector per member) of time-step t under a strategy. */
    Map<String, float[]> temporalFeatures(long t, String strategy);

    /** The temporal features of time-step t as the next forward pass will use them (after {@link #apply}). */
    Map<String, float[]> appliedTemporalFeatures(long t);

    /** Applies a selection; the full-precision side accepts only tables that choose "fp". */
    void apply(SelectionTable table);
}
