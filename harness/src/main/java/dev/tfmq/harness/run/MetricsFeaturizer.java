package dev.tfmq.harness.run;

import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.metrics.features.FeatureExtractor;
import dev.tfmq.metrics.features.Features;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A metrics-module {@link FeatureExtractor} (e.g. the bundled fmnist-features net) as the harness's featurizer. */
public final class MetricsFeaturizer implements ImageFeaturizer {
    private final FeatureExtractor extractor;

    public MetricsFeaturizer(FeatureExtractor extractor) {
        this.extractor = extractor;
    }

    @Override public String name() { return extractor.name(); }

    @Override public int pooledDim() { return extractor.pooledDim(); }

    @Override public int spatialDim() { return extractor.spatialDim(); }

    @Override
    public Extracted extract(INDArray images01) {
        Features f = extractor.extract(images01);
        return new Extracted(f.pooled(), f.spatial());
    }
}
