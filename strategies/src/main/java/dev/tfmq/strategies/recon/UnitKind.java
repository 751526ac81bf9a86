package dev.tfmq.strategies.recon;

/** The kinds of reconstruction unit, each with its own graph (and its own speed in {@code tfmq bench recon}). */
public enum UnitKind {
    /** The Temporal Information Block as one unit (TIAR). */
    TIB,
    /** A ResnetBlock2D (BRECQ block). */
    RESNET,
    /** A spatial attention block (BRECQ block). */
    ATTENTION,
    /** A standalone quantized layer (conv_in/out, resampler convs, linear_2 under Q-Diffusion). */
    LAYER
}
