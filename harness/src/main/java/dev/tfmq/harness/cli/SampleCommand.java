package dev.tfmq.harness.cli;

import dev.tfmq.harness.console.Progress;
import dev.tfmq.model.Denoiser;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.data.PngGrid;
import dev.tfmq.model.data.PngImages;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npy;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.recipe.QuantizationArtifact;
import dev.tfmq.strategies.recipe.QuantizedModel;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tfmq sample}: draw K images with DDIM or DDPM and save them as a PNG grid. */
@Command(name = "sample", description = "Sample images from a diffusers UNet2DModel and write a PNG grid.")
public final class SampleCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "model folder or bundled model name (e.g. fmnist-ddpm)")
    String model;

    @Mixin
    SamplerOptions sampling;

    @Option(names = "--steps", defaultValue = "100", description = "sampling steps (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--num", defaultValue = "64", description = "number of images (default ${DEFAULT-VALUE})")
    int num;

    @Option(names = "--batch", defaultValue = "64", description = "images per forward pass (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--columns", description = "grid columns (default: square-ish)")
    Integer columns;

    @Option(names = "--out", required = true, description = "PNG grid to write")
    Path out;

    @Option(names = "--save-npy", description = "also save the samples in [-1, 1] as .npy")
    Path npy;

    @Option(names = "--save-images", description = "also save every sample as a PNG in this folder (for 'tfmq fid')")
    Path images;

    @Option(names = "--artifact", description = "sample with the quantized model of this artifact (tfmq quantize / the run cache); "
            + "it must have been made from --model")
    Path artifact;

    @Override
    public Integer call() throws Exception {
        if (num < 1) throw new IllegalArgumentException("--num must be >= 1, got " + num);
        if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
        if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
        Path dir = ModelLocator.resolve(model);
        UNet2DModel unet = UNet2DModel.load(dir);
        SchedulerConfig cfg = SchedulerConfig.read(schedulerConfig(dir));
        SchedulerConfig.Kind kind = sampling.kind();
        TimestepSchedule schedule = sampling.schedule(cfg, steps);
        Denoiser denoiser = unet;
        String what = "";
        if (artifact != null) {
            QuantizedModel qm = QuantizationArtifact.read(artifact, unet);
            denoiser = qm;
            what = ", quantized (" + qm.provenance().getOrDefault("recipe_name", artifact.getFileName().toString()) + ")";
        }
        Sampler sampler = new Sampler(denoiser, sampling.create(cfg), schedule);
        var c = unet.config();
        int size = c.sampleSize() == null ? 32 : c.sampleSize();
        long[] chw = {c.inChannels(), size, size};
        NoiseSource noise = new NoiseSource(sampling.seed);
        INDArray all = Nd4j.create(unet.dtype(), num, chw[0], chw[1], chw[2]);
        long t0 = System.nanoTime();
        // counted in sample-steps, shown in samples
        try (Progress progress = Progress.start("sampling", (long) num * schedule.size(), "samples", schedule.size(), 0)) {
            for (int s = 0; s < num; s += batch) {
                int n = Math.min(batch, num - s);
                long[] idx = new long[n];
                for (int i = 0; i < n; i++) idx[i] = s + i;
                INDArray imgs = sampler.sample(idx, chw, noise, (k, t, xt, mo, x0, xp) -> progress.stepBy(n));
                all.get(NDArrayIndex.interval(s, s + n)).assign(imgs);
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        int cols = columns != null ? columns : (int) Math.ceil(Math.sqrt(num));
        PngGrid.write(out, all, PixelRange.MINUS_ONE_ONE, cols);
        if (npy != null) Npy.write(npy, all);
        if (images != null) PngImages.write(images, all, PixelRange.MINUS_ONE_ONE, 0);
        System.out.printf("wrote %s: %d images, %s %d steps, seed %d%s, %.1f s (%.2f images/s)%n", out, num,
                kind.name().toLowerCase(), schedule.size(), sampling.seed, what, secs, num / secs);
        return 0;
    }

    /** diffusers layouts: {@code DIR/scheduler/} (our bundled models) or a sibling {@code scheduler/} (pipelines). */
    static Path schedulerConfig(Path dir) throws FormatException {
        for (Path p : new Path[]{dir.resolve("scheduler/scheduler_config.json"), dir.resolve("scheduler_config.json"),
                dir.toAbsolutePath().getParent().resolve("scheduler/scheduler_config.json")}) {
            if (Files.isRegularFile(p)) return p;
        }
        throw new FormatException(dir, "no scheduler/scheduler_config.json next to the model");
    }
}
