package dev.tfmq.strategies.recon;

import dev.tfmq.strategies.quant.FloatAccess;
import dev.tfmq.strategies.quant.QuantGrid;
import dev.tfmq.strategies.quant.WeightQuantizer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Adaptive rounding of one layer's weights (method spec §2.2): the grid (Δ_c, z_c) stays fixed and a continuous
 * variable α per weight chooses between rounding down and up through the rectified sigmoid
 * h(α) = clip(σ(α)·(ζ − γ) + γ, 0, 1), ζ = 1.1, γ = −0.1. Soft weight: Δ·(clip(⌊W/Δ⌋ + h(α) + z, 0, 2^b − 1) − z);
 * hard weight after training: ⌊W/Δ⌋ + [α ≥ 0]. α starts where h(α) equals the fractional part of W/Δ, so the
 * soft weight starts at the full-precision weight (inside the grid's range).
 */
public final class AdaRoundQuantizer {
    public static final double ZETA = 1.1;
    public static final double GAMMA = -0.1;

    private final WeightQuantizer target;
    private final QuantGrid grid;
    private final double[] floor;
    private final double[] alpha;
    private final double[] grad;
    /** dŴ/dα per weight at the last soft forward (0 where clipped). */
    private final double[] softSlope;
    private final int per;
    private final long[] shape;

    public AdaRoundQuantizer(WeightQuantizer target) {
        if (!target.isInitialized()) throw new IllegalStateException(target.path() + ": initialise the weight grid before AdaRound");
        this.target = target;
        this.grid = target.grid();
        double[] w = target.fpValues();
        this.shape = target.shape();
        this.per = w.length / grid.channels();
        floor = new double[w.length];
        alpha = new double[w.length];
        grad = new double[w.length];
        softSlope = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            double s = grid.scale(i / per);
            double q = w[i] / s;
            floor[i] = Math.floor(q);
            double r = q - floor[i];
            alpha[i] = -Math.log((ZETA - GAMMA) / (r - GAMMA) - 1);
        }
    }

    public WeightQuantizer target() { return target; }

    public String path() { return target.path(); }

    public double[] alpha() { return alpha; }

    public double[] grad() { return grad; }

    public int size() { return alpha.length; }

    static double sigmoid(double a) { return 1 / (1 + Math.exp(-a)); }

    /** h(α_i). */
    public double h(int i) {
        double v = sigmoid(alpha[i]) * (ZETA - GAMMA) + GAMMA;
        return v < 0 ? 0 : Math.min(v, 1);
    }

    /** dh/dα (0 where the rectifier clips). */
    double dh(int i) {
        double s = sigmoid(alpha[i]);
        double v = s * (ZETA - GAMMA) + GAMMA;
        return v <= 0 || v >= 1 ? 0 : s * (1 - s) * (ZETA - GAMMA);
    }

    /** Which weight {@link #softWeight} produces: soft (training), hard (learned rounding) or nearest (the start). */
    public enum Mode { SOFT, HARD, NEAREST }

    private Mode mode = Mode.SOFT;

    public void setMode(Mode m) { this.mode = m; }

    /** The weight for the current {@link Mode} in the layer's shape (soft-rounded while training). */
    public INDArray softWeight(DataType type) {
        if (mode != Mode.SOFT) {
            int[] codes = mode == Mode.HARD ? hardCodes() : target.codes();
            double[] d = dev.tfmq.strategies.quant.UniformAffineQuantizer.dequantize(codes, grid);
            INDArray w = Nd4j.create(type, shape, 'c');
            FloatAccess f = FloatAccess.of(w);
            for (int i = 0; i < d.length; i++) f.set(i, d[i]);
            return w;
        }
        INDArray w = Nd4j.create(type, shape, 'c');
        FloatAccess f = FloatAccess.of(w);
        int max = grid.maxCode();
        // h and dh/dα of this α, kept for accumulate(): one sigmoid per weight per iteration instead of three
        for (int i = 0; i < alpha.length; i++) {
            int c = i / per;
            double sg = sigmoid(alpha[i]);
            double v = sg * (ZETA - GAMMA) + GAMMA;
            double hi = v < 0 ? 0 : Math.min(v, 1);
            double q = floor[i] + hi + grid.zeroPoint(c);
            boolean clipped = q < 0 || q > max;
            if (q < 0) q = 0;
            else if (q > max) q = max;
            f.set(i, grid.scale(c) * (q - grid.zeroPoint(c)));
            softSlope[i] = clipped || v <= 0 || v >= 1 ? 0 : grid.scale(c) * sg * (1 - sg) * (ZETA - GAMMA);
        }
        return w;
    }

    /**
     * Adds dL/dα for a gradient dL/dŴ of the soft weight made by the last {@link #softWeight} call (soft mode):
     * dŴ/dα = Δ·dh/dα where neither the rectifier nor the grid clips, else 0.
     */
    public void accumulate(INDArray dW) {
        FloatAccess g = FloatAccess.of(FloatAccess.isContiguousC(dW) ? dW : dW.dup('c'));
        for (int i = 0; i < alpha.length; i++) {
            double sl = softSlope[i];
            if (sl != 0) grad[i] += g.get(i) * sl;
        }
    }

    /**
     * The rounding regulariser λ·Σ(1 − |2h − 1|^β), which pushes every h to 0 or 1; adds its gradient when asked.
     */
    public double regularizer(double beta, double lambda, boolean addGrad) {
        double sum = 0;
        for (int i = 0; i < alpha.length; i++) {
            double sg = sigmoid(alpha[i]);
            double v = sg * (ZETA - GAMMA) + GAMMA;
            double hi = v < 0 ? 0 : Math.min(v, 1);
            double u = 2 * hi - 1;
            double au = Math.abs(u);
            double p = Math.pow(au, beta - 1);
            sum += 1 - (au == 0 ? 0 : p * au);
            if (addGrad && au > 0 && v > 0 && v < 1) {
                grad[i] += lambda * (-beta * p * Math.signum(u) * 2 * sg * (1 - sg) * (ZETA - GAMMA));
            }
        }
        return lambda * sum;
    }

    /** One weight's term 1 − |2h(α_i) − 1|^β (the regulariser is a sum of independent terms). */
    double term(int i, double beta) { return 1 - Math.pow(Math.abs(2 * h(i) - 1), beta); }

    public void zeroGrad() { java.util.Arrays.fill(grad, 0); }

    /** Hard codes: clip(⌊W/Δ⌋ + [α ≥ 0] + z, 0, 2^b − 1). */
    public int[] hardCodes() {
        int[] q = new int[alpha.length];
        int max = grid.maxCode();
        for (int i = 0; i < alpha.length; i++) {
            double v = floor[i] + (alpha[i] >= 0 ? 1 : 0) + grid.zeroPoint(i / per);
            q[i] = (int) Math.max(0, Math.min(max, v));
        }
        return q;
    }

    /** Writes the learned rounding into the weight quantizer. */
    public void commit() { target.set(grid, hardCodes()); }
}
