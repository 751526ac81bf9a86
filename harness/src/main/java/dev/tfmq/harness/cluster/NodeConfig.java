package dev.tfmq.harness.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.tfmq.harness.config.ClusterConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Pekko settings of one cluster node, from {@code tfmq.cluster}: Artery TCP on the given canonical address
 * (bound to {@code bindHost}), the seed nodes, the node's role, and the failure-detection times, over
 * {@code tfmq-cluster.conf} (split-brain resolver, large-message channel, with the reasons).
 */
public final class NodeConfig {
    /** Every node's actor system has this name: Pekko only lets systems of the same name form a cluster. */
    public static final String SYSTEM = "tfmq";

    private NodeConfig() {}

    /** @param seeds "host:port" of each seed node */
    public static Config of(String role, String host, int port, String bindHost, List<String> seeds, ClusterConfig c) {
        List<String> seedAddresses = new ArrayList<>();
        for (String s : seeds) {
            String[] hp = ClusterConfig.hostPort(s, "seed node");
            seedAddresses.add("pekko://" + SYSTEM + "@" + (hp[0].contains(":") ? "[" + hp[0] + "]" : hp[0]) + ":" + hp[1]);
        }
        Config node = ConfigFactory.parseMap(Map.of(
                "pekko.actor.provider", "cluster",
                "pekko.remote.artery.transport", "tcp",
                "pekko.remote.artery.canonical.hostname", host,
                "pekko.remote.artery.canonical.port", port,
                "pekko.remote.artery.bind.hostname", bindHost,
                "pekko.cluster.roles", List.of(role),
                "pekko.cluster.failure-detector.acceptable-heartbeat-pause", c.heartbeatPause().toMillis() + "ms",
                "pekko.cluster.split-brain-resolver.stable-after", c.downUnreachableAfter().toMillis() + "ms"));
        node = node.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(seedAddresses));
        // heartbeats must come several times within the pause for the failure detector to tell a stall from a death
        if (c.heartbeatPause().toMillis() < 3000) {
            node = node.withValue("pekko.cluster.failure-detector.heartbeat-interval",
                    ConfigValueFactory.fromAnyRef(Math.max(100, c.heartbeatPause().toMillis() / 4) + "ms"));
        }
        // -Dpekko.… still overrides tfmq-cluster.conf, which overrides the libraries' reference.conf
        return node.withFallback(ConfigFactory.systemProperties()).withFallback(ConfigFactory.parseResources("tfmq-cluster.conf"))
                .withFallback(ConfigFactory.load());
    }
}
