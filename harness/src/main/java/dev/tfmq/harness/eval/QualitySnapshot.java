package dev.tfmq.harness.eval;

import java.util.List;
import java.util.Map;

/**
 * Quality metrics of both sample sets after {@code n} samples each: keys fid, sfid, kid (per side, against the
 * reference images), fid between the FP and quantized sets, and the paired per-sample metrics mse, psnr, ssim.
 */
public record QualitySnapshot(long n, Map<String, Estimate> fp, Map<String, Estimate> quantized,
                              Map<String, Estimate> fpVsQuantized, Map<String, Estimate> paired, List<String> warnings) {}
