package dev.tfmq.model.tensor;
public final class Nd4jProbe { private Nd4jProbe() {} }
