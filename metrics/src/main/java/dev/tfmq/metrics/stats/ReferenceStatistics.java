package dev.tfmq.metrics.stats;

import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npz;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reference statistics in the layout of OpenAI's guided-diffusion (ADM) evaluator: an {@code .npz} with
 * {@code mu} [D], {@code sigma} [D, D] and, for sFID, {@code mu_s}, {@code sigma_s}. tfmq adds the sample counts
 * {@code n} and {@code n_s} (int64 scalars) when it knows them; other tools ignore extra keys, and files made by
 * other tools simply have an unknown count (-1).
 *
 * @param pooled  statistics of the pooled features (FID)
 * @param spatial statistics of the spatial features (sFID), or null
 */
public record ReferenceStatistics(Gaussian pooled, Gaussian spatial) {

    public static ReferenceStatistics read(Path file) throws IOException {
        return of(file, Npz.read(file));
    }

    /**
     * The statistics in the arrays of {@code file}, checked: shapes agree, the covariances are covariances
     * ({@link Gaussian#covarianceProblem}), the means finite, and a recorded count is at least 2. Extra keys are
     * left to the caller.
     */
    public static ReferenceStatistics of(Path file, Map<String, INDArray> a) throws FormatException {
        Gaussian pooled = gaussian(file, a, "mu", "sigma", "n");
        Gaussian spatial = null;
        boolean hasMuS = a.containsKey("mu_s");
        boolean hasSigmaS = a.containsKey("sigma_s");
        if (hasMuS != hasSigmaS) {
            throw new FormatException(file, "has '" + (hasMuS ? "mu_s" : "sigma_s") + "' but is missing key '"
                    + (hasMuS ? "sigma_s" : "mu_s") + "'");
        }
        if (hasMuS) spatial = gaussian(file, a, "mu_s", "sigma_s", "n_s");
        return new ReferenceStatistics(pooled, spatial);
    }

    public void write(Path file) throws IOException {
        Map<String, INDArray> a = new LinkedHashMap<>();
        a.put("mu", pooled.muArray());
        a.put("sigma", pooled.sigmaArray());
        if (spatial != null) {
            a.put("mu_s", spatial.muArray());
            a.put("sigma_s", spatial.sigmaArray());
        }
        if (pooled.n() >= 0) a.put("n", Nd4j.scalar(pooled.n()));
        if (spatial != null && spatial.n() >= 0) a.put("n_s", Nd4j.scalar(spatial.n()));
        Npz.write(file, a);
    }

    private static Gaussian gaussian(Path file, Map<String, INDArray> a, String muKey, String sigmaKey, String nKey)
            throws FormatException {
        INDArray mu = FeatureStatistics.require(file, a, muKey);
        INDArray sigma = FeatureStatistics.require(file, a, sigmaKey);
        if (mu.rank() != 1) {
            throw new FormatException(file, "'" + muKey + "' must be 1-d, has shape " + Arrays.toString(mu.shape()));
        }
        long d = mu.length();
        if (sigma.rank() != 2 || sigma.rows() != d || sigma.columns() != d) {
            throw new FormatException(file, "'" + sigmaKey + "' has shape " + Arrays.toString(sigma.shape()) + " but '"
                    + muKey + "' has " + d + " entries (expected [" + d + ", " + d + "])");
        }
        if (!mu.dataType().isFPType() || !sigma.dataType().isFPType()) {
            throw new FormatException(file, "'" + muKey + "'/'" + sigmaKey + "' must be floating point");
        }
        long n = -1;
        INDArray count = a.get(nKey);
        if (count != null) {
            if (count.length() != 1) throw new FormatException(file, "'" + nKey + "' must hold one number");
            String p = Gaussian.countProblem(count.getDouble(0));
            if (p != null) throw new FormatException(file, "'" + nKey + "' " + p);
            n = count.getLong(0);
        }
        Gaussian g = Gaussian.of(mu, sigma, n);
        String p = Gaussian.meanProblem(g.mu());
        if (p != null) throw new FormatException(file, "'" + muKey + "' " + p);
        p = Gaussian.covarianceProblem(g.sigma(), g.dim());
        if (p != null) throw new FormatException(file, "'" + sigmaKey + "' " + p);
        return g;
    }
}
