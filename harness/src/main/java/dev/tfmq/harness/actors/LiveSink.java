package dev.tfmq.harness.actors;

/**
 * Where the publisher sends live updates: the dashboard (Server-Sent Events) and the Prometheus registry. Called
 * from the publisher's thread only; implementations hand work to their own threads if they need to.
 *
 * @see Publisher for the event types and their payloads
 */
public interface LiveSink {
    void publish(String event, Object payload);
}
