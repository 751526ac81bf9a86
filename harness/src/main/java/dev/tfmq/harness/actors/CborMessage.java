package dev.tfmq.harness.actors;

/**
 * Marker of every actor message: bound to Pekko's Jackson CBOR serializer in reference.conf, so the same protocols
 * can cross machines (issue 6) unchanged. Messages are immutable records of plain data, tensors ({@code Tensor}) and
 * actor references.
 */
public interface CborMessage {}
