package dev.tfmq.strategies.temporal;

/**
 * Calibration-time selection by the output error: at each time-step, the candidate whose serving gave the smaller
 * mean ε̂ error over the probe samples serves every member at that step. Ties go to the TIB, which needs no cache
 * memory at that step.
 */
public final class OutputErrorSelection {
    private OutputErrorSelection() {}

    public static SelectionTable select(OutputErrors errors) {
        SelectionTable table = new SelectionTable(SelectionTable.Granularity.STEP, DisturbanceMetric.REL_L2, SelectionMeasure.OUTPUT);
        for (int k = 0; k < errors.steps(); k++) {
            long t = errors.timesteps()[k];
            if (table.has(null, t)) throw new IllegalArgumentException("time-step " + t + " appears twice in the schedule");
            double tib = OutputErrors.mean(errors.tib()[k]), cache = OutputErrors.mean(errors.cache()[k]);
            table.put(t, new SelectionTable.Choice(better(tib, cache), tib, cache));
        }
        return table;
    }

    /** The candidate with the smaller error; the TIB on a tie. */
    public static MaintenanceStrategy better(double tib, double cache) {
        return cache < tib ? MaintenanceStrategy.CACHE : MaintenanceStrategy.TIB;
    }
}
