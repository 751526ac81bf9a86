package dev.tfmq.metrics.linalg;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.openblas.global.openblas;

/**
 * The few double-precision LAPACK/BLAS routines the metrics need, on row-major {@code double[]} matrices.
 *
 * <p>They come from the OpenBLAS build that nd4j-native already loads. ND4J's own wrapper only offers
 * {@code dsyev} (QR iteration), which takes about 8 s for the eigenvectors of a 2048×2048 matrix on two cores;
 * the relatively robust representations driver {@code dsyevr} (eigenvalues only, ~0.4 s) and the pivoted
 * Cholesky {@code dpstrf} (~0.2 s) keep the Fréchet distance under a second.
 */
public final class Lapack {
    private Lapack() {}

    /** Eigenvalues (ascending) of the symmetric matrix whose lower triangle is in {@code a} (n×n, leading dim lda). */
    public static double[] symmetricEigenvalues(double[] a, int n, int lda) {
        double[] w = new double[n];
        if (n == 0) return w;
        int[] found = new int[1];
        int[] support = new int[2 * n];
        double[] z = new double[1];
        int info = openblas.LAPACKE_dsyevr(openblas.LAPACK_ROW_MAJOR, (byte) 'N', (byte) 'A', (byte) 'L', n, a, lda,
                0, 0, 0, 0, 0.0, found, w, z, 1, support);
        check("dsyevr", info);
        return w;
    }

    /** Eigenvalues (ascending) of the symmetric matrix in native memory (lower triangle used, destroyed). */
    public static double[] symmetricEigenvalues(DoublePointer a, int n, int lda) {
        double[] w = new double[n];
        if (n == 0) return w;
        try (IntPointer found = new IntPointer(1); IntPointer support = new IntPointer(2L * n);
             DoublePointer z = new DoublePointer(1); DoublePointer wp = new DoublePointer(n)) {
            int info = openblas.LAPACKE_dsyevr(openblas.LAPACK_ROW_MAJOR, (byte) 'N', (byte) 'A', (byte) 'L', n, a, lda,
                    0, 0, 0, 0, 0.0, found, wp, z, 1, support);
            check("dsyevr", info);
            wp.get(w);
        }
        return w;
    }

    /**
     * Cholesky factor A = L Lᵀ in place (lower triangle; the strict upper triangle is left as it was).
     * Returns false, with {@code a} partly overwritten, when A is not numerically positive definite.
     */
    public static boolean cholesky(DoublePointer a, int n) {
        int info = openblas.LAPACKE_dpotrf(openblas.LAPACK_ROW_MAJOR, (byte) 'L', n, a, n);
        if (info < 0) check("dpotrf", info);
        return info == 0;
    }

    /**
     * {@code a := Lᵀ a L} for symmetric a (lower triangle used and written) and the Cholesky factor L in the lower
     * triangle of {@code lower} (LAPACK dsygst, itype 2): the symmetric-definite reduction, half the flops of two
     * general triangular multiplies.
     */
    public static void congruenceByCholeskyFactor(DoublePointer a, DoublePointer lower, int n) {
        int info = openblas.LAPACKE_dsygst(openblas.LAPACK_ROW_MAJOR, 2, (byte) 'L', n, a, n, lower, n);
        check("dsygst", info);
    }

    /**
     * {@code c_lower += alpha·XᵀX} for row-major X (k×n), only the lower triangle of c (n×n) is updated (dsyrk).
     */
    public static void rankKUpdateLower(DoublePointer x, int k, int n, double alpha, DoublePointer c) {
        openblas.cblas_dsyrk(openblas.CblasRowMajor, openblas.CblasLower, openblas.CblasTrans, n, k, alpha, x, n, 1.0, c, n);
    }

    /** {@code c_lower += alpha·v vᵀ} (dsyr), only the lower triangle of c (n×n) is updated. */
    public static void rankOneUpdateLower(DoublePointer v, int n, double alpha, DoublePointer c) {
        openblas.cblas_dsyr(openblas.CblasRowMajor, openblas.CblasLower, n, alpha, v, 1, c, n);
    }

    /**
     * Eigen-decomposition of the symmetric matrix in {@code a} (lower triangle used): returns the eigenvalues in
     * ascending order and overwrites {@code a} with the orthonormal eigenvectors as columns (divide and conquer).
     */
    public static double[] symmetricEigen(double[] a, int n) {
        double[] w = new double[n];
        int info = openblas.LAPACKE_dsyevd(openblas.LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'L', n, a, n, w);
        check("dsyevd", info);
        return w;
    }

    /**
     * Rank-revealing Cholesky with complete pivoting of a positive semidefinite matrix: {@code Pᵀ A P = L Lᵀ}.
     * On return {@code a} holds L (lower, n×n) with the upper triangle and the columns past the rank zeroed,
     * {@code piv[k]} is the 0-based row of A that went to position k. Returns the numerical rank (LAPACK's default
     * tolerance n·ε·max(diag)).
     */
    public static int pivotedCholesky(double[] a, int n, int[] piv) {
        int[] rank = new int[1];
        int info = openblas.LAPACKE_dpstrf(openblas.LAPACK_ROW_MAJOR, (byte) 'L', n, a, n, piv, rank, -1.0);
        // info > 0 only says the matrix is not positive definite: the rank tells how far the factor goes.
        if (info < 0) check("dpstrf", info);
        int r = rank[0];
        for (int i = 0; i < n; i++) {
            piv[i] -= 1;
            int row = i * n;
            for (int j = 0; j < n; j++) {
                if (j > i || j >= r) a[row + j] = 0.0;
            }
        }
        return r;
    }

    /** {@code b := b · L} with L lower triangular (both n×n row-major). */
    public static void multiplyRightLower(double[] b, double[] lower, int n) {
        openblas.cblas_dtrmm(openblas.CblasRowMajor, openblas.CblasRight, openblas.CblasLower, openblas.CblasNoTrans,
                openblas.CblasNonUnit, n, n, 1.0, lower, n, b, n);
    }

    /** {@code b := Lᵀ · b} with L lower triangular (both n×n row-major). */
    public static void multiplyLeftLowerTransposed(double[] b, double[] lower, int n) {
        openblas.cblas_dtrmm(openblas.CblasRowMajor, openblas.CblasLeft, openblas.CblasLower, openblas.CblasTrans,
                openblas.CblasNonUnit, n, n, 1.0, lower, n, b, n);
    }

    /** {@code c := op(a)·op(b)} for row-major a (m×k after op), b (k×n after op). */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double[] a, int lda, double[] b,
                            int ldb, double[] c, int ldc) {
        openblas.cblas_dgemm(openblas.CblasRowMajor, transA ? openblas.CblasTrans : openblas.CblasNoTrans,
                transB ? openblas.CblasTrans : openblas.CblasNoTrans, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
    }

    private static void check(String routine, int info) {
        if (info < 0) throw new IllegalArgumentException(routine + ": argument " + (-info) + " had an illegal value");
        if (info > 0) throw new ArithmeticException(routine + " failed to converge (info " + info + ")");
    }
}
