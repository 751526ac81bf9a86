package dev.tfmq.harness.cluster;

import com.typesafe.config.ConfigFactory;
import dev.tfmq.harness.actors.BatchConductor;
import dev.tfmq.harness.actors.BatchSource;
import dev.tfmq.harness.actors.CborMessage;
import dev.tfmq.harness.actors.DenoisingWorker;
import dev.tfmq.harness.actors.DisturbanceMonitor;
import dev.tfmq.harness.actors.FeatureWorker;
import dev.tfmq.harness.actors.MetricAggregator;
import dev.tfmq.harness.actors.Publisher;
import dev.tfmq.harness.actors.RunCoordinator;
import dev.tfmq.harness.actors.StrategySelector;
import dev.tfmq.harness.config.ConfigLoader;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.eval.SelectionTable;
import dev.tfmq.harness.pipeline.TrajectoryStepper;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.harness.run.RunLauncher;
import dev.tfmq.harness.run.WorkerModels;
import dev.tfmq.model.scheduler.NoiseSource;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A worker node: finds the coordinator's {@link WorkLedger} through the Receptionist, enlists, receives the run,
 * rebuilds and verifies the models ({@link WorkerModels}; a mismatch refuses the run with exit code 2), then runs the
 * same pipeline as a single-node run (conductor, FP and quantized worker on their own threads, monitor, feature
 * worker) pulling batches from the ledger, until the coordinator says the run is over (exit code 0).
 */
public final class WorkerAgent {
    public sealed interface Command extends CborMessage
            permits RunAssignment, RunOver, LedgerListing, Prepared, LocalEvent, SelectorEvent {}

    /** The run to join: the coordinator's config and provenance, the selection to apply and where to report. */
    public record RunAssignment(WorkLedger.Descriptor run, SelectionTable selection, ActorRef<WorkLedger.Command> ledger,
                                ActorRef<Publisher.Command> publisher, ActorRef<StrategySelector.Command> selector) implements Command {}

    public record RunOver(ActorRef<WorkLedger.Command> replyTo) implements Command {}

    /** Local: the Receptionist's view of the ledger. */
    public record LedgerListing(Receptionist.Listing listing) implements Command {}

    /** Local: models rebuilt and verified (or the reason why not). */
    public record Prepared(RunConfig config, WorkerModels.Models models, Throwable error) implements Command {}

    /** Local: what the pipeline tells its coordinator (selection applied) arrives here. */
    public record LocalEvent(RunCoordinator.Command event) implements Command {}

    /** Local: what the monitor tells its selector; the per-step observations go on to the coordinator's selector. */
    public record SelectorEvent(StrategySelector.Command event) implements Command {}

    /** Exit codes of a worker process. */
    public static final int FINISHED = 0, FAILED = 1, REFUSED = 2, COORDINATOR_LOST = 3;

    private WorkerAgent() {}

    /**
     * @param node  this node's cluster address
     * @param exit  completed with the process exit code
     * @param parts test replacements of the models (null: the files named by the coordinator's config)
     */
    public static Behavior<Command> create(String node, CompletableFuture<Integer> exit, RunLauncher.Parts parts, PrintStream log) {
        return Behaviors.setup(ctx -> new Object() {
            ActorRef<WorkLedger.Command> ledger;
            RunAssignment run;
            ActorRef<BatchConductor.Command> conductor;
            int applied;

            Behavior<Command> start() {
                ctx.getSystem().receptionist().tell(Receptionist.subscribe(WorkLedger.KEY,
                        ctx.messageAdapter(Receptionist.Listing.class, LedgerListing::new)));
                return Behaviors.receive(Command.class)
                        .onMessage(LedgerListing.class, l -> {
                            Set<ActorRef<WorkLedger.Command>> found = l.listing().getServiceInstances(WorkLedger.KEY);
                            if (ledger == null && !found.isEmpty()) {
                                ledger = found.iterator().next();
                                log.println("tfmq: worker " + node + " joined; enlisting with the coordinator's ledger");
                                ledger.tell(new WorkLedger.Enlist(node, ctx.getSelf()));
                            } else if (ledger != null && !found.contains(ledger)) {
                                return end(COORDINATOR_LOST, "the coordinator left before the run finished");
                            }
                            return Behaviors.same();
                        })
                        .onMessage(RunAssignment.class, a -> {
                            if (run != null) return Behaviors.same();
                            run = a;
                            log.println("tfmq: worker " + node + " verifying and loading the models of the run");
                            ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> prepare(a)),
                                    (p, e) -> p != null ? p : new Prepared(null, null, e.getCause() != null ? e.getCause() : e));
                            return Behaviors.same();
                        })
                        .onMessage(Prepared.class, p -> {
                            if (p.error() != null) {
                                String why = p.error() instanceof WorkerModels.Refused ? p.error().getMessage() : String.valueOf(p.error());
                                run.ledger().tell(new WorkLedger.Refused(node, why));
                                return end(REFUSED, "refused the run: " + why);
                            }
                            startPipeline(p.config(), p.models());
                            return Behaviors.same();
                        })
                        .onMessage(LocalEvent.class, e -> {
                            if (e.event() instanceof RunCoordinator.SelectionApplied && ++applied == 2) {
                                log.println("tfmq: worker " + node + " sampling");
                                conductor.tell(new BatchConductor.Begin());
                            }
                            return Behaviors.same();
                        })
                        .onMessage(SelectorEvent.class, e -> {
                            if (e.event() instanceof StrategySelector.StepObserved o) run.selector().tell(o);
                            return Behaviors.same();
                        })
                        .onMessage(RunOver.class, o -> {
                            o.replyTo().tell(new WorkLedger.Departed(node));
                            return end(FINISHED, "the run is over");
                        })
                        .onSignal(ChildFailed.class, f -> end(FAILED, "pipeline failed: " + f.getCause()))
                        .build();
            }

            Behavior<Command> end(int code, String why) {
                log.println("tfmq: worker " + node + ": " + why + " (exit code " + code + ")");
                exit.complete(code);
                return Behaviors.stopped();
            }

            Prepared prepare(RunAssignment a) {
                try {
                    Path scratch = Files.createTempDirectory("tfmq-worker");
                    Path conf = scratch.resolve("run.conf");
                    Files.writeString(conf, a.run().configText());
                    // a worker serves no dashboard, so the coordinator's bind address asks no token of it
                    RunConfig cfg = ConfigLoader.load(conf, List.of("dashboard.enabled=false"), Map.of());
                    WorkerModels.Models m = WorkerModels.prepare(cfg, ConfigFactory.parseString(a.run().recipeText()),
                            RunDirectory.JSON.readTree(a.run().provenanceJson()), parts, log);
                    return new Prepared(cfg, m, null);
                } catch (Exception e) {
                    return new Prepared(null, null, e);
                }
            }

            void startPipeline(RunConfig cfg, WorkerModels.Models m) throws java.io.IOException {
                long[] ts = m.schedule().timesteps();
                int threads = cfg.workers().nd4jThreads(), probe = cfg.monitor().probeSamples();
                ActorRef<MetricAggregator.Command> results = ctx.spawn(WorkLedger.shipper(node, run.ledger()), "results");
                ActorRef<StrategySelector.Command> selector = ctx.messageAdapter(StrategySelector.Command.class, SelectorEvent::new);
                ActorRef<RunCoordinator.Command> local = ctx.messageAdapter(RunCoordinator.Command.class, LocalEvent::new);
                ActorRef<DisturbanceMonitor.Command> monitor = watch(ctx.spawn(DisturbanceMonitor.create(ts, cfg.selection().metric(),
                        selector, results), "monitor"));
                DenoisingWorker.StepperFactory stepper = side -> new TrajectoryStepper(side, m.scheduler().get(), m.schedule(),
                        new NoiseSource(cfg.run().seed()), m.sampleShape());
                ActorRef<DenoisingWorker.Command> fp = watch(ctx.spawn(DenoisingWorker.create("fp", m.fp(), stepper, threads, probe, monitor),
                        "fp-worker", DispatcherSelector.fromConfig("tfmq-dispatchers.fp-worker")));
                ActorRef<DenoisingWorker.Command> q = watch(ctx.spawn(DenoisingWorker.create("quantized", m.quantized(), stepper, threads,
                        probe, monitor), "quantized-worker", DispatcherSelector.fromConfig("tfmq-dispatchers.quantized-worker")));
                // grids land in a scratch folder here and go live to the coordinator's dashboard
                RunDirectory scratch = new RunDirectory(Files.createTempDirectory("tfmq-worker-grids"));
                ActorRef<FeatureWorker.Command> features = watch(ctx.spawn(FeatureWorker.create(m.featurizer(), scratch, 0, threads,
                        results, run.publisher()), "features", DispatcherSelector.fromConfig("tfmq-dispatchers.metrics")));
                ActorRef<BatchSource.Command> source = watch(ctx.spawn(WorkLedger.client(node, run.ledger()), "source"));
                conductor = watch(ctx.spawn(BatchConductor.create(ts.length, 2, source, fp, q, features, local, null), "conductor"));
                long[] distinct = m.schedule().distinctTimesteps();
                // the monitor needs both sides' TIB members before the first step report, as on the coordinator
                for (ActorRef<DenoisingWorker.Command> w : List.of(fp, q)) {
                    w.tell(new DenoisingWorker.ProbeTemporal(distinct, monitor));
                    w.tell(new DenoisingWorker.ApplySelection(run.selection(), local));
                }
            }

            <T> ActorRef<T> watch(ActorRef<T> ref) {
                ctx.watch(ref);
                return ref;
            }
        }.start());
    }

}
