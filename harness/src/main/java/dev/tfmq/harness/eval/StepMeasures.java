package dev.tfmq.harness.eval;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The disturbance of the quantized model at one sampling step of one batch, computed from both sides' reports.
 * Each per-sample array has one value per sample (per probe sample for the one-step error).
 *
 * @param epsRelL2      |ε_q(x_t^q) − ε_fp(x_t^fp)| / |ε_fp(x_t^fp)| per sample: the output error as sampled
 * @param trajectoryRms |x_t^q − x_t^fp| / √d per sample: the drift the trajectories accumulated before this step
 * @param oneStepRelL2  |ε_q(x_t^fp) − ε_fp(x_t^fp)| / |ε_fp(x_t^fp)| per probe sample: the quantized model's own
 *                      error on the full-precision input, free of accumulated drift
 * @param temporalRelL2 per TIB member: |f_q(t) − f_fp(t)| / |f_fp(t)|
 * @param temporalCosine per TIB member: 1 − cos(f_q(t), f_fp(t))
 */
public record StepMeasures(double[] epsRelL2, double[] trajectoryRms, double[] oneStepRelL2,
                           Map<String, Double> temporalRelL2, Map<String, Double> temporalCosine) {

    /**
     * @param fpEps      FP model output at x_t^fp, [B, ...]
     * @param qEps       quantized model output at x_t^q
     * @param fpX        x_t^fp (the FP model's input)
     * @param qX         x_t^q
     * @param probeOut   quantized model output at the first P rows of x_t^fp, or null
     * @param fpTemporal FP temporal features of this time-step by member
     * @param qTemporal  quantized temporal features (the applied strategy) by member
     */
    public static StepMeasures compute(Tensor fpEps, Tensor qEps, Tensor fpX, Tensor qX, Tensor probeOut,
                                       Map<String, float[]> fpTemporal, Map<String, float[]> qTemporal) {
        int b = fpEps.rows();
        if (qEps.rows() != b || fpX.rows() != b || qX.rows() != b || qEps.data().length != fpEps.data().length) {
            throw new IllegalArgumentException("FP and quantized step reports differ in shape: " + fpEps + " vs " + qEps);
        }
        int d = fpEps.rowLength();
        double[] eps = new double[b];
        double[] traj = new double[b];
        for (int i = 0; i < b; i++) {
            eps[i] = relL2(qEps.data(), fpEps.data(), i * d, d);
            traj[i] = rms(qX.data(), fpX.data(), i * d, d);
        }
        double[] one = new double[probeOut == null ? 0 : probeOut.rows()];
        for (int i = 0; i < one.length; i++) one[i] = relL2(probeOut.data(), fpEps.data(), i * d, d);
        Map<String, Double> rel = new LinkedHashMap<>();
        Map<String, Double> cos = new LinkedHashMap<>();
        for (Map.Entry<String, float[]> e : fpTemporal.entrySet()) {
            float[] q = qTemporal.get(e.getKey());
            if (q == null) throw new IllegalArgumentException("quantized side reported no temporal feature '" + e.getKey() + "'");
            rel.put(e.getKey(), relativeL2(q, e.getValue()));
            cos.put(e.getKey(), cosineDistance(q, e.getValue()));
        }
        return new StepMeasures(eps, traj, one, rel, cos);
    }

    /** Relative L2 error of a[off, off + n) against ref at the same offsets. */
    static double relL2(float[] a, float[] ref, int off, int n) {
        return dev.tfmq.strategies.temporal.OutputErrors.relativeL2(a, ref, off, n);
    }

    static double rms(float[] a, float[] b, int off, int n) {
        double s = 0;
        for (int j = off; j < off + n; j++) {
            double diff = (double) a[j] - b[j];
            s += diff * diff;
        }
        return Math.sqrt(s / n);
    }

    /** |a − ref| / |ref| over whole vectors. */
    public static double relativeL2(float[] a, float[] ref) {
        if (a.length != ref.length) throw new IllegalArgumentException("vector lengths differ: " + a.length + " vs " + ref.length);
        double num = 0, den = 0;
        for (int j = 0; j < a.length; j++) {
            double diff = (double) a[j] - ref[j];
            num += diff * diff;
            den += (double) ref[j] * ref[j];
        }
        return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(num / den);
    }

    /** 1 − cos(a, b); 0 for two zero vectors, 1 when exactly one is zero. */
    public static double cosineDistance(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("vector lengths differ: " + a.length + " vs " + b.length);
        double ab = 0, aa = 0, bb = 0;
        for (int j = 0; j < a.length; j++) {
            ab += (double) a[j] * b[j];
            aa += (double) a[j] * a[j];
            bb += (double) b[j] * b[j];
        }
        if (aa == 0 && bb == 0) return 0;
        if (aa == 0 || bb == 0) return 1;
        return 1 - ab / Math.sqrt(aa * bb);
    }
}
