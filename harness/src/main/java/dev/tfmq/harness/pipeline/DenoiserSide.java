package dev.tfmq.harness.pipeline;

import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.model.Denoiser;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;
import java.util.Optional;

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

    /**
     * The table this side was calibrated with when the run is to start from it and revise it online (a quantized
     * side selected by the output error); empty when the run's selector decides from the temporal features.
     */
    Optional<SelectionTable> calibratedSelection();

    /**
     * Predicts with every member served by one strategy, whatever the applied selection (the online probe of the
     * output error measures each candidate this way); the applied selection is in force again afterwards.
     */
    void predictWith(String strategy, INDArray sample, long[] timesteps, INDArray out);
}
