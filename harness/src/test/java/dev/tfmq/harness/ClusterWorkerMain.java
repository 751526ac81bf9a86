package dev.tfmq.harness;

import dev.tfmq.harness.cluster.WorkerNode;
import dev.tfmq.harness.pipeline.DenoiserSide;
import dev.tfmq.harness.run.RunLauncher;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;

/**
 * Subprocess entry of the cluster tests: a worker node with the test models (args: join address, own port, mode
 * "tiny" = {@link TestModels#parts}, "online" = the output-selected artifact of {@link OnlineTestModels} (its path is
 * a fifth argument) or "files" = the model files named by the run config, and a delay in ms added to every FP forward
 * pass so that a test can catch a worker in the middle of a batch).
 */
public final class ClusterWorkerMain {
    private ClusterWorkerMain() {}

    public static void main(String[] args) {
        int delay = Integer.parseInt(args[3]);
        RunLauncher.Parts t = TestModels.parts(0);
        RunLauncher.Parts parts = switch (args[2]) {
            case "tiny" -> new RunLauncher.Parts(() -> slow(TestModels.fp(), delay), t.quantized(), t.featurizer(), null, t.scheduler(),
                    t.sampleShape(), t.modelFingerprint());
            case "online" -> new RunLauncher.Parts(() -> slow(TestModels.fp(), delay),
                    () -> OnlineTestModels.quantized(java.nio.file.Path.of(args[4]), 0), t.featurizer(), null, t.scheduler(),
                    t.sampleShape(), t.modelFingerprint());
            default -> new RunLauncher.Parts(null, null, t.featurizer(), null, null, null, null);
        };
        System.exit(WorkerNode.run(args[0], "127.0.0.1", Integer.parseInt(args[1]), List.of(FAST_DOWNING), parts, System.out));
    }

    /** A dead worker is removed within seconds (production: 3 s + 20 s); the heartbeat pause stays at its default so that a loaded CI machine does not drop live workers. */
    public static final String[] FAST_DOWNING = {"cluster.heartbeat-pause=3s", "cluster.down-unreachable-after=1s"};

    static DenoiserSide slow(DenoiserSide d, int millis) {
        return new TestModels.Logged(d, 0, null) {
            @Override
            public void predict(INDArray sample, long[] timesteps, INDArray out) {
                super.predict(sample, timesteps, out);
                try {
                    Thread.sleep(millis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
    }
}
