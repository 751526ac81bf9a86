package dev.tfmq.strategies.recon;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Central finite differences in float64 against an analytic gradient, on a sample of elements. */
final class GradCheck {
    private GradCheck() {}

    /**
     * @param loss     recomputes the scalar loss from the current contents of {@code param}
     * @param param    the array perturbed in place (float64)
     * @param analytic the analytic gradient of the loss w.r.t. {@code param}
     */
    static double check(String what, Supplier<Double> loss, INDArray param, INDArray analytic, int samples, long seed) {
        Random r = new Random(seed);
        INDArray flat = param.reshape(param.length());
        INDArray g = analytic.dup('c').reshape(analytic.length());
        double worst = 0;
        double eps = 1e-6;
        // Elements whose gradient is tiny next to the tensor's largest are compared on that scale: central
        // differences of a large loss carry ~1e-10·|L| of cancellation noise, which would swamp them.
        double floor = 1e-3 * g.amaxNumber().doubleValue();
        for (int s = 0; s < samples; s++) {
            long i = r.nextInt((int) param.length());
            double v = flat.getDouble(i);
            flat.putScalar(i, v + eps);
            double up = loss.get();
            flat.putScalar(i, v - eps);
            double down = loss.get();
            flat.putScalar(i, v);
            double fd = (up - down) / (2 * eps);
            double an = g.getDouble(i);
            double err = Math.abs(fd - an) / Math.max(Math.max(1e-9, floor), Math.abs(fd) + Math.abs(an));
            worst = Math.max(worst, err);
            assertTrue(err < 1e-4, what + " element " + i + ": finite difference " + fd + " vs analytic " + an);
        }
        return worst;
    }
}
