package dev.tfmq.harness.cli;

import dev.tfmq.harness.cluster.WorkerNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code tfmq worker --join HOST:PORT}: a worker node of a cluster run. */
@Command(name = "worker", description = "Join a cluster run (started with 'tfmq run CONFIG --cluster') as a worker: load and verify "
        + "the run's models, pull sample batches until the run is over. Exit code 0 = run finished, 1 = pipeline failed, "
        + "2 = refused (files differ from the coordinator's, or bad input), 3 = left the cluster before the run finished.")
public final class WorkerCommand implements Callable<Integer> {
    @Option(names = "--join", required = true, paramLabel = "HOST:PORT", description = "the coordinator's cluster address "
            + "(tfmq.cluster.host:port); retried until it answers")
    String join;

    @Option(names = "--host", defaultValue = "127.0.0.1", paramLabel = "ADDR", description = "this node's hostname or IP as the "
            + "other nodes reach it (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "0", paramLabel = "P", description = "this node's cluster port (default 0 = any free)")
    int port;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a tfmq.cluster key (repeatable), e.g. "
            + "--set cluster.down-unreachable-after=5s; TFMQ_CLUSTER_* environment variables apply too")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port " + port + ": expected 0..65535");
        return WorkerNode.run(join, host, port, sets, null, System.out);
    }
}
