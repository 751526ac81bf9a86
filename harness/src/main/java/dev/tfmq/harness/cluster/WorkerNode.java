package dev.tfmq.harness.cluster;

import dev.tfmq.harness.config.ClusterConfig;
import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.pipeline.Nd4jThreads;
import dev.tfmq.harness.run.RunLauncher;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;

import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Runs one worker node ({@code tfmq worker --join HOST:PORT}) until the run it joined is over, and returns the exit
 * code ({@link WorkerAgent#FINISHED} etc.). Joining retries until the coordinator answers (Pekko's seed-node join,
 * never given up); a worker downed by the split-brain resolver, or whose coordinator left, ends with
 * {@link WorkerAgent#COORDINATOR_LOST}.
 */
public final class WorkerNode {
    private WorkerNode() {}

    /**
     * @param sets  {@code tfmq.cluster} overrides (key=value, as {@code --set}); the environment's TFMQ_CLUSTER_* apply too
     * @param parts test replacements of the models (null in production)
     */
    public static int run(String join, String host, int port, List<String> sets, RunLauncher.Parts parts, PrintStream log) {
        ClusterConfig cluster = ClusterConfig.of(ConfigLoader.load(null, sets));
        ClusterConfig.hostPort(join, "--join");
        // the coordinator's host key names the coordinator; this node is named by --host and binds there unless
        // tfmq.cluster.bind-host says otherwise (containers: 0.0.0.0)
        String bind = cluster.bindHost().equals(cluster.host()) ? host : cluster.bindHost();
        Nd4jThreads.limitCurrentThread(1);
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        ActorSystem<WorkerAgent.Command> system = ActorSystem.create(
                org.apache.pekko.actor.typed.javadsl.Behaviors.setup(ctx -> WorkerAgent.create(
                        Cluster.get(ctx.getSystem()).selfMember().address().toString(), exit, parts, log)),
                NodeConfig.SYSTEM, NodeConfig.of("worker", host, port, bind, List.of(join), cluster));
        log.println("tfmq: worker " + Cluster.get(system).selfMember().address() + " joining " + join
                + " (retrying until the coordinator answers)");
        system.getWhenTerminated().thenRun(() -> {
            if (exit.complete(WorkerAgent.COORDINATOR_LOST)) {
                log.println("tfmq: worker left the cluster before the run finished (downed, or the coordinator is gone); exit code "
                        + WorkerAgent.COORDINATOR_LOST);
            }
        });
        int code = exit.join();
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().join();
        return code;
    }
}
