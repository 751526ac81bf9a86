package dev.tfmq.model.scheduler;

import java.util.Locale;

/** Builds a scheduler from a config, by the config's class or by an explicit choice ("ddim", "ddpm"). */
public final class Schedulers {
    private Schedulers() {}

    /** The scheduler the config names ({@code _class_name}); DDIM with η = 0. */
    public static Scheduler fromConfig(SchedulerConfig config) {
        return create(config, config.kind(), 0.0);
    }

    /** A scheduler of the given kind from any DDPM or DDIM config (as diffusers' {@code from_config}). */
    public static Scheduler create(SchedulerConfig config, SchedulerConfig.Kind kind, double eta) {
        return switch (kind) {
            case DDIM -> new DDIMScheduler(config, eta);
            case DDPM -> {
                if (eta != 0.0) throw new IllegalArgumentException("eta applies to DDIM only, got " + eta + " for DDPM");
                yield new DDPMScheduler(config);
            }
        };
    }

    /** Parses "ddim" or "ddpm" (case-insensitive). */
    public static SchedulerConfig.Kind kind(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "ddim" -> SchedulerConfig.Kind.DDIM;
            case "ddpm" -> SchedulerConfig.Kind.DDPM;
            default -> throw new IllegalArgumentException("unknown scheduler \"" + name + "\" (allowed: ddim, ddpm)");
        };
    }
}
