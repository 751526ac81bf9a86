package dev.tfmq.harness.cli;

import dev.tfmq.model.data.Datasets;
import dev.tfmq.model.data.ImageDataset;
import dev.tfmq.model.data.PixelRange;
import dev.tfmq.model.data.PixelStatistics;
import dev.tfmq.model.data.PngGrid;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code tfmq data grid|pixels}: look at a dataset the way samples are shown, or measure its brightness. */
@Command(name = "data", description = "Inspect datasets.", subcommands = {DataCommand.Grid.class, DataCommand.Pixels.class})
public final class DataCommand implements Runnable {
    @Override
    public void run() {
        picocli.CommandLine.usage(this, System.out);
    }

    @Command(name = "grid", description = "Write the first images of a dataset as a PNG grid.")
    public static final class Grid implements Callable<Integer> {
        @Option(names = "--data", required = true, description = "fashion-mnist:train, fashion-mnist:test or an image folder")
        String data;

        @Option(names = "--num", defaultValue = "64")
        int num;

        @Option(names = "--from", defaultValue = "0", description = "index of the first image")
        int from;

        @Option(names = "--out", required = true)
        Path out;

        @Override
        public Integer call() throws Exception {
            ImageDataset d = Datasets.open(data);
            if (from < 0 || num < 1 || from + num > d.size()) {
                throw new IllegalArgumentException("--from " + from + " --num " + num + " outside the " + d.size()
                        + " images of " + data);
            }
            PngGrid.write(out, d.toFloat(from, num, PixelRange.ZERO_ONE), PixelRange.ZERO_ONE, (int) Math.ceil(Math.sqrt(num)));
            System.out.printf("wrote %s: images %d..%d of %s%n", out, from, from + num - 1, data);
            return 0;
        }
    }

    @Command(name = "pixels", description = "Mean pixel value (95 % interval over images) and the fractions of pixels at"
            + " 255 (white) and 0 (black), e.g. of a sample folder against the training data.")
    public static final class Pixels implements Callable<Integer> {
        @Option(names = "--data", required = true, arity = "1..*",
                description = "fashion-mnist:train, fashion-mnist:test or image folders (one line each)")
        java.util.List<String> data;

        @Override
        public Integer call() throws Exception {
            System.out.printf("%-40s %7s %8s %19s %8s %8s%n", "data", "images", "mean", "95 % interval", "white", "black");
            for (String spec : data) {
                PixelStatistics p = PixelStatistics.of(Datasets.open(spec));
                System.out.printf("%-40s %7d %8.4f  [%.4f, %.4f] %7.3f%% %7.2f%%%n", spec, p.images(), p.mean(), p.meanLow(),
                        p.meanHigh(), 100 * p.whiteFraction(), 100 * p.blackFraction());
            }
            return 0;
        }
    }
}
