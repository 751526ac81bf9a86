package dev.tfmq.strategies.temporal;

/**
 * How the temporal features reach the quantized UNet (journal extension, spec §4): computed by the quantized
 * TIB (TIB-based maintenance: TIAR + FSC) or read from the pre-computed quantized cache (cache-based maintenance).
 */
public enum MaintenanceStrategy { TIB, CACHE }
