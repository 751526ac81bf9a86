package dev.tfmq.metrics.distance;

import dev.tfmq.metrics.linalg.Lapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019). Each set's manifold is the union of balls around its
 * points with radius = distance to the k-th nearest other point of the same set (k = 3 by default). Precision is
 * the fraction of generated samples inside the real manifold; recall the fraction of real samples inside the
 * generated one. Squared Euclidean distances in double, computed in row blocks with gemm so memory stays
 * O(block·N).
 */
public final class PrecisionRecall {
    public static final int DEFAULT_K = 3;
    private static final int BLOCK = 512;

    public record Result(double precision, double recall, int k, long nReal, long nFake) {}

    private PrecisionRecall() {}

    public static Result compute(INDArray real, INDArray fake) {
        return compute(real, fake, DEFAULT_K);
    }

    public static Result compute(INDArray real, INDArray fake, int k) {
        int d = real.columns();
        if (fake.columns() != d) throw new IllegalArgumentException("feature dimension mismatch: " + d + " vs " + fake.columns());
        int nr = real.rows();
        int nf = fake.rows();
        if (k < 1 || nr <= k || nf <= k) {
            throw new IllegalArgumentException("k-NN radii with k=" + k + " need more than k samples per side, have "
                    + nr + " and " + nf);
        }
        double[] x = real.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] y = fake.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] xx = squaredNorms(x, nr, d);
        double[] yy = squaredNorms(y, nf, d);
        double[] realRadii = radii(x, xx, nr, d, k);
        double[] fakeRadii = radii(y, yy, nf, d, k);
        double precision = fractionInside(y, yy, nf, x, xx, realRadii, nr, d);
        double recall = fractionInside(x, xx, nr, y, yy, fakeRadii, nf, d);
        return new Result(precision, recall, k, nr, nf);
    }

    private static double[] squaredNorms(double[] a, int n, int d) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += a[i * d + j] * a[i * d + j];
            out[i] = s;
        }
        return out;
    }

    /** Squared distances of rows [from, from+rows) of a to all rows of b, into out (rows × nb). */
    private static void distances(double[] a, double[] aa, int from, int rows, double[] b, double[] bb, int nb, int d,
                                  double[] out) {
        double[] block = java.util.Arrays.copyOfRange(a, from * d, (from + rows) * d);
        Lapack.gemm(false, true, rows, nb, d, block, d, b, d, out, nb);
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < nb; j++) {
                out[i * nb + j] = Math.max(0, aa[from + i] + bb[j] - 2 * out[i * nb + j]);
            }
        }
    }

    /** Squared distance to the k-th nearest other point; index k of the sorted row, index 0 being the point itself. */
    private static double[] radii(double[] a, double[] aa, int n, int d, int k) {
        double[] r = new double[n];
        double[] dist = new double[Math.min(BLOCK, n) * n];
        double[] row = new double[n];
        for (int from = 0; from < n; from += BLOCK) {
            int rows = Math.min(BLOCK, n - from);
            distances(a, aa, from, rows, a, aa, n, d, dist);
            for (int i = 0; i < rows; i++) {
                System.arraycopy(dist, i * n, row, 0, n);
                row[from + i] = 0; // the point itself, exactly
                r[from + i] = select(row, k);
            }
        }
        return r;
    }

    private static double fractionInside(double[] q, double[] qq, int nq, double[] ref, double[] rr, double[] radii,
                                         int nref, int d) {
        double[] dist = new double[Math.min(BLOCK, nq) * nref];
        long inside = 0;
        for (int from = 0; from < nq; from += BLOCK) {
            int rows = Math.min(BLOCK, nq - from);
            distances(q, qq, from, rows, ref, rr, nref, d, dist);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < nref; j++) {
                    if (dist[i * nref + j] <= radii[j]) {
                        inside++;
                        break;
                    }
                }
            }
        }
        return (double) inside / nq;
    }

    /** The k-th smallest value (0-based) of a, reordering a (quickselect). */
    static double select(double[] a, int k) {
        int lo = 0;
        int hi = a.length - 1;
        while (lo < hi) {
            double pivot = a[(lo + hi) >>> 1];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) {
                    double t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return a[k];
        }
        return a[k];
    }
}
