package dev.tfmq.strategies.quant;

/**
 * One activation quantizer: a per-tensor asymmetric grid (or the unsigned softmax grid) at a tap point of the
 * network, with its table of parameters. {@code temporal} marks the activations inside the Temporal Information
 * Block, which depend on the time-step only — the ones FSC calibrates exactly per time-step.
 */
public final class ActivationSite {
    /** Where the quantizer sits: a layer's input, a projection's output (attention q/k/v), or the softmax output. */
    public enum Kind { INPUT, OUTPUT, SOFTMAX }

    private final String key;
    private final Kind kind;
    private final boolean temporal;
    private final int bits;
    private final ActivationTable table = new ActivationTable();

    public ActivationSite(String key, Kind kind, boolean temporal, int bits) {
        UniformAffineQuantizer.checkBits(bits, "activation site '" + key + "'");
        this.key = key;
        this.kind = kind;
        this.temporal = temporal;
        this.bits = bits;
    }

    public String key() { return key; }

    public Kind kind() { return kind; }

    public boolean temporal() { return temporal; }

    public int bits() { return bits; }

    /** The softmax output is non-negative, so it gets an unsigned grid (z = 0, Δ = max/(2^b − 1)). */
    public boolean unsigned() { return kind == Kind.SOFTMAX; }

    public ActivationTable table() { return table; }

    /** The grid this site uses for a batch with observed range [lo, hi] (Min-Max rule of the spec). */
    public QuantGrid gridFor(double lo, double hi) {
        return unsigned() ? UniformAffineQuantizer.unsignedMax(hi, bits) : UniformAffineQuantizer.minMax(lo, hi, bits);
    }

    @Override
    public String toString() { return key + " (" + kind.name().toLowerCase() + ", " + bits + " bit" + (temporal ? ", TIB" : "") + ")"; }
}
