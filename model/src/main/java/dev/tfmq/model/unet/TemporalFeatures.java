package dev.tfmq.model.unet;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The temporal features of one forward pass: the time embedding and every ResnetBlock2D's time_emb_proj
 * output, keyed by module path. They depend on the time-step alone, never on the image — the property that
 * lets TFMQ calibrate them on the finite set of sampling time-steps or cache them outright.
 */
public final class TemporalFeatures {
    private final long[] timesteps;
    private final INDArray embedding;
    private final Map<String, INDArray> projections;

    TemporalFeatures(long[] timesteps, INDArray embedding, Map<String, INDArray> projections) {
        this.timesteps = timesteps;
        this.embedding = embedding;
        this.projections = projections;
    }

    public long[] timesteps() { return timesteps.clone(); }

    /** temb = time_embedding(time_proj(t)), [B, 4·C0]. */
    public INDArray embedding() { return embedding; }

    /** time_emb_proj outputs (before broadcasting), [B, C] or [B, 2C] for scale-shift, by module path. */
    public Map<String, INDArray> projections() { return Collections.unmodifiableMap(projections); }

    public INDArray projection(String path) {
        INDArray a = projections.get(path);
        if (a == null) throw new IllegalArgumentException("no temporal feature for module '" + path + "'");
        return a;
    }

    static Map<String, INDArray> newMap() { return new LinkedHashMap<>(); }
}
