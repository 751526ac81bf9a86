package dev.tfmq.model.scheduler;

import dev.tfmq.model.Fixtures;
import dev.tfmq.model.io.FormatException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class SchedulerConfigTest {
    static final Path SRC = Path.of("some/scheduler_config.json");

    static String msg(String json) {
        FormatException e = assertThrows(FormatException.class, () -> SchedulerConfig.parse(json, SRC));
        assertTrue(e.getMessage().startsWith(SRC.toString()), e.getMessage());
        return e.getMessage();
    }

    @Test
    void readsTheModelsDdpmConfigAndBuildsEitherScheduler() throws IOException {
        SchedulerConfig c = SchedulerConfig.read(Fixtures.tinyGray28());   // finds scheduler/scheduler_config.json
        assertEquals(SchedulerConfig.Kind.DDPM, c.kind());
        assertEquals(1000, c.numTrainTimesteps());
        assertEquals(SchedulerConfig.VarianceType.FIXED_SMALL, c.varianceType());
        assertTrue(c.clipSample());
        assertTrue(c.setAlphaToOne(), "DDIM default when a DDPM config lacks set_alpha_to_one");
        assertInstanceOf(DDPMScheduler.class, Schedulers.fromConfig(c));
        assertInstanceOf(DDIMScheduler.class, Schedulers.create(c, Schedulers.kind("ddim"), 0.5));
        assertThrows(IllegalArgumentException.class, () -> Schedulers.create(c, SchedulerConfig.Kind.DDPM, 0.5));
        assertThrows(IllegalArgumentException.class, () -> Schedulers.kind("pndm"));
    }

    @Test
    void legacyGoogleDdpmConfigParses() throws FormatException {
        SchedulerConfig c = SchedulerConfig.parse("{\"_class_name\": \"DDPMScheduler\", \"_diffusers_version\": \"0.1.1\","
                + " \"beta_end\": 0.02, \"beta_schedule\": \"linear\", \"beta_start\": 0.0001, \"clip_sample\": true,"
                + " \"num_train_timesteps\": 1000, \"trained_betas\": null, \"variance_type\": \"fixed_small\","
                + " \"tensor_format\": \"pt\", \"predict_epsilon\": true}", SRC);
        assertEquals(SchedulerConfig.PredictionType.EPSILON, c.predictionType());
        SchedulerConfig s = SchedulerConfig.parse("{\"_class_name\": \"DDIMScheduler\", \"predict_epsilon\": false}", SRC);
        assertEquals(SchedulerConfig.PredictionType.SAMPLE, s.predictionType());
        assertTrue(msg("{\"_class_name\": \"DDIMScheduler\", \"predict_epsilon\": false, \"prediction_type\": \"epsilon\"}")
                .contains("contradicts"));
    }

    @Test
    void parsesAllValues() throws FormatException {
        SchedulerConfig c = SchedulerConfig.parse("{\"_class_name\": \"DDIMScheduler\", \"num_train_timesteps\": 4,"
                + " \"trained_betas\": [0.1, 0.2, 0.3, 0.4], \"prediction_type\": \"v_prediction\", \"clip_sample\": false,"
                + " \"clip_sample_range\": 2.5, \"set_alpha_to_one\": false, \"steps_offset\": 1,"
                + " \"timestep_spacing\": \"trailing\", \"variance_type\": \"fixed_large_log\", \"thresholding\": false,"
                + " \"rescale_betas_zero_snr\": false, \"dynamic_thresholding_ratio\": 0.9, \"sample_max_value\": 3.0,"
                + " \"beta_schedule\": \"squaredcos_cap_v2\"}", SRC);
        assertArrayEquals(new double[]{0.1, 0.2, 0.3, 0.4}, c.trainedBetas());
        assertEquals(0.9 * 0.8 * 0.7, NoiseSchedule.of(c).alphaCumprod(2), 1e-15, "trained betas win over the schedule");
        assertEquals(SchedulerConfig.PredictionType.V_PREDICTION, c.predictionType());
        assertFalse(c.clipSample());
        assertEquals(2.5, c.clipSampleRange());
        assertFalse(c.setAlphaToOne());
        assertEquals(0.9, new DDIMScheduler(c).finalAlphaCumprod(), 1e-15);
        assertEquals(1, c.stepsOffset());
        assertEquals(SchedulerConfig.TimestepSpacing.TRAILING, c.timestepSpacing());
        assertEquals(SchedulerConfig.VarianceType.FIXED_LARGE_LOG, c.varianceType());
        assertEquals(3.0, c.sampleMaxValue());
    }

    @Test
    void clearErrors() {
        assertTrue(msg("{\"_class_name\": \"PNDMScheduler\", \"skip_prk_steps\": true}")
                .contains("\"_class_name\": \"PNDMScheduler\""));
        assertTrue(msg("{\"beta_start\": 0.1}").contains("missing \"_class_name\""));
        String unknown = msg("{\"_class_name\": \"DDPMScheduler\", \"_meta\": 1, \"clip_samples\": true}");
        assertTrue(unknown.contains("unknown scheduler config key \"clip_samples\""), unknown);
        String bad = msg("{\"_class_name\": \"DDPMScheduler\", \"beta_schedule\": \"sigmoid\"}");
        assertTrue(bad.contains("\"beta_schedule\"") && bad.contains("linear, scaled_linear, squaredcos_cap_v2"), bad);
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"variance_type\": \"learned_range\"}")
                .contains("fixed_small, fixed_small_log, fixed_large, fixed_large_log"));
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"prediction_type\": \"x0\"}")
                .contains("epsilon, v_prediction, sample"));
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"timestep_spacing\": \"uniform\"}")
                .contains("leading, trailing, linspace"));
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"thresholding\": true}").contains("\"thresholding\""));
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"num_train_timesteps\": 10.5}")
                .contains("\"num_train_timesteps\" must be an integer"));
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"clip_sample\": \"yes\"}").contains("true or false"));
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"num_train_timesteps\": 3, \"trained_betas\": [0.1]}")
                .contains("trained_betas has 1 values"));
        assertTrue(msg("{\"_class_name\": \"DDPMScheduler\", \"beta_start\": -1}").contains("beta_start"));
        assertTrue(msg("[1, 2]").contains("JSON object"));
        assertTrue(msg("{\"_class_name\": ").contains("not valid JSON"));
        assertThrows(FormatException.class, () -> SchedulerConfig.read(Path.of("/nonexistent-dir-xyz")));
    }
}
