package dev.tfmq.harness.config;

/** A configuration problem, always naming the key (and the file when known), the value and what is allowed. */
public final class ConfigError extends IllegalArgumentException {
    public ConfigError(String message) {
        super(message);
    }
}
