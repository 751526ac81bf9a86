package dev.tfmq.harness.config;

import java.time.Duration;
import java.util.List;

/**
 * The {@code tfmq.cluster} block of a run config (documented in reference.conf): where the coordinator listens,
 * which nodes are seeds, whether the coordinator samples too, how many workers must be ready before sampling starts,
 * and how fast a dead worker is detected and removed.
 *
 * @param seedNodes "host:port" of each seed; empty = the coordinator itself
 */
public record ClusterConfig(String host, int port, String bindHost, List<String> seedNodes, boolean localWorkers, int minWorkers,
                            Duration heartbeatPause, Duration downUnreachableAfter) {

    public static ClusterConfig of(RunConfig cfg) {
        Settings c = new Settings(cfg.source(), "cluster", "tfmq.cluster");
        String host = c.string("host");
        String bind = c.optionalString("bind-host");
        List<String> seeds = c.stringList("seed-nodes");
        for (int i = 0; i < seeds.size(); i++) hostPort(seeds.get(i), "config key 'tfmq.cluster.seed-nodes[" + i + "]'");
        return new ClusterConfig(host, c.intIn("port", 0, 65535), bind == null ? host : bind, List.copyOf(seeds),
                c.bool("local-workers"), c.intIn("min-workers", 0, 10_000),
                c.durationIn("heartbeat-pause", Duration.ofMillis(200), Duration.ofMinutes(10)),
                c.durationIn("down-unreachable-after", Duration.ofMillis(200), Duration.ofHours(1)));
    }

    /** Splits "host:port" (IPv6 hosts in brackets); {@code where} names the input in the error. */
    public static String[] hostPort(String text, String where) {
        int colon = text.lastIndexOf(':');
        String host = colon > 0 ? text.substring(0, colon) : "";
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port = -1;
        try {
            port = colon > 0 ? Integer.parseInt(text.substring(colon + 1)) : -1;
        } catch (NumberFormatException e) {
            // reported below
        }
        if (host.isBlank() || port < 1 || port > 65535) {
            throw new ConfigError(where + " = \"" + text + "\": expected HOST:PORT with a port in 1..65535, e.g. 10.0.0.5:25520");
        }
        return new String[] {host, Integer.toString(port)};
    }
}
