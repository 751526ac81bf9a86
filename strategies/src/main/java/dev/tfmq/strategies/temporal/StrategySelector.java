package dev.tfmq.strategies.temporal;

/**
 * Disturbance-aware selection (journal extension; our design, GUESS per spec §4.2): per TIB member (or per
 * member and time-step) pick the maintenance strategy whose temporal features were measured closer to full
 * precision. Both candidates must have been measured for every decision — a selection that never looked at one of
 * them is refused. Ties go to the TIB, which needs no cache memory.
 */
public final class StrategySelector {
    private final DisturbanceMetric metric;
    private final SelectionTable.Granularity granularity;

    public StrategySelector(DisturbanceMetric metric, SelectionTable.Granularity granularity) {
        this.metric = metric;
        this.granularity = granularity;
    }

    public DisturbanceMetric metric() { return metric; }

    public SelectionTable.Granularity granularity() { return granularity; }

    /** Decides every member the monitor measured for the TIB candidate. */
    public SelectionTable select(DisturbanceMonitor monitor) {
        SelectionTable table = new SelectionTable(granularity, metric);
        if (monitor.members(MaintenanceStrategy.TIB).isEmpty()) {
            throw new IllegalStateException("no temporal-feature measurements to select from");
        }
        for (String member : monitor.members(MaintenanceStrategy.TIB)) {
            if (granularity == SelectionTable.Granularity.MEMBER) {
                table.put(member, decide(member, -1, monitor.member(MaintenanceStrategy.TIB, member),
                        monitor.member(MaintenanceStrategy.CACHE, member)));
            } else {
                for (long t : monitor.timesteps(MaintenanceStrategy.TIB, member)) {
                    table.put(member, t, decide(member, t, monitor.step(MaintenanceStrategy.TIB, member, t),
                            monitor.step(MaintenanceStrategy.CACHE, member, t)));
                }
            }
        }
        return table;
    }

    /** One decision from the monitor's current aggregates (the online path). */
    public SelectionTable.Choice decide(DisturbanceMonitor monitor, String member, long t) {
        if (granularity == SelectionTable.Granularity.MEMBER) {
            return decide(member, -1, monitor.member(MaintenanceStrategy.TIB, member), monitor.member(MaintenanceStrategy.CACHE, member));
        }
        return decide(member, t, monitor.step(MaintenanceStrategy.TIB, member, t), monitor.step(MaintenanceStrategy.CACHE, member, t));
    }

    private SelectionTable.Choice decide(String member, long t, DisturbanceMonitor.Stats tib, DisturbanceMonitor.Stats cache) {
        String where = "member '" + member + "'" + (t >= 0 ? " at time-step " + t : "");
        if (tib == null) throw new IllegalStateException("selection for " + where + ": the TIB candidate was not measured");
        if (cache == null) throw new IllegalStateException("selection for " + where + ": the cache candidate was not measured");
        double a = tib.mean(metric);
        double b = cache.mean(metric);
        return new SelectionTable.Choice(b < a ? MaintenanceStrategy.CACHE : MaintenanceStrategy.TIB, a, b);
    }
}
