package dev.tfmq.harness.cluster;

import dev.tfmq.harness.actors.BatchConductor;
import dev.tfmq.harness.actors.BatchSource;
import dev.tfmq.harness.actors.BatchSpec;
import dev.tfmq.harness.actors.CborMessage;
import dev.tfmq.harness.actors.MetricAggregator;
import dev.tfmq.harness.actors.Publisher;
import dev.tfmq.harness.actors.StrategySelector;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.run.RunDirectory;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The coordinator's work-pulling ledger, registered with the cluster Receptionist: every node's conductor (the
 * coordinator's own one included) asks it for batches; results come back to it and go on to the aggregator, which
 * commits them in batch order — so the statistics do not depend on which node computed what. It watches every
 * conductor: when a node is downed and removed (split-brain resolver, see reference.conf), the batches it held are
 * handed out again. It keeps the members table for the dashboard and Prometheus. The bookkeeping is
 * {@link ClusterBook}.
 */
public final class WorkLedger {
    public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "tfmq-work-ledger");

    public sealed interface Command extends CborMessage
            permits Enlist, Pull, Completed, Refused, Departed, Open, Release, Finish, MemberChanged, Tick, FarewellTimeout {}

    /** A worker node's agent announces itself; it gets the run (a {@link WorkerAgent.RunAssignment}) once sampling is open. */
    public record Enlist(String node, ActorRef<WorkerAgent.Command> agent) implements Command {}

    /** A node's conductor asks for a batch (work pulling); answered with Assigned, or SourceExhausted when all have arrived. */
    public record Pull(String node, ActorRef<BatchConductor.Command> conductor) implements Command {}

    /** A node's finished batch: both parts the aggregator needs. */
    public record Completed(String node, MetricAggregator.BatchFeatures features, MetricAggregator.BatchDisturbance disturbance)
            implements Command {}

    /** A worker refused the run (e.g. a checksum differs from the coordinator's provenance). */
    public record Refused(String node, String reason) implements Command {}

    /** A worker acknowledged the end of the run. */
    public record Departed(String node) implements Command {}

    /** Sampling may start with this selection (local, from the coordinator). */
    public record Open(SelectionTable selection) implements Command {}

    /**
     * Batches [from, to) may be handed out, sampled with {@code selection} (null: the table of the run assignment);
     * from the coordinator's source client (local).
     */
    public record Release(int from, int to, SelectionTable selection) implements Command {}

    /** The run is over: tell the workers, then reply with the cluster report (local). */
    public record Finish(ActorRef<Report> replyTo) implements Command {}

    public record Report(Map<String, Object> summary) {}

    /** Membership as seen by this node (local, from the cluster event subscription). */
    public record MemberChanged(String address, List<String> roles, String status, boolean gone) implements Command {}

    public record Tick() implements Command {}

    public record FarewellTimeout() implements Command {}

    /** What every worker needs to rebuild this run's models and verify them (see {@code WorkerModels}). */
    public record Descriptor(String configText, String baseDir, String recipeText, String provenanceJson) implements CborMessage {}

    private WorkLedger() {}

    /**
     * @param self        this node's address (the coordinator's own conductor pulls under it)
     * @param minWorkers  worker nodes that must be pulling before the first batch is handed out
     */
    public static Behavior<Command> create(String self, Descriptor descriptor, int firstBatch, int samples, int batchSize, int minWorkers,
                                           ActorRef<MetricAggregator.Command> aggregator, ActorRef<Publisher.Command> publisher,
                                           ActorRef<StrategySelector.Command> selector, RunDirectory dir, PrintStream log) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Object() {
            final ClusterBook book = new ClusterBook(firstBatch, samples, batchSize, 32);
            // batch index → the table it is sampled with (online selection); every copy of a batch gets the same one
            final Map<Integer, SelectionTable> tables = new HashMap<>();
            { book.holdAll(); }
            final Map<String, ActorRef<WorkerAgent.Command>> agents = new LinkedHashMap<>();
            final Map<ActorRef<BatchConductor.Command>, String> conductors = new HashMap<>();
            final Deque<Pull> parked = new ArrayDeque<>();
            // results go on to the aggregator with this as their conductor: nodes are acknowledged on arrival instead
            final ActorRef<BatchConductor.Command> nobody = ctx.spawn(Behaviors.ignore(), "acknowledged");
            WorkerAgent.RunAssignment assignment;
            ActorRef<Report> finishing;
            boolean dirty = true;

            Behavior<Command> start() {
                ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
                Cluster cluster = Cluster.get(ctx.getSystem());
                cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberEvent.class,
                        e -> changed(e.member(), e instanceof ClusterEvent.MemberRemoved ? "removed" : status(e.member()))),
                        ClusterEvent.MemberEvent.class));
                cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.ReachabilityEvent.class,
                        e -> changed(e.member(), e instanceof ClusterEvent.UnreachableMember ? "unreachable" : status(e.member()))),
                        ClusterEvent.ReachabilityEvent.class));
                timers.startTimerWithFixedDelay(new Tick(), Duration.ofMillis(500));
                return Behaviors.receive(Command.class)
                        .onMessage(Enlist.class, this::enlist)
                        .onMessage(Open.class, o -> {
                            assignment = new WorkerAgent.RunAssignment(descriptor, o.selection(), ctx.getSelf(), publisher, selector);
                            agents.values().forEach(a -> a.tell(assignment));
                            serve();
                            return Behaviors.same();
                        })
                        .onMessage(Release.class, r -> {
                            if (r.selection() != null) for (int i = r.from(); i < r.to(); i++) tables.put(i, r.selection());
                            book.allowUpTo(r.to());
                            serve();
                            return Behaviors.same();
                        })
                        .onMessage(Pull.class, p -> {
                            if (conductors.putIfAbsent(p.conductor(), p.node()) == null) ctx.watch(p.conductor());
                            book.pulling(p.node());
                            parked.add(p);
                            serve();
                            return Behaviors.same();
                        })
                        .onMessage(Completed.class, this::completed)
                        .onMessage(Refused.class, r -> {
                            log.println("tfmq: worker " + r.node() + " refused the run: " + r.reason());
                            dir.journal("worker-refused", Map.of("node", r.node(), "reason", r.reason()));
                            book.member(r.node(), List.of("worker"), "refused");
                            dirty = true;
                            return Behaviors.same();
                        })
                        .onMessage(MemberChanged.class, m -> {
                            book.member(m.address(), m.roles(), m.status());
                            if (m.gone()) lost(m.address(), "removed from the cluster");
                            dirty = true;
                            return Behaviors.same();
                        })
                        .onMessage(Tick.class, t -> {
                            publish();
                            return Behaviors.same();
                        })
                        .onMessage(Finish.class, f -> {
                            finishing = f.replyTo();
                            agents.values().forEach(a -> a.tell(new WorkerAgent.RunOver(ctx.getSelf())));
                            if (agents.isEmpty()) return farewell();
                            timers.startSingleTimer(new FarewellTimeout(), Duration.ofSeconds(5));
                            return Behaviors.same();
                        })
                        .onMessage(Departed.class, d -> {
                            agents.remove(d.node());
                            return finishing != null && agents.isEmpty() ? farewell() : Behaviors.same();
                        })
                        .onMessage(FarewellTimeout.class, t -> farewell())
                        .onSignal(Terminated.class, t -> {
                            String node = conductors.remove(t.getRef());
                            if (node != null) lost(node, "its conductor stopped");
                            agents.values().remove(t.getRef());
                            return Behaviors.same();
                        })
                        .build();
            }

            Behavior<Command> enlist(Enlist e) {
                if (agents.put(e.node(), e.agent()) == null) ctx.watch(e.agent());
                dir.journal("worker-enlisted", Map.of("node", e.node()));
                if (assignment != null) e.agent().tell(assignment);
                if (finishing != null) e.agent().tell(new WorkerAgent.RunOver(ctx.getSelf()));
                return Behaviors.same();
            }

            Behavior<Command> completed(Completed c) {
                int i = c.features().batch().index();
                // the node may pull again whatever happens to this copy of the batch
                c.features().conductor().tell(new BatchConductor.BatchCommitted(i));
                if (book.receive(c.node(), i, System.nanoTime()) == ClusterBook.Receipt.DUPLICATE) {
                    dir.journal("duplicate-result-dropped", Map.of("index", i, "node", c.node()));
                } else {
                    this.tables.remove(i);
                    MetricAggregator.BatchFeatures f = c.features();
                    aggregator.tell(new MetricAggregator.BatchFeatures(f.batch(), f.fpPooled(), f.qPooled(), f.fpSpatial(), f.qSpatial(),
                            f.mse(), f.psnr(), f.ssim(), f.fpForwardNanos(), f.qForwardNanos(), nobody));
                    aggregator.tell(c.disturbance());
                }
                dirty = true;
                serve();
                return Behaviors.same();
            }

            void lost(String node, String why) {
                parked.removeIf(p -> p.node().equals(node));
                conductors.values().removeIf(node::equals);
                List<Integer> back = book.release(node);
                if (!back.isEmpty()) {
                    log.println("tfmq: node " + node + " is gone (" + why + "); its batches " + back + " go to other workers");
                    dir.journal("batches-reassigned", Map.of("node", node, "batches", back));
                }
                dirty = true;
                serve();
            }

            /** Answers parked pulls in arrival order while batches may be handed out. */
            void serve() {
                if (assignment == null || book.pullingNodes(self) < minWorkers) return;
                while (!parked.isEmpty()) {
                    Pull p = parked.peek();
                    if (book.complete()) {
                        parked.poll().conductor().tell(new BatchConductor.SourceExhausted());
                        continue;
                    }
                    Optional<BatchSpec> b = book.assign(p.node(), System.nanoTime());
                    if (b.isEmpty()) return;
                    parked.poll();
                    dir.journal("batch-assigned", Map.of("index", b.get().index(), "node", p.node()));
                    p.conductor().tell(new BatchConductor.Assigned(b.get(), tables.get(b.get().index())));
                    dirty = true;
                }
            }

            void publish() {
                if (!dirty) return;
                dirty = false;
                publisher.tell(new Publisher.MembersUpdate(book.rows(), book.up()));
            }

            Behavior<Command> farewell() {
                dirty = true;
                publish();
                if (finishing != null) finishing.tell(new Report(book.report()));
                finishing = null;
                return Behaviors.same();
            }
        }.start()));
    }

    private static String status(Member m) {
        return m.status().toString().toLowerCase(java.util.Locale.ROOT);
    }

    private static Command changed(Member m, String status) {
        List<String> roles = new ArrayList<>(m.getRoles());
        roles.removeIf(r -> r.startsWith("dc-"));
        java.util.Collections.sort(roles);
        return new MemberChanged(m.address().toString(), roles, status, status.equals("removed"));
    }

    /**
     * What a node's conductor pulls from: forwards each request to the ledger under the node's address (and, on the
     * coordinator, the coordinator's releases of batches).
     */
    public static Behavior<BatchSource.Command> client(String node, ActorRef<Command> ledger) {
        return Behaviors.receive(BatchSource.Command.class)
                .onMessage(BatchSource.RequestBatch.class, r -> {
                    ledger.tell(new Pull(node, r.replyTo()));
                    return Behaviors.same();
                })
                .onMessage(BatchSource.Release.class, r -> {
                    ledger.tell(new Release(r.from(), r.to(), r.selection()));
                    return Behaviors.same();
                })
                .build();
    }

    /**
     * Where a node's monitor and feature worker send a finished batch's parts: once both are in, the batch goes to
     * the ledger as one message.
     */
    public static Behavior<MetricAggregator.Command> shipper(String node, ActorRef<Command> ledger) {
        return Behaviors.setup(ctx -> {
            Map<Integer, MetricAggregator.BatchFeatures> features = new HashMap<>();
            Map<Integer, MetricAggregator.BatchDisturbance> tables = new HashMap<>();
            return Behaviors.receive(MetricAggregator.Command.class)
                    .onMessage(MetricAggregator.BatchFeatures.class, f -> {
                        MetricAggregator.BatchDisturbance d = tables.remove(f.batch().index());
                        if (d == null) features.put(f.batch().index(), f);
                        else ledger.tell(new Completed(node, f, d));
                        return Behaviors.same();
                    })
                    .onMessage(MetricAggregator.BatchDisturbance.class, d -> {
                        MetricAggregator.BatchFeatures f = features.remove(d.batch().index());
                        if (f == null) tables.put(d.batch().index(), d);
                        else ledger.tell(new Completed(node, f, d));
                        return Behaviors.same();
                    })
                    .onMessage(MetricAggregator.SamplingStarted.class, s -> Behaviors.same())
                    .build();
        });
    }
}
