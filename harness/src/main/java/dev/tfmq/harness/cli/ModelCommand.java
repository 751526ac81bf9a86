package dev.tfmq.harness.cli;

import dev.tfmq.model.ModelLocator;
import dev.tfmq.model.io.FormatException;
import dev.tfmq.model.io.Npy;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.TimestepInput;
import dev.tfmq.model.nn.Module;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tfmq model info|forward}: inspect a diffusers UNet2DModel and run it once. */
@Command(name = "model", description = "Inspect or run a diffusers UNet2DModel folder.",
        subcommands = {ModelCommand.Info.class, ModelCommand.Forward.class})
public final class ModelCommand implements Runnable {
    @Override
    public void run() {
        picocli.CommandLine.usage(this, System.out);
    }

    @Command(name = "info", description = "Parameter count, FLOPs per image and the module tree (TIB members marked).")
    public static final class Info implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "model folder or bundled model name")
        String model;

        @Override
        public Integer call() throws Exception {
            Path dir = ModelLocator.resolve(model);
            UNet2DModel m = UNet2DModel.load(dir);
            var c = m.config();
            int size = c.sampleSize() == null ? 32 : c.sampleSize();
            System.out.printf("model       %s%n", dir);
            System.out.printf("input       %d x %d x %d%n", c.inChannels(), size, size);
            System.out.printf("parameters  %,d%n", m.parameterCount());
            System.out.printf("FLOPs/image %.3f GFLOP (%,d multiply-adds)%n", 2.0 * m.macsPerImage() / 1e9, m.macsPerImage());
            long tib = m.temporalModules().stream().mapToLong(l -> l.weight().length() + l.bias().length()).sum();
            System.out.printf("TIB         %d modules, %,d parameters (marked [TIB])%n", m.temporalModules().size(), tib);
            System.out.println();
            for (Module mod : m.modules().values()) {
                int depth = (int) mod.path().chars().filter(ch -> ch == '.').count();
                String indent = "  ".repeat(Math.max(0, depth / 2));
                long params = mod.parameters().values().stream().mapToLong(INDArray::length).sum();
                System.out.printf("%s%-50s %-15s %10s%s%n", indent, mod.path(), mod.kind().name().toLowerCase(),
                        params == 0 ? "" : String.format("%,d", params), m.isTemporal(mod.path()) ? "  [TIB]" : "");
            }
            return 0;
        }
    }

    @Command(name = "forward", description = "Run the UNet once on saved inputs and save its output.")
    public static final class Forward implements Callable<Integer> {
        @Option(names = "--model", required = true, description = "model folder or bundled model name")
        String model;

        @Option(names = "--x", required = true, description = "noisy samples, .npy [B, C, H, W]")
        Path x;

        @Option(names = "--t", required = true, description = "time-steps, .npy [B] (integers) or a scalar")
        Path t;

        @Option(names = "--out", required = true, description = "output .npy")
        Path out;

        @Option(names = "--dtype", defaultValue = "float32", description = "float32 or float64 (default ${DEFAULT-VALUE})")
        String dtype;

        @Override
        public Integer call() throws Exception {
            DataType type = switch (dtype) {
                case "float32" -> DataType.FLOAT;
                case "float64" -> DataType.DOUBLE;
                default -> throw new IllegalArgumentException("--dtype '" + dtype + "': expected float32 or float64");
            };
            Path dir = ModelLocator.resolve(model);
            UNet2DModel m = UNet2DModel.load(dir, type);
            INDArray xs = Npy.read(x);
            String problem = m.inputProblem(xs.shape());
            if (problem != null) throw new FormatException(x, "--x " + problem);
            if (!xs.dataType().isFPType()) throw new FormatException(x, "--x holds " + xs.dataType() + ", expected floating point");
            long[] steps = TimestepInput.of(Npy.read(t), t, xs.size(0), trainingSteps(dir));
            INDArray o = Nd4j.create(type, xs.size(0), m.config().outChannels(), xs.size(2), xs.size(3));
            long t0 = System.nanoTime();
            m.forward(xs.castTo(type), steps, o);
            double ms = (System.nanoTime() - t0) / 1e6;
            Npy.write(out, o);
            System.out.printf("wrote %s %s (%.1f ms)%n", out, java.util.Arrays.toString(o.shape()), ms);
            return 0;
        }

        /** The schedule's length from the model's scheduler_config.json, or 0 when it has none. */
        private static int trainingSteps(Path dir) throws java.io.IOException {
            Path cfg;
            try {
                cfg = SampleCommand.schedulerConfig(dir);
            } catch (FormatException none) {
                return 0;
            }
            return SchedulerConfig.read(cfg).numTrainTimesteps();
        }
    }
}
