package dev.tfmq.harness.run;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import dev.tfmq.harness.actors.LiveSink;
import dev.tfmq.harness.actors.MetricAggregator;
import dev.tfmq.harness.actors.RunCoordinator;
import dev.tfmq.harness.actors.RunPlan;
import dev.tfmq.harness.cluster.ClusterCoordinator;
import dev.tfmq.harness.cluster.NodeConfig;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.console.SamplingProgress;
import dev.tfmq.harness.eval.DisturbanceTable;
import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.OnlineSelection;
import dev.tfmq.harness.eval.QualityAccumulator;
import dev.tfmq.harness.gate.Gate;
import dev.tfmq.harness.gate.GateReport;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.pipeline.Nd4jThreads;
import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.harness.web.Dashboard;
import dev.tfmq.harness.web.PrometheusSink;
import dev.tfmq.metrics.features.FashionFeatureNet;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DConfig;
import dev.tfmq.model.unet.UNet2DModel;
import org.apache.pekko.actor.typed.ActorSystem;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * Runs one evaluation end to end: resolves the model, scheduler, quantized side (calibrated or from the artifact
 * cache), featurizer and reference statistics; restores the checkpoint on {@code --resume}; starts the dashboard and
 * the actor pipeline; writes summary.json and the gate reports. Plain orchestration: all numerics live in the eval
 * classes and all concurrency in the actors.
 */
public final class RunLauncher {
    /** Optional replacements of the pieces a config names (tests, benchmarks). */
    public record Parts(Supplier<DenoiserSide> fp, Supplier<DenoiserSide> quantized, Supplier<ImageFeaturizer> featurizer,
                        QualityAccumulator.Reference reference, SchedulerConfig scheduler, long[] sampleShape,
                        String modelFingerprint) {}

    public record Outcome(int exitCode, Path runDir, Map<String, Object> summary, Gate.Verdict verdict, String dashboardUrl) {}

    private final RunConfig cfg;
    private final PrintStream log;

    private boolean cluster;

    public RunLauncher(RunConfig cfg, PrintStream log) {
        this.cfg = cfg;
        this.log = log;
    }

    /** Run as the coordinator of a cluster ({@code tfmq.cluster}); workers join with {@code tfmq worker --join}. */
    public RunLauncher cluster(boolean on) {
        this.cluster = on;
        return this;
    }

    /**
     * Everything a run needs, resolved and checked before any expensive work (calibration, sampling, featurising):
     * a missing model, scheduler config, recipe, feature network, reference dataset or gate baseline fails here,
     * in well under a second, naming the config key and what provides it.
     */
    public record Preflight(Path runDir, Path cacheDir, Path modelDir, Path schedulerFile, SchedulerConfig scheduler,
                            long[] sampleShape, String modelHash, Config recipe, Path featuresDir, String featurizerKey,
                            ReferenceSet.Source reference, Path gateBaseline) {}

    /** Resolves and checks a run's inputs without loading a network or calibrating (also {@code tfmq run --check}). */
    public Preflight check(Path runDirArg, boolean resume, Parts parts) throws IOException {
        Path runDir = runDirArg != null ? runDirArg : Path.of("runs", cfg.run().name());
        if (resume && !Files.isDirectory(runDir)) {
            throw new java.io.FileNotFoundException("--resume: the run directory " + runDir + " does not exist, so there is no run to "
                    + "continue; check --run-dir / tfmq.run.name, or drop --resume to start a new run");
        }
        if (!resume && Files.isRegularFile(runDir.resolve(RunDirectory.CHECKPOINT))) {
            throw new IllegalArgumentException("run directory " + runDir + " already holds a run (" + RunDirectory.CHECKPOINT + "); "
                    + "add --resume to continue it or choose another --run-dir");
        }
        Path cacheDir = Path.of(cfg.quantization().cacheDir()).toAbsolutePath();
        Path modelDir = null, schedulerFile = null;
        SchedulerConfig sc;
        long[] shape;
        String modelHash;
        if (parts != null && parts.fp() != null) {
            sc = parts.scheduler();
            shape = parts.sampleShape();
            modelHash = parts.modelFingerprint();
        } else {
            try {
                modelDir = ModelLocator.resolve(cfg.model().path());
            } catch (java.io.FileNotFoundException e) {
                throw new java.io.FileNotFoundException("config key 'tfmq.model.path' = \"" + cfg.model().path() + "\": " + e.getMessage());
            }
            schedulerFile = schedulerConfigFile(modelDir);
            sc = SchedulerConfig.read(schedulerFile);
            UNet2DConfig uc = UNet2DConfig.read(modelDir.resolve("config.json"));
            int size = uc.sampleSize() == null ? 32 : uc.sampleSize();
            shape = new long[] {uc.inChannels(), size, size};
            modelHash = Hashing.sha256(modelDir);
        }
        Config recipe = recipe();
        if (parts == null || parts.quantized() == null) {
            provider(cfg.quantization().recipe()).check(cfg.quantization().recipe(), recipe, cfg.quantization().weightBits(),
                    cfg.quantization().activationBits());
        }
        Path featuresDir = null;
        String featurizerKey = "supplied";
        if (parts == null || parts.featurizer() == null) {
            try {
                featuresDir = ModelLocator.resolve(cfg.metrics().features());
            } catch (java.io.FileNotFoundException e) {
                throw new java.io.FileNotFoundException("config key 'tfmq.metrics.features' = \"" + cfg.metrics().features() + "\": "
                        + e.getMessage());
            }
            for (String f : List.of("config.json", "model.safetensors")) {
                if (!Files.isRegularFile(featuresDir.resolve(f))) {
                    throw new java.io.FileNotFoundException("config key 'tfmq.metrics.features' = \"" + cfg.metrics().features()
                            + "\": the feature network folder " + featuresDir + " has no " + f);
                }
            }
            featurizerKey = Hashing.sha256(featuresDir);
        }
        ReferenceSet.Source reference = parts != null && parts.reference() != null
                ? new ReferenceSet.Ready(parts.reference(), parts.reference().source())
                : ReferenceSet.resolve(cfg.metrics().referenceDataset(), cfg.metrics().referenceCount(), cfg.metrics().reservoir(),
                featuresDir, featurizerKey, cacheDir);
        Path baseline = null;
        if (cfg.gate().baseline() != null) {
            baseline = cfg.baseDir().resolve(cfg.gate().baseline());
            if (!Files.isRegularFile(baseline)) {
                throw new java.io.FileNotFoundException("config key 'tfmq.gate.baseline' = \"" + cfg.gate().baseline() + "\": no such file " + baseline);
            }
        }
        return new Preflight(runDir, cacheDir, modelDir, schedulerFile, sc, shape, modelHash, recipe, featuresDir, featurizerKey,
                reference, baseline);
    }

    public Outcome run(Path runDirArg, boolean resume, Parts parts) throws IOException, InterruptedException {
        // ---- preflight: every input checked before the expensive phases
        Preflight pre = check(runDirArg, resume, parts);
        // the same thread configuration for every thread that computes, so a resumed run (in a new JVM) rounds alike
        Nd4jThreads.limitCurrentThread(cfg.workers().nd4jThreads());
        RunDirectory dir = new RunDirectory(pre.runDir());
        Optional<Checkpoint> checkpoint = dir.readCheckpoint();   // the preflight refused one without --resume
        Path cacheDir = pre.cacheDir();

        // ---- featurizer and reference (before calibration: computing a reference is the cheaper failure)
        Supplier<ImageFeaturizer> featurizer;
        String featurizerKey = pre.featurizerKey();
        if (parts != null && parts.featurizer() != null) {
            featurizer = parts.featurizer();
        } else {
            Path fdir = pre.featuresDir();
            featurizer = () -> {
                try {
                    return new MetricsFeaturizer(FashionFeatureNet.load(fdir));
                } catch (IOException e) {
                    throw new IllegalStateException("cannot load the feature network " + fdir + ": " + e.getMessage(), e);
                }
            };
        }
        ImageFeaturizer probeFeaturizer = featurizer.get();
        if (pre.reference() instanceof ReferenceSet.Compute c) log.println("tfmq: reference statistics: " + c.describe());
        QualityAccumulator.Reference reference = ReferenceSet.load(pre.reference(), probeFeaturizer);
        ReferenceSet.checkDimensions(reference, probeFeaturizer);

        // ---- model, scheduler, quantized side
        Path modelDir = pre.modelDir();
        SchedulerConfig sc = pre.scheduler();
        Path schedulerFile = pre.schedulerFile();
        long[] shape = pre.sampleShape();
        String modelHash = pre.modelHash();
        Supplier<DenoiserSide> fp;
        Supplier<DenoiserSide> quantized = parts == null ? null : parts.quantized();
        Map<String, Object> provenance = new LinkedHashMap<>();
        boolean cacheHit = false;
        if (parts != null && parts.fp() != null) {
            fp = parts.fp();
            provenance.put("model", "supplied by caller: " + modelHash);
        } else {
            Path md = modelDir;
            fp = () -> new UNetSide("fp", load(md));
            provenance.put("model", Map.of("path", modelDir.toString(), "sha256", modelHash));
        }
        TimestepSchedule schedule = TimestepSchedule.spaced(sc, cfg.model().steps());
        SchedulerConfig.Kind kind = Schedulers.kind(cfg.model().scheduler());
        Supplier<Scheduler> scheduler = () -> Schedulers.create(sc, kind, cfg.model().eta());
        Config recipe = pre.recipe();
        String recipeText = recipe.root().render(ConfigRenderOptions.concise());
        String artifactKey = Hashing.sha256(modelHash + "|" + sc + "|" + cfg.model().steps() + "|" + cfg.quantization().recipe()
                + "|" + recipeText + "|" + cfg.quantization().bits() + "|" + cfg.run().seed()).substring(0, 20);
        provenance.put("recipe", Map.of("name", cfg.quantization().recipe(), "bits", cfg.quantization().bits(),
                "sha256", Hashing.sha256(recipeText), "artifact_key", artifactKey));
        double prepareSeconds = 0;
        if (parts == null || parts.quantized() == null) {
            QuantizedSideProvider provider = provider(cfg.quantization().recipe());
            long t0 = System.nanoTime();
            log.println("tfmq: preparing the quantized model (" + cfg.quantization().recipe() + " " + cfg.quantization().bits() + ")...");
            QuantizedSideProvider.Prepared p = provider.prepare(new QuantizedSideProvider.Request(modelDir, cfg.quantization().recipe(),
                    recipe, cfg.quantization().weightBits(), cfg.quantization().activationBits(), sc, schedulerFile,
                    cfg.model().scheduler(), cfg.model().eta(), cfg.model().steps(), schedule, cfg.run().seed(),
                    cacheDir.resolve("artifacts").resolve(artifactKey), log));
            quantized = p.factory();
            cacheHit = p.cacheHit();
            prepareSeconds = (System.nanoTime() - t0) / 1e9;
            Map<String, Object> qp = new LinkedHashMap<>(p.provenance());
            qp.put("cache_hit", p.cacheHit());
            qp.put("prepare_seconds", prepareSeconds);
            provenance.put("quantization", qp);
            log.printf("tfmq: quantized model %s in %.1f s%n", p.cacheHit() ? "loaded from cache" : "calibrated", prepareSeconds);
        }
        provenance.put("features", Map.of("name", probeFeaturizer.name(), "sha256", featurizerKey,
                "pooled_dim", probeFeaturizer.pooledDim(), "spatial_dim", probeFeaturizer.spatialDim()));
        provenance.put("reference", reference.source());

        // ---- state
        // the fused Vector API kernels round differently from the ND4J fallback: a resume must use the same path
        String kernels = dev.tfmq.model.nn.FusedKernels.enabled() ? "fused-vector-kernels" : "nd4j-kernels";
        provenance.put("kernels", kernels);
        String fingerprintInput = kernels + "|" + modelHash + "|" + artifactKey + "|" + featurizerKey + "|" + reference.source() + "|" + numbersConfig();
        String fingerprint = Hashing.sha256(fingerprintInput).substring(0, 24);
        if (System.getenv("TFMQ_DEBUG") != null) log.println("tfmq: fingerprint input " + fingerprintInput);
        QualityAccumulator.Options options = new QualityAccumulator.Options(cfg.metrics().bootstrapReplicates(),
                cfg.metrics().spatialBootstrapReplicates(), cfg.run().seed(),
                cfg.metrics().confidence(), cfg.metrics().reservoir(), cfg.metrics().kidSubsetSize(), cfg.metrics().kidSubsets());
        RunState state;
        if (checkpoint.isPresent()) {
            state = RunState.restore(checkpoint.get(), fingerprint, options, reference);
            int revisions = SelectionJournal.checkAgainst(dir, checkpoint.get());
            dir.journal("resume", Map.of("committed_batches", state.committedBatches(), "samples", state.samples(),
                    "selection_revisions", revisions));
            log.println("tfmq: resuming " + dir.root() + " after " + state.committedBatches() + " committed batches ("
                    + state.samples() + " samples" + (revisions > 0 ? ", " + revisions + " selection revisions" : "") + ")");
        } else {
            List<String> members = fp.get().members();
            state = new RunState(fingerprint, new QualityAccumulator(probeFeaturizer.pooledDim(), probeFeaturizer.spatialDim(),
                    options, reference), new DisturbanceTable(schedule.timesteps(), members));
            dir.journal("start", Map.of("samples", cfg.run().samples(), "batch_size", cfg.run().batchSize()));
        }
        provenance.put("fingerprint", fingerprint);
        provenance.put("seed", cfg.run().seed());
        provenance.put("schedule", schedule.toString());
        provenance.put("java", System.getProperty("java.version"));
        provenance.put("cores", Runtime.getRuntime().availableProcessors());
        dir.writeText("config.conf", cfg.render() + "\n");
        dir.writeJson("provenance.json", provenance);

        // ---- live view
        List<LiveSink> sinks = new ArrayList<>();
        SamplingProgress terminal = SamplingProgress.onTerminal(cfg.run().samples(), schedule.size(), state.samples());
        sinks.add(terminal);
        PrometheusSink prometheus = new PrometheusSink(cfg.run().name(), cfg.quantization().recipe());
        sinks.add(prometheus);
        Dashboard dashboard = null;
        String url = null;
        if (cfg.dashboard().enabled()) {
            dashboard = Dashboard.start(cfg.dashboard().host(), cfg.dashboard().port(), cfg.run().name(),
                    cfg.quantization().recipe() + " " + cfg.quantization().bits(), prometheus, cfg.dashboard().token());
            sinks.add(dashboard);
            url = dashboard.url();
            log.println("tfmq: dashboard at " + url + "  (Prometheus: " + url + "metrics)"
                    + (cfg.dashboard().token() != null ? "; token required: open " + url + "?token=<token> or send Authorization: Bearer <token>" : ""));
        }
        try {
            RunPlan plan = new RunPlan(fp, quantized, featurizer, scheduler, schedule, cfg.run().seed(), shape, cfg.run().samples(),
                    cfg.run().batchSize(), cfg.monitor().probeSamples(), cfg.workers().nd4jThreads(), cfg.selection().mode(),
                    cfg.selection().metric(), onlineSettings(), cfg.run().checkpointEveryBatches(), cfg.metrics().everyBatches(), cfg.run().gridsKept(),
                    2, state, dir, sinks);
            CompletableFuture<MetricAggregator.Result> done = new CompletableFuture<>();
            ClusterCoordinator clustered = cluster ? new ClusterCoordinator(cfg, dir, withArtifactUrl(provenance, dashboard), recipeText, log) : null;
            ActorSystem<RunCoordinator.Command> system = clustered == null
                    ? ActorSystem.create(RunCoordinator.create(plan, done), "tfmq", ConfigFactory.load())
                    : ActorSystem.create(RunCoordinator.create(plan, done, clustered), NodeConfig.SYSTEM, clustered.pekkoConfig());
            MetricAggregator.Result result;
            Map<String, Object> clusterReport = null;
            try {
                result = done.get();
                if (clustered != null) clusterReport = clustered.finish(system);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException r) throw r;
                throw new IllegalStateException(c.getMessage(), c);
            } finally {
                system.terminate();
                system.getWhenTerminated().toCompletableFuture().join();
            }
            Map<String, Object> summary = Summary.build(cfg, result, provenance, cacheHit);
            if (clusterReport != null) summary.put("cluster", clusterReport);
            Gate.Verdict verdict = Gate.evaluate(cfg.gate(), RunDirectory.JSON.valueToTree(summary),
                    pre.gateBaseline() == null ? null : RunDirectory.JSON.readTree(pre.gateBaseline().toFile()));
            summary.put("gate", verdict.toMap());
            dir.writeJson("summary.json", summary);
            dir.writeText("gate-report.xml", GateReport.junitXml(cfg.run().name(), verdict));
            dir.writeText("gate-report.md", GateReport.markdown(cfg.run().name(), summary, verdict));
            dir.journal("end", Map.of("samples", result.samples(), "gate", verdict.passed() ? "pass" : "fail"));
            if (dashboard != null) dashboard.publish("summary", summary);
            return new Outcome(verdict.passed() ? 0 : 1, dir.root(), summary, verdict, url);
        } finally {
            terminal.close();
            if (dashboard != null) dashboard.close();
        }
    }

    /** The settling rule and delay of an output table's online revision ({@code tfmq.selection.online}). */
    OnlineSelection.Settings onlineSettings() {
        return new OnlineSelection.Settings(cfg.selection().minSamples(), cfg.selection().confidence(), cfg.selection().delayBatches());
    }

    static UNet2DModel load(Path dir) {
        try {
            return UNet2DModel.load(dir);
        } catch (IOException e) {
            throw new IllegalStateException("cannot load model " + dir + ": " + e.getMessage(), e);
        }
    }

    Path schedulerConfigFile(Path modelDir) throws IOException {
        if (cfg.model().schedulerConfig() != null) {
            Path p = cfg.baseDir().resolve(cfg.model().schedulerConfig());
            if (!Files.isRegularFile(p)) {
                throw new IOException("config key 'tfmq.model.scheduler-config' = \"" + cfg.model().schedulerConfig() + "\": no such file " + p);
            }
            return p;
        }
        for (Path p : List.of(modelDir.resolve("scheduler_config.json"), modelDir.resolveSibling("scheduler").resolve("scheduler_config.json"),
                modelDir.resolve("scheduler").resolve("scheduler_config.json"))) {
            if (Files.isRegularFile(p)) return p;
        }
        throw new IOException("no scheduler_config.json in or next to " + modelDir + "; set tfmq.model.scheduler-config");
    }

    /** The recipe file (if any) with the config's overrides merged over it. */
    Config recipe() {
        Config base = ConfigFactory.empty();
        String file = cfg.quantization().recipeFile();
        Path p = file != null ? cfg.baseDir().resolve(file) : cfg.baseDir().resolve("recipes").resolve(cfg.quantization().recipe() + ".conf");
        if (file != null && !Files.isRegularFile(p)) {
            throw new IllegalArgumentException("config key 'tfmq.quantization.recipe-file' = \"" + file + "\": no such file " + p);
        }
        if (Files.isRegularFile(p)) base = ConfigFactory.parseFile(p.toFile()).resolve();
        return cfg.quantization().overrides().withFallback(base);
    }

    /** The config keys the final numbers depend on (presentation keys left out), as canonical text. */
    private String numbersConfig() {
        Config c = cfg.source().withoutPath("dashboard").withoutPath("gate").withoutPath("run.name").withoutPath("cluster")
                .withoutPath("run.checkpoint-every-batches").withoutPath("run.grids-kept").withoutPath("quantization.cache-dir");
        return c.root().render(ConfigRenderOptions.concise());
    }

    static QuantizedSideProvider provider(String recipe) {
        List<String> known = new ArrayList<>();
        for (QuantizedSideProvider p : ServiceLoader.load(QuantizedSideProvider.class)) {
            if (p.handles(recipe)) return p;
            known.add(p.getClass().getName());
        }
        throw new IllegalArgumentException("config key 'tfmq.quantization.recipe' = \"" + recipe + "\": no quantizer on the class path "
                + "implements it" + (known.isEmpty() ? " (no QuantizedSideProvider is registered: the strategies module provides them)"
                : " (registered: " + known + ")"));
    }

    /**
     * The provenance sent to cluster workers: with the dashboard on, the coordinator serves its quantized artifact at
     * {@code /artifact/<sha256>} and tells workers where ({@code quantization.artifact_url}, reached through the
     * coordinator's canonical cluster host), so a worker without a shared volume downloads and verifies it.
     */
    private Map<String, Object> withArtifactUrl(Map<String, Object> provenance, Dashboard dashboard) {
        if (dashboard == null || !(provenance.get("quantization") instanceof Map<?, ?> q)) return provenance;
        Object file = q.get("artifact"), sha = q.get("artifact_sha256");
        if (file == null || sha == null) return provenance;
        String route = dev.tfmq.harness.cluster.ArtifactFetch.route(sha.toString());
        dashboard.serveFile(route, Path.of(file.toString()));
        String host = dev.tfmq.harness.config.ClusterConfig.of(cfg).host();
        Map<String, Object> qq = new LinkedHashMap<>();
        q.forEach((k, v) -> qq.put(k.toString(), v));
        qq.put("artifact_url", "http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + dashboard.port() + route);
        Map<String, Object> out = new LinkedHashMap<>(provenance);
        out.put("quantization", qq);
        return out;
    }
}
