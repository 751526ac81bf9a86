package dev.tfmq.strategies.recon;

import java.util.Locale;
import java.util.Map;

/**
 * The provenance record of a reconstruction: per unit its kind, iterations, wall time of the iteration loop and
 * steady iterations/s, the loss on the whole cached set with nearest and with learned rounding, and the mini-batch
 * loss trace (iteration, loss) — the hidden cost and the convergence of every unit, kept with the artifact.
 */
public final class ReconstructionReport {
    private ReconstructionReport() {}

    /** One JSON object keyed by unit, in reconstruction order. */
    public static String json(Map<String, BlockReconstructor.Result> results) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, BlockReconstructor.Result> e : results.entrySet()) {
            BlockReconstructor.Result r = e.getValue();
            if (sb.length() > 1) sb.append(',');
            sb.append('"').append(e.getKey()).append("\":{")
                    .append("\"kind\":\"").append(r.kind().name().toLowerCase(Locale.ROOT)).append("\",")
                    .append("\"iterations\":").append(r.iterations()).append(',')
                    .append("\"seconds\":").append(num(r.seconds())).append(',')
                    .append("\"iterations_per_s\":").append(num(r.iterationsPerSecond())).append(',')
                    .append("\"gflops\":").append(num(r.gflops())).append(',')
                    .append("\"loss_nearest\":").append(num(r.nearestLoss())).append(',')
                    .append("\"loss_learned\":").append(num(r.learnedLoss())).append(',')
                    .append("\"trace\":[");
            for (int i = 0; i < r.traceIterations().length; i++) {
                if (i > 0) sb.append(',');
                sb.append('[').append(r.traceIterations()[i]).append(',').append(num(r.traceLoss()[i])).append(']');
            }
            sb.append("]}");
        }
        return sb.append('}').toString();
    }

    private static String num(double v) {
        if (!Double.isFinite(v)) return "null";
        return String.format(Locale.ROOT, "%.6g", v);
    }
}
