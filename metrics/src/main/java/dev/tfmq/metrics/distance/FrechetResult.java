package dev.tfmq.metrics.distance;

/**
 * A Fréchet distance with what is needed to judge it.
 *
 * @param value            d² = |μ1−μ2|² + tr Σ1 + tr Σ2 − 2 tr((Σ1^½ Σ2 Σ1^½)^½)
 * @param n1               samples behind the first statistics (-1 when unknown)
 * @param n2               samples behind the second statistics (-1 when unknown)
 * @param dim              feature dimension D
 * @param traceSqrt        tr((Σ1^½ Σ2 Σ1^½)^½)
 * @param rank1            numerical rank of the factor of Σ1 that was used (D when full rank)
 * @param clamped          eigenvalues (of Σ1 and of Σ1^½Σ2Σ1^½) that came out negative from round-off and were
 *                         set to zero
 * @param largestClamped   magnitude of the most negative of those (0 when none)
 * @param largestEigenvalue largest eigenvalue of Σ1^½Σ2Σ1^½, the scale against which the clamped ones are small
 * @param rankDeficient    true when a covariance cannot be full rank (N ≤ D) or Σ1's factor lost rank: the value
 *                         is finite but strongly biased and not comparable with full-rank results
 * @param method           how the square-root trace was computed
 */
public record FrechetResult(double value, long n1, long n2, int dim, double traceSqrt, int rank1, int clamped,
                            double largestClamped, double largestEigenvalue, boolean rankDeficient,
                            FrechetDistance.Method method) {

    /** Human-readable caveats; empty when there are none. */
    public String warning() {
        StringBuilder w = new StringBuilder();
        if (rankDeficient) {
            w.append("rank-deficient covariance (N1=").append(n1).append(", N2=").append(n2).append(", D=").append(dim)
                    .append(", rank(Σ1)=").append(rank1).append(Math.min(n1, n2) <= dim
                            ? "): need N > D for a full-rank estimate; "
                            : "): N > D, so some feature combination is (nearly) constant over these samples; ");
        }
        if (clamped > 0) {
            w.append(clamped).append(" negative eigenvalue(s) down to -").append(largestClamped)
                    .append(" (largest eigenvalue ").append(largestEigenvalue).append(") clamped to zero; ");
        }
        return w.length() == 0 ? "" : w.substring(0, w.length() - 2);
    }

    public boolean hasWarning() { return rankDeficient || clamped > 0; }
}
