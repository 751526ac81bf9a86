package dev.tfmq.strategies.temporal;

import java.util.Locale;

/**
 * Temporal-feature disturbance of a candidate ĝ against the full-precision g (GUESS, spec §4.2 leaves the metric
 * open): relative L2 ‖ĝ − g‖/‖g‖ (scale-aware: the feature is added to the conv output, so its magnitude error is
 * what perturbs the ResBlock), and 1 − cos(g, ĝ) (the paper's own Fig. 2 diagnostic, blind to a common scale).
 */
public enum DisturbanceMetric {
    REL_L2, COSINE;

    public double of(double[] fp, double[] q) {
        if (fp.length != q.length) throw new IllegalArgumentException("feature lengths differ: " + fp.length + " vs " + q.length);
        double dd = 0, ff = 0, qq = 0, fq = 0;
        for (int i = 0; i < fp.length; i++) {
            double d = q[i] - fp[i];
            dd += d * d;
            ff += fp[i] * fp[i];
            qq += q[i] * q[i];
            fq += fp[i] * q[i];
        }
        if (this == REL_L2) return ff == 0 ? (dd == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(dd / ff);
        if (ff == 0 || qq == 0) return ff == qq ? 0 : 1;
        return 1 - fq / Math.sqrt(ff * qq);
    }

    public static DisturbanceMetric parse(String s, String where) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "rel-l2", "rel_l2", "l2" -> REL_L2;
            case "cosine", "1-cosine" -> COSINE;
            default -> throw new IllegalArgumentException(where + ": disturbance metric '" + s + "' is not one of rel-l2, cosine");
        };
    }
}
