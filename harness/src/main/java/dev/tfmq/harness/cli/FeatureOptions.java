package dev.tfmq.harness.cli;

import dev.tfmq.metrics.features.FashionFeatureNet;
import dev.tfmq.metrics.features.FeatureExtractor;
import dev.tfmq.metrics.features.InceptionV3;
import dev.tfmq.model.ModelLocator;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/** The {@code --features/--weights} pair shared by the commands that featurise images. */
final class FeatureOptions {
    @Option(names = "--features", defaultValue = "fmnist-features",
            description = "fmnist-features (bundled) or inception (pytorch-fid Inception-v3; needs --weights)")
    String features;

    @Option(names = "--weights", description = "feature network folder (default: the bundled one for fmnist-features)")
    Path weights;

    FeatureExtractor load() throws IOException {
        return switch (features) {
            case "fmnist-features" -> FashionFeatureNet.load(weights != null ? weights : ModelLocator.resolve("fmnist-features"));
            case "inception" -> {
                if (weights == null) {
                    throw new IllegalArgumentException("--features inception needs --weights DIR (converted with "
                            + "tools/metrics_convert_inception.py; the weights cannot be shipped)");
                }
                yield InceptionV3.load(weights);
            }
            default -> throw new IllegalArgumentException("--features '" + features + "': expected fmnist-features or inception");
        };
    }
}
