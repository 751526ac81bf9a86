package dev.tfmq.strategies;

import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.unet.UNet2DConfig;
import dev.tfmq.model.unet.UNet2DModel;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.List;

/** Small UNet2DModels for fast tests: 16×16 gray, channels [16, 32], one attention level. */
public final class TinyModels {
    private TinyModels() {}

    public static UNet2DConfig config() {
        return config("default");
    }

    /** The same architecture with {@code resnet_time_scale_shift} "default" or "scale_shift". */
    public static UNet2DConfig config(String timeScaleShift) {
        return new UNet2DConfig(16, 1, 1, false, 0, true,
                List.of("DownBlock2D", "AttnDownBlock2D"), List.of("AttnUpBlock2D", "UpBlock2D"),
                new int[] {16, 32}, 1, 1.0, 1, 8, 8, null, 1e-5, timeScaleShift, true);
    }

    /** float64, scale-shift time conditioning (the mid-block attention then has no group norm, as in diffusers). */
    public static UNet2DModel scaleShift64(long seed) {
        return UNet2DModel.random(config("scale_shift"), seed, DataType.DOUBLE);
    }

    public static UNet2DModel random(long seed) {
        return UNet2DModel.random(config(), seed, DataType.FLOAT);
    }

    public static UNet2DModel random64(long seed) {
        return UNet2DModel.random(config(), seed, DataType.DOUBLE);
    }

    public static SchedulerConfig scheduler() {
        return SchedulerConfig.builder(SchedulerConfig.Kind.DDIM).numTrainTimesteps(1000).betaStart(1e-4).betaEnd(0.02)
                .betaSchedule(SchedulerConfig.BetaSchedule.LINEAR).clipSample(true).build();
    }
}
