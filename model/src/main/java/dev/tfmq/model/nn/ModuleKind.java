package dev.tfmq.model.nn;

/** What a module is, as the quantization strategies see it. */
public enum ModuleKind {
    /** 2-D convolution (weights quantized per output channel). */
    CONV,
    /** Fully connected layer, including attention projections and time-embedding linears. */
    LINEAR,
    /** Group normalisation (kept in full precision). */
    NORM,
    /** Self-attention block (group norm, q/k/v, softmax, output projection, residual). */
    ATTENTION,
    /** ResnetBlock2D: a reconstruction unit in BRECQ-style block reconstruction. */
    RESNET,
    DOWNSAMPLE,
    UPSAMPLE,
    /** The sinusoidal projection of the time-step (no weights). */
    TIME_PROJECTION,
    /** The time-embedding MLP (linear_1, SiLU, linear_2). */
    TIME_EMBEDDING
}
