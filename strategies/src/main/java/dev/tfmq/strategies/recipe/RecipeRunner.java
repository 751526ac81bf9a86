package dev.tfmq.strategies.recipe;

import dev.tfmq.model.scheduler.TimestepSchedule;
import dev.tfmq.model.unet.TemporalFeatureSource;
import dev.tfmq.model.unet.UNet2DModel;
import dev.tfmq.strategies.bias.BiasCorrection;
import dev.tfmq.strategies.bias.BiasOffsets;
import dev.tfmq.strategies.calib.ActivationCalibration;
import dev.tfmq.strategies.calib.CalibrationStore;
import dev.tfmq.strategies.calib.NormalTimestepSelection;
import dev.tfmq.strategies.calib.TrajectoryCalibration;
import dev.tfmq.strategies.quant.ActivationQuantization;
import dev.tfmq.strategies.quant.TimestepContext;
import dev.tfmq.strategies.quant.WeightQuantization;
import dev.tfmq.strategies.recon.WeightReconstruction;
import dev.tfmq.strategies.temporal.DisturbanceMonitor;
import dev.tfmq.strategies.temporal.DisturbanceProbe;
import dev.tfmq.strategies.temporal.OutputErrorProbe;
import dev.tfmq.strategies.temporal.OutputErrorSelection;
import dev.tfmq.strategies.temporal.OutputErrors;
import dev.tfmq.strategies.temporal.SelectionMeasure;
import dev.tfmq.strategies.temporal.SelectionTable;
import dev.tfmq.strategies.temporal.SelectiveTemporalSource;
import dev.tfmq.strategies.temporal.StrategySelector;
import dev.tfmq.strategies.temporal.TemporalFeatureCache;
import dev.tfmq.strategies.temporal.TemporalInformationBlock;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * The quantization entry point: full-precision model + recipe + calibration settings → {@link QuantizedModel}.
 * Order (spec §10.5): calibration data from the FP model → weight grids → reconstruction (TIAR first, then the
 * blocks in forward order) → activation calibration (FSC for the TIB, EMA Min-Max for the rest) → temporal
 * strategy (cache built from the FP TIB; selection measured against the FP TIB). Each phase's wall time goes into
 * the provenance.
 *
 * <p>Selection by the output error ({@link SelectionMeasure#OUTPUT}) needs the finished model, every activation
 * calibrated: the FP trajectory it probes is recorded first, while the model is still full precision; the other
 * activations are calibrated with the cache serving (the features closest to FP); then both servings are measured
 * on the fully quantized model and the chosen per-step table is installed.
 */
public final class RecipeRunner {
    private RecipeRunner() {}

    public static QuantizedModel quantize(UNet2DModel fp, QuantizationRecipe recipe, CalibrationSettings cal,
                                          ProgressListener progress) {
        Map<String, String> prov = new LinkedHashMap<>();
        long start = System.nanoTime();
        prov.put("model_sha256", ModelChecksum.sha256(fp));
        prov.put("recipe_name", recipe.name());
        prov.put("bits", recipe.bits().name());
        prov.put("calibration_seed", Long.toString(cal.seed()));
        prov.put("reconstruction_seed", Long.toString(recipe.reconstruction().seed()));
        TemporalInformationBlock fpTib = new TemporalInformationBlock(fp);
        TimestepSchedule schedule = cal.schedule();
        prov.put("schedule", schedule.toString());
        prov.put("sampler", cal.samplerKind() + " eta=" + cal.eta());

        long t0 = System.nanoTime();
        progress.onProgress("calibration-data", "generating from FP trajectories");
        CalibrationStore data = generate(fp, cal, schedule, progress);
        int[] weightIdx = weightIndices(data, cal, schedule);
        prov.put("calibration_samples", Integer.toString(data.size()));
        prov.put("calibration_steps", Arrays.toString(data.steps()));
        prov.put("time_calibration_data_s", secs(t0));
        QuantizationRecipe.Temporal tp = recipe.temporal();
        boolean byOutput = tp.strategy() == QuantizationRecipe.TemporalStrategy.SELECTION && tp.measure() == SelectionMeasure.OUTPUT;
        OutputErrorProbe.FpTrajectory probeTrajectory = null;
        if (byOutput) {
            t0 = System.nanoTime();
            progress.onProgress("calibration-data", "recording " + tp.probeSamples() + " FP trajectories for the output-error probe");
            probeTrajectory = OutputErrorProbe.record(fp, cal.createScheduler(), schedule, cal.seed(), sampleShape(fp),
                    tp.probeSamples(), cal.batch());
            prov.put("time_output_probe_trajectories_s", secs(t0));
        }

        TimestepContext ctx = new TimestepContext();
        t0 = System.nanoTime();
        progress.onProgress("weights", "initialising " + recipe.weightInit() + " grids at " + recipe.bits().weight() + " bits");
        WeightQuantization wq = new WeightQuantization(fp, recipe.layers(), recipe.bits().weight());
        wq.initializeAll(recipe.weightInit());
        prov.put("time_weight_init_s", secs(t0));

        t0 = System.nanoTime();
        if (recipe.reconstruction().enabled()) {
            WeightReconstruction wr = new WeightReconstruction(fp, fpTib, wq, recipe.reconstruction(), progress);
            wr.run(data, weightIdx);
            StringBuilder sb = new StringBuilder();
            wr.results().forEach((unit, r) -> sb.append(unit).append('=').append(String.format("%.6g->%.6g", r.nearestLoss(), r.learnedLoss())).append(' '));
            prov.put("reconstruction_loss_nearest_to_learned", sb.toString().trim());
            prov.put("reconstruction_units", dev.tfmq.strategies.recon.ReconstructionReport.json(wr.results()));
        }
        wq.applyAll();
        prov.put("time_reconstruction_s", secs(t0));

        // Activations: the TIB's first (FSC, exact per step), then the temporal strategy is installed so that the
        // remaining activations are calibrated on the temporal features the deployed model will actually use.
        t0 = System.nanoTime();
        ActivationQuantization aq = null;
        ActivationCalibration ac = null;
        QuantizationRecipe.Activation a = recipe.activation();
        if (recipe.bits().quantizesActivations()) {
            progress.onProgress("activations", a.calibration() + " calibration of the TIB");
            aq = new ActivationQuantization(fp, recipe.layers(), recipe.bits(), ctx, a.unknownTimestep());
            aq.install();
            ac = new ActivationCalibration(fp, aq, progress);
            if (a.calibration() == QuantizationRecipe.ActivationCalibrationMode.FSC) {
                // FSC covers the whole finite set of the deployed schedule, not only the calibration steps
                ac.finiteSetCalibration(schedule.distinctTimesteps());
            } else {
                ac.singleGridTemporal(distinctTimesteps(data), cal.seed());
            }
        }
        double tibActSecs = (System.nanoTime() - t0) / 1e9;

        t0 = System.nanoTime();
        TemporalFeatureCache cache = null;
        SelectionTable selection = null;
        TemporalFeatureSource source = null;
        if (tp.strategy() != QuantizationRecipe.TemporalStrategy.TIB) {
            progress.onProgress("temporal", "caching temporal features at " + tp.cacheBits() + " bits");
            cache = TemporalFeatureCache.build(fpTib, schedule.distinctTimesteps(), tp.cacheBits(), tp.uncached());
            source = cache;
            prov.put("cache_bytes", Long.toString(cache.packedBytes()));
            prov.put("cache_fp32_bytes", Long.toString(cache.float32Bytes()));
            if (byOutput) {
                // provisional: decided by the output probe once every activation is calibrated (see class doc)
                progress.onProgress("temporal", "serving the cache while the other activations are calibrated; "
                        + "selection by the output error follows");
            } else if (tp.strategy() == QuantizationRecipe.TemporalStrategy.SELECTION) {
                progress.onProgress("temporal", "measuring TIB vs cache disturbance");
                DisturbanceMonitor mon = new DisturbanceMonitor();
                DisturbanceProbe.measure(fp, ctx, fpTib, cache, schedule.distinctTimesteps(), mon);
                selection = new StrategySelector(tp.metric(), tp.granularity()).select(mon);
                source = new SelectiveTemporalSource(cache, selection);
                prov.put("selection_measure", "feature");
                prov.put("selection_counts", selection.counts().toString());
            }
        }
        fp.setTemporalFeatureSource(source);
        prov.put("time_temporal_s", secs(t0));

        t0 = System.nanoTime();
        if (ac != null) {
            progress.onProgress("activations", a.calibration() + " calibration of the other activations");
            boolean perStep = a.calibration() == QuantizationRecipe.ActivationCalibrationMode.FSC
                    && a.scope() == QuantizationRecipe.FscScope.ALL;
            if (a.init() == QuantizationRecipe.ActivationInit.MSE) ac.mseInit(data, cal.seed());
            else ac.runningMinMax(data, perStep, cal.seed());
            if (a.stepSizeIterations() > 0) {
                dev.tfmq.strategies.recon.StepSizeReconstruction sr = new dev.tfmq.strategies.recon.StepSizeReconstruction(
                        fp, aq, wq, a.stepSizeIterations(), a.stepSizeLr(), recipe.reconstruction().batchSize(), cal.seed(), progress);
                sr.run(data, weightIdx);
                StringBuilder sb = new StringBuilder();
                sr.results().forEach((u, r) -> sb.append(u).append('=').append(String.format("%.6g->%.6g", r.before(), r.after())).append(' '));
                prov.put("step_size_loss_before_to_after", sb.toString().trim());
            }
        }
        prov.put("time_activation_calibration_s", String.format("%.3f", tibActSecs + (System.nanoTime() - t0) / 1e9));

        // ---- bias correction (issue 19): last, once weights, reconstruction and activation grids are final, so that
        // it removes the mean shift of the network as it is deployed; every recipe alike (recipe.bias-correction).
        t0 = System.nanoTime();
        BiasOffsets biases = null;
        if (recipe.biasCorrection().enabled()) {
            ActivationQuantization acts = aq;
            TemporalFeatureSource served = source;
            int[] idx = BiasCorrection.subsample(data, recipe.biasCorrection().samples());
            BiasCorrection.Result bc = BiasCorrection.run(fp, BiasCorrection.targets(fp, wq.quantizers().keySet()), data, idx,
                    cal.batch(), ctx,
                    () -> { wq.restoreAll(); if (acts != null) acts.setEnabled(false); fp.setTemporalFeatureSource(null); },
                    () -> { wq.applyAll(); if (acts != null) acts.setEnabled(true); fp.setTemporalFeatureSource(served); },
                    progress);
            biases = bc.offsets();
            prov.put("bias_correction_samples", Integer.toString(bc.samples()));
            prov.put("bias_correction_passes", Integer.toString(bc.passes()));
            prov.put("bias_correction_rms_over_max_z", bc.summary());
        }
        prov.put("time_bias_correction_s", secs(t0));
        // ---- end of bias correction

        if (byOutput) {
            t0 = System.nanoTime();
            progress.onProgress("temporal", "measuring the output error of TIB vs cache serving at " + schedule.size()
                    + " steps on " + tp.probeSamples() + " FP trajectories");
            // the QuantizedModel installs weights, activations and corrected biases, so the probe sees the model exactly as deployed
            QuantizedModel probed = new QuantizedModel(fp, ctx, wq, aq, cache, null, cache, biases);
            OutputErrors errors = OutputErrorProbe.measure(probed, fp, cache, probeTrajectory);
            selection = OutputErrorSelection.select(errors);
            source = new SelectiveTemporalSource(cache, selection);
            prov.put("selection_measure", "output");
            prov.put("selection_counts", selection.counts().toString());
            // what the feature measure would have chosen on this same model, for comparison (costs TIB passes only)
            DisturbanceMonitor mon = new DisturbanceMonitor();
            DisturbanceProbe.measure(fp, ctx, fpTib, cache, schedule.distinctTimesteps(), mon);
            prov.put("selection_by_feature_counts", new StrategySelector(tp.metric(), SelectionTable.Granularity.MEMBER)
                    .select(mon).counts().toString());
            prov.put("time_output_probe_s", secs(t0));
        }
        prov.put("time_total_s", secs(start));
        data.close();
        QuantizedModel qm = new QuantizedModel(fp, ctx, wq, aq, cache, selection, source, biases);
        qm.provenance().putAll(prov);
        qm.provenance().put("recipe", recipe.rendered());
        return qm;
    }

    static long[] sampleShape(UNet2DModel fp) {
        long sz = fp.config().sampleSize() == null ? 32 : fp.config().sampleSize();
        return new long[] {fp.config().inChannels(), sz, sz};
    }

    static CalibrationStore generate(UNet2DModel fp, CalibrationSettings cal, TimestepSchedule schedule, ProgressListener progress) {
        long[] chw = sampleShape(fp);
        CalibrationStore store = new CalibrationStore(chw, cal.memoryBudget(), cal.spillDir());
        TrajectoryCalibration tc = new TrajectoryCalibration(fp, cal.createScheduler(), schedule, cal.seed(), chw, cal.batch(), progress);
        if (cal.data() == CalibrationSettings.DataMode.PTQ4DM) {
            int[] counts = NormalTimestepSelection.countsPerStep(schedule, cal.ptq4dmSamples(), cal.ptq4dmMean(), cal.ptq4dmStd(), cal.seed());
            int n = 0;
            for (int c : counts) if (c > 0) n++;
            int[] steps = new int[n];
            int[] per = new int[n];
            for (int k = 0, j = 0; k < counts.length; k++) {
                if (counts[k] > 0) {
                    steps[j] = k;
                    per[j++] = counts[k];
                }
            }
            tc.collect(steps, per, store);
            return store;
        }
        TreeSet<Integer> steps = new TreeSet<>();
        for (int k : TrajectoryCalibration.uniformSteps(schedule.size(), Math.min(cal.weightSteps(), schedule.size()))) steps.add(k);
        if (cal.activationSteps() == 0) {
            for (int k = 0; k < schedule.size(); k++) steps.add(k);
        } else {
            for (int k : TrajectoryCalibration.uniformSteps(schedule.size(), Math.min(cal.activationSteps(), schedule.size()))) steps.add(k);
        }
        int[] ks = steps.stream().mapToInt(Integer::intValue).toArray();
        if (cal.independentTrajectories()) tc.collect(ks, cal.samplesPerStep(), store);
        else tc.collectShared(ks, cal.samplesPerStep(), store);
        return store;
    }

    /** Samples used for weight reconstruction: those of the weight steps (Q-Diffusion), or all (PTQ4DM). */
    static int[] weightIndices(CalibrationStore data, CalibrationSettings cal, TimestepSchedule schedule) {
        if (cal.data() == CalibrationSettings.DataMode.PTQ4DM) {
            int[] all = new int[data.size()];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        java.util.List<Integer> out = new java.util.ArrayList<>();
        for (int k : TrajectoryCalibration.uniformSteps(schedule.size(), Math.min(cal.weightSteps(), schedule.size()))) {
            for (int i : data.indicesOfStep(k)) out.add(i);
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    static long[] distinctTimesteps(CalibrationStore data) {
        TreeSet<Long> ts = new TreeSet<>();
        for (int k : data.steps()) ts.add(data.timestep(data.indicesOfStep(k)[0]));
        return ts.descendingSet().stream().mapToLong(Long::longValue).toArray();
    }

    private static String secs(long t0) { return String.format("%.3f", (System.nanoTime() - t0) / 1e9); }
}
