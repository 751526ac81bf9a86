package dev.tfmq.harness.cluster;

import com.typesafe.config.Config;
import dev.tfmq.harness.TestModels;
import dev.tfmq.harness.config.ClusterConfig;
import dev.tfmq.harness.config.ConfigError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeConfigTest {
    @TempDir
    Path tmp;

    @Test
    void aNodeGetsTheClusterKeysTheSplitBrainResolverAndTheLargeMessageChannel() {
        ClusterConfig c = ClusterConfig.of(TestModels.config(tmp, "cluster.host=10.0.0.5", "cluster.bind-host=0.0.0.0",
                "cluster.down-unreachable-after=7s", "cluster.heartbeat-pause=1s"));
        assertEquals("0.0.0.0", c.bindHost());
        Config n = NodeConfig.of("worker", "10.0.0.6", 0, "0.0.0.0", List.of("10.0.0.5:25520"), c);
        assertEquals("cluster", n.getString("pekko.actor.provider"));
        assertEquals(List.of("pekko://tfmq@10.0.0.5:25520"), n.getStringList("pekko.cluster.seed-nodes"));
        assertEquals(List.of("worker"), n.getStringList("pekko.cluster.roles"));
        assertEquals("10.0.0.6", n.getString("pekko.remote.artery.canonical.hostname"));
        assertEquals("0.0.0.0", n.getString("pekko.remote.artery.bind.hostname"));
        assertEquals(7000, n.getDuration("pekko.cluster.split-brain-resolver.stable-after").toMillis());
        assertEquals(250, n.getDuration("pekko.cluster.failure-detector.heartbeat-interval").toMillis());
        assertEquals("org.apache.pekko.cluster.sbr.SplitBrainResolverProvider", n.getString("pekko.cluster.downing-provider-class"));
        assertEquals("keep-oldest", n.getString("pekko.cluster.split-brain-resolver.active-strategy"));
        assertEquals("coordinator", n.getString("pekko.cluster.split-brain-resolver.keep-oldest.role"));
        assertTrue(n.getStringList("pekko.remote.artery.large-message-destinations").contains("/user/ledger"));
        assertEquals(16 << 20, n.getBytes("pekko.remote.artery.advanced.maximum-large-frame-size"));
    }

    @Test
    void badClusterKeysAreNamed() {
        String m = assertThrows(ConfigError.class, () -> ClusterConfig.of(TestModels.config(tmp, "cluster.seed-nodes=[\"nohost\"]")))
                .getMessage();
        assertTrue(m.contains("tfmq.cluster.seed-nodes[0]") && m.contains("nohost"), m);
        m = assertThrows(ConfigError.class, () -> ClusterConfig.of(TestModels.config(tmp, "cluster.down-unreachable-after=soon")))
                .getMessage();
        assertTrue(m.contains("tfmq.cluster.down-unreachable-after") && m.contains("soon"), m);
    }
}
