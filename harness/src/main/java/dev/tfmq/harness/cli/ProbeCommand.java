package dev.tfmq.harness.cli;

import dev.tfmq.harness.console.CalibrationProgress;
import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.io.AtomicFiles;
import dev.tfmq.model.scheduler.NoiseSource;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.bias.OutputBiasProbe;
import dev.tfmq.strategies.recipe.QuantizationArtifact;
import dev.tfmq.strategies.recipe.QuantizedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code tfmq probe ...}: diagnostics of a quantized artifact against its full-precision model. */
@Command(name = "probe", description = "Diagnose a quantized artifact against its full-precision model.",
        subcommands = {ProbeCommand.Bias.class})
public final class ProbeCommand implements Runnable {
    @Override
    public void run() {
        picocli.CommandLine.usage(this, System.out);
    }

    @Command(name = "bias", description = "Mean shift of the quantized denoiser on the FP model's own trajectories: per"
            + " sampling step (mean of eps_q - eps_fp, its ratio to std(eps_fp), relative L2) and per conv/linear layer"
            + " (per-channel shift of the output in units of the FP channel's std, split into the layer's own weight"
            + " rounding and input quantization).")
    public static final class Bias implements Callable<Integer> {
        @Option(names = "--artifact", required = true, description = "quantized artifact (tfmq quantize / the run cache)")
        Path artifact;

        @Option(names = "--model", defaultValue = "fmnist-ddpm", description = "the model the artifact was made from (default ${DEFAULT-VALUE})")
        String model;

        @Mixin
        SamplerOptions sampling;

        @Option(names = "--steps", defaultValue = "20", description = "sampling steps (default ${DEFAULT-VALUE})")
        int steps;

        @Option(names = "--num", defaultValue = "32", description = "FP trajectories (default ${DEFAULT-VALUE})")
        int num;

        @Option(names = "--batch", defaultValue = "32", description = "trajectories per forward pass (default ${DEFAULT-VALUE})")
        int batch;

        @Option(names = "--weights-only", description = "switch the artifact's activation quantization off (the shift of the 4-bit weights alone)")
        boolean weightsOnly;

        @Option(names = "--top", defaultValue = "0", description = "print only the N layers with the largest shift (0 = all, in forward order)")
        int top;

        @Option(names = "--csv", description = "also write steps.csv and layers.csv (per channel) into this folder")
        Path csv;

        @Override
        public Integer call() throws Exception {
            if (num < 1) throw new IllegalArgumentException("--num must be >= 1, got " + num);
            if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
            if (steps < 1) throw new IllegalArgumentException("--steps must be >= 1, got " + steps);
            if (top < 0) throw new IllegalArgumentException("--top must be >= 0, got " + top);
            Path dir = ModelLocator.resolve(model);
            SchedulerConfig cfg = SchedulerConfig.read(SampleCommand.schedulerConfig(dir));
            TimestepSchedule schedule = sampling.schedule(cfg, steps);
            UNet2DModel fp = UNet2DModel.load(dir);
            QuantizedModel q = QuantizationArtifact.read(artifact, UNet2DModel.load(dir));
            if (weightsOnly) {
                if (q.activations() == null) throw new IllegalArgumentException("--weights-only: " + artifact + " quantizes no activations");
                q.activations().setEnabled(false);
            }
            OutputBiasProbe.Report r;
            long t0 = System.nanoTime();
            try (CalibrationProgress progress = new CalibrationProgress((phase, detail) -> System.err.println("tfmq: " + phase + " " + detail))) {
                r = OutputBiasProbe.measure(fp, q, sampling.create(cfg), schedule,
                        new NoiseSource(sampling.seed), num, batch, progress);
            }
            PrintStream out = System.out;
            out.printf("tfmq probe bias: %s (%s %s%s), %s %d steps, %d FP trajectories from seed %d, %.1f s%n", artifact,
                    q.provenance().getOrDefault("recipe_name", "?"), q.provenance().getOrDefault("bits", "?"),
                    weightsOnly ? ", activations off" : "", sampling.scheduler, schedule.size(), num, sampling.seed, (System.nanoTime() - t0) / 1e9);
            out.println("per sampling step (eps on the FP trajectory's x_t):");
            out.printf("%4s %5s %12s %11s %13s %10s %8s%n", "step", "t", "mean eps_fp", "std eps_fp", "mean q - fp", "shift/std", "rel-L2");
            for (OutputBiasProbe.StepShift s : r.steps()) {
                out.printf("%4d %5d %12.5f %11.5f %13.6f %10.4f %8.4f%n", s.step(), s.t(), s.meanFp(), s.stdFp(), s.meanShift(),
                        s.shiftOverStd(), s.relL2());
            }
            List<OutputBiasProbe.LayerShift> layers = r.layers();
            if (top > 0) {
                layers = layers.stream().sorted(Comparator.comparingDouble(OutputBiasProbe.LayerShift::rmsZ).reversed())
                        .limit(top).toList();
            }
            out.println("per layer (z = channel shift / FP channel std; rms and max over channels; own = the layer's own"
                    + " share on its quantized-network input; step resid = what one shift per channel leaves per step):");
            out.printf("%-42s %-4s %4s %8s %8s %8s %9s %9s %11s%n", "layer", "W", "ch", "rms z", "max|z|", "mean z",
                    "own W rms", "own A rms", "step resid");
            for (OutputBiasProbe.LayerShift l : layers) {
                out.printf("%-42s %-4s %4d %8.4f %8.4f %8.4f %9.4f %9.4f %11.4f%n", l.path(),
                        l.temporal() ? "TIB" : l.quantized() ? "q" : "fp", l.channels(), l.rmsZ(), l.maxAbsZ(), l.meanZ(),
                        l.ownWeightRmsZ(), l.ownActivationRmsZ(), l.stepResidualRmsZ());
            }
            if (csv != null) writeCsv(r);
            return 0;
        }

        private void writeCsv(OutputBiasProbe.Report r) throws java.io.IOException {
            Files.createDirectories(csv);
            AtomicFiles.write(csv.resolve("steps.csv"), w -> {
                StringBuilder sb = new StringBuilder("step,t,elements,mean_eps_fp,std_eps_fp,mean_shift,shift_over_std,rel_l2\n");
                for (OutputBiasProbe.StepShift s : r.steps()) {
                    sb.append(s.step()).append(',').append(s.t()).append(',').append(s.elements()).append(',').append(s.meanFp())
                            .append(',').append(s.stdFp()).append(',').append(s.meanShift()).append(',').append(s.shiftOverStd())
                            .append(',').append(s.relL2()).append('\n');
                }
                w.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            });
            AtomicFiles.write(csv.resolve("layers.csv"), w -> {
                StringBuilder sb = new StringBuilder("layer,weights,channel,mean_fp,std_fp,shift,z\n");
                for (OutputBiasProbe.LayerShift l : r.layers()) {
                    for (int c = 0; c < l.channels(); c++) {
                        double z = l.stdFp()[c] > 0 ? l.shift()[c] / l.stdFp()[c] : Double.NaN;
                        sb.append(l.path()).append(',').append(l.temporal() ? "tib" : l.quantized() ? "quantized" : "fp")
                                .append(',').append(c).append(',').append(l.meanFp()[c]).append(',').append(l.stdFp()[c])
                                .append(',').append(l.shift()[c]).append(',').append(z).append('\n');
                    }
                }
                w.write(sb.toString().getBytes(StandardCharsets.UTF_8));
            });
        }
    }
}
