package dev.tfmq.model.scheduler;

import dev.tfmq.model.io.FormatException;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.file.Path;
import java.util.Arrays;

/** Time-steps given by a user (a saved array): checked to be whole numbers inside the training schedule. */
public final class TimestepInput {
    private TimestepInput() {}

    /**
     * One time-step per image of a batch of {@code batch}: {@code values} is a scalar, a one-element array (used for
     * every image) or a vector of {@code batch} entries. Every value must be finite, integral and in
     * {@code [0, numTrainTimesteps)}; {@code numTrainTimesteps <= 0} means the schedule is unknown (only >= 0 is
     * checked). A fractional value used to be truncated silently, a NaN read as 0.
     */
    public static long[] of(INDArray values, Path source, long batch, int numTrainTimesteps) throws FormatException {
        if (values.rank() > 1) {
            throw new FormatException(source, "time-steps must be a scalar or a vector [B], got shape " + Arrays.toString(values.shape()));
        }
        long n = values.length();
        if (n == 0) throw new FormatException(source, "holds no time-step");
        if (n != 1 && n != batch) throw new FormatException(source, n + " time-steps for a batch of " + batch);
        double[] v = values.dataType().isFPType() ? values.castTo(DataType.DOUBLE).data().asDouble()
                : Arrays.stream(values.castTo(DataType.LONG).data().asLong()).asDoubleStream().toArray();
        long[] steps = new long[(int) batch];
        for (int i = 0; i < batch; i++) {
            double t = v[n == 1 ? 0 : i];
            String where = "time-step " + (n == 1 ? "" : "[" + i + "] ") + "= " + t;
            if (!Double.isFinite(t) || t != Math.rint(t)) throw new FormatException(source, where + " is not a whole number");
            if (t < 0) throw new FormatException(source, where + " is negative");
            if (numTrainTimesteps > 0 && t >= numTrainTimesteps) {
                throw new FormatException(source, where + " lies outside the schedule's " + numTrainTimesteps
                        + " training time-steps [0, " + (numTrainTimesteps - 1) + "]");
            }
            steps[i] = (long) t;
        }
        return steps;
    }
}
