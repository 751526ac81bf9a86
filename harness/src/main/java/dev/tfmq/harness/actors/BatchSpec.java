package dev.tfmq.harness.actors;

/** Batch {@code index} = the samples with ids firstId .. firstId + size − 1. */
public record BatchSpec(int index, long firstId, int size) implements CborMessage {
    public long[] ids() {
        long[] ids = new long[size];
        for (int i = 0; i < size; i++) ids[i] = firstId + i;
        return ids;
    }
}
