package dev.tfmq.strategies.quant;

/**
 * What a per-time-step table does at a time-step it was not calibrated for (a sampler with another schedule):
 * fail with an error naming the time-step, or use the nearest calibrated time-step.
 */
public enum UnknownTimestepPolicy {
    FAIL, NEAREST;

    public static UnknownTimestepPolicy parse(String s, String where) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "fail" -> FAIL;
            case "nearest" -> NEAREST;
            default -> throw new IllegalArgumentException(where + ": unknown-timestep policy '" + s
                    + "' is not one of fail, nearest");
        };
    }
}
