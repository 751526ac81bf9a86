package dev.tfmq.harness.run;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.tfmq.harness.console.CalibrationProgress;
import dev.tfmq.model.io.AtomicFiles;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.recipe.CalibrationSettings;
import dev.tfmq.strategies.recipe.QuantizationArtifact;
import dev.tfmq.strategies.recipe.QuantizationRecipe;
import dev.tfmq.strategies.recipe.QuantizedModel;
import dev.tfmq.strategies.recipe.RecipeRunner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The strategies module's recipes (q-diffusion, ptq4dm, tfmq-tib, tfmq-cache, tfmq, tfmq-tiar-only, tfmq-fsc-only):
 * calibrates with {@link RecipeRunner} for the run's sampler, bits and seed (those keys of the recipe file are set
 * from the run config), writes the artifact into the cache entry, and gives each worker its own model rebuilt from
 * the artifact (bit-identical fake-quant outputs). The artifact's temporal paths (quantized TIB, cache) become the
 * quantized side's candidate strategies ({@link StrategiesSide}); for the {@code tfmq} recipe the harness's selector
 * measures both against full precision and its table replaces the one chosen at calibration time.
 */
public final class StrategiesProvider implements QuantizedSideProvider {
    static final Set<String> RECIPES = Set.of("q-diffusion", "ptq4dm", "tfmq-tib", "tfmq-cache", "tfmq", "tfmq-tiar-only", "tfmq-fsc-only");

    @Override
    public boolean handles(String recipe) {
        return RECIPES.contains(recipe);
    }

    @Override
    public void check(String recipeName, Config recipe, int weightBits, int activationBits) {
        QuantizationRecipe.fromConfig(recipeBlock(recipe, recipeName, weightBits, activationBits));
    }

    /** The recipe config with the run's bits, refused when it has no recipe block. */
    private static Config recipeBlock(Config recipe, String name, int weightBits, int activationBits) {
        Config c = recipe.withValue("recipe.bits", ConfigValueFactory.fromAnyRef("W" + weightBits + "A" + activationBits));
        if (!c.hasPath("recipe.name")) {
            throw new IllegalArgumentException("recipe '" + name + "': no recipe block (set tfmq.quantization.recipe-file "
                    + "to configs/recipes/" + name + "-w" + weightBits + "a" + activationBits + ".conf)");
        }
        return c;
    }

    /**
     * Why the cached artifact must not be used (corrupt, unreadable, or without a checksum of its contents, as
     * written before checksums), or null when it verified; then its provenance is added to {@code prov}.
     */
    static String cachedProblem(Path artifact, Path modelDir, Map<String, Object> prov) throws IOException {
        Map<String, String> p;
        try {
            p = QuantizationArtifact.read(artifact, UNet2DModel.load(modelDir)).provenance();
        } catch (FormatException e) {
            return e.getMessage();
        }
        if (!p.containsKey(QuantizationArtifact.DATA_SHA256)) return "it records no checksum of its contents (older tfmq)";
        prov.putAll(p);
        prov.remove(QuantizationArtifact.DATA_SHA256); // as on a miss: the file's own hash is recorded by the caller
        return null;
    }

    @Override
    public Prepared prepare(Request r) throws IOException {
        if (r.modelDir() == null || r.schedulerFile() == null) throw new IllegalArgumentException("recipe " + r.recipeName() + " needs a model folder");
        Config c = recipeBlock(r.recipe(), r.recipeName(), r.weightBits(), r.activationBits())
                .withValue("calibration.scheduler", ConfigValueFactory.fromAnyRef(r.schedulerFile().toAbsolutePath().toString()))
                .withValue("calibration.sampler", ConfigValueFactory.fromAnyRef(r.sampler()))
                .withValue("calibration.eta", ConfigValueFactory.fromAnyRef(r.eta()))
                .withValue("calibration.steps", ConfigValueFactory.fromAnyRef(r.steps()))
                .withFallback(ConfigFactory.empty());
        QuantizationRecipe recipe = QuantizationRecipe.fromConfig(c);
        CalibrationSettings cal = CalibrationSettings.fromConfig(c, Path.of("").toAbsolutePath());
        Path artifact = r.artifactDir().resolve("artifact.safetensors");
        boolean hit = Files.isRegularFile(artifact);
        Map<String, Object> prov = new LinkedHashMap<>();
        if (hit) {
            String problem = cachedProblem(artifact, r.modelDir(), prov);
            if (problem != null) {
                r.log().println("tfmq: cached artifact " + artifact + " is not used: " + problem + "; recalibrating");
                Files.delete(artifact);
                hit = false;
            }
        }
        if (!hit) {
            QuantizedModel qm;
            try (CalibrationProgress progress = CalibrationProgress.toLog(r.log())) {
                qm = RecipeRunner.quantize(UNet2DModel.load(r.modelDir()), recipe, cal, progress);
            }
            Files.createDirectories(r.artifactDir());
            Path tmp = Files.createTempFile(r.artifactDir(), ".artifact", ".tmp");
            QuantizationArtifact.write(tmp, qm);
            AtomicFiles.write(artifact, out -> Files.copy(tmp, out));
            Files.deleteIfExists(tmp);
            prov.putAll(qm.provenance());
        }
        prov.put("artifact", artifact.toString());
        prov.put("artifact_bytes", Files.size(artifact));
        prov.put("artifact_sha256", Hashing.sha256(artifact));
        return new Prepared(() -> {
            try {
                return new StrategiesSide(QuantizationArtifact.read(artifact, UNet2DModel.load(r.modelDir())));
            } catch (IOException e) {
                throw new IllegalStateException("cannot load the quantized artifact " + artifact + ": " + e.getMessage(), e);
            }
        }, hit, prov);
    }
}
