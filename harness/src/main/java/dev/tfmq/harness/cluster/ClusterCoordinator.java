package dev.tfmq.harness.cluster;

import com.typesafe.config.Config;
import dev.tfmq.harness.actors.BatchSource;
import dev.tfmq.harness.actors.MetricAggregator;
import dev.tfmq.harness.actors.RunCoordinator;
import dev.tfmq.harness.actors.RunPlan;
import dev.tfmq.harness.actors.WorkDistribution;
import dev.tfmq.harness.config.ClusterConfig;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.run.RunDirectory;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.typed.Cluster;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The coordinator's side of a cluster run ({@code tfmq run CONFIG --cluster}): the node's Pekko settings (role
 * coordinator, seed of the cluster unless seed nodes are configured), and the {@link WorkDistribution} that puts a
 * {@link WorkLedger} between the batches and every node's conductor, its own included.
 */
public final class ClusterCoordinator implements WorkDistribution {
    private final RunConfig cfg;
    private final ClusterConfig cluster;
    private final RunDirectory dir;
    private final WorkLedger.Descriptor descriptor;
    private final PrintStream log;
    private ActorRef<WorkLedger.Command> ledger;
    private String self;

    /** @param recipeText the recipe config the quantized side was built from (HOCON/JSON text) */
    public ClusterCoordinator(RunConfig cfg, RunDirectory dir, Map<String, Object> provenance, String recipeText, PrintStream log) {
        this.cfg = cfg;
        this.cluster = ClusterConfig.of(cfg);
        this.dir = dir;
        this.log = log;
        try {
            this.descriptor = new WorkLedger.Descriptor("tfmq {\n" + cfg.render() + "\n}\n", cfg.baseDir().toString(), recipeText,
                    RunDirectory.JSON.writeValueAsString(provenance));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot encode the provenance for the workers: " + e.getMessage(), e);
        }
    }

    public Config pekkoConfig() {
        String me = cluster.host() + ":" + cluster.port();
        List<String> seeds = cluster.seedNodes().isEmpty() ? List.of(me) : cluster.seedNodes();
        if (cluster.port() == 0 && cluster.seedNodes().isEmpty()) {
            // a node cannot name itself as seed before it knows its port: it joins itself once started (see results)
            seeds = List.of();
        }
        return NodeConfig.of("coordinator", cluster.host(), cluster.port(), cluster.bindHost(), seeds, cluster);
    }

    @Override
    public ActorRef<MetricAggregator.Command> results(ActorContext<RunCoordinator.Command> ctx, RunPlan plan, Pipeline pipeline) {
        Cluster c = Cluster.get(ctx.getSystem());
        self = c.selfMember().address().toString();
        if (cluster.port() == 0 && cluster.seedNodes().isEmpty()) c.manager().tell(org.apache.pekko.cluster.typed.Join.create(c.selfMember().address()));
        String joinAt = cluster.host() + ":" + c.selfMember().address().getPort().get();
        log.println("tfmq: cluster coordinator " + self + " — start workers with: ./tfmq worker --join " + joinAt);
        ledger = ctx.spawn(WorkLedger.create(self, descriptor, plan.state().committedBatches(), plan.samples(), plan.batchSize(),
                cluster.minWorkers(), pipeline.aggregator(), pipeline.publisher(), pipeline.selector(), dir, log), "ledger");
        ctx.watch(ledger);
        ActorRef<MetricAggregator.Command> shipper = ctx.spawn(WorkLedger.shipper(self, ledger), "results");
        ctx.watch(shipper);
        return shipper;
    }

    @Override
    public ActorRef<BatchSource.Command> source(ActorContext<RunCoordinator.Command> ctx, RunPlan plan) {
        return ctx.spawn(WorkLedger.client(self, ledger), "source");
    }

    @Override
    public boolean localWorkers() {
        return cluster.localWorkers();
    }

    @Override
    public void samplingStarted(SelectionTable table) {
        if (!cluster.localWorkers()) {
            log.println("tfmq: the coordinator samples nothing itself (tfmq.cluster.local-workers = false); waiting for "
                    + Math.max(1, cluster.minWorkers()) + " worker(s)");
        }
        ledger.tell(new WorkLedger.Open(table));
    }

    /** Tells the workers the run is over (they exit 0) and returns the cluster block of summary.json. */
    public Map<String, Object> finish(ActorSystem<?> system) {
        WorkLedger.Report r = AskPattern.<WorkLedger.Command, WorkLedger.Report>ask(ledger, WorkLedger.Finish::new,
                Duration.ofSeconds(30), system.scheduler()).toCompletableFuture().join();
        Map<String, Object> m = new java.util.LinkedHashMap<>(r.summary());
        m.put("local_workers", cluster.localWorkers());
        m.put("note", "statistics are committed in batch order at the coordinator: identical to a single-node run");
        return m;
    }

}
