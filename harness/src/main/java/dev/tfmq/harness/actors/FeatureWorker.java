package dev.tfmq.harness.actors;

import dev.tfmq.harness.eval.ImageFeaturizer;
import dev.tfmq.harness.eval.Images;
import dev.tfmq.harness.eval.Tensor;
import dev.tfmq.harness.pipeline.Nd4jThreads;
import dev.tfmq.harness.run.RunDirectory;
import dev.tfmq.metrics.paired.PairedImageMetrics;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.function.Supplier;

/**
 * Featurises each finished batch of both sides, computes the paired per-sample metrics (MSE, PSNR, SSIM between the
 * FP and quantized image of the same sample id) and writes the PNG grids; sends the results to the aggregator and
 * the grids to the publisher.
 */
public final class FeatureWorker {
    public sealed interface Command extends CborMessage permits FeaturizeBatch {}

    /** Final samples of both sides in [-1, 1]; forward times are the workers' compute time for the batch. */
    public record FeaturizeBatch(BatchSpec batch, Tensor fpImages, Tensor qImages, long fpForwardNanos, long qForwardNanos,
                                 ActorRef<BatchConductor.Command> conductor) implements Command {}

    private FeatureWorker() {}

    public static Behavior<Command> create(Supplier<ImageFeaturizer> featurizer, RunDirectory dir, int gridsKept, int nd4jThreads,
                                           ActorRef<MetricAggregator.Command> aggregator, ActorRef<Publisher.Command> publisher) {
        return Behaviors.setup(ctx -> {
            Nd4jThreads.limitCurrentThread(nd4jThreads);
            ImageFeaturizer f = featurizer.get();
            return Behaviors.receive(Command.class)
                    .onMessage(FeaturizeBatch.class, b -> {
                        INDArray fp = Images.toUnitRange(b.fpImages());
                        INDArray q = Images.toUnitRange(b.qImages());
                        ImageFeaturizer.Extracted ef = f.extract(fp);
                        ImageFeaturizer.Extracted eq = f.extract(q);
                        PairedImageMetrics.PerSample paired = PairedImageMetrics.compute(fp, q, 1.0);
                        RunDirectory.Grids grids = dir.writeGrids(b.batch().index(), fp, q, b.batch().index() < gridsKept);
                        publisher.tell(new Publisher.GridsReady(b.batch().index(), grids.fpPngBase64(), grids.qPngBase64()));
                        aggregator.tell(new MetricAggregator.BatchFeatures(b.batch(), Tensor.of(ef.pooled()), Tensor.of(eq.pooled()),
                                ef.spatial() == null ? null : Tensor.of(ef.spatial()), eq.spatial() == null ? null : Tensor.of(eq.spatial()),
                                paired.mse(), paired.psnr(), paired.ssim(), b.fpForwardNanos(), b.qForwardNanos(), b.conductor()));
                        return Behaviors.same();
                    })
                    .build();
        });
    }
}
