package dev.tfmq.harness.pipeline;

import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Limits the threads ND4J uses for ops issued from the calling thread. OpenMP's thread count is a per-thread
 * setting of the caller, so each denoising worker sets it on its own dispatcher thread; ND4J's own limits are
 * process-wide and are set to the same value. 0 leaves the defaults (all cores per op).
 */
public final class Nd4jThreads {
    private Nd4jThreads() {}

    public static void limitCurrentThread(int threads) {
        if (threads <= 0) return;
        Nd4j.getEnvironment().setMaxThreads(threads);
        Nd4j.getEnvironment().setMaxMasterThreads(threads);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(threads);
    }
}
