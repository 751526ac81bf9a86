package dev.tfmq.strategies.quant;

/** How a weight grid is initialised: the MSE shrink search (TFMQ, Q-Diffusion) or plain per-channel Min-Max. */
public enum WeightInit {
    MSE, MINMAX;

    public static WeightInit parse(String s, String where) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "mse" -> MSE;
            case "minmax", "min-max" -> MINMAX;
            default -> throw new IllegalArgumentException(where + ": weight init '" + s + "' is not one of mse, minmax");
        };
    }
}
