package dev.tfmq.strategies.recon;

/** Adam (β1 0.9, β2 0.999, ε 1e-8, bias-corrected as in PyTorch) over one parameter vector. */
public final class Adam {
    private final double lr;
    private final double[] m;
    private final double[] v;
    private int step;

    public Adam(int size, double lr) {
        this.lr = lr;
        this.m = new double[size];
        this.v = new double[size];
    }

    public void step(double[] param, double[] grad) {
        step++;
        double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        double c1 = 1 - Math.pow(b1, step);
        double c2 = 1 - Math.pow(b2, step);
        for (int i = 0; i < param.length; i++) {
            m[i] = b1 * m[i] + (1 - b1) * grad[i];
            v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
            param[i] -= lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps);
        }
    }
}
