package dev.tfmq.harness.cluster;

import dev.tfmq.harness.actors.BatchSpec;
import dev.tfmq.harness.actors.Publisher;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The coordinator's record of a cluster run's batches and nodes (plain state, no actor): which node holds which
 * batch, which batches have arrived, what a lost node's batches become, and each node's throughput.
 *
 * <p>Batches are handed out lowest index first — batches given back by a lost node before any new one — and never
 * further than {@code window} batches beyond the first batch not yet received, so the results that wait for an
 * earlier batch before they can be committed in order stay few, nor beyond what the coordinator has allowed (under
 * online selection a batch waits for the commits that decide its table). A batch is accepted once; a second result for it (a
 * node declared lost that delivered after all, or a reassigned batch finished twice) is counted and dropped.
 */
public final class ClusterBook {
    public enum Receipt { ACCEPTED, DUPLICATE }

    private static final class Node {
        final String address;
        List<String> roles = List.of();
        String status = "joining";
        int batchesDone;
        long samplesDone;
        long firstAssigned = -1, lastDelivered = -1;
        boolean pulled;

        Node(String address) {
            this.address = address;
        }
    }

    private final int total, samples, batchSize, window;
    private final BitSet received = new BitSet();
    private final TreeSet<Integer> returned = new TreeSet<>();
    private final Map<Integer, String> holder = new HashMap<>();
    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private int next, frontier, reassigned, duplicates;
    /** Batches below this index may be handed out (online selection releases them one by one). */
    private int allowedTo;
    private long firstAssigned = -1, lastReceived = -1, samplesReceived;

    /** @param firstBatch first batch not yet committed (0, or the resume point) */
    public ClusterBook(int firstBatch, int samples, int batchSize, int window) {
        if (window < 1) throw new IllegalArgumentException("window must be at least 1, got " + window);
        this.samples = samples;
        this.batchSize = batchSize;
        this.total = (samples + batchSize - 1) / batchSize;
        this.window = window;
        this.next = firstBatch;
        this.frontier = firstBatch;
        this.allowedTo = total;
    }

    /** Hands out nothing new until {@link #allowUpTo} (a run whose batches wait for their selection table). */
    public void holdAll() {
        allowedTo = next;
    }

    /** Batches below {@code to} may be handed out. */
    public void allowUpTo(int to) {
        allowedTo = Math.max(allowedTo, Math.min(to, total));
    }

    public BatchSpec spec(int index) {
        long first = (long) index * batchSize;
        return new BatchSpec(index, first, (int) Math.min(batchSize, samples - first));
    }

    private Node node(String address) {
        return nodes.computeIfAbsent(address, Node::new);
    }

    /** A node asked for work: its models are loaded and it counts towards {@code tfmq.cluster.min-workers}. */
    public void pulling(String address) {
        node(address).pulled = true;
    }

    /** The next batch for {@code address}, or empty when none may be handed out now (all out, or window full). */
    public Optional<BatchSpec> assign(String address, long nanos) {
        Node n = node(address);
        n.pulled = true;
        int candidate;
        if (!returned.isEmpty()) candidate = returned.first();
        else if (next < total && next < allowedTo) candidate = next;
        else return Optional.empty();
        if (candidate >= frontier + window) return Optional.empty();
        if (!returned.remove(candidate)) next++;
        holder.put(candidate, address);
        if (n.firstAssigned < 0) n.firstAssigned = nanos;
        if (firstAssigned < 0) firstAssigned = nanos;
        return Optional.of(spec(candidate));
    }

    /** A node delivered batch {@code index}. */
    public Receipt receive(String address, int index, long nanos) {
        if (index < 0 || index >= total) throw new IllegalArgumentException("node " + address + " delivered batch " + index
                + ", which this run does not have (0.." + (total - 1) + ")");
        if (received.get(index) || index < frontier) {
            duplicates++;
            if (address.equals(holder.get(index))) holder.remove(index);
            return Receipt.DUPLICATE;
        }
        received.set(index);
        holder.remove(index);
        returned.remove(index);
        while (frontier < total && received.get(frontier)) frontier++;
        int size = spec(index).size();
        samplesReceived += size;
        lastReceived = nanos;
        Node n = node(address);
        n.batchesDone++;
        n.samplesDone += size;
        n.lastDelivered = nanos;
        return Receipt.ACCEPTED;
    }

    /** A node is gone: the batches it held and had not delivered go back to be handed out first. */
    public List<Integer> release(String address) {
        List<Integer> back = new ArrayList<>();
        holder.entrySet().removeIf(e -> {
            if (!e.getValue().equals(address)) return false;
            back.add(e.getKey());
            return true;
        });
        returned.addAll(back);
        reassigned += back.size();
        return back;
    }

    /** Cluster membership as Pekko reports it ("up", "unreachable", "removed" ...). */
    public void member(String address, List<String> roles, String status) {
        Node n = node(address);
        n.roles = List.copyOf(roles);
        n.status = status;
    }

    /** Every batch has arrived. */
    public boolean complete() { return frontier >= total; }

    public int totalBatches() { return total; }

    public int reassigned() { return reassigned; }

    public int duplicates() { return duplicates; }

    /** Nodes other than {@code except} that asked for work (they have their models loaded). */
    public int pullingNodes(String except) {
        return (int) nodes.values().stream().filter(n -> n.pulled && !n.address.equals(except)).count();
    }

    public int held(String address) {
        return (int) holder.values().stream().filter(address::equals).count();
    }

    /** Samples per second of the whole cluster, from the first batch handed out to the latest one received. */
    public double samplesPerSecond() {
        return rate(samplesReceived, firstAssigned, lastReceived);
    }

    private static double rate(long samples, long from, long to) {
        return from >= 0 && to > from ? samples / ((to - from) / 1e9) : 0;
    }

    public List<Publisher.NodeRow> rows() {
        List<Publisher.NodeRow> rows = new ArrayList<>();
        for (Node n : nodes.values()) {
            rows.add(new Publisher.NodeRow(n.address, n.roles, n.status, n.batchesDone, n.samplesDone, held(n.address),
                    rate(n.samplesDone, n.firstAssigned, n.lastDelivered)));
        }
        return rows;
    }

    public int up() {
        return (int) nodes.values().stream().filter(n -> n.status.equals("up")).count();
    }

    /** What summary.json records about the cluster (wall-clock numbers; the statistics do not depend on them). */
    public Map<String, Object> report() {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("samples_per_second", samplesPerSecond());
        r.put("batches_reassigned", reassigned);
        r.put("duplicate_results_dropped", duplicates);
        List<Map<String, Object>> list = new ArrayList<>();
        for (Publisher.NodeRow row : rows()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("address", row.address());
            m.put("roles", row.roles());
            m.put("status", row.status());
            m.put("batches", row.batchesDone());
            m.put("samples", row.samplesDone());
            m.put("samples_per_second", row.samplesPerSecond());
            list.add(m);
        }
        r.put("nodes", list);
        return r;
    }
}
