package dev.tfmq.model.unet;

import dev.tfmq.model.Fixtures;
import dev.tfmq.model.io.Npy;
import dev.tfmq.model.scheduler.Sampler;
import dev.tfmq.model.scheduler.SchedulerConfig;
import dev.tfmq.model.scheduler.Schedulers;
import dev.tfmq.model.scheduler.TimestepSchedule;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The whole 10-step DDIM loop — our UNet inside our scheduler — against diffusers' DDIMPipeline output. */
class DdimLoopWithUNetTest {
    @Test
    void tenStepDdimMatchesDiffusers() throws IOException {
        Path dir = Fixtures.tinyGray28();
        Path sampling = dir.resolve("sampling");
        UNet2DModel model = UNet2DModel.load(dir.resolve("unet"));
        SchedulerConfig cfg = SchedulerConfig.read(sampling.resolve("scheduler_config.json"));
        TimestepSchedule schedule = TimestepSchedule.spaced(cfg, 10);
        assertArrayEquals(Npy.read(sampling.resolve("timesteps.npy")).toLongVector(), schedule.timesteps());
        Sampler sampler = new Sampler(model, Schedulers.create(cfg, SchedulerConfig.Kind.DDIM, 0.0), schedule);
        INDArray noise = Npy.read(sampling.resolve("noise.npy"));
        INDArray eps = Npy.read(sampling.resolve("eps.npy"));
        List<Double> epsErrors = new ArrayList<>();
        INDArray out = Nd4j.create(DataType.FLOAT, noise.shape());
        sampler.run(noise, new long[]{0, 1}, null, (k, t, xt, modelOut, x0, xPrev) ->
                epsErrors.add(modelOut.sub(eps.get(org.nd4j.linalg.indexing.NDArrayIndex.point(k))).amaxNumber().doubleValue()),
                out);
        assertEquals(10, epsErrors.size());
        for (int k = 0; k < 10; k++) assertTrue(epsErrors.get(k) < 1e-3, "step " + k + " eps error " + epsErrors.get(k));
        double err = out.sub(Npy.read(sampling.resolve("final.npy"))).amaxNumber().doubleValue();
        assertTrue(err < 1e-3, "final sample max abs error " + err);
    }
}
