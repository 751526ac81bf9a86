package dev.tfmq.harness.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import dev.tfmq.harness.config.RunConfig;
import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.pipeline.UNetSide;
import dev.tfmq.metrics.features.FashionFeatureNet;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.nn.FusedKernels;
import dev.tfmq.model.scheduler.Scheduler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * A cluster worker's side of a run: rebuilds the FP model, the quantized model and the feature network from the
 * files this machine can read, and refuses the run unless each matches the coordinator's provenance (model folder,
 * quantized artifact and feature network by SHA-256, and the same kernels, since the fused Vector API kernels round
 * differently from ND4J's). A worker never calibrates: the artifact must be the coordinator's (shared volume, image,
 * a copy of {@code .tfmq-cache/artifacts/<key>}, or downloaded from the coordinator's HTTP server and verified).
 */
public final class WorkerModels {
    /** What a worker's pipeline is built from. */
    public record Models(Supplier<DenoiserSide> fp, Supplier<DenoiserSide> quantized, Supplier<ImageFeaturizer> featurizer,
                         Supplier<Scheduler> scheduler, TimestepSchedule schedule, long[] sampleShape) {}

    /** This worker cannot take part in the run (its files differ from the coordinator's, or are missing). */
    public static final class Refused extends RuntimeException {
        public Refused(String message) {
            super(message);
        }
    }

    private WorkerModels() {}

    /**
     * @param recipe     the coordinator's recipe config (recipe file merged with the overrides)
     * @param provenance the coordinator's provenance.json
     * @param parts      test replacements, as for {@link RunLauncher#run}; null for the real files
     */
    public static Models prepare(RunConfig cfg, Config recipe, JsonNode provenance, RunLauncher.Parts parts, PrintStream log)
            throws IOException {
        String kernels = FusedKernels.enabled() ? "fused-vector-kernels" : "nd4j-kernels";
        expect("kernels", provenance.path("kernels").asText(), kernels,
                "start this worker's JVM with the coordinator's --add-modules jdk.incubator.vector setting");
        SchedulerConfig sc;
        long[] shape;
        Supplier<DenoiserSide> fp;
        Path modelDir = null, schedulerFile = null;
        if (parts != null && parts.fp() != null) {
            expect("model", provenance.path("model").asText(), "supplied by caller: " + parts.modelFingerprint(), "");
            sc = parts.scheduler();
            shape = parts.sampleShape();
            fp = parts.fp();
        } else {
            modelDir = ModelLocator.resolve(cfg.model().path());
            expect("model " + modelDir + " (SHA-256 of the folder)", provenance.at("/model/sha256").asText(), Hashing.sha256(modelDir),
                    "give this worker the coordinator's model folder " + provenance.at("/model/path").asText());
            schedulerFile = new RunLauncher(cfg, log).schedulerConfigFile(modelDir);
            sc = SchedulerConfig.read(schedulerFile);
            UNet2DConfig uc = UNet2DConfig.read(modelDir.resolve("config.json"));
            int size = uc.sampleSize() == null ? 32 : uc.sampleSize();
            shape = new long[] {uc.inChannels(), size, size};
            Path md = modelDir;
            fp = () -> new UNetSide("fp", RunLauncher.load(md));
        }
        TimestepSchedule schedule = TimestepSchedule.spaced(sc, cfg.model().steps());
        SchedulerConfig.Kind kind = Schedulers.kind(cfg.model().scheduler());
        SchedulerConfig scf = sc;
        Supplier<Scheduler> scheduler = () -> Schedulers.create(scf, kind, cfg.model().eta());

        Supplier<DenoiserSide> quantized;
        if (parts != null && parts.quantized() != null) {
            quantized = parts.quantized();
        } else {
            Path artifactDir = Path.of(cfg.quantization().cacheDir()).toAbsolutePath().resolve("artifacts")
                    .resolve(provenance.at("/recipe/artifact_key").asText());
            JsonNode expected = provenance.at("/quantization/artifact_sha256");
            if (!expected.isMissingNode()) {
                Path artifact = artifactDir.resolve("artifact.safetensors");
                String url = provenance.at("/quantization/artifact_url").asText("");
                if (!Files.isRegularFile(artifact) && !url.isEmpty()) {
                    log.println("tfmq: worker: fetching the quantized artifact from " + url);
                    try {
                        String token = cfg.dashboard().token() != null ? cfg.dashboard().token() : System.getenv("TFMQ_DASHBOARD_TOKEN");
                        dev.tfmq.harness.cluster.ArtifactFetch.download(url, expected.asText(), artifact, java.time.Duration.ofMinutes(5), token);
                    } catch (IOException e) {
                        throw new Refused("the quantized artifact is missing at " + artifact + " and could not be fetched: " + e.getMessage());
                    }
                }
                if (!Files.isRegularFile(artifact)) {
                    throw new Refused("the quantized artifact is missing: expected " + artifact + " (copy the coordinator's "
                            + provenance.at("/quantization/artifact").asText() + " there, or share its tfmq.quantization.cache-dir)");
                }
                expect("quantized artifact " + artifact + " (SHA-256)", expected.asText(), Hashing.sha256(artifact),
                        "copy the coordinator's " + provenance.at("/quantization/artifact").asText());
            }
            quantized = RunLauncher.provider(cfg.quantization().recipe()).prepare(new QuantizedSideProvider.Request(modelDir,
                    cfg.quantization().recipe(), recipe, cfg.quantization().weightBits(), cfg.quantization().activationBits(), sc,
                    schedulerFile, cfg.model().scheduler(), cfg.model().eta(), cfg.model().steps(), schedule, cfg.run().seed(),
                    artifactDir, log)).factory();
        }

        Supplier<ImageFeaturizer> featurizer;
        if (parts != null && parts.featurizer() != null) {
            expect("feature network", provenance.at("/features/sha256").asText(), "supplied", "");
            featurizer = parts.featurizer();
        } else {
            Path fdir = ModelLocator.resolve(cfg.metrics().features());
            expect("feature network " + fdir + " (SHA-256 of the folder)", provenance.at("/features/sha256").asText(), Hashing.sha256(fdir),
                    "give this worker the coordinator's feature network");
            featurizer = () -> {
                try {
                    return new MetricsFeaturizer(FashionFeatureNet.load(fdir));
                } catch (IOException e) {
                    throw new IllegalStateException("cannot load the feature network " + fdir + ": " + e.getMessage(), e);
                }
            };
        }
        return new Models(fp, quantized, featurizer, scheduler, schedule, shape);
    }

    private static void expect(String what, String coordinator, String here, String fix) {
        if (!coordinator.equals(here)) {
            throw new Refused(what + " differs from the coordinator's: here " + here + ", coordinator " + coordinator
                    + (fix.isEmpty() ? "" : "; " + fix));
        }
    }
}
